"""Judging quota policies in the twin: a manifest's xApp or a baseline, closed-loop over a transport, SLA figures.

Every run goes through :meth:`ricsdk.twin.Twin.run_with`: the real E2 nodes, codecs, transport (in-memory,
native RMR or gRPC) and, for a model, the unchanged :class:`~ricsdk.runtime.model_xapp.ModelXApp` decision path
with its policy guard. :func:`for_twin` points a manifest's KPM subscription at the twin's E2 nodes (one per
cell); everything else in the manifest (model, features, mapping, rate limit, slice bounds) is served as
shipped.

Baselines (:mod:`ricsdk.training.baselines`): a static equal share (``min = max = floor(100 / S)`` % per slice,
set once per cell) and no controls at all (the twin's initial quotas, ``0 / 100 / 0``: every PRB shared by SLA
priority weight).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from ricsdk.runtime.manifest import Manifest, load_manifest
from ricsdk.runtime.model_xapp import ModelXApp
from ricsdk.runtime.xapp import XApp
from ricsdk.training.baselines import NoControl, StaticEqualShare
from ricsdk.twin.scenario import Scenario, SliceType
from ricsdk.twin.twin import Twin

__all__ = [
    "BASELINES",
    "PolicyFigures",
    "XAppFactory",
    "compare",
    "figures",
    "for_twin",
    "manifest_factory",
    "run_policy",
]

log = structlog.get_logger(__name__)

#: Builds the xApp under test for a twin (it needs the twin's node ids and slices).
XAppFactory = Callable[[Twin], XApp]


@dataclass(frozen=True, slots=True)
class PolicyFigures:
    """The headline SLA figures of one run (violation time in cell-seconds)."""

    name: str
    violation_s: float
    violation_ratio: float
    throughput_shortfall_mbit: float
    urllc_p99_delay_ms: float
    violation_s_by_slice: dict[str, float]
    controls_acked: int
    controls_refused: int
    ticks: int
    transport: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def figures(name: str, report: dict[str, Any], scenario: Scenario) -> PolicyFigures:
    """The headline figures of a twin SLA report (the URLLC p99 is the worst URLLC slice's; NaN without one)."""
    urllc = [s.name for s in scenario.slices if s.type is SliceType.URLLC]
    p99 = max((float(report["slices"][n]["delay_ms"]["p99"]) for n in urllc), default=math.nan)
    return PolicyFigures(
        name=name,
        violation_s=float(report["total"]["violation_s"]),
        violation_ratio=float(report["total"]["violation_ratio"]),
        throughput_shortfall_mbit=float(report["total"]["throughput_shortfall_mbit"]),
        urllc_p99_delay_ms=p99,
        violation_s_by_slice={n: float(v["violation_s"]) for n, v in report["slices"].items()},
        controls_acked=int(report["e2"]["controls_acked"]),
        controls_refused=int(report["e2"]["controls_refused"]),
        ticks=int(report["ticks"]),
        transport=str(report.get("transport", "")),
    )


def for_twin(manifest: Manifest, twin: Twin) -> Manifest:
    """``manifest`` subscribing to the twin's E2 nodes at the twin's tick, all else unchanged."""
    sub = dataclasses.replace(manifest.subscription, e2_nodes=twin.node_ids)
    return dataclasses.replace(manifest, subscription=sub)


def manifest_factory(manifest: Manifest | Path) -> XAppFactory:
    """A factory of the manifest's :class:`ModelXApp`, subscribed to the twin it runs against."""
    m = load_manifest(manifest) if isinstance(manifest, Path) else manifest

    def build(twin: Twin) -> XApp:
        return ModelXApp(for_twin(m, twin))

    return build


def _static(twin: Twin) -> XApp:
    return StaticEqualShare(twin.node_ids, [s.snssai for s in twin.scenario.slices], twin.scenario.plmn)


def _none(twin: Twin) -> XApp:
    return NoControl(twin.node_ids, [s.snssai for s in twin.scenario.slices])


#: The baselines every comparison includes.
BASELINES: dict[str, XAppFactory] = {"static equal share": _static, "no controls": _none}


async def run_policy(
    factory: XAppFactory,
    scenario: Scenario,
    transport: str = "memory",
    periods: int | None = None,
    *,
    seed: int | None = None,
    name: str = "",
) -> PolicyFigures:
    """One closed-loop run of ``factory``'s xApp against a fresh twin of ``scenario``."""
    twin = Twin(scenario, seed=seed)
    xapp = factory(twin)
    report = await twin.run_with(xapp, transport, periods)
    out = figures(name or xapp.name, report, scenario)
    log.info(
        "policy evaluated", policy=out.name, scenario=scenario.name, transport=transport, violation_s=out.violation_s
    )
    return out


async def compare(
    policies: dict[str, XAppFactory],
    scenario: Scenario,
    transport: str = "memory",
    periods: int | None = None,
    *,
    seed: int | None = None,
    baselines: Sequence[str] = tuple(BASELINES),
) -> list[PolicyFigures]:
    """The named baselines, then every policy, each in its own twin of ``scenario`` (same seed)."""
    out = []
    for name in baselines:
        out.append(await run_policy(BASELINES[name], scenario, transport, periods, seed=seed, name=name))
    for name, factory in policies.items():
        out.append(await run_policy(factory, scenario, transport, periods, seed=seed, name=name))
    return out
