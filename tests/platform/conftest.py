"""Fakes of the OSC platform services, served for real over HTTP on loopback (port 0), and RMR plumbing.

- :class:`FakeSubmgr` follows the Subscription Manager REST facts (reference 4.4): it validates
  ``SubscriptionParams`` against a draft-07 transcription of ``api/xapp_rest_api.yaml``, answers 201
  ``{SubscriptionId, SubscriptionInstances: []}``, allocates E2 instance ids, accepts a resend with a known
  ``SubscriptionId`` (404 for an unknown one) and POSTs the ``SubscriptionResponse`` to
  ``http://<Host>:<HTTPPort>/ric/v1/subscriptions/response``: after its 201, or *before* it (the race the
  reference warns about), or a failure (E2EventInstanceId 0), or never. With an :class:`RmrE2Relay` it does
  what the real one does with the E2 node: RICsubscriptionRequest (requestor 123) over RMR, and the delete.
- :class:`FakeAppmgr` records ``/ric/v1/register`` and ``/ric/v1/deregister`` and can refuse the first tries.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ricsdk.e2 import e2ap
from ricsdk.runtime.platform import HttpServer
from ricsdk.transport.base import Message
from ricsdk.transport.rmr import RmrConfig, RmrTransport

# -- SubscriptionParams (ric-plt-xapp-frame-py:api/xapp_rest_api.yaml, reference 4.4) -----------------------
_TIME_TO_WAIT = ["zero", "w1ms", "w2ms", "w5ms", "w10ms", "w20ms", "w30ms", "w40ms", "w50ms", "w100ms", "w200ms"]
_TIME_TO_WAIT += ["w500ms", "w1s", "w2s", "w5s", "w10s", "w20s", "w60s"]
_BYTES = {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}}
SUBSCRIPTION_PARAMS_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["ClientEndpoint", "Meid", "RANFunctionID", "SubscriptionDetails"],
    "additionalProperties": False,
    "properties": {
        "SubscriptionId": {"type": "string"},
        "ClientEndpoint": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "Host": {"type": "string"},
                "HTTPPort": {"type": "integer", "minimum": 0, "maximum": 65535},
                "RMRPort": {"type": "integer", "minimum": 0, "maximum": 65535},
            },
        },
        "Meid": {"type": "string"},
        "RANFunctionID": {"type": "integer", "minimum": 0, "maximum": 4095},
        "E2SubscriptionDirectives": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "E2TimeoutTimerValue": {"type": "integer", "minimum": 1, "maximum": 10},
                "E2RetryCount": {"type": "integer", "minimum": 0, "maximum": 10},
                "RMRRoutingNeeded": {"type": "boolean"},
            },
        },
        "SubscriptionDetails": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["XappEventInstanceId", "EventTriggers", "ActionToBeSetupList"],
                "additionalProperties": False,
                "properties": {
                    "XappEventInstanceId": {"type": "integer", "minimum": 0, "maximum": 65535},
                    "EventTriggers": _BYTES,
                    "ActionToBeSetupList": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ActionID", "ActionType"],
                            "additionalProperties": False,
                            "properties": {
                                "ActionID": {"type": "integer", "minimum": 0, "maximum": 255},
                                "ActionType": {"enum": ["insert", "policy", "report"]},
                                "ActionDefinition": _BYTES,
                                "SubsequentAction": {
                                    "type": "object",
                                    "required": ["SubsequentActionType", "TimeToWait"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "SubsequentActionType": {"enum": ["continue", "wait"]},
                                        "TimeToWait": {"enum": _TIME_TO_WAIT},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
_PARAMS = jsonschema.Draft7Validator(SUBSCRIPTION_PARAMS_SCHEMA)


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[HttpServer]:
    server = HttpServer(app, host="127.0.0.1", port=0, graceful_shutdown_s=0.5)
    await server.start()
    try:
        yield server
    finally:
        await server.aclose()


# -- RMR ----------------------------------------------------------------------------------------------------
def rmr_config(table: Path, name: str) -> RmrConfig:
    table.write_text("newrt|start\nnewrt|end\n")
    return RmrConfig(
        listen_host="127.0.0.1",
        listen_port=0,
        src_id=name,
        advertise_ip="127.0.0.1",
        seed_route_table=table,
        rtg_svc="-1",
        seed_poll_interval=0.02,
        backoff_initial=0.02,
    )


@dataclass
class RmrTrio:
    """The OSC topology on loopback: xApp, submgr (E2 side of it) and E2T+node, with their route tables."""

    xapp: RmrTransport
    submgr: RmrTransport
    node: RmrTransport


async def route(t: RmrTransport, table: Path, routes: list[str]) -> None:
    """Replace a seed table with ``mse|mtype|sub_id|endpoint`` records and wait until exactly it is installed."""
    keys = {(int(r.split("|")[1]), int(r.split("|")[2])) for r in routes}
    table.write_text("newrt|start\n" + "".join(r + "\n" for r in routes) + "newrt|end\n")
    await asyncio.wait_for(t.wait_route_table(lambda rt: set(rt.entries) == keys), 5)


@pytest.fixture
async def rmr_trio(tmp_path: Path) -> AsyncIterator[RmrTrio]:
    paths = {n: tmp_path / f"{n}.rt" for n in ("xapp", "submgr", "node")}
    trio = RmrTrio(
        RmrTransport(rmr_config(paths["xapp"], "xapp")),
        RmrTransport(rmr_config(paths["submgr"], "submgr")),
        RmrTransport(rmr_config(paths["node"], "e2term")),
    )
    for t in (trio.xapp, trio.submgr, trio.node):
        await t.start()
    node = f"127.0.0.1:{trio.node.port}"
    await route(trio.xapp, paths["xapp"], [f"mse|12040|-1|{node}"])
    await route(trio.submgr, paths["submgr"], [f"mse|{m}|-1|{node}" for m in (12010, 12020)])
    await route(trio.node, paths["node"], [f"mse|12050|-1|127.0.0.1:{trio.xapp.port}"])
    try:
        yield trio
    finally:
        for t in (trio.xapp, trio.submgr, trio.node):
            await t.aclose()


class RmrE2Relay:
    """submgr's E2 side: RICsubscription(Delete)Request to the node over RMR, answers matched by instance id."""

    def __init__(self, transport: RmrTransport, version: e2ap.E2apVersion = e2ap.E2apVersion.V2) -> None:
        self.transport = transport
        self.version = version
        self._waiting: dict[int, asyncio.Future[e2ap.E2apMessage]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._receive())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _receive(self) -> None:
        async for msg in self.transport:
            pdu = e2ap.decode_e2ap(msg.payload)
            rid = getattr(pdu, "request_id", None)
            fut = self._waiting.pop(rid.instance_id, None) if rid is not None else None
            if fut is not None and not fut.done():
                fut.set_result(pdu)

    async def _exchange(self, meid: str, instance: int, mtype: int, pdu: e2ap.E2apMessage) -> e2ap.E2apMessage:
        fut: asyncio.Future[e2ap.E2apMessage] = asyncio.get_running_loop().create_future()
        self._waiting[instance] = fut
        await self.transport.send(Message(mtype, e2ap.encode_e2ap(pdu, self.version), sub_id=instance, meid=meid))
        return await asyncio.wait_for(fut, 5)

    async def subscribe(self, meid: str, instance: int, params: dict[str, Any], detail: dict[str, Any]) -> str:
        """The E2 subscription of one SubscriptionDetails entry; "" when admitted, else the cause.

        E2AP v2's RICtimeToWait has no "zero"; the REST value is sent as its smallest value, w1ms.
        """
        actions = tuple(
            e2ap.ActionToBeSetup(
                a["ActionID"],
                e2ap.ActionType.REPORT,
                bytes(a.get("ActionDefinition", [])),
                e2ap.SubsequentAction(e2ap.SubsequentActionType.CONTINUE, e2ap.TimeToWait.W1MS),
            )
            for a in detail["ActionToBeSetupList"]
        )
        req = e2ap.RicSubscriptionRequest(
            e2ap.RicRequestId(123, instance), params["RANFunctionID"], bytes(detail["EventTriggers"]), actions
        )
        answer = await self._exchange(meid, instance, 12010, req)
        if isinstance(answer, e2ap.RicSubscriptionResponse):
            return ""
        cause = getattr(answer, "cause", None)
        return str(cause) if cause is not None else type(answer).__name__

    async def delete(self, meid: str, instance: int, ran_function_id: int) -> None:
        await self._exchange(
            meid, instance, 12020, e2ap.RicSubscriptionDeleteRequest(e2ap.RicRequestId(123, instance), ran_function_id)
        )


# -- Subscription Manager -----------------------------------------------------------------------------------
@dataclass
class _Sub:
    params: dict[str, Any]
    instances: dict[int, int]  # XappEventInstanceId -> E2EventInstanceId


@dataclass
class FakeSubmgr:
    """``mode``: ``after`` (201, then the notification), ``before`` (notification first: the race),
    ``fail`` (E2EventInstanceId 0 with the error fields), ``silent`` (no notification), ``refuse`` (503)."""

    mode: str = "after"
    relay: RmrE2Relay | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    notifications: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)
    subs: dict[str, _Sub] = field(default_factory=dict)
    next_sid: int = 7001
    next_e2: int = 41
    url: str = ""
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def build(self) -> FastAPI:
        app = FastAPI()
        app.add_api_route("/ric/v1/subscriptions", self._subscribe, methods=["POST"])
        app.add_api_route("/ric/v1/subscriptions/{sid}", self._delete, methods=["DELETE"])
        app.add_api_route("/ric/v1/subscriptions", self._list, methods=["GET"])
        return app

    def forget(self) -> None:
        """As if submgr lost its state: every id becomes unknown."""
        self.subs.clear()

    async def _list(self) -> Response:
        return JSONResponse(
            [
                {
                    "SubscriptionId": int(sid),
                    "Meid": s.params["Meid"],
                    "ClientEndpoint": [
                        f"{s.params['ClientEndpoint']['Host']}:{s.params['ClientEndpoint']['HTTPPort']}"
                    ],
                    "SubscriptionInstances": [
                        {"XappEventInstanceId": x, "E2EventInstanceId": e} for x, e in s.instances.items()
                    ],
                }
                for sid, s in self.subs.items()
            ]
        )

    async def _subscribe(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        errors = sorted(_PARAMS.iter_errors(body), key=str)
        if errors:
            return JSONResponse({"error": errors[0].message}, status_code=400)
        if self.mode == "refuse":
            return Response(status_code=503)
        sid = body.get("SubscriptionId")
        if sid:
            sub = self.subs.get(sid)
            if sub is None:
                return Response(status_code=404)
        else:
            sid = str(self.next_sid)
            self.next_sid += 1
            sub = self.subs[sid] = _Sub(body, {})
        for d in body["SubscriptionDetails"]:
            if d["XappEventInstanceId"] not in sub.instances:
                sub.instances[d["XappEventInstanceId"]] = self.next_e2
                self.next_e2 += 1
        if self.mode == "before":
            await self._notify(sid, body)
        elif self.mode in ("after", "fail"):
            task = asyncio.create_task(self._notify_later(sid, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return JSONResponse({"SubscriptionId": sid, "SubscriptionInstances": []}, status_code=201)

    async def _notify_later(self, sid: str, body: dict[str, Any]) -> None:
        await asyncio.sleep(0.02)
        await self._notify(sid, body)

    async def _notify(self, sid: str, body: dict[str, Any]) -> None:
        sub = self.subs[sid]
        instances = []
        for d in body["SubscriptionDetails"]:
            xid = d["XappEventInstanceId"]
            e2id = sub.instances[xid]
            cause = ""
            if self.mode == "fail":
                cause = "E2 node refused"
            elif self.relay is not None:
                cause = await self.relay.subscribe(body["Meid"], e2id, body, d)
            if cause:
                instances.append(
                    {
                        "XappEventInstanceId": xid,
                        "E2EventInstanceId": 0,
                        "ErrorCause": cause,
                        "ErrorSource": "E2Node",
                        "TimeoutType": "E2-Timeout" if self.mode == "fail" else "",
                    }
                )
            else:
                instances.append({"XappEventInstanceId": xid, "E2EventInstanceId": e2id})
        ep = body["ClientEndpoint"]
        url = f"http://{ep['Host']}:{ep['HTTPPort']}/ric/v1/subscriptions/response"
        note = {"SubscriptionId": sid, "SubscriptionInstances": instances}
        async with httpx.AsyncClient() as client:
            resp = await client.post(url, json=note)
        self.notifications.append((url, note, resp.status_code))

    async def _delete(self, sid: str) -> Response:
        self.deletes.append(sid)
        sub = self.subs.pop(sid, None)
        if sub is None:
            return Response(status_code=400)
        if self.relay is not None:
            for e2id in sub.instances.values():
                await self.relay.delete(sub.params["Meid"], e2id, sub.params["RANFunctionID"])
        return Response(status_code=204)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


@pytest.fixture
async def submgr() -> AsyncIterator[FakeSubmgr]:
    fake = FakeSubmgr()
    async with served(fake.build()) as server:
        fake.url = f"{server.url}/ric/v1"
        yield fake
        await fake.drain()


# -- App Manager ---------------------------------------------------------------------------------------------
@dataclass
class FakeAppmgr:
    refuse_first: int = 0
    refuse_status: int = 503
    registered: list[dict[str, Any]] = field(default_factory=list)
    deregistered: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    status: int = 201
    url: str = ""

    def build(self) -> FastAPI:
        app = FastAPI()
        app.add_api_route("/ric/v1/register", self._register, methods=["POST"])
        app.add_api_route("/ric/v1/deregister", self._deregister, methods=["POST"])
        return app

    async def _register(self, request: Request) -> Response:
        self.attempts += 1
        if self.attempts <= self.refuse_first:
            return Response(status_code=self.refuse_status)
        self.registered.append(await request.json())
        return Response(status_code=self.status)

    async def _deregister(self, request: Request) -> Response:
        self.deregistered.append(await request.json())
        return Response(status_code=204)


@pytest.fixture
async def appmgr() -> AsyncIterator[FakeAppmgr]:
    fake = FakeAppmgr()
    async with served(fake.build()) as server:
        fake.url = f"{server.url}/ric/v1"
        yield fake
