"""E2 over gRPC: the E2 relay server (node side) and the xApp transport (client side).

Theory of operation
-------------------
The relay service (``proto/ricsdk/e2relay/v1/e2relay.proto``) is SD-RAN's E2T API reduced to what E2AP needs,
with complete E2AP PDUs (APER) as payloads: ``Subscribe`` runs the RIC Subscription procedure and then streams
the subscription's indications, ``Unsubscribe`` and ``Control`` are unary, ``ListNodes`` lists the E2 nodes
served with their E2setupRequest PDUs. Neither side converts a payload: both run the real E2AP codecs.

*Server.* :class:`E2RelayServer` serves any number of :class:`E2NodeBackend` objects (E2 node emulators, the
twin, a bridge to a real E2 Termination), keyed by their ``node_id``. Every request PDU is decoded with
:func:`~ricsdk.e2.e2ap.decode_e2ap` before a backend sees it; one that does not decode, or is not the message the
call expects, is refused with ``INVALID_ARGUMENT`` naming the problem and counted in ``stats.malformed``. An
unknown node is ``NOT_FOUND``. The backend's answers are checked as well (the outcome of the right procedure,
for the same RIC request id; indications by their first two octets, as the relay's hot path stays
decode-free); a backend that breaks that contract, or raises, is ``INTERNAL`` and counted in
``stats.backend_errors``. A Subscribe call runs the backend's ``subscribe`` iterator in a pump task that writes
to the stream; ``Unsubscribe`` with a successful outcome cancels the pumps of that subscription (same node, RAN
function and RIC request id), and their streams end with OK. A client that goes away cancels its call, which
closes the backend iterator.

*Client.* :class:`GrpcE2Transport` is a :class:`~ricsdk.transport.base.Transport` that maps RMR's message
model onto the relay. ``msg.meid`` names the E2 node; the payload is the E2AP PDU:

============  ===================================  =====================================================
sent mtype    relay call                           inbound messages
============  ===================================  =====================================================
12010         ``Subscribe`` (a stream)             12011 (ack) or 12012 (failure), then 12050 indications
12020         ``Unsubscribe``                      12021 or 12022
12040         ``Control``                          12041 or 12042 (none for a noAck request that succeeded)
============  ===================================  =====================================================

Inbound messages carry ``meid`` = the node id, ``sub_id`` = the ricInstanceID (of the subscription for its
ack, failure and indications, of the answer PDU for the unary calls, as the OSC E2 Termination sets it),
``xid`` = the xid of the message that started the procedure, and ``src`` = the relay's address. Any other
mtype, a payload that is not the expected PDU, or a message without ``meid``, raises
:class:`~ricsdk.errors.TransportError` from ``send``.

``send`` never waits on the network: it validates, starts the call in a task and returns. Unary calls carry a
deadline (``call_timeout``) and wait for the channel to become ready within it; a call that fails is counted in
``send_failures`` and ``dropped_outbound`` and logged with its status (nothing is invented in its place), and
at most ``max_inflight_calls`` run at once (beyond that ``send`` raises). A subscription stream that breaks
with a status that a restart can cure (``UNAVAILABLE``, ``CANCELLED`` by a stopping server, ``INTERNAL`` ...)
is reopened with the same RICsubscriptionRequest after ``backoff_initial * backoff_factor**n`` seconds (at
most ``backoff_max``), waiting for the channel to be ready; each reopening is counted in ``stats.reconnects``
and logged, and the node's new answer is delivered again (a second 12011 tells the xApp that the subscription
was re-established, and which actions were admitted this time). A status that no retry can cure
(``INVALID_ARGUMENT``, ``NOT_FOUND``, ``UNIMPLEMENTED`` ...) ends the subscription, counted in
``stats.send_failures`` and logged. A successful 12021 stops the subscription's stream.

Inbound messages wait in a bounded :class:`~ricsdk.transport.memory.Inbox`; when it is full the message is
dropped, counted in ``stats.dropped_inbound`` and logged (the first drop and every thousandth).
:meth:`GrpcE2Transport.wait_until` waits for a condition on the counters, re-checked whenever they change.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

import grpc
import grpc.aio
import structlog

from ricsdk.e2.e2ap import (
    MESSAGE_TYPES,
    PduKind,
    RicControlAcknowledge,
    RicControlFailure,
    RicControlRequest,
    RicIndication,
    RicSubscriptionDeleteFailure,
    RicSubscriptionDeleteRequest,
    RicSubscriptionDeleteResponse,
    RicSubscriptionFailure,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    decode_e2ap,
    peek_procedure,
)
from ricsdk.errors import ConfigError, E2DecodeError, MessageTooLargeError, TransportError
from ricsdk.transport.base import Message, TransportStats
from ricsdk.transport.memory import Inbox

__all__ = [
    "E2NodeBackend",
    "E2NodeInfo",
    "E2RelayServer",
    "GrpcE2Transport",
    "GrpcTransportConfig",
    "GrpcTransportState",
    "RIC_CONTROL_ACK",
    "RIC_CONTROL_FAILURE",
    "RIC_CONTROL_REQ",
    "RIC_INDICATION",
    "RIC_SUB_DEL_FAILURE",
    "RIC_SUB_DEL_REQ",
    "RIC_SUB_DEL_RESP",
    "RIC_SUB_FAILURE",
    "RIC_SUB_REQ",
    "RIC_SUB_RESP",
    "RelayServerConfig",
    "RelayServerState",
    "RelayStats",
    "SubscriptionKey",
    "TlsClientConfig",
    "TlsServerConfig",
]

log = structlog.get_logger(__name__)


def _load_generated() -> tuple[Any, Any]:
    # Imported by name: the generated modules are not type-checked (see ricsdk._proto.build).
    try:
        messages = importlib.import_module("ricsdk._proto.e2relay.v1.e2relay_pb2")
        services = importlib.import_module("ricsdk._proto.e2relay.v1.e2relay_pb2_grpc")
    except ImportError as exc:  # a source checkout that was never built
        raise ImportError(
            "the E2 relay protobuf modules are not generated: install ricsdk (pip install -e .) "
            "or run python -m ricsdk._proto.build"
        ) from exc
    return messages, services


pb, pb_grpc = _load_generated()

RIC_SUB_REQ: Final = 12010
RIC_SUB_RESP: Final = 12011
RIC_SUB_FAILURE: Final = 12012
RIC_SUB_DEL_REQ: Final = 12020
RIC_SUB_DEL_RESP: Final = 12021
RIC_SUB_DEL_FAILURE: Final = 12022
RIC_CONTROL_REQ: Final = 12040
RIC_CONTROL_ACK: Final = 12041
RIC_CONTROL_FAILURE: Final = 12042
RIC_INDICATION: Final = 12050

_CONTROL_REQUEST: Final = (RicControlRequest.KIND, RicControlRequest.PROCEDURE)
_INDICATION: Final = (RicIndication.KIND, RicIndication.PROCEDURE)
_MESSAGE_NAMES: Final[dict[tuple[PduKind, int], str]] = {
    (cls.KIND, cls.PROCEDURE): cls.__name__ for cls in MESSAGE_TYPES
}

# Statuses after which reopening a subscription stream cannot help.
_PERMANENT: Final = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)

_T = TypeVar("_T")
_R = TypeVar("_R")


def _describe(pdu: bytes) -> str:
    """The E2AP message name of ``pdu`` from its first octets, for diagnostics."""
    try:
        kind, proc = peek_procedure(pdu)
    except E2DecodeError as exc:
        return f"no E2AP PDU ({exc.reason})"
    return _MESSAGE_NAMES.get((kind, proc), f"E2AP procedure {proc} ({kind.name})")


@dataclass(frozen=True, slots=True)
class SubscriptionKey:
    """What identifies an E2 subscription: the node, the RAN function and the RIC request id."""

    node_id: str
    ran_function_id: int
    requestor_id: int
    instance_id: int

    def __str__(self) -> str:
        return f"{self.node_id}/{self.ran_function_id}/{self.requestor_id}/{self.instance_id}"


def _key_of(node_id: str, msg: RicSubscriptionRequest | RicSubscriptionDeleteRequest) -> SubscriptionKey:
    rid = msg.request_id
    return SubscriptionKey(node_id, msg.ran_function_id, rid.requestor_id, rid.instance_id)


# -- node side -----------------------------------------------------------------------------------------------


@runtime_checkable
class E2NodeBackend(Protocol):
    """An E2 node as the relay serves it. Every ``bytes`` is one complete E2AP PDU (APER).

    ``subscribe`` receives a RICsubscriptionRequest (already validated) and yields first the node's
    RICsubscriptionResponse or RICsubscriptionFailure, then, after a response, the subscription's RICindication
    PDUs until the subscription ends (the iterator returns) or the relay closes the iterator (the client went
    away or unsubscribed). ``unsubscribe`` answers a RICsubscriptionDeleteRequest with a
    RICsubscriptionDeleteResponse or RICsubscriptionDeleteFailure; ``control`` answers a RICcontrolRequest with a
    RICcontrolAcknowledge or RICcontrolFailure, or with ``b""`` when the request asked for no acknowledgement.
    """

    @property
    def node_id(self) -> str:
        """The id clients name in ``RequestHeaders.e2_node_id`` (the RMR ``meid``)."""
        ...

    def setup_request(self) -> bytes:
        """The node's E2setupRequest PDU: its global id and RAN functions."""
        ...

    def subscribe(self, pdu: bytes) -> AsyncIterator[bytes]: ...

    async def unsubscribe(self, pdu: bytes) -> bytes: ...

    async def control(self, pdu: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class TlsServerConfig:
    """Server TLS: the certificate chain and key (PEM files); with ``client_ca``, clients must present a
    certificate signed by it (mutual TLS)."""

    cert_chain: Path
    private_key: Path
    client_ca: Path | None = None


@dataclass(frozen=True, slots=True)
class RelayServerConfig:
    """Where the relay listens (port 0 picks a free port) and how it stops.

    ``min_client_ping_interval`` is the shortest keepalive interval accepted from clients, also on idle
    connections (gRPC's default of five minutes would make the server refuse a client's 30 s keepalive).
    """

    host: str = "127.0.0.1"
    port: int = 0
    tls: TlsServerConfig | None = None
    stop_grace: float = 1.0
    max_message_size: int = 4 << 20
    min_client_ping_interval: float = 10.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} out of range 0..65535", field="port")
        for name in ("stop_grace", "min_client_ping_interval"):
            if getattr(self, name) < 0:
                raise ConfigError("must not be negative", field=name)
        if self.max_message_size < 1:
            raise ConfigError("must be at least 1", field="max_message_size")


@dataclass(slots=True)
class RelayStats:
    """Counters of the relay server."""

    subscriptions: int = 0
    indications: int = 0
    unsubscriptions: int = 0
    controls: int = 0
    malformed: int = 0
    unknown_node: int = 0
    backend_errors: int = 0


class RelayServerState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


class _Abort(Exception):
    """Ends a call with a gRPC status (raised inside the relay, turned into ``context.abort``)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        self.details = details
        super().__init__(f"{code.name}: {details}")


_Context = grpc.aio.ServicerContext[Any, Any]


class E2RelayServer:
    """Serves E2 node backends over the E2 relay gRPC service; explicit :meth:`start` / :meth:`aclose`."""

    def __init__(self, backends: Iterable[E2NodeBackend] = (), config: RelayServerConfig | None = None) -> None:
        self.config = config or RelayServerConfig()
        self.stats = RelayStats()
        self.state = RelayServerState.NEW
        self._nodes: dict[str, E2NodeBackend] = {}
        self._streams: dict[SubscriptionKey, set[asyncio.Task[None]]] = {}
        self._server: grpc.aio.Server | None = None
        self._port = 0
        for backend in backends:
            self.add_node(backend)

    @property
    def port(self) -> int:
        """The bound port (valid after :meth:`start`)."""
        return self._port

    @property
    def address(self) -> str:
        """``host:port`` to give a client (valid after :meth:`start`)."""
        host = self.config.host
        return f"[{host}]:{self._port}" if ":" in host else f"{host}:{self._port}"

    @property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(self._nodes)

    def add_node(self, backend: E2NodeBackend) -> None:
        """Serve ``backend`` (also while running); a second node with the same id is a ConfigError."""
        node_id = backend.node_id
        if not node_id:
            raise ConfigError("E2 node id must not be empty", field="node_id")
        if node_id in self._nodes:
            raise ConfigError(f"E2 node {node_id!r} is already served", field="node_id")
        self._nodes[node_id] = backend

    def active_streams(self, key: SubscriptionKey | None = None) -> int:
        """Open Subscribe streams (of one subscription, or all)."""
        if key is not None:
            return len(self._streams.get(key, ()))
        return sum(len(s) for s in self._streams.values())

    async def start(self) -> None:
        if self.state is RelayServerState.RUNNING:
            return
        if self.state is RelayServerState.CLOSED:
            raise TransportError("relay server is closed")
        cfg = self.config
        options = [
            ("grpc.max_receive_message_length", cfg.max_message_size),
            ("grpc.max_send_message_length", cfg.max_message_size),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", int(cfg.min_client_ping_interval * 1000)),
        ]
        server = grpc.aio.server(options=options)
        pb_grpc.add_E2RelayServicer_to_server(_RelayServicer(self), server)
        bind = f"[{cfg.host}]:{cfg.port}" if ":" in cfg.host else f"{cfg.host}:{cfg.port}"
        try:
            if cfg.tls is None:
                port = server.add_insecure_port(bind)
            else:
                port = server.add_secure_port(bind, _server_credentials(cfg.tls))
        except (RuntimeError, OSError) as exc:
            raise TransportError(f"relay cannot listen on {bind}: {exc}") from exc
        if port == 0:
            raise TransportError(f"relay cannot listen on {bind}")
        await server.start()
        self._server = server
        self._port = port
        self.state = RelayServerState.RUNNING
        log.info("e2relay.started", address=self.address, nodes=list(self._nodes), tls=cfg.tls is not None)

    async def aclose(self) -> None:
        """Stop serving: open Subscribe streams end with UNAVAILABLE (clients reconnect), unary calls in progress
        get ``stop_grace`` seconds to finish."""
        if self.state is RelayServerState.CLOSED:
            return
        self.state = RelayServerState.CLOSED
        server, self._server = self._server, None
        for pumps in self._streams.values():
            for pump in pumps:
                pump.cancel()
        if server is not None:
            await server.stop(self.config.stop_grace)
        log.info("e2relay.closed", address=self.address, stats=self.stats)

    async def __aenter__(self) -> E2RelayServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the four calls -----------------------------------------------------------------------------------------

    async def _list_nodes(self) -> Any:
        nodes = []
        for node_id, backend in self._nodes.items():
            setup = self._backend_call(node_id, "setup_request", backend.setup_request)
            nodes.append(pb.E2Node(e2_node_id=node_id, e2setup_request=setup))
        return pb.ListNodesResponse(nodes=nodes)

    async def _subscribe(self, request: Any, context: _Context) -> None:
        node_id, backend = self._node(request.headers)
        sub = self._decode_request(request.e2ap_pdu, RicSubscriptionRequest, node_id, request.headers)
        key = _key_of(node_id, sub)
        self.stats.subscriptions += 1
        pump = asyncio.create_task(self._pump(backend, request.e2ap_pdu, sub, key, context))
        self._streams.setdefault(key, set()).add(pump)
        log.info("e2relay.subscribe", subscription=str(key), app_id=request.headers.app_id)
        try:
            await asyncio.wait({pump})
        finally:
            if not pump.done():
                pump.cancel()
                await asyncio.wait({pump})
            if not pump.cancelled():
                pump.exception()  # retrieved here too, for the path where this handler was cancelled
            streams = self._streams.get(key)
            if streams is not None:
                streams.discard(pump)
                if not streams:
                    del self._streams[key]
        if pump.cancelled():
            if self.state is not RelayServerState.RUNNING:
                raise _Abort(grpc.StatusCode.UNAVAILABLE, "the E2 relay is shutting down")
            log.info("e2relay.subscription_closed", subscription=str(key))
            return
        error = pump.exception()
        if error is not None:
            raise error

    async def _pump(
        self,
        backend: E2NodeBackend,
        pdu: bytes,
        request: RicSubscriptionRequest,
        key: SubscriptionKey,
        context: _Context,
    ) -> None:
        stream = self._backend_call(key.node_id, "subscribe", lambda: backend.subscribe(pdu))
        if not hasattr(stream, "__anext__"):
            raise self._broken(key.node_id, f"subscribe returned {type(stream).__name__}, not an async iterator")
        answered = False
        try:
            while True:
                try:
                    out = await self._backend_await(key.node_id, "subscribe", stream.__anext__())
                except StopAsyncIteration:
                    break
                if not isinstance(out, bytes):
                    raise self._broken(key.node_id, f"yielded {type(out).__name__} instead of E2AP PDU bytes")
                if answered:
                    if _peek(out) != _INDICATION:
                        raise self._broken(key.node_id, f"sent {_describe(out)} on subscription {key}")
                    await context.write(pb.SubscribeResponse(indication=pb.Indication(e2ap_pdu=out)))
                    self.stats.indications += 1
                    continue
                answer = self._decode_answer(
                    key.node_id, out, (RicSubscriptionResponse, RicSubscriptionFailure), request
                )
                answered = True
                if isinstance(answer, RicSubscriptionFailure):
                    log.info("e2relay.subscription_refused", subscription=str(key), cause=str(answer.cause))
                    await context.write(pb.SubscribeResponse(failure=pb.SubscriptionFailure(e2ap_pdu=out)))
                    return
                ack = pb.SubscriptionAck(e2ap_pdu=out, subscription_instance_id=str(key))
                await context.write(pb.SubscribeResponse(ack=ack))
            if not answered:
                raise self._broken(key.node_id, f"ended subscription {key} without answering it")
            log.info("e2relay.subscription_ended", subscription=str(key))
        finally:
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                try:
                    await closer()
                except Exception as exc:  # a failing cleanup must not mask how the stream ended
                    self._backend_failed(key.node_id, "subscribe (closing)", exc)

    async def _unsubscribe(self, request: Any) -> Any:
        node_id, backend = self._node(request.headers)
        req = self._decode_request(request.e2ap_pdu, RicSubscriptionDeleteRequest, node_id, request.headers)
        self.stats.unsubscriptions += 1
        out = await self._backend_await(node_id, "unsubscribe", backend.unsubscribe(request.e2ap_pdu))
        if not isinstance(out, bytes):
            raise self._broken(node_id, f"answered RicSubscriptionDeleteRequest with {type(out).__name__}")
        answer = self._decode_answer(node_id, out, (RicSubscriptionDeleteResponse, RicSubscriptionDeleteFailure), req)
        key = _key_of(node_id, req)
        if isinstance(answer, RicSubscriptionDeleteResponse):
            pumps = self._streams.get(key, set())
            for pump in pumps:
                pump.cancel()
            log.info("e2relay.unsubscribed", subscription=str(key), streams_closed=len(pumps))
        else:
            log.info("e2relay.unsubscribe_refused", subscription=str(key), cause=str(answer.cause))
        return pb.UnsubscribeResponse(e2ap_pdu=out)

    async def _control(self, request: Any) -> Any:
        node_id, backend = self._node(request.headers)
        req = self._decode_request(request.e2ap_pdu, RicControlRequest, node_id, request.headers)
        self.stats.controls += 1
        out = await self._backend_await(node_id, "control", backend.control(request.e2ap_pdu))
        if not isinstance(out, bytes):
            raise self._broken(node_id, f"answered RicControlRequest with {type(out).__name__}")
        if out:
            self._decode_answer(node_id, out, (RicControlAcknowledge, RicControlFailure), req)
        return pb.ControlResponse(e2ap_pdu=out)

    # -- checks -----------------------------------------------------------------------------------------------

    def _node(self, headers: Any) -> tuple[str, E2NodeBackend]:
        node_id = headers.e2_node_id
        backend = self._nodes.get(node_id)
        if backend is None:
            self.stats.unknown_node += 1
            log.warning("e2relay.unknown_node", node_id=node_id, app_id=headers.app_id)
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"no E2 node {node_id!r} is served here")
        return node_id, backend

    def _decode_request(self, pdu: bytes, expected: type[_T], node_id: str, headers: Any) -> _T:
        try:
            msg = decode_e2ap(pdu)
        except E2DecodeError as exc:
            problem = f"malformed E2AP PDU: {exc}"
        else:
            if isinstance(msg, expected):
                return msg
            problem = f"expected {expected.__name__}, got {type(msg).__name__}"
        self.stats.malformed += 1
        log.warning("e2relay.malformed_request", node_id=node_id, app_id=headers.app_id, problem=problem)
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, problem)

    def _decode_answer(
        self,
        node_id: str,
        pdu: bytes,
        expected: tuple[type[Any], ...],
        request: RicSubscriptionRequest | RicSubscriptionDeleteRequest | RicControlRequest,
    ) -> Any:
        try:
            msg = decode_e2ap(pdu)
        except E2DecodeError as exc:
            raise self._broken(node_id, f"answered {type(request).__name__} with a malformed PDU: {exc}") from exc
        if not isinstance(msg, expected):
            raise self._broken(node_id, f"answered {type(request).__name__} with {type(msg).__name__}")
        if msg.request_id != request.request_id or msg.ran_function_id != request.ran_function_id:
            raise self._broken(node_id, f"answered {type(request).__name__} {request.request_id} for another request")
        return msg

    def _broken(self, node_id: str, what: str) -> _Abort:
        self.stats.backend_errors += 1
        log.error("e2relay.backend_contract", node_id=node_id, problem=what)
        return _Abort(grpc.StatusCode.INTERNAL, f"E2 node {node_id!r} {what}")

    def _backend_call(self, node_id: str, method: str, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except Exception as exc:
            raise self._backend_failed(node_id, method, exc) from exc

    async def _backend_await(self, node_id: str, method: str, awaitable: Awaitable[_T]) -> _T:
        try:
            return await awaitable
        except (_Abort, asyncio.CancelledError, StopAsyncIteration):
            raise
        except Exception as exc:
            raise self._backend_failed(node_id, method, exc) from exc

    def _backend_failed(self, node_id: str, method: str, exc: Exception) -> _Abort:
        self.stats.backend_errors += 1
        log.error("e2relay.backend_failed", node_id=node_id, method=method, error=repr(exc), exc_info=exc)
        return _Abort(grpc.StatusCode.INTERNAL, f"E2 node {node_id!r} failed in {method}: {type(exc).__name__}: {exc}")


def _peek(pdu: bytes) -> tuple[PduKind, int] | None:
    try:
        return peek_procedure(pdu)
    except E2DecodeError:
        return None


class _RelayServicer:
    """The object grpc calls; translates :class:`_Abort` into statuses."""

    def __init__(self, relay: E2RelayServer) -> None:
        self._relay = relay

    async def ListNodes(self, request: Any, context: _Context) -> Any:
        return await _answer(self._relay._list_nodes(), context)

    async def Subscribe(self, request: Any, context: _Context) -> None:
        await _answer(self._relay._subscribe(request, context), context)

    async def Unsubscribe(self, request: Any, context: _Context) -> Any:
        return await _answer(self._relay._unsubscribe(request), context)

    async def Control(self, request: Any, context: _Context) -> Any:
        return await _answer(self._relay._control(request), context)


async def _answer(call: Coroutine[Any, Any, _T], context: _Context) -> _T:
    try:
        return await call
    except _Abort as abort:
        await context.abort(abort.code, abort.details)


def _server_credentials(tls: TlsServerConfig) -> grpc.ServerCredentials:
    try:
        chain = tls.cert_chain.read_bytes()
        key = tls.private_key.read_bytes()
        client_ca = tls.client_ca.read_bytes() if tls.client_ca is not None else None
    except OSError as exc:
        raise ConfigError(f"cannot read TLS material: {exc}", source="RelayServerConfig.tls") from exc
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


# -- client side ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TlsClientConfig:
    """Client TLS: trust ``root_certificates`` (system roots when None); ``cert_chain`` and ``private_key``
    together present a client certificate; ``server_name`` overrides the name checked in the server's
    certificate."""

    root_certificates: Path | None = None
    cert_chain: Path | None = None
    private_key: Path | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert_chain is None) != (self.private_key is None):
            raise ConfigError("cert_chain and private_key go together", field="tls")


@dataclass(frozen=True, slots=True)
class GrpcTransportConfig:
    """Everything :class:`GrpcE2Transport` needs.

    ``target`` is the relay's ``host:port``; ``app_id``/``app_instance_id`` go into every request's headers.
    ``call_timeout`` is the deadline of unary calls (Unsubscribe, Control, ListNodes), including the wait for a
    ready channel. Backoff applies to reopening subscription streams and to the channel's reconnects.
    """

    target: str
    app_id: str
    app_instance_id: str = ""
    tls: TlsClientConfig | None = None
    call_timeout: float = 5.0
    inbound_queue_size: int = 4096
    max_inflight_calls: int = 1024
    backoff_initial: float = 0.1
    backoff_max: float = 10.0
    backoff_factor: float = 2.0
    keepalive_interval: float | None = 30.0
    max_message_size: int = 4 << 20

    def __post_init__(self) -> None:
        if not self.target:
            raise ConfigError("must name the relay's host:port", field="target")
        if not self.app_id:
            raise ConfigError("must not be empty", field="app_id")
        for name in ("inbound_queue_size", "max_inflight_calls", "max_message_size"):
            if getattr(self, name) < 1:
                raise ConfigError("must be at least 1", field=name)
        for name in ("call_timeout", "backoff_initial", "backoff_max"):
            if not getattr(self, name) > 0:
                raise ConfigError("must be positive", field=name)
        if self.backoff_factor < 1:
            raise ConfigError("must be at least 1", field="backoff_factor")
        if self.keepalive_interval is not None and not self.keepalive_interval > 0:
            raise ConfigError("must be positive (or None to disable)", field="keepalive_interval")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before reopening a stream for the ``attempt``-th time in a row (0-based)."""
        return min(self.backoff_max, self.backoff_initial * self.backoff_factor ** min(attempt, 64))


class GrpcTransportState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class E2NodeInfo:
    """One E2 node served by the relay: its id (the ``meid`` to send to) and its E2setupRequest PDU."""

    node_id: str
    setup_request: bytes


@dataclass(slots=True)
class _Subscription:
    key: SubscriptionKey
    request: Any
    xid: bytes
    task: asyncio.Task[None] | None = None
    established: bool = False


class GrpcE2Transport:
    """The :class:`~ricsdk.transport.base.Transport` over the E2 relay, for xApps."""

    def __init__(self, config: GrpcTransportConfig, *, clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self.config = config
        self.stats = TransportStats()
        self.state = GrpcTransportState.NEW
        self._clock_ns = clock_ns
        self._inbox = Inbox(config.inbound_queue_size)
        self._channel: grpc.aio.Channel | None = None
        self._list_nodes: grpc.aio.UnaryUnaryMultiCallable[Any, Any] | None = None
        self._subscribe: grpc.aio.UnaryStreamMultiCallable[Any, Any] | None = None
        self._unsubscribe: grpc.aio.UnaryUnaryMultiCallable[Any, Any] | None = None
        self._control: grpc.aio.UnaryUnaryMultiCallable[Any, Any] | None = None
        self._subscriptions: dict[SubscriptionKey, _Subscription] = {}
        self._calls: set[asyncio.Task[None]] = set()
        self._progress: asyncio.Event | None = None

    # -- public surface -----------------------------------------------------------------------------------------

    def subscriptions(self) -> dict[SubscriptionKey, bool]:
        """The subscriptions this transport keeps open, each with whether the node has acknowledged it."""
        return {key: sub.established for key, sub in self._subscriptions.items()}

    @property
    def pending(self) -> int:
        """Messages waiting in the inbound queue."""
        return len(self._inbox)

    async def start(self) -> None:
        if self.state is GrpcTransportState.RUNNING:
            return
        if self.state is GrpcTransportState.CLOSED:
            raise TransportError("transport is closed")
        cfg = self.config
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", cfg.max_message_size),
            ("grpc.max_send_message_length", cfg.max_message_size),
            ("grpc.initial_reconnect_backoff_ms", max(1, int(cfg.backoff_initial * 1000))),
            ("grpc.min_reconnect_backoff_ms", max(1, int(cfg.backoff_initial * 1000))),
            ("grpc.max_reconnect_backoff_ms", max(1, int(cfg.backoff_max * 1000))),
        ]
        if cfg.keepalive_interval is not None:
            options.append(("grpc.keepalive_time_ms", int(cfg.keepalive_interval * 1000)))
            options.append(("grpc.keepalive_permit_without_calls", 1))
            options.append(("grpc.http2.max_pings_without_data", 0))
        if cfg.tls is None:
            channel = grpc.aio.insecure_channel(cfg.target, options=options)
        else:
            if cfg.tls.server_name:
                options.append(("grpc.ssl_target_name_override", cfg.tls.server_name))
            channel = grpc.aio.secure_channel(cfg.target, _client_credentials(cfg.tls), options=options)
        stub = pb_grpc.E2RelayStub(channel)
        self._list_nodes = stub.ListNodes
        self._subscribe = stub.Subscribe
        self._unsubscribe = stub.Unsubscribe
        self._control = stub.Control
        self._channel = channel
        channel.get_state(try_to_connect=True)
        self.state = GrpcTransportState.RUNNING
        log.info("grpc.started", target=cfg.target, app_id=cfg.app_id, tls=cfg.tls is not None)

    async def send(self, msg: Message) -> None:
        self._require_running()
        payload = msg.payload
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TransportError(f"payload must be bytes, not {type(payload).__name__}")
        payload = bytes(payload)
        if len(payload) > self.config.max_message_size:
            raise MessageTooLargeError(len(payload), self.config.max_message_size)
        if not msg.meid:
            raise TransportError(f"mtype {msg.mtype}: meid must name the E2 node")
        if msg.mtype == RIC_SUB_REQ:
            self._start_subscription(msg, payload)
        elif msg.mtype == RIC_SUB_DEL_REQ:
            self._start_unsubscribe(msg, payload)
        elif msg.mtype == RIC_CONTROL_REQ:
            self._start_control(msg, payload)
        else:
            raise TransportError(
                f"mtype {msg.mtype} has no E2 relay call (only {RIC_SUB_REQ}, {RIC_SUB_DEL_REQ}, {RIC_CONTROL_REQ})"
            )
        self.stats.sent += 1

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None:
        """The relay is the sender of everything inbound: a reply is a ``send`` to the request's E2 node."""
        await self.send(
            Message(mtype=mtype, payload=payload, sub_id=request.sub_id, meid=request.meid, xid=request.xid)
        )

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while (msg := await self._inbox.get()) is not None:
            yield msg

    def receive_ready(self, limit: int) -> list[Message]:
        """Messages already received, up to ``limit``, without waiting (the runtime batches them)."""
        return self._inbox.take_ready(limit)

    async def list_nodes(self) -> tuple[E2NodeInfo, ...]:
        """The E2 nodes the relay serves (raises TransportError when the relay cannot be asked)."""
        self._require_running()
        assert self._list_nodes is not None
        try:
            response = await self._list_nodes(
                pb.ListNodesRequest(), timeout=self.config.call_timeout, wait_for_ready=True
            )
        except grpc.aio.AioRpcError as exc:
            raise TransportError(f"ListNodes on {self.config.target}: {exc.code().name}: {exc.details()}") from exc
        return tuple(E2NodeInfo(n.e2_node_id, n.e2setup_request) for n in response.nodes)

    async def drain(self) -> None:
        """Wait until every unary call started by ``send`` has finished (answered, failed or timed out)."""
        while self._calls:
            await asyncio.wait(set(self._calls))

    async def wait_until(self, predicate: Callable[[TransportStats], bool]) -> TransportStats:
        """Wait until ``predicate(stats)`` holds; it is re-checked whenever the transport records progress."""
        while True:
            if self._progress is None:
                self._progress = asyncio.Event()
            event = self._progress
            if predicate(self.stats):
                return self.stats
            await event.wait()

    async def aclose(self) -> None:
        """Let unary calls in flight finish (each has a deadline), close the streams and the channel.

        Subscriptions are not deleted on the node: closing a stream tells the relay the client is gone. Send
        12020 first to delete a subscription.
        """
        if self.state is GrpcTransportState.CLOSED:
            return
        previous, self.state = self.state, GrpcTransportState.CLOSED
        await self.drain()
        tasks = [sub.task for sub in self._subscriptions.values() if sub.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._subscriptions.clear()
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None
        self._inbox.close()
        self._notify()
        if previous is GrpcTransportState.RUNNING:
            log.info("grpc.closed", target=self.config.target, stats=self.stats)

    async def __aenter__(self) -> GrpcE2Transport:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- send paths ---------------------------------------------------------------------------------------------

    def _start_subscription(self, msg: Message, payload: bytes) -> None:
        request = self._decode_outbound(msg, payload, RicSubscriptionRequest)
        key = _key_of(msg.meid, request)
        if key in self._subscriptions:
            raise TransportError(f"subscription {key} is already open on this transport")
        sub = _Subscription(
            key=key, request=pb.SubscribeRequest(headers=self._headers(msg.meid), e2ap_pdu=payload), xid=msg.xid
        )
        self._subscriptions[key] = sub
        sub.task = asyncio.create_task(self._run_subscription(sub), name=f"e2relay-subscription {key}")

    def _start_unsubscribe(self, msg: Message, payload: bytes) -> None:
        request = self._decode_outbound(msg, payload, RicSubscriptionDeleteRequest)
        key = _key_of(msg.meid, request)
        call = pb.UnsubscribeRequest(headers=self._headers(msg.meid), e2ap_pdu=payload)
        self._spawn_call(msg, self._run_unsubscribe(msg, key, call))

    def _start_control(self, msg: Message, payload: bytes) -> None:
        try:
            procedure = peek_procedure(payload)
        except E2DecodeError as exc:
            raise TransportError(f"mtype {msg.mtype}: payload is not an E2AP PDU: {exc}") from exc
        if procedure != _CONTROL_REQUEST:
            raise TransportError(f"mtype {msg.mtype} needs a RicControlRequest PDU, got {_describe(payload)}")
        call = pb.ControlRequest(headers=self._headers(msg.meid), e2ap_pdu=payload)
        self._spawn_call(msg, self._run_control(msg, call))

    def _decode_outbound(self, msg: Message, payload: bytes, expected: type[_T]) -> _T:
        try:
            decoded = decode_e2ap(payload)
        except E2DecodeError as exc:
            raise TransportError(f"mtype {msg.mtype}: payload is not a valid E2AP PDU: {exc}") from exc
        if not isinstance(decoded, expected):
            raise TransportError(f"mtype {msg.mtype} needs a {expected.__name__} PDU, got {type(decoded).__name__}")
        return decoded

    def _headers(self, node_id: str) -> Any:
        cfg = self.config
        return pb.RequestHeaders(app_id=cfg.app_id, app_instance_id=cfg.app_instance_id, e2_node_id=node_id)

    def _spawn_call(self, msg: Message, call: Coroutine[Any, Any, None]) -> None:
        if len(self._calls) >= self.config.max_inflight_calls:
            call.close()
            self.stats.dropped_outbound += 1
            raise TransportError(
                f"mtype {msg.mtype} to {msg.meid}: {len(self._calls)} relay calls in flight (max_inflight_calls)"
            )
        task = asyncio.create_task(call)
        self._calls.add(task)
        task.add_done_callback(self._call_done)

    def _call_done(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.stats.send_failures += 1
            log.error("grpc.call_crashed", error=repr(exc), exc_info=exc)
        self._notify()

    # -- call bodies --------------------------------------------------------------------------------------------

    async def _run_subscription(self, sub: _Subscription) -> None:
        assert self._subscribe is not None
        key = sub.key
        where: dict[str, Any] = {"sub_id": key.instance_id, "meid": key.node_id, "xid": b""}
        answer = {**where, "xid": sub.xid}
        attempt = 0
        opened_before = False
        try:
            while True:
                if opened_before:
                    self.stats.reconnects += 1
                    self._notify()
                    log.info("grpc.resubscribing", subscription=str(key), reconnects=self.stats.reconnects)
                opened_before = True
                call = self._subscribe(sub.request, wait_for_ready=True)
                try:
                    async for response in call:
                        which = response.WhichOneof("message")
                        if which == "indication":
                            self._deliver(RIC_INDICATION, response.indication.e2ap_pdu, **where)
                        elif which == "ack":
                            attempt = 0
                            sub.established = True
                            self._deliver(RIC_SUB_RESP, response.ack.e2ap_pdu, **answer)
                        elif which == "failure":
                            self._deliver(RIC_SUB_FAILURE, response.failure.e2ap_pdu, **answer)
                            log.info("grpc.subscription_refused", subscription=str(key))
                            return
                        else:
                            self.stats.malformed += 1
                            self._notify()
                            log.warning("grpc.unknown_stream_message", subscription=str(key))
                    log.info("grpc.subscription_ended", subscription=str(key))
                    return
                except grpc.aio.AioRpcError as exc:
                    code = exc.code()
                    if code in _PERMANENT:
                        self.stats.send_failures += 1
                        log.error(
                            "grpc.subscription_failed", subscription=str(key), code=code.name, details=exc.details()
                        )
                        return
                    delay = self.config.backoff(attempt)
                    attempt += 1
                    sub.established = False
                    log.warning(
                        "grpc.subscription_broken",
                        subscription=str(key),
                        code=code.name,
                        details=exc.details(),
                        retry_in=delay,
                    )
                    await asyncio.sleep(delay)
        except Exception as exc:
            self.stats.send_failures += 1
            log.error("grpc.subscription_crashed", subscription=str(key), error=repr(exc), exc_info=exc)
        finally:
            if self._subscriptions.get(key) is sub:
                del self._subscriptions[key]
            self._notify()

    async def _run_unsubscribe(self, msg: Message, key: SubscriptionKey, request: Any) -> None:
        response = await self._unary("Unsubscribe", msg, self._unsubscribe, request)
        if response is None:
            return
        answer = self._decode_inbound(
            "Unsubscribe", msg, response.e2ap_pdu, (RicSubscriptionDeleteResponse, RicSubscriptionDeleteFailure)
        )
        if answer is None:
            return
        if isinstance(answer, RicSubscriptionDeleteResponse):
            sub = self._subscriptions.pop(key, None)
            if sub is not None and sub.task is not None:
                sub.task.cancel()
        mtype = RIC_SUB_DEL_RESP if isinstance(answer, RicSubscriptionDeleteResponse) else RIC_SUB_DEL_FAILURE
        self._deliver(mtype, response.e2ap_pdu, sub_id=answer.request_id.instance_id, meid=msg.meid, xid=msg.xid)

    async def _run_control(self, msg: Message, request: Any) -> None:
        response = await self._unary("Control", msg, self._control, request)
        if response is None:
            return
        if not response.e2ap_pdu:
            log.debug("grpc.control_no_ack", meid=msg.meid, xid=msg.xid.hex())
            return
        answer = self._decode_inbound("Control", msg, response.e2ap_pdu, (RicControlAcknowledge, RicControlFailure))
        if answer is None:
            return
        mtype = RIC_CONTROL_ACK if isinstance(answer, RicControlAcknowledge) else RIC_CONTROL_FAILURE
        self._deliver(mtype, response.e2ap_pdu, sub_id=answer.request_id.instance_id, meid=msg.meid, xid=msg.xid)

    async def _unary(
        self,
        method: str,
        msg: Message,
        rpc: grpc.aio.UnaryUnaryMultiCallable[_R, _T] | None,
        request: _R,
    ) -> _T | None:
        assert rpc is not None
        try:
            return await rpc(request, timeout=self.config.call_timeout, wait_for_ready=True)
        except grpc.aio.AioRpcError as exc:
            self.stats.send_failures += 1
            self.stats.dropped_outbound += 1
            log.error(
                "grpc.call_failed",
                method=method,
                meid=msg.meid,
                xid=msg.xid.hex(),
                code=exc.code().name,
                details=exc.details(),
            )
            return None

    def _decode_inbound(self, method: str, msg: Message, pdu: bytes, expected: tuple[type[Any], ...]) -> Any:
        try:
            answer = decode_e2ap(pdu)
        except E2DecodeError as exc:
            problem = f"malformed E2AP PDU: {exc}"
        else:
            if isinstance(answer, expected):
                return answer
            problem = f"unexpected {type(answer).__name__}"
        self.stats.malformed += 1
        self._notify()
        log.warning("grpc.malformed_answer", method=method, meid=msg.meid, problem=problem)
        return None

    def _deliver(self, mtype: int, payload: bytes, *, sub_id: int, meid: str, xid: bytes) -> None:
        msg = Message(
            mtype=mtype,
            payload=payload,
            sub_id=sub_id,
            meid=meid,
            xid=xid,
            src=self.config.target,
            received_ns=self._clock_ns(),
        )
        self.stats.received += 1
        if not self._inbox.put_nowait(msg):
            self.stats.dropped_inbound += 1
            dropped = self.stats.dropped_inbound
            if dropped == 1 or dropped % 1000 == 0:
                log.warning(
                    "grpc.inbound_queue_full",
                    dropped_inbound=dropped,
                    queue_size=self.config.inbound_queue_size,
                    mtype=mtype,
                    meid=msg.meid,
                )
        self._notify()

    def _notify(self) -> None:
        event = self._progress
        if event is not None:
            self._progress = None
            event.set()

    def _require_running(self) -> None:
        if self.state is not GrpcTransportState.RUNNING:
            raise TransportError(f"gRPC transport to {self.config.target} is {self.state.value}")


def _client_credentials(tls: TlsClientConfig) -> grpc.ChannelCredentials:
    try:
        roots = tls.root_certificates.read_bytes() if tls.root_certificates is not None else None
        chain = tls.cert_chain.read_bytes() if tls.cert_chain is not None else None
        key = tls.private_key.read_bytes() if tls.private_key is not None else None
    except OSError as exc:
        raise ConfigError(f"cannot read TLS material: {exc}", source="GrpcTransportConfig.tls") from exc
    return grpc.ssl_channel_credentials(root_certificates=roots, private_key=key, certificate_chain=chain)
