"""SubmgrSubscriber against a scripted Subscription Manager over real HTTP, and end to end over RMR."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ricsdk.e2 import e2ap
from ricsdk.e2.common import Snssai
from ricsdk.e2.kpm import EventTrigger, KpmCodec, KpmVersion
from ricsdk.runtime import handlers as h
from ricsdk.runtime.events import Indication
from ricsdk.runtime.platform import PlatformConfig, PlatformServer
from ricsdk.runtime.runner import XAppRunner
from ricsdk.runtime.state import XAppState
from ricsdk.runtime.submgr import (
    DEFAULT_SUBMGR_URL,
    ClientEndpoint,
    SubmgrConfig,
    SubmgrSubscriber,
    SubmgrSubscriptionError,
)
from ricsdk.runtime.subscriptions import KpmSubscriptionSpec, SubscriptionError
from ricsdk.runtime.xapp import XApp
from ricsdk.testing.e2node import E2NodeEmulator
from ricsdk.transport.rmr import RmrConfig, RmrTransport
from tests.platform.conftest import FakeSubmgr, RmrE2Relay, RmrTrio, served
from tests.runtime.conftest import CountingSource

SLICES = (Snssai.of(1, 1), Snssai.of(1, 2))
SPEC = KpmSubscriptionSpec("kpm", "gnb-1", ("DRB.UEThpDl", "RRU.PrbUsedDl"), SLICES, period_ms=100)


@contextlib.asynccontextmanager
async def xapp_side(
    submgr_url: str, state_file: Path | None = None, timeout_s: float = 3.0, app: XApp | None = None
) -> AsyncIterator[tuple[SubmgrSubscriber, PlatformServer]]:
    """A subscriber and the xApp's HTTP server (where submgr calls back), the runner not started."""
    platform: PlatformServer | None = None

    def endpoint() -> ClientEndpoint:
        assert platform is not None
        return ClientEndpoint("127.0.0.1", platform.port, 4560)

    sub = SubmgrSubscriber(
        SubmgrConfig(base_url=submgr_url, state_file=state_file, response_timeout_s=timeout_s), endpoint
    )
    runner = XAppRunner(app or XApp(), RmrTransport(RmrConfig(listen_host="127.0.0.1", listen_port=0)), subscriber=sub)
    platform = PlatformServer(runner, config=PlatformConfig(host="127.0.0.1", port=0), subscriptions=sub)
    async with platform:
        yield sub, platform


def test_default_endpoint_is_the_osc_submgr_service() -> None:
    assert SubmgrConfig().base_url == DEFAULT_SUBMGR_URL == "http://service-ricplt-submgr-http.ricplt:8088/ric/v1"
    env = {"RICSDK_SUBMGR_URL": "http://submgr.lab:9999/ric/v1", "RICSDK_SUBMGR_STATE": "/var/lib/x/subs.json"}
    cfg = SubmgrConfig.from_env(env)
    assert cfg.base_url == "http://submgr.lab:9999/ric/v1"
    assert cfg.state_file == Path("/var/lib/x/subs.json")
    ep = ClientEndpoint.for_xapp("slice-prb")
    assert ep.to_json() == {"Host": "service-ricxapp-slice-prb-http.ricxapp", "HTTPPort": 8080, "RMRPort": 4560}


async def test_subscription_params_carry_the_kpm_aper_bytes_and_the_e2_instance_id_comes_back(
    submgr: FakeSubmgr,
) -> None:
    async with xapp_side(submgr.url) as (sub, platform):
        active = await sub.subscribe(SPEC)
        port = platform.port
    body = submgr.requests[0]  # the fake validated it against SubscriptionParams (it answers 400 otherwise)
    assert "SubscriptionId" not in body
    assert body["ClientEndpoint"] == {"Host": "127.0.0.1", "HTTPPort": port, "RMRPort": 4560}
    assert body["Meid"] == "gnb-1"
    assert body["RANFunctionID"] == 2
    assert body["E2SubscriptionDirectives"] == {"E2TimeoutTimerValue": 2, "E2RetryCount": 2, "RMRRoutingNeeded": True}
    (detail,) = body["SubscriptionDetails"]
    codec = KpmCodec(KpmVersion.V2)
    assert detail["EventTriggers"] == list(codec.encode_event_trigger(EventTrigger(100)))
    assert codec.decode_event_trigger(bytes(detail["EventTriggers"])).reporting_period_ms == 100
    (action,) = detail["ActionToBeSetupList"]
    assert action["ActionID"] == 1 and action["ActionType"] == "report"
    assert action["SubsequentAction"] == {"SubsequentActionType": "continue", "TimeToWait": "zero"}
    adef = codec.decode_action_definition(bytes(action["ActionDefinition"]))
    assert [i.meas_type for i in adef.format.meas_info] == ["DRB.UEThpDl", "RRU.PrbUsedDl"] * 2
    # the notification's E2EventInstanceId is the RICrequestID instance id (requestor 123) and the RMR sub_id
    assert active.request_id == e2ap.RicRequestId(123, 41)
    assert active.sub_id == 41
    assert active.handle == "7001"
    assert submgr.notifications[0][2] == 200


async def test_a_notification_arriving_before_the_post_returns_is_not_lost(submgr: FakeSubmgr) -> None:
    submgr.mode = "before"
    async with xapp_side(submgr.url) as (sub, _):
        active = await sub.subscribe(SPEC)
    assert active.sub_id == 41
    assert sub.stats.notifications == 1


async def test_a_failed_subscription_raises_with_submgrs_error_details(submgr: FakeSubmgr, tmp_path: Path) -> None:
    submgr.mode = "fail"
    state = tmp_path / "subs.json"
    async with xapp_side(submgr.url, state) as (sub, _):
        with pytest.raises(SubmgrSubscriptionError) as info:
            await sub.subscribe(SPEC)
    err = info.value
    assert isinstance(err, SubscriptionError)
    assert (err.error_cause, err.error_source, err.timeout_type) == ("E2 node refused", "E2Node", "E2-Timeout")
    assert err.subscription_id == "7001"
    assert "E2Node" in str(err) and "E2-Timeout" in str(err)
    assert json.loads(state.read_text())["subscriptions"] == {}  # a failed subscription is not resent


async def test_refused_and_unreachable_submgr_raise_subscription_errors(submgr: FakeSubmgr) -> None:
    submgr.mode = "refuse"
    async with xapp_side(submgr.url) as (sub, _):
        with pytest.raises(SubmgrSubscriptionError) as info:
            await sub.subscribe(SPEC)
    assert info.value.status == 503
    async with served_nothing() as url, xapp_side(url) as (sub, _):
        with pytest.raises(SubscriptionError, match="not reachable"):
            await sub.subscribe(SPEC)


@contextlib.asynccontextmanager
async def served_nothing() -> AsyncIterator[str]:
    """A loopback URL where nothing listens (a port that was bound and released)."""
    from fastapi import FastAPI

    async with served(FastAPI()) as server:
        url = f"{server.url}/ric/v1"
    yield url


async def test_a_missing_notification_times_out_and_the_retry_resends_the_same_id(
    submgr: FakeSubmgr, tmp_path: Path
) -> None:
    submgr.mode = "silent"
    state = tmp_path / "subs.json"
    async with xapp_side(submgr.url, state, timeout_s=0.2) as (sub, _):
        with pytest.raises(SubmgrSubscriptionError, match="no notification"):
            await sub.subscribe(SPEC)
        assert sub.stats.timeouts == 1
        submgr.mode = "after"
        active = await sub.subscribe(SPEC)
    first, second = submgr.requests
    assert second["SubscriptionId"] == "7001"
    assert (
        second["SubscriptionDetails"][0]["XappEventInstanceId"]
        == first["SubscriptionDetails"][0]["XappEventInstanceId"]
    )
    assert active.handle == "7001" and active.sub_id == 41
    assert len(submgr.subs) == 1


async def test_the_subscription_id_is_persisted_and_reused_after_a_restart(submgr: FakeSubmgr, tmp_path: Path) -> None:
    state = tmp_path / "state" / "subs.json"
    async with xapp_side(submgr.url, state) as (sub, _):
        before = await sub.subscribe(SPEC)
    saved = json.loads(state.read_text())
    assert saved["version"] == 1
    assert saved["subscriptions"]["gnb-1/kpm"] == {
        "subscription_id": "7001",
        "xapp_event_instance_id": 1,
        "meid": "gnb-1",
        "ran_function_id": 2,
    }
    assert sorted(p.name for p in state.parent.iterdir()) == ["subs.json"]  # atomic write leaves no temp file
    # the process dies without unsubscribing; a new one starts from the state file
    async with xapp_side(submgr.url, state) as (sub, _):
        after = await sub.subscribe(SPEC)
    resend = submgr.requests[1]
    assert resend["SubscriptionId"] == "7001"
    assert resend["SubscriptionDetails"][0]["XappEventInstanceId"] == 1
    assert after.request_id == before.request_id and after.handle == before.handle
    assert sub.stats.resent == 1
    assert len(submgr.subs) == 1


async def test_an_id_submgr_no_longer_knows_is_dropped_for_a_fresh_subscription(
    submgr: FakeSubmgr, tmp_path: Path
) -> None:
    state = tmp_path / "subs.json"
    async with xapp_side(submgr.url, state) as (sub, _):
        await sub.subscribe(SPEC)
    submgr.forget()
    async with xapp_side(submgr.url, state) as (sub, _):
        active = await sub.subscribe(SPEC)
    assert [r.get("SubscriptionId") for r in submgr.requests] == [None, "7001", None]
    assert active.handle == "7002" and active.sub_id == 42
    assert sub.stats.stale_ids == 1
    assert json.loads(state.read_text())["subscriptions"]["gnb-1/kpm"]["subscription_id"] == "7002"


async def test_unsubscribe_deletes_at_submgr_and_forgets_the_id(submgr: FakeSubmgr, tmp_path: Path) -> None:
    state = tmp_path / "subs.json"
    async with xapp_side(submgr.url, state) as (sub, _):
        active = await sub.subscribe(SPEC)
        await sub.unsubscribe(active)
    assert submgr.deletes == ["7001"]
    assert submgr.subs == {}
    assert json.loads(state.read_text())["subscriptions"] == {}


async def test_a_corrupt_state_file_is_counted_and_the_xapp_subscribes_afresh(
    submgr: FakeSubmgr, tmp_path: Path
) -> None:
    state = tmp_path / "subs.json"
    state.write_bytes(b"{not json")
    async with xapp_side(submgr.url, state) as (sub, _):
        active = await sub.subscribe(SPEC)
    assert sub.stats.state_errors == 1
    assert active.handle == "7001"
    assert "SubscriptionId" not in submgr.requests[0]


async def test_two_specs_get_distinct_xapp_event_instance_ids(submgr: FakeSubmgr) -> None:
    other = KpmSubscriptionSpec("kpm2", "gnb-2", ("DRB.UEThpDl",), period_ms=1000, ran_function_id=3)
    async with xapp_side(submgr.url) as (sub, _):
        a = await sub.subscribe(SPEC)
        b = await sub.subscribe(other)
    xids = [r["SubscriptionDetails"][0]["XappEventInstanceId"] for r in submgr.requests]
    assert xids == [1, 2]
    assert (a.sub_id, b.sub_id) == (41, 42)
    assert submgr.requests[1]["Meid"] == "gnb-2" and submgr.requests[1]["RANFunctionID"] == 3


async def test_hostile_notifications_get_400_problem_json_and_are_counted(submgr: FakeSubmgr) -> None:
    async with xapp_side(submgr.url) as (sub, platform):
        url = f"{platform.url}/ric/v1/subscriptions/response"
        async with httpx.AsyncClient() as client:
            bad = [
                await client.post(url, content=b"{not json"),
                await client.post(url, json=[1, 2]),
                await client.post(url, json={"SubscriptionInstances": []}),
                await client.post(
                    url,
                    json={
                        "SubscriptionId": "1",
                        "SubscriptionInstances": [{"XappEventInstanceId": 1, "E2EventInstanceId": 70000}],
                    },
                ),
                await client.post(url, content=b"x" * (2 << 20)),
            ]
            ok = await client.post(url, json={"SubscriptionId": "9", "SubscriptionInstances": []})
            metrics = (await client.get(f"{platform.url}/metrics")).text
    assert [r.status_code for r in bad] == [400] * 5
    assert all(r.headers["content-type"] == "application/problem+json" for r in bad)
    assert "E2EventInstanceId" in bad[3].json()["detail"]
    assert ok.status_code == 200
    assert platform.stats.rejected == 5
    assert sub.stats.notifications_malformed == 3
    assert "ricsdk_http_rejected_total 5.0" in metrics
    assert "ricsdk_submgr_notifications_malformed_total 3.0" in metrics


# -- end to end: runner + submgr REST + E2 node over RMR -------------------------------------------------------
class KpmXApp(XApp):
    name = "kpm-e2e"

    def __init__(self) -> None:
        super().__init__()
        self.indications: list[Indication] = []
        self.seen = asyncio.Event()

    def subscriptions(self) -> list[KpmSubscriptionSpec]:
        return [KpmSubscriptionSpec("kpm", "gnb-1", ("DRB.UEThpDl", "RRU.PrbUsedDl"), SLICES, period_ms=20)]

    @h.on_indication("kpm")
    def on_kpm(self, ind: Indication) -> None:
        self.indications.append(ind)
        if len(self.indications) >= 3:
            self.seen.set()


async def test_runner_subscribes_through_submgr_and_receives_indications_over_rmr(
    submgr: FakeSubmgr, rmr_trio: RmrTrio, tmp_path: Path
) -> None:
    relay = RmrE2Relay(rmr_trio.submgr)
    await relay.start()
    submgr.relay = relay
    node = E2NodeEmulator("gnb-1", rmr_trio.node, CountingSource(), slices=SLICES)
    await node.start()
    app = KpmXApp()
    platform: PlatformServer | None = None

    def endpoint() -> ClientEndpoint:
        assert platform is not None
        return ClientEndpoint("127.0.0.1", platform.port, rmr_trio.xapp.port)

    sub = SubmgrSubscriber(SubmgrConfig(base_url=submgr.url, state_file=tmp_path / "s.json"), endpoint)
    runner = XAppRunner(app, rmr_trio.xapp, subscriber=sub)
    platform = PlatformServer(runner, config=PlatformConfig(host="127.0.0.1", port=0), subscriptions=sub)
    try:
        async with platform:
            await runner.start()
            assert runner.state is XAppState.RUNNING
            await asyncio.wait_for(app.seen.wait(), 10)
            ind = app.indications[0]
            assert ind.request_id == e2ap.RicRequestId(123, 41)  # submgr's E2 instance id reached the node
            assert set(ind.per_slice()) == {"1-000001", "1-000002"}
            assert list(node.subscriptions) == [41]
            await runner.aclose()
        assert submgr.deletes == ["7001"]
        assert node.subscriptions == {}  # the delete went through submgr to the node
        assert json.loads((tmp_path / "s.json").read_text())["subscriptions"] == {}
    finally:
        await runner.aclose()
        await node.aclose()
        await relay.aclose()
