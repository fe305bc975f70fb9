"""The xApp's platform HTTP server with a real runner: probes follow the lifecycle, metrics, config, hygiene."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import httpx
import pytest

from ricsdk.errors import TransportError
from ricsdk.runtime.appmgr import AppmgrClient, AppmgrConfig, Registration, RegistrationError
from ricsdk.runtime.config import ConfigWatcher, XAppConfig
from ricsdk.runtime.platform import HttpServer, PlatformConfig, PlatformServer, XAppHost, descriptor_of
from ricsdk.runtime.runner import RunnerConfig, XAppRunner
from ricsdk.runtime.state import XAppState
from ricsdk.runtime.submgr import ClientEndpoint, SubmgrConfig, SubmgrSubscriber
from ricsdk.runtime.subscriptions import KpmSubscriptionSpec
from ricsdk.runtime.xapp import Health, XApp
from ricsdk.transport.rmr import RmrConfig, RmrTransport
from tests.platform.conftest import FakeAppmgr, FakeSubmgr, RmrTrio

DESCRIPTOR = {
    "name": "probe-test",
    "version": "1.2.3",
    "messaging": {"ports": [{"name": "http", "container": "c", "port": 8080}]},
    "controls": {"threshold": 3},
}


class ProbeXApp(XApp):
    name = "probe-test"

    def __init__(self) -> None:
        super().__init__()
        self.healthy = Health(True)

    def subscriptions(self) -> list[KpmSubscriptionSpec]:
        return [KpmSubscriptionSpec("kpm", "gnb-1", ("DRB.UEThpDl",), period_ms=1000)]

    def check_health(self) -> Health:
        return self.healthy


async def _wait_state(runner: XAppRunner, state: XAppState) -> None:
    for _ in range(500):
        if runner.state is state:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"runner stayed {runner.state}, wanted {state}")


async def test_readiness_follows_the_runner_and_liveness_stays_up(
    submgr: FakeSubmgr, rmr_trio: RmrTrio, tmp_path: Path
) -> None:
    app = ProbeXApp()
    platform: PlatformServer | None = None

    def endpoint() -> ClientEndpoint:
        assert platform is not None
        return ClientEndpoint("127.0.0.1", platform.port, rmr_trio.xapp.port)

    sub = SubmgrSubscriber(SubmgrConfig(base_url=submgr.url, response_timeout_s=0.2), endpoint)
    runner = XAppRunner(
        app, rmr_trio.xapp, subscriber=sub, config=RunnerConfig(subscribe_retry_s=0.1, subscribe_retry_max_s=0.1)
    )
    platform = PlatformServer(runner, config=PlatformConfig(host="127.0.0.1", port=0), subscriptions=sub)
    async with platform, httpx.AsyncClient(base_url=platform.url) as client:

        async def probe() -> tuple[int, int, dict[str, str]]:
            alive = await client.get("/ric/v1/health/alive")
            ready = await client.get("/ric/v1/health/ready")
            return alive.status_code, ready.status_code, ready.json()

        alive, ready, body = await probe()
        assert (alive, ready) == (200, 503)
        assert body["reason"] == "state created"

        submgr.mode = "silent"  # submgr never answers: the runner starts DEGRADED
        await runner.start()
        assert runner.state is XAppState.DEGRADED
        alive, ready, body = await probe()
        assert (alive, ready) == (200, 503)
        assert body["reason"] == "1 subscription(s) not active"

        submgr.mode = "after"  # the resubscribe loop gets through
        await _wait_state(runner, XAppState.RUNNING)
        alive, ready, body = await probe()
        assert (alive, ready) == (200, 200)
        assert body == {"status": "ready", "state": "running"}

        app.healthy = Health(False, "model not loaded")
        alive, ready, body = await probe()
        assert (ready, body["reason"]) == (503, "model not loaded")
        app.healthy = Health(True)

        await runner.aclose()
        alive, ready, body = await probe()
        assert (alive, ready, body["reason"]) == (200, 503, "state stopped")
    assert platform.stats.ready_ok == 1
    assert platform.stats.ready_refused == 4


async def test_metrics_are_scraped_in_prometheus_text_with_the_runner_counters(rmr_trio: RmrTrio) -> None:
    runner = XAppRunner(XApp(), rmr_trio.xapp)
    async with PlatformServer(runner, config=PlatformConfig(host="127.0.0.1", port=0)) as platform:
        await runner.start()
        try:
            async with httpx.AsyncClient(base_url=platform.url) as client:
                first = await client.get("/metrics")
                alias = await client.get("/ric/v1/metrics")
        finally:
            await runner.aclose()
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert 'ricsdk_xapp_state{state="running"} 1.0' in first.text
    assert 'ricsdk_transport_received_total{transport="RmrTransport"}' in first.text
    assert "ricsdk_http_scrapes_total 1.0" in first.text  # each scrape counts itself
    assert "ricsdk_http_scrapes_total 2.0" in alias.text
    assert alias.headers["content-type"] == first.headers["content-type"]


async def test_config_endpoint_serves_the_descriptor_in_force(tmp_path: Path) -> None:
    import json

    path = tmp_path / "config-file.json"
    path.write_text(json.dumps(DESCRIPTOR))
    cfg = XAppConfig.load(path)
    runner = XAppRunner(XApp(), _unstarted_transport())
    async with (
        PlatformServer(runner, config=PlatformConfig(host="127.0.0.1", port=0), descriptor=lambda: cfg) as platform,
        httpx.AsyncClient(base_url=platform.url) as client,
    ):
        resp = await client.get("/ric/v1/config")
        absent = await client.post("/ric/v1/subscriptions/response", json={})
    # XappConfigList of ric-plt-xapp-frame-py:api/xapp_rest_api.yaml
    assert resp.json() == [{"metadata": {"xappName": "probe-test", "configType": "json"}, "config": DESCRIPTOR}]
    assert absent.status_code in (404, 405)  # no submgr sink configured: no callback route


def _unstarted_transport() -> RmrTransport:
    return RmrTransport(RmrConfig(listen_host="127.0.0.1", listen_port=0))


async def test_http_server_binds_port_zero_installs_no_signal_handlers_and_releases_the_port() -> None:
    from fastapi import FastAPI

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    server = HttpServer(FastAPI(), host="127.0.0.1", port=0)
    assert server.port == 0  # nothing bound before start()
    await server.start()
    port = server.port
    assert port > 0 and server.serving
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    busy = HttpServer(FastAPI(), host="127.0.0.1", port=port)
    with pytest.raises(TransportError, match="cannot listen"):
        await busy.start()
    await server.aclose()
    with socket.create_server(("127.0.0.1", port)):  # the port is free again
        pass


async def test_platform_port_and_host_are_configurable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = XAppRunner(XApp(), _unstarted_transport())
    async with PlatformServer(runner, config=PlatformConfig(host="127.0.0.1", port=port)) as platform:
        assert platform.port == port
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/ric/v1/health/alive")).status_code == 200


async def test_xapp_host_brings_the_stack_up_in_order_and_down_in_reverse(
    submgr: FakeSubmgr, appmgr: FakeAppmgr, rmr_trio: RmrTrio, tmp_path: Path
) -> None:
    import json

    path = tmp_path / "config-file.json"
    path.write_text(json.dumps(DESCRIPTOR))
    cfg = XAppConfig.load(path)
    app = ProbeXApp()
    platform: PlatformServer | None = None

    def endpoint() -> ClientEndpoint:
        assert platform is not None
        return ClientEndpoint("127.0.0.1", platform.port, rmr_trio.xapp.port)

    sub = SubmgrSubscriber(SubmgrConfig(base_url=submgr.url), endpoint)
    runner = XAppRunner(app, rmr_trio.xapp, subscriber=sub, config=RunnerConfig(app_config=cfg.controls))
    watcher = ConfigWatcher.for_runner(cfg, runner, interval_s=0.05)
    platform = PlatformServer(
        runner,
        config=PlatformConfig(host="127.0.0.1", port=0),
        descriptor=descriptor_of(watcher),
        subscriptions=sub,
    )
    registration = Registration.from_config(cfg, {"HOSTNAME": "probe-test"})
    host = XAppHost(
        runner,
        platform,
        appmgr=AppmgrClient(AppmgrConfig(base_url=appmgr.url), sleep=_no_sleep),
        registration=registration,
        watcher=watcher,
    )
    async with host:
        # submgr called back during start(): the HTTP server was already listening
        assert runner.state is XAppState.RUNNING
        assert [b["appName"] for b in appmgr.registered] == ["probe-test"]
        async with httpx.AsyncClient(base_url=platform.url) as client:
            assert (await client.get("/ric/v1/health/ready")).status_code == 200
            assert (await client.get("/ric/v1/config")).json()[0]["config"]["controls"] == {"threshold": 3}
        url = platform.url
    assert appmgr.deregistered == [{"appName": "probe-test", "appInstanceName": "probe-test"}]
    assert submgr.deletes == ["7001"]
    assert runner.state is XAppState.STOPPED
    assert not platform.http.serving
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{url}/ric/v1/health/alive")


async def test_a_failed_registration_is_logged_unless_required(appmgr: FakeAppmgr, tmp_path: Path) -> None:
    import json

    path = tmp_path / "config-file.json"
    path.write_text(json.dumps(DESCRIPTOR))
    cfg = XAppConfig.load(path)
    appmgr.refuse_first = 99
    for required in (False, True):
        runner = XAppRunner(XApp(), _unstarted_transport())
        platform = PlatformServer(runner, config=PlatformConfig(host="127.0.0.1", port=0))
        host = XAppHost(
            runner,
            platform,
            appmgr=AppmgrClient(AppmgrConfig(base_url=appmgr.url, tries=2), sleep=_no_sleep),
            registration=Registration.from_config(cfg, {}),
            require_registration=required,
        )
        if required:
            with pytest.raises(RegistrationError):
                await host.start()
            assert runner.state is XAppState.STOPPED and not platform.http.serving  # cleaned up
        else:
            async with host:
                assert runner.state is XAppState.RUNNING


async def _no_sleep(_: float) -> None:
    return None


async def test_a_runner_that_fails_to_start_is_closed_with_the_http_server(rmr_trio: RmrTrio) -> None:
    class Broken(XApp):
        async def load(self) -> None:
            raise RuntimeError("model file missing")

    runner = XAppRunner(Broken(), rmr_trio.xapp)
    platform = PlatformServer(runner, config=PlatformConfig(host="127.0.0.1", port=0))
    with pytest.raises(RuntimeError, match="model file missing"):
        await XAppHost(runner, platform).start()
    assert runner.state is XAppState.STOPPED
    assert not platform.http.serving
