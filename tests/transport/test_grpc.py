"""The E2 relay over a real grpc.aio server on 127.0.0.1 (port 0), with scripted E2 nodes and real E2AP PDUs."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import grpc.aio
import pytest

from ricsdk.e2.e2ap import (
    E2setupRequest,
    GnbE2NodeId,
    RicControlAcknowledge,
    RicControlFailure,
    RicIndication,
    RicRequestId,
    RicSubscriptionDeleteFailure,
    RicSubscriptionDeleteResponse,
    RicSubscriptionFailure,
    RicSubscriptionResponse,
    decode_e2ap,
    encode_e2ap,
)
from ricsdk.errors import ConfigError, MessageTooLargeError, TransportError
from ricsdk.transport.base import Message, Transport
from ricsdk.transport.grpc import (
    E2NodeBackend,
    E2RelayServer,
    GrpcE2Transport,
    GrpcTransportConfig,
    RelayServerConfig,
    SubscriptionKey,
    TlsClientConfig,
    TlsServerConfig,
    pb,
    pb_grpc,
)
from tests.transport.e2node import (
    KPM_FUNCTION,
    MT_CONTROL_ACK,
    MT_CONTROL_FAILURE,
    MT_CONTROL_REQ,
    MT_INDICATION,
    MT_SUB_DEL_FAILURE,
    MT_SUB_DEL_REQ,
    MT_SUB_DEL_RESP,
    MT_SUB_FAILURE,
    MT_SUB_REQ,
    MT_SUB_RESP,
    RC_FUNCTION,
    REFUSED_FUNCTION,
    REQUESTOR,
    ScriptedNode,
    control_request,
    delete_request,
    subscription_request,
)

TIMEOUT = 5.0
LOCAL = "127.0.0.1"

ClientFactory = Callable[..., Awaitable[GrpcE2Transport]]


@pytest.fixture
def nodes() -> list[ScriptedNode]:
    return [ScriptedNode("gnb-1", gnb_id=1), ScriptedNode("gnb-2", gnb_id=2)]


@pytest.fixture
async def relay(nodes: list[ScriptedNode]) -> AsyncIterator[E2RelayServer]:
    server = E2RelayServer(nodes, RelayServerConfig(host=LOCAL, port=0, stop_grace=0.5))
    await server.start()
    yield server
    await server.aclose()


@pytest.fixture
async def make_client(relay: E2RelayServer) -> AsyncIterator[ClientFactory]:
    made: list[GrpcE2Transport] = []

    async def factory(**overrides: object) -> GrpcE2Transport:
        args: dict[str, object] = {
            "target": relay.address,
            "app_id": "test-xapp",
            "app_instance_id": "test-xapp-0",
            "backoff_initial": 0.01,
            "backoff_max": 0.1,
            "call_timeout": TIMEOUT,
        }
        args.update(overrides)
        transport = GrpcE2Transport(GrpcTransportConfig(**args))  # type: ignore[arg-type]
        await transport.start()
        made.append(transport)
        return transport

    yield factory
    for transport in made:
        await transport.aclose()


class Reader:
    """Reads a transport's inbound messages one at a time, with a deadline."""

    def __init__(self, transport: Transport) -> None:
        self._it = aiter(transport)

    async def next(self) -> Message:
        return await asyncio.wait_for(anext(self._it), TIMEOUT)

    async def take(self, n: int) -> list[Message]:
        return [await self.next() for _ in range(n)]


async def subscribe(client: GrpcE2Transport, instance: int, meid: str = "gnb-1", fn: int = KPM_FUNCTION) -> None:
    await client.send(Message(MT_SUB_REQ, subscription_request(instance, fn), meid=meid, xid=b"sub-%d" % instance))


# -- the relay service --------------------------------------------------------------------------------------------


async def test_transport_satisfies_protocol_and_builds_without_network() -> None:
    """Constructing the client touches no network; it is a Transport; sending before start is refused."""
    transport = GrpcE2Transport(GrpcTransportConfig(target="relay.invalid:1", app_id="x"))
    assert isinstance(transport, Transport)
    with pytest.raises(TransportError, match="new"):
        await transport.send(Message(MT_SUB_REQ, subscription_request(1), meid="gnb-1"))
    await transport.aclose()
    with pytest.raises(TransportError, match="closed"):
        await transport.start()


@pytest.mark.parametrize(
    ("field", "value"),
    [("target", ""), ("app_id", ""), ("inbound_queue_size", 0), ("call_timeout", 0.0), ("backoff_factor", 0.5)],
)
def test_client_config_is_validated(field: str, value: object) -> None:
    args: dict[str, object] = {"target": "127.0.0.1:1", "app_id": "x", field: value}
    with pytest.raises(ConfigError, match=field):
        GrpcTransportConfig(**args)  # type: ignore[arg-type]


def test_backoff_grows_to_its_bound() -> None:
    cfg = GrpcTransportConfig(target="h:1", app_id="x", backoff_initial=0.1, backoff_factor=2.0, backoff_max=0.5)
    assert [cfg.backoff(n) for n in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]


async def test_scripted_node_is_a_backend(nodes: list[ScriptedNode]) -> None:
    assert all(isinstance(node, E2NodeBackend) for node in nodes)


async def test_two_nodes_with_one_id_are_refused(nodes: list[ScriptedNode]) -> None:
    server = E2RelayServer(nodes)
    with pytest.raises(ConfigError, match="gnb-1"):
        server.add_node(ScriptedNode("gnb-1"))


async def test_list_nodes_returns_each_node_with_its_setup_request(make_client: ClientFactory) -> None:
    client = await make_client()
    listed = await client.list_nodes()
    assert [n.node_id for n in listed] == ["gnb-1", "gnb-2"]
    for info, gnb in zip(listed, (1, 2), strict=True):
        setup = decode_e2ap(info.setup_request)
        assert isinstance(setup, E2setupRequest)
        assert isinstance(setup.global_e2node_id, GnbE2NodeId)
        assert setup.global_e2node_id.global_gnb.gnb_id.value == gnb
        assert [f.id for f in setup.ran_functions] == [KPM_FUNCTION, RC_FUNCTION]


async def test_accepted_subscription_acks_then_streams_indications(
    make_client: ClientFactory, nodes: list[ScriptedNode], relay: E2RelayServer
) -> None:
    client = await make_client()
    reader = Reader(client)
    await subscribe(client, instance=7)
    ack = await reader.next()
    assert (ack.mtype, ack.sub_id, ack.meid, ack.xid, ack.src) == (MT_SUB_RESP, 7, "gnb-1", b"sub-7", relay.address)
    response = decode_e2ap(ack.payload)
    assert isinstance(response, RicSubscriptionResponse)
    assert (response.request_id.requestor_id, response.request_id.instance_id) == (REQUESTOR, 7)
    assert response.admitted == (1,)
    indications = await reader.take(3)
    assert [(m.mtype, m.sub_id, m.meid) for m in indications] == [(MT_INDICATION, 7, "gnb-1")] * 3
    decoded = [decode_e2ap(m.payload) for m in indications]
    assert all(isinstance(d, RicIndication) for d in decoded)
    assert [d.sn for d in decoded if isinstance(d, RicIndication)] == [0, 1, 2]
    assert all(m.received_ns > 0 for m in indications)
    assert client.subscriptions() == {SubscriptionKey("gnb-1", KPM_FUNCTION, REQUESTOR, 7): True}
    assert relay.active_streams(SubscriptionKey("gnb-1", KPM_FUNCTION, REQUESTOR, 7)) == 1
    assert nodes[1].subscribe_calls == []
    assert client.stats.received == 4 and client.stats.sent == 1 and client.stats.dropped_inbound == 0


async def test_refused_subscription_delivers_failure_and_ends(
    make_client: ClientFactory, nodes: list[ScriptedNode]
) -> None:
    client = await make_client()
    reader = Reader(client)
    await subscribe(client, instance=8, fn=REFUSED_FUNCTION)
    failure = await reader.next()
    assert (failure.mtype, failure.sub_id, failure.meid, failure.xid) == (MT_SUB_FAILURE, 8, "gnb-1", b"sub-8")
    decoded = decode_e2ap(failure.payload)
    assert isinstance(decoded, RicSubscriptionFailure)
    assert decoded.cause.name == "ran-function-id-invalid"
    await client.wait_until(lambda _: not client.subscriptions())
    assert client.stats.reconnects == 0 and client.stats.send_failures == 0


async def test_subscriptions_to_two_nodes_are_kept_apart(make_client: ClientFactory) -> None:
    client = await make_client()
    reader = Reader(client)
    await subscribe(client, instance=1, meid="gnb-1")
    await subscribe(client, instance=2, meid="gnb-2")
    received = await reader.take(8)
    by_node: dict[str, list[tuple[int, int]]] = {}
    for m in received:
        by_node.setdefault(m.meid, []).append((m.mtype, m.sub_id))
    assert by_node == {
        "gnb-1": [(MT_SUB_RESP, 1)] + [(MT_INDICATION, 1)] * 3,
        "gnb-2": [(MT_SUB_RESP, 2)] + [(MT_INDICATION, 2)] * 3,
    }


async def test_control_acknowledged_and_failed(make_client: ClientFactory) -> None:
    client = await make_client()
    reader = Reader(client)
    await client.send(Message(MT_CONTROL_REQ, control_request(5), meid="gnb-2", xid=b"c1"))
    ack = await reader.next()
    assert (ack.mtype, ack.sub_id, ack.meid, ack.xid) == (MT_CONTROL_ACK, 5, "gnb-2", b"c1")
    decoded = decode_e2ap(ack.payload)
    assert isinstance(decoded, RicControlAcknowledge) and decoded.outcome == b"applied:prb-quota"
    await client.send(Message(MT_CONTROL_REQ, control_request(6, REFUSED_FUNCTION), meid="gnb-2", xid=b"c2"))
    failure = await reader.next()
    assert (failure.mtype, failure.sub_id, failure.meid, failure.xid) == (MT_CONTROL_FAILURE, 6, "gnb-2", b"c2")
    failed = decode_e2ap(failure.payload)
    assert isinstance(failed, RicControlFailure) and failed.cause.name == "control-message-invalid"
    assert client.stats.send_failures == 0


async def test_control_without_ack_request_delivers_nothing(make_client: ClientFactory, relay: E2RelayServer) -> None:
    client = await make_client()
    reader = Reader(client)
    await client.send(Message(MT_CONTROL_REQ, control_request(5, ack=False), meid="gnb-1", xid=b"quiet"))
    await client.drain()
    assert relay.stats.controls == 1 and client.stats.received == 0
    await client.send(Message(MT_CONTROL_REQ, control_request(6), meid="gnb-1", xid=b"loud"))
    answer = await reader.next()
    assert (answer.mtype, answer.xid) == (MT_CONTROL_ACK, b"loud")


async def test_unsubscribe_deletes_and_ends_the_stream(
    make_client: ClientFactory, nodes: list[ScriptedNode], relay: E2RelayServer
) -> None:
    client = await make_client()
    reader = Reader(client)
    await subscribe(client, instance=9)
    await reader.take(4)
    await client.send(Message(MT_SUB_DEL_REQ, delete_request(9), meid="gnb-1", xid=b"del-9"))
    answer = await reader.next()
    assert (answer.mtype, answer.sub_id, answer.meid, answer.xid) == (MT_SUB_DEL_RESP, 9, "gnb-1", b"del-9")
    assert isinstance(decode_e2ap(answer.payload), RicSubscriptionDeleteResponse)
    await nodes[0].wait_for(lambda n: n.released == 1)
    await client.wait_until(lambda _: not client.subscriptions())
    assert relay.active_streams() == 0 and relay.stats.unsubscriptions == 1
    await client.send(Message(MT_SUB_DEL_REQ, delete_request(9), meid="gnb-1", xid=b"del-again"))
    again = await reader.next()
    assert (again.mtype, again.xid) == (MT_SUB_DEL_FAILURE, b"del-again")
    failure = decode_e2ap(again.payload)
    assert isinstance(failure, RicSubscriptionDeleteFailure) and failure.cause.name == "request-id-unknown"
    assert client.stats.reconnects == 0


async def test_client_disconnect_releases_the_node_side(make_client: ClientFactory, nodes: list[ScriptedNode]) -> None:
    client = await make_client()
    reader = Reader(client)
    await subscribe(client, instance=3)
    await reader.take(4)
    await client.aclose()
    await nodes[0].wait_for(lambda n: n.released == 1 and not n.active)


async def test_send_refuses_what_the_relay_cannot_carry(make_client: ClientFactory) -> None:
    client = await make_client(max_message_size=1024)
    with pytest.raises(TransportError, match="mtype 30000"):
        await client.send(Message(30000, b"x", meid="gnb-1"))
    with pytest.raises(TransportError, match="meid"):
        await client.send(Message(MT_SUB_REQ, subscription_request(1)))
    with pytest.raises(TransportError, match="not a valid E2AP PDU"):
        await client.send(Message(MT_SUB_REQ, b"\x00\x08\x00\x7f", meid="gnb-1"))
    with pytest.raises(TransportError, match="needs a RicSubscriptionRequest PDU, got RicControlRequest"):
        await client.send(Message(MT_SUB_REQ, control_request(1), meid="gnb-1"))
    with pytest.raises(TransportError, match="needs a RicControlRequest PDU, got RicSubscriptionRequest"):
        await client.send(Message(MT_CONTROL_REQ, subscription_request(1), meid="gnb-1"))
    with pytest.raises(TransportError, match="not an E2AP PDU"):
        await client.send(Message(MT_CONTROL_REQ, b"\x01", meid="gnb-1"))
    with pytest.raises(MessageTooLargeError):
        await client.send(Message(MT_CONTROL_REQ, control_request(1, message=bytes(2000)), meid="gnb-1"))
    assert client.stats.sent == 0
    await subscribe(client, instance=4)
    with pytest.raises(TransportError, match="already open"):
        await subscribe(client, instance=4)


async def test_malformed_pdus_are_refused_with_invalid_argument(relay: E2RelayServer) -> None:
    """A client that bypasses the transport's checks gets INVALID_ARGUMENT naming the problem; each is counted."""
    async with grpc.aio.insecure_channel(relay.address) as channel:
        stub = pb_grpc.E2RelayStub(channel)
        headers = pb.RequestHeaders(app_id="rogue", e2_node_id="gnb-1")
        call = stub.Subscribe(pb.SubscribeRequest(headers=headers, e2ap_pdu=b"\x00\x08\x00\x05garbage"))
        with pytest.raises(grpc.aio.AioRpcError) as garbage:
            async for _ in call:
                pass
        assert garbage.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed E2AP PDU" in (garbage.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await stub.Control(pb.ControlRequest(headers=headers, e2ap_pdu=subscription_request(1)))
        assert wrong.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert wrong.value.details() == "expected RicControlRequest, got RicSubscriptionRequest"
        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await stub.Unsubscribe(pb.UnsubscribeRequest(headers=headers, e2ap_pdu=b""))
        assert empty.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        unknown = pb.RequestHeaders(app_id="rogue", e2_node_id="gnb-404")
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.Control(pb.ControlRequest(headers=unknown, e2ap_pdu=control_request(1)))
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND
        assert "gnb-404" in (missing.value.details() or "")
    assert relay.stats.malformed == 3 and relay.stats.unknown_node == 1
    assert relay.stats.subscriptions == 0 and relay.stats.controls == 0


class BrokenNode(ScriptedNode):
    """Answers controls with bytes that are not E2AP; sends a control answer where an indication belongs."""

    async def control(self, pdu: bytes) -> bytes:
        return b"\x20\x04\x00\x01"

    async def subscribe(self, pdu: bytes) -> AsyncGenerator[bytes, None]:
        stream = super().subscribe(pdu)
        yield await anext(stream)
        await stream.aclose()
        yield encode_e2ap(RicControlAcknowledge(RicRequestId(REQUESTOR, 1), RC_FUNCTION))


async def test_a_node_breaking_its_contract_is_internal_and_counted() -> None:
    async with E2RelayServer([BrokenNode("gnb-9")], RelayServerConfig(host=LOCAL)) as server:
        client = GrpcE2Transport(GrpcTransportConfig(target=server.address, app_id="x", call_timeout=TIMEOUT))
        async with client:
            await client.send(Message(MT_CONTROL_REQ, control_request(1), meid="gnb-9"))
            await client.drain()
            assert client.stats.send_failures == 1 and client.stats.dropped_outbound == 1
            assert client.stats.received == 0
        assert server.stats.backend_errors == 1
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.E2RelayStub(channel)
            headers = pb.RequestHeaders(app_id="raw", e2_node_id="gnb-9")
            kinds = []
            with pytest.raises(grpc.aio.AioRpcError) as broken:
                async for response in stub.Subscribe(
                    pb.SubscribeRequest(headers=headers, e2ap_pdu=subscription_request(1))
                ):
                    kinds.append(response.WhichOneof("message"))
            assert kinds == ["ack"]
            assert broken.value.code() is grpc.StatusCode.INTERNAL
            assert "sent RicControlAcknowledge on subscription gnb-9/2/1001/1" in (broken.value.details() or "")
        assert server.stats.backend_errors == 2


async def test_calls_to_an_absent_relay_fail_counted_not_silently() -> None:
    with socket.socket() as sock:
        sock.bind((LOCAL, 0))
        port = sock.getsockname()[1]
    cfg = GrpcTransportConfig(target=f"{LOCAL}:{port}", app_id="x", call_timeout=0.2, backoff_initial=0.01)
    async with GrpcE2Transport(cfg) as client:
        await client.send(Message(MT_CONTROL_REQ, control_request(1), meid="gnb-1"))
        await client.drain()
        assert client.stats.send_failures == 1 and client.stats.dropped_outbound == 1
        with pytest.raises(TransportError, match="ListNodes"):
            await client.list_nodes()


async def test_inflight_calls_are_bounded(make_client: ClientFactory) -> None:
    client = await make_client(max_inflight_calls=1)
    await client.send(Message(MT_CONTROL_REQ, control_request(1), meid="gnb-1"))
    with pytest.raises(TransportError, match="in flight"):
        await client.send(Message(MT_CONTROL_REQ, control_request(2), meid="gnb-1"))
    assert client.stats.dropped_outbound == 1
    await client.drain()


async def test_relay_restart_reconnects_and_resubscribes(nodes: list[ScriptedNode]) -> None:
    first = E2RelayServer(nodes, RelayServerConfig(host=LOCAL, port=0, stop_grace=0.5))
    await first.start()
    port = first.port
    cfg = GrpcTransportConfig(target=first.address, app_id="x", backoff_initial=0.01, backoff_max=0.05)
    async with GrpcE2Transport(cfg) as client:
        reader = Reader(client)
        await subscribe(client, instance=11)
        assert [m.mtype for m in await reader.take(4)] == [MT_SUB_RESP] + [MT_INDICATION] * 3
        await first.aclose()
        await nodes[0].wait_for(lambda n: n.released == 1)
        second = E2RelayServer(nodes, RelayServerConfig(host=LOCAL, port=port))
        await second.start()
        try:
            again = await reader.take(4)
            assert [(m.mtype, m.sub_id) for m in again] == [(MT_SUB_RESP, 11)] + [(MT_INDICATION, 11)] * 3
            assert again[0].xid == b"sub-11"
            assert client.stats.reconnects == 1
            assert len(nodes[0].subscribe_calls) == 2
            assert nodes[0].subscribe_calls[0] == nodes[0].subscribe_calls[1]
            assert client.subscriptions() == {SubscriptionKey("gnb-1", KPM_FUNCTION, REQUESTOR, 11): True}
        finally:
            await second.aclose()


async def test_slow_consumer_drops_are_counted(nodes: list[ScriptedNode], make_client: ClientFactory) -> None:
    nodes[0].indications = 10
    client = await make_client(inbound_queue_size=2)
    await subscribe(client, instance=12)
    await client.wait_until(lambda s: s.received == 11)
    assert client.stats.dropped_inbound == 9 and client.pending == 2
    reader = Reader(client)
    kept = await reader.take(2)
    assert [m.mtype for m in kept] == [MT_SUB_RESP, MT_INDICATION]
    first = decode_e2ap(kept[1].payload)
    assert isinstance(first, RicIndication) and first.sn == 0


def _make_certificate(directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "relay.key", directory / "relay.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=e2relay.test",
            "-addext",
            "subjectAltName=DNS:e2relay.test,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
async def test_tls_relay(tmp_path: Path, nodes: list[ScriptedNode]) -> None:
    key, cert = _make_certificate(tmp_path)
    server_cfg = RelayServerConfig(host=LOCAL, tls=TlsServerConfig(cert_chain=cert, private_key=key))
    async with E2RelayServer(nodes, server_cfg) as server:
        tls = TlsClientConfig(root_certificates=cert, server_name="e2relay.test")
        cfg = GrpcTransportConfig(target=server.address, app_id="x", tls=tls, call_timeout=TIMEOUT)
        async with GrpcE2Transport(cfg) as client:
            assert [n.node_id for n in await client.list_nodes()] == ["gnb-1", "gnb-2"]
            reader = Reader(client)
            await subscribe(client, instance=13)
            assert (await reader.next()).mtype == MT_SUB_RESP
        plain = GrpcTransportConfig(target=server.address, app_id="x", call_timeout=0.5)
        async with GrpcE2Transport(plain) as client:
            with pytest.raises(TransportError, match="ListNodes"):
                await client.list_nodes()
