"""Comparing two replays of the same trace: how two models' actions and latencies differ.

:func:`compare_runs` aligns the two runs period by period on each E2 node, using the quota *in force* for each
slice after the period (a model that did not resend an unchanged quota still has it in force), and reports per
slice: the periods where both had a quota, how many of them differ, the mean absolute difference of the min,
max and dedicated ratios (percentage points) and the largest differences; per model: controls sent, control
outcomes, and latency percentiles (decision latency = indication delivered -> control sent, as the xApp measures
it; handling = indication delivered -> the xApp ready for the next message). :func:`render_markdown` and
:func:`render_html` turn the report into a short table.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from ricsdk.trace.session import Quota, ReplayRun

__all__ = ["compare_runs", "render_html", "render_markdown"]


def _pct(values: Sequence[int], q: float) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _us(v: float) -> float | None:
    return None if math.isnan(v) else round(v / 1000.0, 1)


def _side(label: str, run: ReplayRun) -> dict[str, Any]:
    return {
        "label": label,
        "indications": run.stats.indications,
        "controls": len(run.controls),
        "outcomes": dict(run.outcomes),
        "decision_latency_us": {
            "p50": _us(_pct(run.loop_latency_ns, 0.5)),
            "p99": _us(_pct(run.loop_latency_ns, 0.99)),
            "samples": len(run.loop_latency_ns),
        },
        "handling_us": {
            "p50": _us(_pct(run.handle_ns, 0.5)),
            "p99": _us(_pct(run.handle_ns, 0.99)),
            "samples": len(run.handle_ns),
        },
        "elapsed_s": round(run.elapsed_s, 3),
    }


def compare_runs(a: ReplayRun, b: ReplayRun, *, label_a: str = "A", label_b: str = "B") -> dict[str, Any]:
    """The comparison report of two runs over the same trace (a JSON-ready dict)."""
    fa, fb = a.in_force(), b.in_force()
    acc: dict[str, dict[str, Any]] = {}
    periods_total = differing_total = 0
    for node in sorted(set(fa) | set(fb)):
        ta, tb = fa.get(node, []), fb.get(node, [])
        for p in range(max(len(ta), len(tb))):
            qa: dict[str, Quota] = ta[p] if p < len(ta) else {}
            qb: dict[str, Quota] = tb[p] if p < len(tb) else {}
            any_diff = False
            for key in set(qa) | set(qb):
                s = acc.setdefault(
                    key,
                    {"periods": 0, "differing": 0, "only_a": 0, "only_b": 0, "abs": [0, 0, 0], "max_abs": [0, 0, 0]},
                )
                x, y = qa.get(key), qb.get(key)
                if x is None or y is None:
                    s["only_a" if y is None else "only_b"] += 1
                    any_diff = True
                    continue
                s["periods"] += 1
                if x != y:
                    s["differing"] += 1
                    any_diff = True
                for i in range(3):
                    d = abs(x[i] - y[i])
                    s["abs"][i] += d
                    s["max_abs"][i] = max(s["max_abs"][i], d)
            if qa or qb:
                periods_total += 1
                differing_total += any_diff
    slices = []
    for key in sorted(acc):
        s = acc[key]
        n = s["periods"]
        slices.append(
            {
                "slice": key,
                "periods": n,
                "differing": s["differing"],
                "differing_fraction": round(s["differing"] / n, 4) if n else None,
                "mad_min": round(s["abs"][0] / n, 3) if n else None,
                "mad_max": round(s["abs"][1] / n, 3) if n else None,
                "mad_dedicated": round(s["abs"][2] / n, 3) if n else None,
                "max_abs_min": s["max_abs"][0],
                "max_abs_max": s["max_abs"][1],
                "only_a": s["only_a"],
                "only_b": s["only_b"],
            }
        )
    return {
        "a": _side(label_a, a),
        "b": _side(label_b, b),
        "periods": periods_total,
        "periods_differing": differing_total,
        "controls_identical": a.control_bytes() == b.control_bytes(),
        "slices": slices,
    }


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _tables(report: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    a, b = report["a"], report["b"]

    def lat(side: dict[str, Any], k: str) -> str:
        return f"{_fmt(side[k]['p50'])} / {_fmt(side[k]['p99'])}"

    models = [
        ["", f"A: {a['label']}", f"B: {b['label']}"],
        ["indications handled", _fmt(a["indications"]), _fmt(b["indications"])],
        ["controls sent", _fmt(a["controls"]), _fmt(b["controls"])],
        [
            "controls acked / failed / timed out",
            *(
                f"{s['outcomes'].get('acked', 0)} / "
                f"{s['outcomes'].get('failed', 0)} / "
                f"{s['outcomes'].get('timed_out', 0)}"
                for s in (a, b)
            ),
        ],
        ["decision latency p50 / p99 (us)", lat(a, "decision_latency_us"), lat(b, "decision_latency_us")],
        ["handling per indication p50 / p99 (us)", lat(a, "handling_us"), lat(b, "handling_us")],
    ]
    per_slice = [
        ["slice", "periods", "differ", "differ %", "MAD min", "MAD max", "MAD dedicated", "max Δmin", "max Δmax"]
    ]
    for s in report["slices"]:
        frac = s["differing_fraction"]
        per_slice.append(
            [
                s["slice"],
                _fmt(s["periods"]),
                _fmt(s["differing"]),
                "-" if frac is None else f"{100 * frac:.1f}",
                _fmt(s["mad_min"]),
                _fmt(s["mad_max"]),
                _fmt(s["mad_dedicated"]),
                _fmt(s["max_abs_min"]),
                _fmt(s["max_abs_max"]),
            ]
        )
    return models, per_slice


def _md_table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _summary(report: dict[str, Any]) -> str:
    same = "byte-identical" if report["controls_identical"] else "different"
    return (
        f"{report['periods_differing']} of {report['periods']} node periods differ in at least one slice quota; "
        f"the control sequences are {same}."
    )


def render_markdown(report: dict[str, Any], title: str = "Replay comparison") -> str:
    models, per_slice = _tables(report)
    return "\n\n".join([f"# {title}", _summary(report), _md_table(models), _md_table(per_slice)]) + "\n"


def _html_table(rows: list[list[str]]) -> str:
    head, *body = rows
    th = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def render_html(report: dict[str, Any], title: str = "Replay comparison") -> str:
    models, per_slice = _tables(report)
    style = "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:2px 8px;text-align:right}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(_summary(report))}</p>"
        f"{_html_table(models)}{_html_table(per_slice)}</body></html>\n"
    )
