"""The model-driven decision path: the flagship over real transports, the policy guard, lineage, model swaps."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from ricsdk.errors import A1PayloadError, ConfigError, ModelError
from ricsdk.lineage import LineageRecorder, Spool, SpoolConfig, verify_spool
from ricsdk.lineage.spool import FsyncPolicy
from ricsdk.models.host import Slot
from ricsdk.models.loaded import LoadedModel
from ricsdk.runtime.manifest import Manifest, load_manifest, parse_manifest
from ricsdk.runtime.metrics import RuntimeMetrics
from ricsdk.runtime.model_xapp import _limits, _SliceState
from ricsdk.runtime.runner import XAppRunner
from ricsdk.testing.e2node import E2NodeEmulator
from ricsdk.transport.memory import MEID_ROUTE, MemoryHub
from tests.runtime.conftest import RmrPair
from xapps.slice_prb_allocator.app import MANIFEST, SlicePrbAllocator
from xapps.slice_prb_allocator.features import FEATURES
from xapps.slice_prb_allocator.source import DemandSource

NODE = "gnb-001"


def _manifest(period_ms: int = 20) -> Manifest:
    m = load_manifest(MANIFEST)
    return dataclasses.replace(m, subscription=dataclasses.replace(m.subscription, period_ms=period_ms))


def test_shipped_manifest_matches_the_trained_artifact() -> None:
    """The manifest serves exactly what training produced: digest and feature list."""
    m = load_manifest(MANIFEST)
    meta = json.loads((MANIFEST.parent / "model" / "model.json").read_text())
    assert m.model.sha256 == meta["sha256"] == hashlib.sha256(m.model.path.read_bytes()).hexdigest()
    assert m.features == FEATURES
    assert m.model.output_name == meta["output_name"]
    assert sum(b.min_ratio for b in m.slices) <= 100


async def _run_flagship(
    transport_pair: tuple[object, object], spool_dir: Path, periods: int, metrics: RuntimeMetrics | None = None
) -> tuple[SlicePrbAllocator, E2NodeEmulator, DemandSource]:
    xapp_t, node_t = transport_pair
    m = _manifest()
    spool = Spool(spool_dir, SpoolConfig(fsync=FsyncPolicy.NEVER))
    rec = LineageRecorder(spool, instance="test-flagship")
    rec.open()
    await rec.start()
    app = SlicePrbAllocator.from_manifest(manifest=m, lineage=rec)
    source = DemandSource([b.snssai.key for b in m.slices], seed=3)
    node = E2NodeEmulator(
        NODE,
        node_t,
        source,
        slices=[b.snssai for b in m.slices],  # type: ignore[arg-type]
        on_quota=source.on_quota,
    )
    await node.start(realtime=True)
    async with XAppRunner(app, xapp_t, metrics=metrics):  # type: ignore[arg-type]
        for _ in range(500):
            if app.decisions >= periods:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
    await node.aclose()
    await rec.aclose()
    return app, node, source


def _check_loop(app: SlicePrbAllocator, node: E2NodeEmulator, spool_dir: Path, periods: int) -> None:
    m = app.manifest
    assert app.decisions >= periods
    assert node.stats.controls_acked >= periods - m.window - 1  # once the windows are full, every period acts
    assert node.stats.controls_refused == 0
    bounds = {b.snssai.key: b for b in m.slices}
    assert sum(q.min_ratio for q in node.quotas.values()) <= 100
    for key, q in node.quotas.items():
        b = bounds[key]
        assert b.min_ratio <= q.min_ratio <= q.max_ratio <= b.max_ratio
        assert b.dedicated_ratio <= q.dedicated_ratio <= q.min_ratio
    report = verify_spool(spool_dir)
    assert report.ok, report.issues
    assert report.records == app.decisions * len(m.slices)  # one record per slice decision, none lost


async def test_flagship_closes_the_loop_over_the_memory_transport(tmp_path: Path) -> None:
    hub = MemoryHub()
    xapp_t = hub.endpoint("xapp")
    node_t = hub.endpoint("e2term", meids=[NODE])
    for mtype in (12010, 12020, 12040):
        hub.add_route(mtype, MEID_ROUTE)
    hub.add_route(12050, "xapp")
    metrics = RuntimeMetrics()
    app, node, _ = await _run_flagship((xapp_t, node_t), tmp_path / "lineage", 30, metrics)
    _check_loop(app, node, tmp_path / "lineage", 30)
    # The per-slice gauges, read from the app at scrape time: the quota in force and the last KPIs of the cell.
    assert app.last_decision is not None
    cell = app.last_decision.cell
    reg = metrics.registry
    for key, q in node.quotas.items():
        labels = {"e2_node": NODE, "cell": cell, "slice": key}
        assert reg.get_sample_value("ricsdk_slice_quota_ratio", {**labels, "bound": "min"}) == q.min_ratio
        assert reg.get_sample_value("ricsdk_slice_quota_ratio", {**labels, "bound": "max"}) == q.max_ratio
        for name in app.manifest.measurements:
            assert reg.get_sample_value("ricsdk_slice_kpi", {**labels, "measurement": name}) is not None
    decision = reg.get_sample_value("ricsdk_stage_seconds_count", {"stage": "decision"})
    assert decision is not None and decision >= 30 - app.manifest.window


async def test_flagship_closes_the_loop_over_native_rmr(rmr_pair: RmrPair, tmp_path: Path) -> None:
    app, node, _ = await _run_flagship((rmr_pair.xapp, rmr_pair.node), tmp_path / "lineage", 25)
    _check_loop(app, node, tmp_path / "lineage", 25)
    assert app.loop_latency_ns and min(app.loop_latency_ns) > 0


# -- the policy guard, driven directly ---------------------------------------------------------------------


def _app() -> SlicePrbAllocator:
    return SlicePrbAllocator.from_manifest(manifest=_manifest())


def test_guard_clamps_to_bounds_and_rate_limits() -> None:
    app = _app()
    b = app._bounds["2-000001"]  # urllc-factory: min 10, max 50, dedicated 5
    assert app._guard("2-000001", b, (1.0, 90.0, 0.0))[:3] == (10, 50, 5)
    app._state("", "", "2-000001").quota = (10, 20, 5)
    mn, mx, ded, why = app._guard("2-000001", b, (40.0, 50.0, 0.0))
    assert (mn, mx, why) == (20, 30, "rate-limited")  # max_change_per_period is 10
    assert ded == 5


def test_rate_limit_and_quota_state_are_per_cell() -> None:
    """Two cells carrying the same slice each rate-limit against their own quota in force."""
    app = _app()
    key = "2-000001"
    lim = _limits(app._bounds[key])
    app._state("gnb-a", "c1", key).quota = (10, 20, 5)
    app._state("gnb-b", "c1", key).quota = (40, 50, 5)
    a = app._clamp(app._state("gnb-a", "c1", key), lim, (45.0, 50.0, 0.0))
    b = app._clamp(app._state("gnb-b", "c1", key), lim, (45.0, 50.0, 0.0))
    assert a[:2] == (20, 30) and a[3] == "rate-limited"
    assert b[:2] == (45, 50) and b[3] == ""
    assert app.quota_in_force("gnb-a", "c1", key) == (10, 20, 5)
    assert app.quota_in_force("gnb-c", "c1", key) is None
    # An A1 policy is about the slice, so it reaches every cell.
    app.apply_sla(key, 30, 35, "p")
    assert app._clamp(app._state("gnb-b", "c1", key), lim, (45.0, 50.0, 0.0))[:2] == (35, 35)


def test_a1_sla_narrows_the_bounds_until_the_policy_goes() -> None:
    app = _app()
    b = app._bounds["1-000001"]
    app.apply_sla("1-000001", 30, 40, "sla-1")
    assert app._guard("1-000001", b, (5.0, 90.0, 0.0))[:2] == (30, 40)
    app.clear_sla("sla-1")
    assert app._guard("1-000001", b, (5.0, 90.0, 0.0))[:2] == (5, 80)


def test_capacity_keeps_the_sum_of_minimums_within_100() -> None:
    app = _app()
    plan_keys = [b.snssai.key for b in app.manifest.slices]
    quotas = [(30, 60, 0)] * len(plan_keys)
    reasons = [""] * len(plan_keys)

    @dataclasses.dataclass
    class P:
        keys: list[str]
        limits: list[tuple[int, int, int]]
        states: list[_SliceState]

    plan = P(plan_keys, [_limits(app._bounds[k]) for k in plan_keys], [app._state("n", "c", k) for k in plan_keys])
    app._fit_capacity(plan, quotas, reasons)  # type: ignore[arg-type]
    assert sum(q[0] for q in quotas) <= 100
    assert all(q[0] >= app._bounds[k].min_ratio for q, k in zip(quotas, plan_keys, strict=True))
    assert "capacity" in reasons


def test_manifest_refuses_infeasible_minimums(tmp_path: Path) -> None:
    doc = __import__("yaml").safe_load(MANIFEST.read_text())
    doc["slices"] = [{"snssai": f"1-00000{i}", "min_ratio": 30} for i in range(1, 5)]
    with pytest.raises(ConfigError, match="more than 100"):
        parse_manifest(doc, base_dir=MANIFEST.parent)


def test_manifest_errors_name_the_json_path(tmp_path: Path) -> None:
    doc = __import__("yaml").safe_load(MANIFEST.read_text())
    doc["features"]["inputs"][2]["fn"] = "median"
    with pytest.raises(ConfigError) as info:
        parse_manifest(doc, base_dir=MANIFEST.parent, source="m.yaml")
    assert info.value.field == "$.features.inputs[2].fn"


# -- models: refusal keeps the old one, failures hold the last quota ---------------------------------------


async def test_refused_model_keeps_the_old_one_serving(tmp_path: Path) -> None:
    app = _app()
    loaded = await asyncio.to_thread(
        __import__("ricsdk.models.loaded", fromlist=["load_model"]).load_model, app.manifest.model
    )
    app.host.install(Slot.ACTIVE, loaded)
    bad = tmp_path / "model.onnx"
    bad.write_bytes(app.manifest.model.path.read_bytes()[:-10])
    spec = dataclasses.replace(app.manifest.model, path=bad)
    with pytest.raises(ModelError, match="digest mismatch"):
        await app.swap_model(spec)
    assert app.host.model(Slot.ACTIVE) is loaded


class _FailingSession:
    """An onnxruntime-like session whose every run fails (what a corrupted session would do)."""

    def run(self, output_names: list[str], input_feed: dict[str, object]) -> list[object]:
        raise RuntimeError("onnxruntime: kernel failed")


async def test_inference_failure_holds_the_last_quota(tmp_path: Path) -> None:
    hub = MemoryHub()
    xapp_t = hub.endpoint("xapp")
    node_t = hub.endpoint("e2term", meids=[NODE])
    for mtype in (12010, 12020, 12040):
        hub.add_route(mtype, MEID_ROUTE)
    hub.add_route(12050, "xapp")
    app, _node, source = await _run_flagship((xapp_t, node_t), tmp_path / "l1", 15)
    quotas_before = {k: s.quota for k, s in app._cells.items()}
    failing = LoadedModel(app.manifest.model, _FailingSession())
    # More periods with a model whose every call fails: every slice keeps its quota, nothing is sent.
    hub2 = MemoryHub()
    x2, n2 = hub2.endpoint("xapp"), hub2.endpoint("e2term", meids=[NODE])
    for mtype in (12010, 12020, 12040):
        hub2.add_route(mtype, MEID_ROUTE)
    hub2.add_route(12050, "xapp")
    node2 = E2NodeEmulator(NODE, n2, source, slices=[b.snssai for b in app.manifest.slices])
    await node2.start(realtime=True)
    async with XAppRunner(app, x2):
        app.host.install(Slot.ACTIVE, failing)  # after load(), which installs the manifest's model
        start = app.decisions
        for _ in range(300):
            if app.decisions >= start + 5:
                break
            await asyncio.sleep(0.02)
    await node2.aclose()
    assert app.withheld.get("inference-failed", 0) >= 5 * len(app.manifest.slices)
    assert {k: s.quota for k, s in app._cells.items()} == quotas_before
    assert node2.stats.controls_acked == 0
    assert np.isfinite(list(app.loop_latency_ns)).all()


async def test_a1_slice_sla_policy_from_the_mediator_narrows_bounds(tmp_path: Path) -> None:
    """An OSC A1 mediator message (string type id, JSON-string payload) reaches the flagship's handler."""
    from ricsdk.runtime.events import PolicyEvent

    app = _app()
    payload = {"slices": [{"snssai": "1-000001", "min_prb_ratio": 30, "max_prb_ratio": 40}]}
    app.on_slice_sla(PolicyEvent("CREATE", 20008, "p1", payload))
    b = app._bounds["1-000001"]
    assert app._guard("1-000001", b, (5.0, 90.0, 0.0))[:2] == (30, 40)
    assert app._policies["1-000001"].policy_ids == ("p1",)
    app.on_slice_sla(PolicyEvent("DELETE", 20008, "p1", {}))
    assert app._guard("1-000001", b, (5.0, 90.0, 0.0))[:2] == (5, 80)
    with pytest.raises(A1PayloadError):
        app.on_slice_sla(
            PolicyEvent(
                "CREATE", 20008, "p2", {"slices": [{"snssai": "1-000001", "min_prb_ratio": 50, "max_prb_ratio": 10}]}
            )
        )


def test_values_gather_of_a_dense_plan_equals_the_scatter() -> None:
    """A plan whose records fill every (slice, measurement) cell maps them with one gather; the matrix is the one
    the general scatter builds (NaN for noValue / notSatisfied records, which ``float()`` makes NaN)."""
    from ricsdk.e2.kpm import Missing
    from ricsdk.runtime.model_xapp import _Plan

    app = _app()
    ncols = len(app._meas_col)
    keys = ["1", "2", "3"]
    rng = np.random.default_rng(5)
    order = rng.permutation(len(keys) * ncols)  # record r fills cell order[r]
    rec_index = np.argsort(order)  # cells in (row, col) order -> their record
    row_pos, col = np.divmod(np.arange(len(keys) * ncols), ncols)
    dense = np.empty(len(order), dtype=np.intp)
    dense[row_pos * ncols + col] = rec_index
    plans = [_Plan(keys, np.arange(3), rec_index, row_pos, col, [], [], (), [], [], d) for d in (dense, None)]
    records = tuple(int(v) if v % 5 else Missing.NO_VALUE for v in rng.integers(0, 1000, len(order)))
    assert float(Missing.NOT_SATISFIED) != float(Missing.NOT_SATISFIED)  # NaN
    a, b = (app._values(p, records) for p in plans)
    assert a.shape == b.shape == (3, ncols)
    np.testing.assert_array_equal(a, b)
    assert np.isnan(a).sum() == sum(r is Missing.NO_VALUE for r in records)
