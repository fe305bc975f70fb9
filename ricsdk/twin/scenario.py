"""Twin scenarios: cells, slices and per-slice traffic, read from YAML (or a mapping) and validated.

A scenario file is checked against ``scenario.schema.json`` (JSON Schema 2020-12) and then for what a schema
cannot say (unique names and S-NSSAIs, cell patterns that match, quotas with ``dedicated <= min <= max``).
Every error is a :class:`~ricsdk.errors.ConfigError` whose ``source`` is the file and whose ``field`` is the
path inside it (``slices[1].sla.max_delay_ms``); all schema errors of a file are reported at once.

::

    name: flash_crowd
    seed: 7
    tick_ms: 100
    cells:
      - {name: cell, count: 12, prbs: 106, bandwidth_mhz: 40, se_profile: urban}
    slices:
      - {name: embb, sst: 1, sd: "000001", type: eMBB, sla: {min_throughput_mbps: 20, max_delay_ms: 80}}
    traffic:
      embb:
        load_mbps: 30
        flash_crowds: [{cells: [cell-003], start_s: 30, ramp_s: 5, hold_s: 40, decay_s: 10, factor: 4}]

A cell entry with ``count`` stands for ``count`` cells named ``<name>-001`` ... Event cell lists are ``all`` or
names / glob patterns (``cell-00*``). The shipped scenarios (``steady``, ``diurnal``, ``flash_crowd``, ``ddos``,
``mobility``) load by name. The meaning of every field is in ``docs/twin.md``.
"""

from __future__ import annotations

import datetime as dt
import enum
import fnmatch
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml
from jsonschema import Draft202012Validator

from ricsdk.e2.common import Snssai, plmn_from_str
from ricsdk.errors import ConfigError, E2ValueError

__all__ = [
    "CellSpec",
    "Diurnal",
    "Bursts",
    "Envelope",
    "FlashCrowd",
    "LoadMove",
    "QuotaSpec",
    "Scenario",
    "SeProfile",
    "SlaTarget",
    "SliceSpec",
    "SliceType",
    "Surge",
    "TrafficSpec",
    "load_scenario",
    "scenario_from_dict",
    "shipped_scenarios",
]

_DEFAULT_START: Final = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


class SliceType(enum.Enum):
    EMBB = "eMBB"
    URLLC = "URLLC"
    MMTC = "mMTC"


#: Per slice type: base (non-queueing) delay in ms and spectral-efficiency factor (robustness of the MCS).
SLICE_TYPE_DEFAULTS: Final[dict[SliceType, tuple[float, float]]] = {
    SliceType.EMBB: (4.0, 1.0),
    SliceType.URLLC: (1.0, 0.6),
    SliceType.MMTC: (10.0, 0.5),
}


@dataclass(frozen=True, slots=True)
class SeProfile:
    """Spectral efficiency (bit/s/Hz) of a cell: an AR(1) process around ``mean``, clipped to ``[min, max]``."""

    mean: float
    std: float = 0.8
    min: float = 0.2
    max: float = 7.4
    coherence: float = 0.9


SE_PRESETS: Final[dict[str, SeProfile]] = {
    "urban": SeProfile(3.4, 0.9),
    "suburban": SeProfile(4.2, 0.8),
    "rural": SeProfile(2.6, 1.0),
    "indoor": SeProfile(5.2, 0.7),
}


@dataclass(frozen=True, slots=True)
class CellSpec:
    """One cell (one E2 node): PRBs per slot, carrier bandwidth, radio conditions, load multiplier."""

    name: str
    prbs: int
    bandwidth_mhz: float
    se: SeProfile = SE_PRESETS["urban"]
    load: float = 1.0
    load_spread: float = 0.0
    ul_se_factor: float = 0.7
    overhead: float = 0.14


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """A slice SLA per cell: delivered throughput of at least ``min(offered, min_throughput_mbps)`` (within
    ``tolerance``) and a delay of at most ``max_delay_ms``; ``priority`` 1 is the highest."""

    min_throughput_mbps: float = 0.0
    max_delay_ms: float | None = None
    priority: int = 1
    tolerance: float = 0.05


@dataclass(frozen=True, slots=True)
class QuotaSpec:
    """RRM policy ratios in percent, ``dedicated <= min <= max``."""

    min: int = 0
    max: int = 100
    dedicated: int = 0


@dataclass(frozen=True, slots=True)
class SliceSpec:
    name: str
    snssai: Snssai
    type: SliceType
    sla: SlaTarget
    base_delay_ms: float
    se_factor: float
    initial_quota: QuotaSpec = QuotaSpec()


@dataclass(frozen=True, slots=True)
class Envelope:
    """0 before ``start_s``, rising linearly over ``ramp_s`` to 1, held ``hold_s`` (None: for ever), falling
    linearly over ``decay_s``."""

    start_s: float
    ramp_s: float = 0.0
    hold_s: float | None = None
    decay_s: float = 0.0

    def value(self, t: float) -> float:
        x = t - self.start_s
        if x < 0:
            return 0.0
        if x < self.ramp_s:
            return x / self.ramp_s
        x -= self.ramp_s
        if self.hold_s is None or x < self.hold_s:
            return 1.0
        x -= self.hold_s
        if x < self.decay_s:
            return 1.0 - x / self.decay_s
        return 0.0


@dataclass(frozen=True, slots=True)
class Diurnal:
    """Load factor ``1 + amplitude * cos(2 pi (hour - peak_hour) / 24)``; a day lasts ``day_length_s``."""

    amplitude: float
    peak_hour: float = 20.0
    start_hour: float = 8.0
    day_length_s: float = 86400.0

    def factor(self, t: float) -> float:
        hour = self.start_hour + 24.0 * t / self.day_length_s
        return 1.0 + self.amplitude * math.cos(2.0 * math.pi * (hour - self.peak_hour) / 24.0)


@dataclass(frozen=True, slots=True)
class Bursts:
    """Compound Poisson bursts per cell: ``rate_per_s`` bursts a second, exponential sizes of mean ``mean_mbit``."""

    rate_per_s: float
    mean_mbit: float


@dataclass(frozen=True, slots=True)
class FlashCrowd:
    """The slice's load in ``cells`` multiplied by ``1 + (factor - 1) * envelope``."""

    cells: tuple[int, ...]
    envelope: Envelope
    factor: float


@dataclass(frozen=True, slots=True)
class Surge:
    """A DDoS-like flood: ``load_mbps * envelope`` added to the slice's offered load in ``cells``."""

    cells: tuple[int, ...]
    envelope: Envelope
    load_mbps: float


@dataclass(frozen=True, slots=True)
class LoadMove:
    """UE mobility: ``fraction * envelope`` of the slice's load in ``src`` moves, shared equally, to ``dst``."""

    src: tuple[int, ...]
    dst: tuple[int, ...]
    envelope: Envelope
    fraction: float


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    """Offered load of one slice: ``load_mbps`` per cell (DL; UL is ``ul_ratio`` of it) and its shapes."""

    load_mbps: float
    ul_ratio: float = 0.1
    cv: float = 0.2
    diurnal: Diurnal | None = None
    bursts: Bursts | None = None
    flash_crowds: tuple[FlashCrowd, ...] = ()
    surges: tuple[Surge, ...] = ()
    mobility: tuple[LoadMove, ...] = ()


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario. ``traffic[i]`` is the traffic of ``slices[i]`` (None: the slice offers no load)."""

    name: str
    cells: tuple[CellSpec, ...]
    slices: tuple[SliceSpec, ...]
    traffic: tuple[TrafficSpec | None, ...]
    seed: int = 0
    tick_ms: int = 100
    duration_s: float = 600.0
    start_unix_ns: int = int(_DEFAULT_START.timestamp()) * 1_000_000_000
    plmn: bytes = b"\x00\xf1\x10"
    description: str = ""
    source: str = "<scenario>"
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ticks(self) -> int:
        """Ticks in ``duration_s``."""
        return max(1, round(self.duration_s * 1000 / self.tick_ms))

    @property
    def cell_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cells)

    @property
    def slice_keys(self) -> tuple[str, ...]:
        return tuple(s.snssai.key for s in self.slices)

    def with_seed(self, seed: int) -> Scenario:
        return replace(self, seed=seed)


# -- loading ---------------------------------------------------------------------------------------------


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("ricsdk.twin").joinpath("scenario.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _path(parts: Sequence[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<root>"


def shipped_scenarios() -> tuple[str, ...]:
    """Names of the scenarios shipped in ``ricsdk/twin/scenarios``."""
    folder = resources.files("ricsdk.twin").joinpath("scenarios")
    return tuple(sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")))


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Read a scenario file (YAML or JSON), or a shipped scenario by name."""
    path = Path(path_or_name)
    if not path.exists() and isinstance(path_or_name, str) and path_or_name in shipped_scenarios():
        ref = resources.files("ricsdk.twin").joinpath("scenarios").joinpath(f"{path_or_name}.yaml")
        return _parse_text(ref.read_text(encoding="utf-8"), f"ricsdk/twin/scenarios/{path_or_name}.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        known = ", ".join(shipped_scenarios())
        raise ConfigError(
            f"cannot read scenario ({exc.strerror}); shipped scenarios: {known}", source=str(path)
        ) from exc
    return _parse_text(text, str(path))


def _parse_text(text: str, source: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", source=source) from exc
    return scenario_from_dict(data, source)


def _plain(value: Any) -> Any:
    """YAML timestamps -> ISO strings, so the schema sees JSON types only."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def scenario_from_dict(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a mapping (as read from YAML/JSON) and build it."""
    data = _plain(data)
    errors = sorted(_validator().iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        first = errors[0]
        lines = [f"{_path(list(e.absolute_path))}: {e.message}" for e in errors]
        raise ConfigError(
            "scenario does not match the schema: " + "; ".join(lines),
            source=source,
            field=_path(list(first.absolute_path)),
        )
    return _Builder(data, source).build()


class _Builder:
    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        self.data = data
        self.source = source
        self.cell_names: list[str] = []

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(message, source=self.source, field=where)

    def build(self) -> Scenario:
        d = self.data
        cells = self._cells(d["cells"])
        slices = self._slices(d["slices"])
        traffic: list[TrafficSpec | None] = [None] * len(slices)
        names = [s.name for s in slices]
        for key, spec in d["traffic"].items():
            if key not in names:
                raise self.fail(f"traffic.{key}", f"no slice named {key!r} (slices: {', '.join(names)})")
            traffic[names.index(key)] = self._traffic(spec, f"traffic.{key}")
        kwargs: dict[str, Any] = {}
        if "plmn" in d:
            try:
                kwargs["plmn"] = plmn_from_str(d["plmn"])
            except E2ValueError as exc:
                raise self.fail("plmn", str(exc)) from exc
        if "start_time" in d:
            kwargs["start_unix_ns"] = self._start(d["start_time"])
        return Scenario(
            name=d["name"],
            cells=cells,
            slices=slices,
            traffic=tuple(traffic),
            seed=d.get("seed", 0),
            tick_ms=d.get("tick_ms", 100),
            duration_s=float(d.get("duration_s", 600.0)),
            description=d.get("description", ""),
            source=self.source,
            raw=d,
            **kwargs,
        )

    def _start(self, value: float | str) -> int:
        if isinstance(value, int | float):
            return int(value * 1_000_000_000)
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise self.fail("start_time", f"not an ISO 8601 time or unix seconds: {value!r}") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return int(when.timestamp() * 1_000_000) * 1000

    def _cells(self, items: list[dict[str, Any]]) -> tuple[CellSpec, ...]:
        out: list[CellSpec] = []
        for i, c in enumerate(items):
            where = f"cells[{i}]"
            se = self._se(c.get("se_profile", "urban"), f"{where}.se_profile")
            common = {
                "prbs": c["prbs"],
                "bandwidth_mhz": float(c["bandwidth_mhz"]),
                "se": se,
                "load": float(c.get("load", 1.0)),
                "load_spread": float(c.get("load_spread", 0.0)),
                "ul_se_factor": float(c.get("ul_se_factor", 0.7)),
                "overhead": float(c.get("overhead", 0.14)),
            }
            count = c.get("count")
            names = [c["name"]] if count is None else [f"{c['name']}-{k:03d}" for k in range(1, count + 1)]
            for name in names:
                if name in self.cell_names:
                    raise self.fail(f"{where}.name", f"cell {name!r} is defined twice")
                self.cell_names.append(name)
                out.append(CellSpec(name=name, **common))
        return tuple(out)

    def _se(self, value: str | dict[str, float], where: str) -> SeProfile:
        if isinstance(value, str):
            return SE_PRESETS[value]
        p = SeProfile(
            mean=float(value["mean"]),
            std=float(value.get("std", 0.8)),
            min=float(value.get("min", 0.2)),
            max=float(value.get("max", 7.4)),
            coherence=float(value.get("coherence", 0.9)),
        )
        if not p.min <= p.mean <= p.max:
            raise self.fail(where, f"needs min <= mean <= max, got {p.min} / {p.mean} / {p.max}")
        return p

    def _slices(self, items: list[dict[str, Any]]) -> tuple[SliceSpec, ...]:
        out: list[SliceSpec] = []
        seen_names: set[str] = set()
        seen_keys: dict[str, str] = {}
        for i, s in enumerate(items):
            where = f"slices[{i}]"
            if s["name"] in seen_names:
                raise self.fail(f"{where}.name", f"slice {s['name']!r} is defined twice")
            seen_names.add(s["name"])
            snssai = Snssai.of(s["sst"], int(s["sd"], 16) if "sd" in s else None)
            if snssai.key in seen_keys:
                raise self.fail(where, f"S-NSSAI {snssai.key} is already used by slice {seen_keys[snssai.key]!r}")
            seen_keys[snssai.key] = s["name"]
            kind = SliceType(s["type"])
            base_delay, se_factor = SLICE_TYPE_DEFAULTS[kind]
            sla = s.get("sla", {})
            q = s.get("initial_quota", {})
            quota = QuotaSpec(q.get("min", 0), q.get("max", 100), q.get("dedicated", 0))
            if not quota.dedicated <= quota.min <= quota.max:
                raise self.fail(
                    f"{where}.initial_quota",
                    f"needs dedicated <= min <= max, got {quota.dedicated} / {quota.min} / {quota.max}",
                )
            out.append(
                SliceSpec(
                    name=s["name"],
                    snssai=snssai,
                    type=kind,
                    sla=SlaTarget(
                        float(sla.get("min_throughput_mbps", 0.0)),
                        float(sla["max_delay_ms"]) if "max_delay_ms" in sla else None,
                        sla.get("priority", 1),
                        float(sla.get("tolerance", 0.05)),
                    ),
                    base_delay_ms=float(s.get("base_delay_ms", base_delay)),
                    se_factor=float(s.get("se_factor", se_factor)),
                    initial_quota=quota,
                )
            )
        dedicated = sum(s.initial_quota.dedicated for s in out)
        if dedicated > 100:
            raise self.fail("slices", f"initial dedicated ratios add up to {dedicated} % (at most 100)")
        return tuple(out)

    def _match(self, patterns: str | list[str], where: str) -> tuple[int, ...]:
        if patterns == "all":
            return tuple(range(len(self.cell_names)))
        picked: set[int] = set()
        for k, pat in enumerate(patterns):
            hits = [i for i, n in enumerate(self.cell_names) if fnmatch.fnmatchcase(n, pat)]
            if not hits:
                raise self.fail(f"{where}[{k}]", f"{pat!r} matches no cell")
            picked.update(hits)
        return tuple(sorted(picked))

    @staticmethod
    def _envelope(e: dict[str, Any]) -> Envelope:
        hold = e.get("hold_s")
        return Envelope(
            float(e["start_s"]),
            float(e.get("ramp_s", 0.0)),
            None if hold is None else float(hold),
            float(e.get("decay_s", 0.0)),
        )

    def _traffic(self, t: dict[str, Any], where: str) -> TrafficSpec:
        diurnal = None
        if "diurnal" in t:
            d = t["diurnal"]
            diurnal = Diurnal(
                float(d["amplitude"]),
                float(d.get("peak_hour", 20.0)),
                float(d.get("start_hour", 8.0)),
                float(d.get("day_length_s", 86400.0)),
            )
        bursts = None
        if "bursts" in t:
            bursts = Bursts(float(t["bursts"]["rate_per_s"]), float(t["bursts"]["mean_mbit"]))
        flash = tuple(
            FlashCrowd(
                self._match(f["cells"], f"{where}.flash_crowds[{i}].cells"), self._envelope(f), float(f["factor"])
            )
            for i, f in enumerate(t.get("flash_crowds", ()))
        )
        surges = tuple(
            Surge(self._match(s["cells"], f"{where}.surges[{i}].cells"), self._envelope(s), float(s["load_mbps"]))
            for i, s in enumerate(t.get("surges", ()))
        )
        moves = []
        for i, m in enumerate(t.get("mobility", ())):
            w = f"{where}.mobility[{i}]"
            src = self._match(m["from"], f"{w}.from")
            dst = self._match(m["to"], f"{w}.to")
            if set(src) & set(dst):
                raise self.fail(w, "'from' and 'to' share cells")
            moves.append(LoadMove(src, dst, self._envelope(m), float(m["fraction"])))
        return TrafficSpec(
            load_mbps=float(t["load_mbps"]),
            ul_ratio=float(t.get("ul_ratio", 0.1)),
            cv=float(t.get("cv", 0.2)),
            diurnal=diurnal,
            bursts=bursts,
            flash_crowds=flash,
            surges=surges,
            mobility=tuple(moves),
        )
