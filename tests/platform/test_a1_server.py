"""The A1-P v2 endpoint over real HTTP: CRUD and status codes, ProblemDetails, callbacks, hostile inputs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from ricsdk.a1 import slice_sla
from ricsdk.a1.mediator import PolicyRequest
from ricsdk.a1.server import SLICE_SLA, A1PolicyServer, A1ServerConfig, EnforceStatus
from ricsdk.runtime import handlers as h
from ricsdk.runtime.events import PolicyEvent
from ricsdk.runtime.platform import HttpServer, PlatformConfig, PlatformServer, runner_policy_sink
from ricsdk.runtime.runner import XAppRunner
from ricsdk.runtime.xapp import XApp
from ricsdk.transport.base import Message
from tests.platform.conftest import RmrTrio, route, served

SLA = {"slices": [{"snssai": "1-000001", "min_prb_ratio": 10, "max_prb_ratio": 60}]}
SLA2 = {"slices": [{"snssai": "1-000001", "min_prb_ratio": 20, "max_prb_ratio": 70, "max_latency_ms": 15}]}
PROBLEM = "application/problem+json"


class SlaXApp(XApp):
    name = "sla-xapp"

    def __init__(self) -> None:
        super().__init__()
        self.events: list[PolicyEvent] = []
        self.sla: slice_sla.SliceSla | None = None

    @h.on_policy(slice_sla.TYPE_ID)
    def on_sla(self, event: PolicyEvent) -> None:
        self.events.append(event)
        if event.operation == "DELETE":
            self.sla = None
            return
        sla = slice_sla.parse(event.payload)
        if sla.slices[0].max_prb_ratio == 99:
            raise RuntimeError("cannot enforce 99 %")
        self.sla = sla


@dataclass
class Receiver:
    """A notificationDestination: records PolicyStatusObjects, answers 204 as the spec says."""

    received: list[tuple[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/status/{policy}")
        async def status(policy: str, request: Request) -> Response:
            self.received.append((policy, await request.json()))
            self.arrived.set()
            return Response(status_code=204)

        return app

    async def next(self) -> tuple[str, Any]:
        await asyncio.wait_for(self.arrived.wait(), 5)
        self.arrived.clear()
        return self.received[-1]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    async with served(r.build()) as server:
        r.url = server.url
        yield r


@dataclass
class Stack:
    app: SlaXApp
    runner: XAppRunner
    a1: A1PolicyServer
    platform: PlatformServer
    client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def xapp_with_a1(transport: Any, *, start_runner: bool = True) -> AsyncIterator[Stack]:
    app = SlaXApp()
    runner = XAppRunner(app, transport)
    a1 = A1PolicyServer([SLICE_SLA], runner_policy_sink(runner))
    platform = PlatformServer(runner, config=PlatformConfig(host="127.0.0.1", port=0), a1=a1)
    async with platform, httpx.AsyncClient(base_url=f"{platform.url}/A1-P/v2") as client:
        if start_runner:
            await runner.start()
        try:
            yield Stack(app, runner, a1, platform, client)
        finally:
            await runner.aclose()


async def test_policy_crud_reaches_the_on_policy_handler_with_a1ap_status_codes(
    rmr_trio: RmrTrio, receiver: Receiver
) -> None:
    async with xapp_with_a1(rmr_trio.xapp) as s:
        c = s.client
        types = await c.get("/policytypes")
        assert types.json() == ["20008"]  # A1AP type ids are strings
        ptype = (await c.get("/policytypes/20008")).json()
        assert ptype["policySchema"] == slice_sla.SCHEMA
        assert ptype["statusSchema"] == slice_sla.STATUS_SCHEMA

        dest = f"{receiver.url}/status/sla-1"
        created = await c.put("/policytypes/20008/policies/sla-1", json=SLA, params={"notificationDestination": dest})
        assert created.status_code == 201
        assert created.headers["location"] == f"{s.platform.url}/A1-P/v2/policytypes/20008/policies/sla-1"
        assert created.json() == SLA
        assert s.app.events[-1] == PolicyEvent("CREATE", 20008, "sla-1", SLA)
        assert s.app.sla is not None and s.app.sla.slices[0].max_prb_ratio == 60
        assert await receiver.next() == ("sla-1", {"enforceStatus": "ENFORCED"})

        assert (await c.get("/policytypes/20008/policies")).json() == ["sla-1"]
        assert (await c.get("/policytypes/20008/policies/sla-1")).json() == SLA
        assert (await c.get("/policytypes/20008/policies/sla-1/status")).json() == {"enforceStatus": "ENFORCED"}

        updated = await c.put("/policytypes/20008/policies/sla-1", json=SLA2)
        assert updated.status_code == 200 and "location" not in updated.headers
        assert s.app.events[-1].operation == "UPDATE"
        assert s.app.sla is not None and s.app.sla.slices[0].max_latency_ms == 15.0
        assert len(receiver.received) == 1  # the status did not change: no new notification

        deleted = await c.delete("/policytypes/20008/policies/sla-1")
        assert deleted.status_code == 204 and deleted.content == b""
        assert s.app.events[-1] == PolicyEvent("DELETE", 20008, "sla-1", {})
        assert s.app.sla is None
        gone = await c.get("/policytypes/20008/policies/sla-1")
        assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM
        assert gone.json()["status"] == 404 and "sla-1" in gone.json()["detail"]
        assert (await c.get("/policytypes/20008/policies")).json() == []

        metrics = s.runner.metrics.render().decode()
    assert 'ricsdk_a1_policies_total{operation="CREATE",status="OK",type="20008"} 1.0' in metrics
    assert 'ricsdk_a1_policies_total{operation="DELETE",status="DELETED",type="20008"} 1.0' in metrics
    assert "ricsdk_a1_server_created_total 1.0" in metrics


async def test_a_handler_that_fails_leaves_the_policy_not_enforced_and_says_so(
    rmr_trio: RmrTrio, receiver: Receiver
) -> None:
    refused = {"slices": [{"snssai": "1-000001", "min_prb_ratio": 10, "max_prb_ratio": 99}]}
    async with xapp_with_a1(rmr_trio.xapp) as s:
        dest = f"{receiver.url}/status/sla-9"
        resp = await s.client.put(
            "/policytypes/20008/policies/sla-9", json=refused, params={"notificationDestination": dest}
        )
        assert resp.status_code == 201  # stored: the policy is valid, enforcing it is what failed
        status = {"enforceStatus": "NOT_ENFORCED", "enforceReason": "OTHER_REASON"}
        assert (await s.client.get("/policytypes/20008/policies/sla-9/status")).json() == status
        assert await receiver.next() == ("sla-9", status)
        # a fixed policy flips the status, and the consumer hears about it
        assert (await s.client.put("/policytypes/20008/policies/sla-9", json=SLA)).status_code == 200
        assert await receiver.next() == ("sla-9", {"enforceStatus": "ENFORCED"})
        assert s.a1.stats.notifications_sent == 2


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "detail"),
    [
        ("PUT", "/policytypes/20008/policies/p", {"content": b"{nope"}, 400, "not JSON"),
        ("PUT", "/policytypes/20008/policies/p", {"content": b"\xff\xfe"}, 400, "not JSON"),
        ("PUT", "/policytypes/20008/policies/p", {"json": [SLA]}, 400, "JSON object"),
        ("PUT", "/policytypes/20008/policies/p", {"json": {"slices": [{"snssai": "1"}]}}, 400, "slices[0]"),
        (
            "PUT",
            "/policytypes/20008/policies/p",
            {"json": {"slices": [{"snssai": "1", "min_prb_ratio": 50, "max_prb_ratio": 40}]}},
            400,
            "slices[0].max_prb_ratio",
        ),
        (
            "PUT",
            "/policytypes/20008/policies/p",
            {"json": SLA, "params": {"notificationDestination": "ftp://x/y"}},
            400,
            "notificationDestination",
        ),
        ("PUT", "/policytypes/20008/policies/p", {"content": b" " * (2 << 20)}, 400, "exceeds"),
        ("PUT", "/policytypes/1/policies/p", {"json": SLA}, 404, "policy type '1'"),
        ("GET", "/policytypes/20009", {}, 404, "not supported"),
        ("GET", "/policytypes/20008/policies/nope/status", {}, 404, "nope"),
        ("DELETE", "/policytypes/20008/policies/nope", {}, 404, "nope"),
        ("POST", "/policytypes/20008/policies/p", {"json": SLA}, 405, ""),
        ("GET", "/nothing/here", {}, 404, ""),
    ],
)
async def test_hostile_requests_get_problem_details_and_are_counted(
    rmr_trio: RmrTrio, method: str, path: str, kwargs: dict[str, Any], status: int, detail: str
) -> None:
    async with xapp_with_a1(rmr_trio.xapp) as s:
        resp = await s.client.request(method, path, **kwargs)
        assert resp.status_code == status
        assert resp.headers["content-type"] == PROBLEM
        body = resp.json()
        assert body["status"] == status and body["title"]
        assert detail in body.get("detail", "")
        assert s.app.events == []  # nothing reached the xApp
        assert (await s.client.get("/policytypes/20008/policies")).json() == []
        st = s.a1.stats
        rejected = st.rejected_malformed + st.rejected_schema + st.not_found + st.method_not_allowed
        assert rejected == 1
        metrics = s.runner.metrics.render().decode()
    assert any(
        line.startswith("ricsdk_a1_server_") and line.endswith(" 1.0") and "requests" not in line
        for line in metrics.splitlines()
    )


async def test_policies_are_refused_with_503_until_the_xapp_runs(rmr_trio: RmrTrio) -> None:
    async with xapp_with_a1(rmr_trio.xapp, start_runner=False) as s:
        resp = await s.client.put("/policytypes/20008/policies/early", json=SLA)
        assert resp.status_code == 503 and resp.headers["content-type"] == PROBLEM
        assert "created" in resp.json()["detail"]
        assert (await s.client.get("/policytypes/20008/policies")).json() == []
        await s.runner.start()
        assert (await s.client.put("/policytypes/20008/policies/early", json=SLA)).status_code == 201


async def test_standalone_endpoint_on_its_own_port_limits_storage_and_times_out_slow_handlers() -> None:
    seen: list[PolicyRequest] = []

    async def sink(req: PolicyRequest) -> EnforceStatus:
        seen.append(req)
        if req.policy_instance_id == "slow":
            await asyncio.sleep(10)
        return EnforceStatus.ENFORCED

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/status"
    a1 = A1PolicyServer([SLICE_SLA], sink, config=A1ServerConfig(max_policies=2, delivery_timeout_s=0.1))
    await a1.start()
    try:
        async with (
            HttpServer(a1.root_app(), host="127.0.0.1", port=0) as server,
            httpx.AsyncClient(base_url=f"{server.url}/A1-P/v2") as c,
        ):
            ok = await c.put("/policytypes/20008/policies/a", json=SLA, params={"notificationDestination": dead})
            assert ok.status_code == 201
            slow = await c.put("/policytypes/20008/policies/slow", json=SLA)
            assert slow.status_code == 201
            assert (await c.get("/policytypes/20008/policies/slow/status")).json()["enforceStatus"] == "NOT_ENFORCED"
            full = await c.put("/policytypes/20008/policies/c", json=SLA)
            assert full.status_code == 507 and full.headers["content-type"] == PROBLEM
            assert (await c.put("/policytypes/20008/policies/a", json=SLA2)).status_code == 200  # updates still fit
    finally:
        await a1.aclose()
    assert [r.operation for r in seen] == ["CREATE", "CREATE", "UPDATE"]
    assert (a1.stats.delivery_failures, a1.stats.rejected_full) == (1, 1)
    assert a1.stats.notifications_failed == 1  # nobody listened at the destination; the PUT was not held up


async def test_the_mediator_path_and_the_rest_path_reach_the_same_handler(rmr_trio: RmrTrio, tmp_path: Path) -> None:
    """A1_POLICY_REQ 20010 from the OSC mediator over RMR (its string type id and JSON-string payload) and a
    PUT on the A1-P endpoint both end in the one ``@on_policy(20008)`` handler."""
    mediator = rmr_trio.submgr  # any RMR peer can play the mediator
    await route(mediator, tmp_path / "submgr.rt", [f"mse|20010|20008|127.0.0.1:{rmr_trio.xapp.port}"])
    async with xapp_with_a1(rmr_trio.xapp) as s:
        request = {
            "operation": "CREATE",
            "policy_type_id": "20008",
            "policy_instance_id": "from-mediator",
            "payload": json.dumps(SLA),
        }
        await mediator.send(Message(20010, json.dumps(request).encode(), sub_id=20008))
        answer = await asyncio.wait_for(anext(aiter(mediator)), 5)
        assert answer.mtype == 20011
        assert json.loads(answer.payload) == {
            "policy_type_id": 20008,
            "policy_instance_id": "from-mediator",
            "handler_id": "ricsdk",
            "status": "OK",
        }
        assert (await s.client.put("/policytypes/20008/policies/from-rest", json=SLA2)).status_code == 201
        assert [(e.operation, e.policy_instance_id, e.payload) for e in s.app.events] == [
            ("CREATE", "from-mediator", SLA),
            ("CREATE", "from-rest", SLA2),
        ]
