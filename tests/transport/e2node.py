"""A scripted E2 node for transport tests, built on the real E2AP codec, and an in-memory host for it.

``ScriptedNode`` implements :class:`ricsdk.transport.grpc.E2NodeBackend`: it accepts subscriptions to its RAN
functions (refusing those in ``refuse_functions``), streams ``indications`` RICindications per subscription and
then holds the subscription open, deletes subscriptions it knows, and acknowledges controls (failing those for
refused RAN functions). Every PDU in and out goes through ``encode_e2ap``/``decode_e2ap``.

``MemoryE2Host`` serves nodes on a :class:`~ricsdk.transport.memory.MemoryTransport` endpoint the way the OSC E2
Termination does over RMR: answers by return to sender, indications routed by (12050, ricInstanceID).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from ricsdk.e2.e2ap import (
    ActionToBeSetup,
    ActionType,
    Cause,
    CauseGroup,
    ComponentConfigAddition,
    ControlAckRequest,
    E2nodeComponentInterfaceType,
    E2nodeComponentNg,
    E2setupRequest,
    GlobalGnbId,
    GnbE2NodeId,
    IndicationType,
    RanFunction,
    RicControlAcknowledge,
    RicControlFailure,
    RicControlRequest,
    RicIndication,
    RicRequestId,
    RicSubscriptionDeleteFailure,
    RicSubscriptionDeleteRequest,
    RicSubscriptionDeleteResponse,
    RicSubscriptionFailure,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    decode_e2ap,
    encode_e2ap,
)
from ricsdk.e2.per import BitString
from ricsdk.transport.base import Message
from ricsdk.transport.memory import MemoryTransport

REQUESTOR = 1001
KPM_FUNCTION = 2
RC_FUNCTION = 3
REFUSED_FUNCTION = 99

MT_SUB_REQ, MT_SUB_RESP, MT_SUB_FAILURE = 12010, 12011, 12012
MT_SUB_DEL_REQ, MT_SUB_DEL_RESP, MT_SUB_DEL_FAILURE = 12020, 12021, 12022
MT_CONTROL_REQ, MT_CONTROL_ACK, MT_CONTROL_FAILURE = 12040, 12041, 12042
MT_INDICATION = 12050


def subscription_request(instance: int, ran_function: int = KPM_FUNCTION) -> bytes:
    return encode_e2ap(
        RicSubscriptionRequest(
            request_id=RicRequestId(REQUESTOR, instance),
            ran_function_id=ran_function,
            event_trigger=b"\x10\x00\x03\xe8",
            actions=(ActionToBeSetup(1, ActionType.REPORT, b"\x00\x01kpm-action"),),
        )
    )


def delete_request(instance: int, ran_function: int = KPM_FUNCTION) -> bytes:
    return encode_e2ap(RicSubscriptionDeleteRequest(RicRequestId(REQUESTOR, instance), ran_function))


def control_request(
    instance: int, ran_function: int = RC_FUNCTION, *, message: bytes = b"prb-quota", ack: bool = True
) -> bytes:
    return encode_e2ap(
        RicControlRequest(
            request_id=RicRequestId(REQUESTOR, instance),
            ran_function_id=ran_function,
            header=b"\x01rc-header",
            message=message,
            ack_request=ControlAckRequest.ACK if ack else ControlAckRequest.NO_ACK,
        )
    )


def node_setup_request(gnb_id: int) -> bytes:
    return encode_e2ap(
        E2setupRequest(
            transaction_id=1,
            global_e2node_id=GnbE2NodeId(GlobalGnbId(b"\x00\xf1\x10", BitString(gnb_id, 22))),
            ran_functions=(
                RanFunction(KPM_FUNCTION, b"kpm-definition", 1, "1.3.6.1.4.1.53148.1.2.2.2"),
                RanFunction(RC_FUNCTION, b"rc-definition", 1, "1.3.6.1.4.1.53148.1.1.2.3"),
            ),
            component_configs=(
                ComponentConfigAddition(
                    E2nodeComponentInterfaceType.NG, E2nodeComponentNg("amf1"), b"ng-setup", b"ng-response"
                ),
            ),
        )
    )


@dataclass
class ScriptedNode:
    """An E2 node emulator with a fixed script (see the module docstring)."""

    node_id: str
    gnb_id: int = 1
    indications: int = 3
    refuse_functions: frozenset[int] = frozenset({REFUSED_FUNCTION})
    subscribe_calls: list[RicSubscriptionRequest] = field(default_factory=list)
    released: int = 0
    active: dict[tuple[int, int, int], asyncio.Event] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def setup_request(self) -> bytes:
        return node_setup_request(self.gnb_id)

    async def subscribe(self, pdu: bytes) -> AsyncGenerator[bytes, None]:
        req = decode_e2ap(pdu)
        assert isinstance(req, RicSubscriptionRequest)
        self.subscribe_calls.append(req)
        await self._changed()
        rid, fn = req.request_id, req.ran_function_id
        if fn in self.refuse_functions:
            yield encode_e2ap(
                RicSubscriptionFailure(rid, fn, Cause.of(CauseGroup.RIC_REQUEST, "ran-function-id-invalid"))
            )
            return
        key = (fn, rid.requestor_id, rid.instance_id)
        ended = asyncio.Event()
        self.active[key] = ended
        try:
            yield encode_e2ap(RicSubscriptionResponse(rid, fn, admitted=tuple(a.action_id for a in req.actions)))
            for sn in range(self.indications):
                yield encode_e2ap(
                    RicIndication(
                        request_id=rid,
                        ran_function_id=fn,
                        action_id=req.actions[0].action_id,
                        indication_type=IndicationType.REPORT,
                        header=b"kpm-header",
                        message=sn.to_bytes(4, "big"),
                        sn=sn,
                    )
                )
            await ended.wait()
        finally:
            if self.active.get(key) is ended:
                del self.active[key]
            self.released += 1
            await self._changed()

    async def unsubscribe(self, pdu: bytes) -> bytes:
        req = decode_e2ap(pdu)
        assert isinstance(req, RicSubscriptionDeleteRequest)
        rid, fn = req.request_id, req.ran_function_id
        ended = self.active.pop((fn, rid.requestor_id, rid.instance_id), None)
        if ended is None:
            return encode_e2ap(
                RicSubscriptionDeleteFailure(rid, fn, Cause.of(CauseGroup.RIC_REQUEST, "request-id-unknown"))
            )
        ended.set()
        return encode_e2ap(RicSubscriptionDeleteResponse(rid, fn))

    async def control(self, pdu: bytes) -> bytes:
        req = decode_e2ap(pdu)
        assert isinstance(req, RicControlRequest)
        rid, fn = req.request_id, req.ran_function_id
        if fn in self.refuse_functions:
            return encode_e2ap(RicControlFailure(rid, fn, Cause.of(CauseGroup.RIC_REQUEST, "control-message-invalid")))
        if req.ack_request is ControlAckRequest.NO_ACK:
            return b""
        return encode_e2ap(RicControlAcknowledge(rid, fn, outcome=b"applied:" + req.message))

    async def wait_for(self, predicate: Callable[[ScriptedNode], bool]) -> None:
        """Wait until ``predicate(self)`` holds (re-checked at every subscribe and release)."""
        async with self.changed:
            await self.changed.wait_for(lambda: predicate(self))

    async def _changed(self) -> None:
        async with self.changed:
            self.changed.notify_all()


class MemoryE2Host:
    """Serves E2 nodes on a memory endpoint: RMR-style E2 Termination semantics over :class:`MemoryHub`."""

    def __init__(self, endpoint: MemoryTransport, nodes: list[ScriptedNode]) -> None:
        self.endpoint = endpoint
        self.nodes = {n.node_id: n for n in nodes}
        self._streams: dict[tuple[str, int, int, int], asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.endpoint.start()
        self._task = asyncio.create_task(self._serve())

    async def aclose(self) -> None:
        for task in list(self._streams.values()):
            task.cancel()
        await self.endpoint.aclose()
        if self._task is not None:
            await self._task
        if self._streams:
            await asyncio.wait(list(self._streams.values()))

    async def _serve(self) -> None:
        async for msg in self.endpoint:
            node = self.nodes[msg.meid]
            if msg.mtype == MT_SUB_REQ:
                req = decode_e2ap(msg.payload)
                assert isinstance(req, RicSubscriptionRequest)
                key = (msg.meid, req.ran_function_id, req.request_id.requestor_id, req.request_id.instance_id)
                self._streams[key] = asyncio.create_task(self._stream(node, msg, key))
            elif msg.mtype == MT_SUB_DEL_REQ:
                answer = await node.unsubscribe(msg.payload)
                ok = isinstance(decode_e2ap(answer), RicSubscriptionDeleteResponse)
                await self.endpoint.reply(msg, MT_SUB_DEL_RESP if ok else MT_SUB_DEL_FAILURE, answer)
            elif msg.mtype == MT_CONTROL_REQ:
                answer = await node.control(msg.payload)
                if answer:
                    ok = isinstance(decode_e2ap(answer), RicControlAcknowledge)
                    await self.endpoint.reply(msg, MT_CONTROL_ACK if ok else MT_CONTROL_FAILURE, answer)

    async def _stream(self, node: ScriptedNode, request: Message, key: tuple[str, int, int, int]) -> None:
        stream = node.subscribe(request.payload)
        try:
            first = await anext(stream)
            ok = isinstance(decode_e2ap(first), RicSubscriptionResponse)
            await self.endpoint.reply(request, MT_SUB_RESP if ok else MT_SUB_FAILURE, first)
            async for pdu in stream:
                await self.endpoint.send(Message(MT_INDICATION, pdu, sub_id=key[3], meid=key[0]))
        finally:
            await stream.aclose()
            self._streams.pop(key, None)
