"""An xApp and a fake E2 node over real native-RMR sockets: subscribe, indications, controls, outcomes."""

from __future__ import annotations

import asyncio

import pytest

from ricsdk.e2 import e2ap
from ricsdk.e2.common import Snssai
from ricsdk.e2.slice_quota import SliceQuota
from ricsdk.runtime import handlers as h
from ricsdk.runtime.events import ControlOutcome, Indication
from ricsdk.runtime.runner import RunnerConfig, XAppRunner
from ricsdk.runtime.state import XAppState
from ricsdk.runtime.subscriptions import KpmSubscriptionSpec
from ricsdk.runtime.xapp import XApp
from ricsdk.testing.e2node import E2NodeEmulator, QuotaRefused
from tests.runtime.conftest import CountingSource, RmrPair

SLICES = (Snssai.of(1, 1), Snssai.of(1, 2))
PLMN = b"\x00\xf1\x10"


class QuotaXApp(XApp):
    name = "quota-test"

    def __init__(self, slices: tuple[Snssai, ...] = SLICES) -> None:
        super().__init__()
        self.slices = slices
        self.indications: list[Indication] = []
        self.outcomes: list[ControlOutcome] = []
        self.done = asyncio.Event()

    def subscriptions(self) -> list[KpmSubscriptionSpec]:
        return [
            KpmSubscriptionSpec(
                "kpm", "gnb-1", ("DRB.UEThpDl", "RRU.PrbUsedDl", "DRB.RlcSduDelayDl"), self.slices, period_ms=20
            )
        ]

    @h.on_indication("kpm")
    async def on_kpm(self, ind: Indication) -> None:
        self.indications.append(ind)
        per = ind.per_slice()
        quotas = [
            SliceQuota(PLMN, Snssai.parse(key), int(m["RRU.PrbUsedDl"]), int(m["RRU.PrbUsedDl"]) + 20, 0)
            for key, m in sorted(per.items())
        ]
        await self.ctx.send_slice_quotas("gnb-1", quotas, request_id=ind.request_id, ran_function_id=3)

    @h.on_control_outcome()
    def outcome(self, o: ControlOutcome) -> None:
        self.outcomes.append(o)
        if len(self.outcomes) >= 3:
            self.done.set()


async def test_xapp_closes_the_loop_with_a_fake_node_over_rmr(rmr_pair: RmrPair) -> None:
    applied: list[tuple[SliceQuota, ...]] = []
    node = E2NodeEmulator("gnb-1", rmr_pair.node, CountingSource(), slices=SLICES, on_quota=applied.append)
    app = QuotaXApp()
    await node.start()
    async with XAppRunner(app, rmr_pair.xapp) as runner:
        assert runner.state is XAppState.RUNNING
        await asyncio.wait_for(app.done.wait(), 10)
        per = app.indications[0].per_slice()
        assert set(per) == {"1-000001", "1-000002"}
        assert per["1-000002"]["RRU.PrbUsedDl"] == 20.0
        assert per["1-000001"]["DRB.RlcSduDelayDl"] != per["1-000001"]["DRB.RlcSduDelayDl"]  # noValue -> NaN
        assert all(o.status == "ack" for o in app.outcomes)
        assert node.quotas["1-000002"].min_ratio == 20
        assert applied and applied[0][0].max_ratio == 30
        metrics = runner.metrics.render().decode()
        assert 'ricsdk_controls_total{e2_node="gnb-1",outcome="ack"}' in metrics
    assert runner.state is XAppState.STOPPED
    assert node.subscriptions == {}  # the runner unsubscribed on the way out
    await node.aclose()


async def test_refused_control_reports_the_nodes_cause(rmr_pair: RmrPair) -> None:
    def refuse(_: tuple[SliceQuota, ...]) -> None:
        raise QuotaRefused("no", e2ap.Cause.of("ricRequest", "function-resource-limit"))

    node = E2NodeEmulator("gnb-1", rmr_pair.node, CountingSource(), slices=SLICES, on_quota=refuse)
    app = QuotaXApp()
    await node.start()
    async with XAppRunner(app, rmr_pair.xapp):
        await asyncio.wait_for(app.done.wait(), 10)
    await node.aclose()
    assert {o.status for o in app.outcomes} == {"failure"}
    assert app.outcomes[0].cause == e2ap.Cause.of("ricRequest", "function-resource-limit")
    assert app.outcomes[0].slices == ("1-000001", "1-000002")


async def test_unanswered_control_times_out(rmr_pair: RmrPair) -> None:
    node = E2NodeEmulator("gnb-1", rmr_pair.node, CountingSource(), slices=SLICES, rc_ran_function_id=3)
    app = QuotaXApp()
    await node.start()
    # The node no longer answers controls: route 12040 nowhere useful by dropping answers in the emulator.
    original = node._control

    async def silent(msg: object, req: object) -> None:
        return None

    node._control = silent  # type: ignore[method-assign, assignment]
    async with XAppRunner(app, rmr_pair.xapp, config=RunnerConfig(control_timeout_s=0.05, sweep_interval_s=0.01)):
        await asyncio.wait_for(app.done.wait(), 10)
    node._control = original  # type: ignore[method-assign]
    await node.aclose()
    assert {o.status for o in app.outcomes} == {"timeout"}


async def test_subscription_refused_leaves_the_runner_degraded(rmr_pair: RmrPair) -> None:
    node = E2NodeEmulator("gnb-1", rmr_pair.node, CountingSource(), kpm_ran_function_id=7)
    app = QuotaXApp()
    await node.start()
    runner = XAppRunner(app, rmr_pair.xapp, config=RunnerConfig(subscribe_retry_s=5))
    await runner.start()
    try:
        assert runner.state is XAppState.DEGRADED
        assert not runner.health().ok
        assert "subscription" in runner.health().detail
    finally:
        await runner.aclose()
        await node.aclose()


def test_handler_signature_is_checked_at_class_creation() -> None:
    with pytest.raises(TypeError, match=r"takes \(self, event\)"):

        class Broken(XApp):
            @h.on_indication()
            def nope(self) -> None:
                pass


def test_duplicate_handlers_are_refused() -> None:
    with pytest.raises(TypeError, match="both handle"):

        class Twice(XApp):
            @h.on_policy(20008)
            def a(self, e: object) -> None:
                pass

            @h.on_policy(20008)
            def b(self, e: object) -> None:
                pass
