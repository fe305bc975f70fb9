"""Expectations on the controls of a replay: what testers assert with ``ricsdk replay TRACE --expect FILE``.

An expectations file is YAML or JSON (validated against :data:`EXPECT_SCHEMA`)::

    version: 1
    tolerance: 0            # default allowed |got - expected| for every value, in percentage points
    controls: 33            # optional: exactly this many controls in the whole replay
    exhaustive: false       # true: a control at a period not listed below is a failure
    periods:
      - node: gnb-001
        period: 8           # the node's 9th indication (0-based): the control sent after it
        slices:
          "1-000001": {min: 20, max: 35, dedicated: 0}
          "2-000001": {min: 10, tolerance: 2}          # only the values given are checked
      - node: gnb-001
        period: 9
        control: false      # no control after this period
    final:                  # the quota in force at the end of the replay
      gnb-001:
        "1-000001": {min: 20, max: 35}

A ``periods`` entry with ``slices`` requires a control of that node after that period carrying each listed
slice (several controls after one period are merged, the later winning). :func:`check` returns every
:class:`Mismatch`; :func:`render_diff` prints them as a readable table. :func:`expectations_of` writes the
expectations a run meets exactly (the golden-file workflow: record once, review, assert from then on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jsonschema
import yaml

from ricsdk.errors import ConfigError
from ricsdk.trace.session import Quota, ReplayRun

__all__ = [
    "EXPECT_SCHEMA",
    "Expectations",
    "Mismatch",
    "check",
    "expectations_of",
    "load_expectations",
    "parse_expectations",
    "render_diff",
]

_FIELDS: Final = ("min", "max", "dedicated")
_PCT = {"type": "integer", "minimum": 0, "maximum": 100}
_TOL = {"type": "number", "minimum": 0}
_SLICE = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {"min": _PCT, "max": _PCT, "dedicated": _PCT, "tolerance": _TOL},
}
_SLICES = {
    "type": "object",
    "additionalProperties": _SLICE,
    "propertyNames": {"pattern": r"^\d{1,3}(-[0-9a-fA-F]{6})?$"},
}
EXPECT_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "tolerance": _TOL,
        "controls": {"type": "integer", "minimum": 0},
        "exhaustive": {"type": "boolean"},
        "periods": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["node", "period"],
                "additionalProperties": False,
                "properties": {
                    "node": {"type": "string", "minLength": 1},
                    "period": {"type": "integer", "minimum": -1},
                    "control": {"type": "boolean"},
                    "slices": _SLICES,
                },
            },
        },
        "final": {"type": "object", "additionalProperties": _SLICES},
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(EXPECT_SCHEMA)


@dataclass(frozen=True, slots=True)
class SliceExpectation:
    values: Mapping[str, int]  # "min" / "max" / "dedicated" -> percent
    tolerance: float


@dataclass(frozen=True, slots=True)
class PeriodExpectation:
    node: str
    period: int
    control: bool
    slices: Mapping[str, SliceExpectation]


@dataclass(frozen=True, slots=True)
class Expectations:
    tolerance: float
    controls: int | None
    exhaustive: bool
    periods: tuple[PeriodExpectation, ...]
    final: Mapping[str, Mapping[str, SliceExpectation]]
    source: str = ""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One failed expectation. ``where`` is ``"gnb-001 period 8"``, ``"gnb-001 final"`` or ``"replay"``."""

    where: str
    slice: str
    field: str
    expected: str
    got: str


def _slices(doc: Mapping[str, Any], default_tol: float) -> dict[str, SliceExpectation]:
    return {
        key: SliceExpectation({f: v[f] for f in _FIELDS if f in v}, float(v.get("tolerance", default_tol)))
        for key, v in doc.items()
    }


def parse_expectations(doc: Any, *, source: str = "<expectations>") -> Expectations:
    errors = sorted(_VALIDATOR.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
        raise ConfigError(e.message, source=source, field=path)
    tol = float(doc.get("tolerance", 0))
    periods = []
    for i, p in enumerate(doc.get("periods", [])):
        control = p.get("control", True)
        if not control and p.get("slices"):
            raise ConfigError("an entry with control: false cannot list slices", source=source, field=f"$.periods[{i}]")
        periods.append(PeriodExpectation(p["node"], p["period"], control, _slices(p.get("slices", {}), tol)))
    final = {node: _slices(s, tol) for node, s in doc.get("final", {}).items()}
    return Expectations(tol, doc.get("controls"), doc.get("exhaustive", False), tuple(periods), final, source)


def load_expectations(path: str | Path) -> Expectations:
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read expectations: {exc}", source=str(p)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML/JSON: {exc}", source=str(p)) from exc
    return parse_expectations(doc, source=str(p))


def _compare(where: str, key: str, exp: SliceExpectation, got: Quota | None, out: list[Mismatch]) -> int:
    """Check one slice; returns the number of values checked."""
    if got is None:
        out.append(Mismatch(where, key, "-", "a quota", "slice not in the control"))
        return len(exp.values)
    for i, name in enumerate(_FIELDS):
        want = exp.values.get(name)
        if want is None:
            continue
        if abs(got[i] - want) > exp.tolerance:
            tol = f" ±{exp.tolerance:g}" if exp.tolerance else ""
            out.append(Mismatch(where, key, name, f"{want}{tol}", str(got[i])))
    return len(exp.values)


def check(exp: Expectations, run: ReplayRun) -> tuple[list[Mismatch], int]:
    """Every mismatch between the expectations and the run, and the number of checks made."""
    out: list[Mismatch] = []
    checks = 0
    at: dict[tuple[str, int], dict[str, Quota]] = {}
    for c in run.controls:
        at.setdefault((c.e2_node, c.period), {}).update(c.quotas)
        if c.error:
            checks += 1
            out.append(Mismatch(f"{c.e2_node} period {c.period}", "-", "decode", "slice quotas", c.error[:80]))
    if exp.controls is not None:
        checks += 1
        if len(run.controls) != exp.controls:
            out.append(Mismatch("replay", "-", "controls", str(exp.controls), str(len(run.controls))))
    listed = set()
    for p in exp.periods:
        where = f"{p.node} period {p.period}"
        listed.add((p.node, p.period))
        got = at.get((p.node, p.period))
        checks += 1
        if not p.control:
            if got is not None:
                out.append(Mismatch(where, "-", "control", "none", _summary(got)))
            continue
        if got is None:
            out.append(Mismatch(where, "-", "control", "a control", "none sent"))
            continue
        for key, se in p.slices.items():
            checks += _compare(where, key, se, got.get(key), out)
    if exp.exhaustive:
        for node, period in sorted(set(at) - listed):
            checks += 1
            out.append(
                Mismatch(f"{node} period {period}", "-", "control", "none (not listed)", _summary(at[(node, period)]))
            )
    if exp.final:
        in_force = run.in_force()
        for node, slices in exp.final.items():
            timeline = in_force.get(node, [])
            last = timeline[-1] if timeline else {}
            for key, se in slices.items():
                checks += _compare(f"{node} final", key, se, last.get(key), out)
    return out, checks


def _summary(quotas: Mapping[str, Quota]) -> str:
    return ", ".join(f"{k}={q[0]}/{q[1]}/{q[2]}" for k, q in sorted(quotas.items())) or "(no slices)"


def render_diff(mismatches: list[Mismatch], checks: int) -> str:
    """A readable table of the mismatches (empty string when there are none)."""
    if not mismatches:
        return ""
    rows = [("where", "slice", "field", "expected", "got")] + [
        (m.where, m.slice, m.field, m.expected, m.got) for m in mismatches
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"{len(mismatches)} of {checks} expectation checks failed:"]
    for r in rows:
        lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    return "\n".join(lines)


def _slice_doc(q: Quota) -> dict[str, int]:
    return {"min": q[0], "max": q[1], "dedicated": q[2]}


def expectations_of(run: ReplayRun, *, tolerance: float = 0) -> dict[str, Any]:
    """The expectations document ``run`` meets exactly: every control, their count, the final quotas."""
    merged: dict[tuple[str, int], dict[str, Quota]] = {}
    for c in run.controls:
        merged.setdefault((c.e2_node, c.period), {}).update(c.quotas)
    periods = [
        {"node": node, "period": period, "slices": {k: _slice_doc(q) for k, q in sorted(quotas.items())}}
        for (node, period), quotas in merged.items()
    ]
    final = {
        node: {k: _slice_doc(q) for k, q in sorted(timeline[-1].items())}
        for node, timeline in run.in_force().items()
        if timeline and timeline[-1]
    }
    return {
        "version": 1,
        "tolerance": tolerance,
        "controls": len(run.controls),
        "exhaustive": True,
        "periods": periods,
        "final": final,
    }
