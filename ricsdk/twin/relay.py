"""Serving the twin's nodes through the E2 relay (gRPC): a transport on the node side, backends on the relay side.

Theory of operation
-------------------
The relay server (:class:`~ricsdk.transport.grpc.E2RelayServer`) calls :class:`E2NodeBackend` methods with
E2AP PDUs; the twin's nodes speak :class:`~ricsdk.transport.base.Transport` messages. A :class:`RelayPort` joins
the two without touching either:

- each backend call becomes an inbound message of the port (mtype 12010 / 12020 / 12040, ``meid`` = the node,
  the PDU unchanged) carrying a future as its reply handle; the twin's serve loop hands it to the node as it
  would any message, and the node's :meth:`reply` resolves the future with the answer PDU;
- a node's indications (12050, ``sub_id`` = instance id) go to the stream of that subscription, a bounded
  :class:`~ricsdk.transport.memory.Inbox` the backend's ``subscribe`` iterator reads; an indication for a
  subscription without an open stream, or finding the stream full, is counted in ``stats.dropped_outbound``
  and logged.

A stream is opened before the subscription request reaches the node (no indication can be missed) and closed
when the relay closes the iterator (unsubscribe, client gone, server stopping).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Final, Protocol

import structlog

from ricsdk.e2 import e2ap
from ricsdk.errors import TransportError
from ricsdk.transport.base import Message, TransportStats
from ricsdk.transport.memory import Inbox

__all__ = ["RelayBackend", "RelayPort", "SetupSource"]

log = structlog.get_logger(__name__)

RIC_SUB_REQ: Final = 12010
RIC_SUB_DEL_REQ: Final = 12020
RIC_CONTROL_REQ: Final = 12040
RIC_INDICATION: Final = 12050


class SetupSource(Protocol):
    """What a backend needs from a node besides the port: its id and E2setupRequest."""

    node_id: str

    def setup_request(self) -> bytes: ...


class RelayPort:
    """The node-side :class:`~ricsdk.transport.base.Transport` of nodes served through the E2 relay."""

    def __init__(self, *, queue_size: int = 4096, stream_queue_size: int = 4096, call_timeout: float = 10.0) -> None:
        self.stats = TransportStats()
        self.call_timeout = call_timeout
        self._inbox = Inbox(queue_size)
        self._stream_queue_size = stream_queue_size
        self._streams: dict[tuple[str, int], Inbox] = {}
        self._running = False

    # -- Transport ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._inbox.closed:
            raise TransportError("relay port is closed")
        self._running = True

    async def send(self, msg: Message) -> None:
        if msg.mtype != RIC_INDICATION:
            raise TransportError(f"relay port: a node can only send indications (12050), not {msg.mtype}")
        stream = self._streams.get((msg.meid, msg.sub_id))
        if stream is None or not stream.put_nowait(msg):
            self.stats.dropped_outbound += 1
            dropped = self.stats.dropped_outbound
            if dropped == 1 or dropped % 1000 == 0:
                log.warning(
                    "relay port: indication dropped",
                    e2_node=msg.meid,
                    sub_id=msg.sub_id,
                    reason="no open stream" if stream is None else "stream full",
                    dropped=dropped,
                )
            if stream is None:
                raise TransportError(f"relay port: no open stream for {msg.meid}/{msg.sub_id}")
            return
        self.stats.sent += 1

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None:
        waiter = request.reply_to
        if not isinstance(waiter, asyncio.Future):
            raise TransportError("relay port: the request did not come from a relay call")
        if not waiter.done():
            waiter.set_result(payload)
            self.stats.sent += 1

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while (msg := await self._inbox.get()) is not None:
            yield msg

    async def aclose(self) -> None:
        self._running = False
        self._inbox.close()
        for stream in self._streams.values():
            stream.close()

    # -- relay side ---------------------------------------------------------------------------------------------
    async def call(self, node_id: str, mtype: int, pdu: bytes) -> bytes:
        """Hand a request PDU to the node and wait for its answer PDU."""
        if not self._running:
            raise TransportError("relay port is not running")
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        msg = Message(mtype, pdu, meid=node_id, reply_to=waiter)
        self.stats.received += 1
        if not self._inbox.put_nowait(msg):
            self.stats.dropped_inbound += 1
            raise TransportError(f"relay port: inbound queue full, request for {node_id} refused")
        try:
            return await asyncio.wait_for(waiter, self.call_timeout)
        except TimeoutError as exc:
            raise TransportError(f"relay port: {node_id} did not answer mtype {mtype}") from exc

    def open_stream(self, node_id: str, instance_id: int) -> Inbox | None:
        """The indication queue of a subscription (None when one is already open for it)."""
        key = (node_id, instance_id)
        if key in self._streams:
            return None
        stream = self._streams[key] = Inbox(self._stream_queue_size)
        return stream

    def close_stream(self, node_id: str, instance_id: int, stream: Inbox) -> None:
        if self._streams.get((node_id, instance_id)) is stream:
            del self._streams[(node_id, instance_id)]
        stream.close()

    def backends(self, nodes: Iterable[SetupSource]) -> list[RelayBackend]:
        return [RelayBackend(self, n) for n in nodes]


class RelayBackend:
    """One node as an :class:`~ricsdk.transport.grpc.E2NodeBackend` of the relay, through a :class:`RelayPort`."""

    def __init__(self, port: RelayPort, node: SetupSource) -> None:
        self.port = port
        self.node = node

    @property
    def node_id(self) -> str:
        return self.node.node_id

    def setup_request(self) -> bytes:
        return self.node.setup_request()

    async def subscribe(self, pdu: bytes) -> AsyncIterator[bytes]:
        req = e2ap.decode_e2ap(pdu)
        if not isinstance(req, e2ap.RicSubscriptionRequest):
            raise TransportError(f"expected a RICsubscriptionRequest, got {type(req).__name__}")
        iid = req.request_id.instance_id
        stream = self.port.open_stream(self.node_id, iid)
        try:
            answer = await self.port.call(self.node_id, RIC_SUB_REQ, pdu)
            yield answer
            if stream is None or not isinstance(e2ap.decode_e2ap(answer), e2ap.RicSubscriptionResponse):
                return
            while (msg := await stream.get()) is not None:
                yield msg.payload
        finally:
            if stream is not None:
                self.port.close_stream(self.node_id, iid, stream)

    async def unsubscribe(self, pdu: bytes) -> bytes:
        return await self.port.call(self.node_id, RIC_SUB_DEL_REQ, pdu)

    async def control(self, pdu: bytes) -> bytes:
        answer = await self.port.call(self.node_id, RIC_CONTROL_REQ, pdu)
        req = e2ap.decode_e2ap(pdu)
        if (
            isinstance(req, e2ap.RicControlRequest)
            and req.ack_request is e2ap.ControlAckRequest.NO_ACK
            and isinstance(e2ap.decode_e2ap(answer), e2ap.RicControlAcknowledge)
        ):
            return b""
        return answer
