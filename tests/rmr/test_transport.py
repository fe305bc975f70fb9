"""Native RMR transport over real loopback sockets (port 0 everywhere), seed tables in tmp files."""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from ricsdk.errors import ConfigError, MessageTooLargeError, NoEndpointError, TransportError
from ricsdk.rmr.wire import FrameReader, RmrFrame, build_frame, encode_frame
from ricsdk.transport.base import Message, Transport
from ricsdk.transport.rmr import (
    RmrConfig,
    RmrTransport,
    RouteManagerMode,
    RouteManagerPlan,
    TransportState,
)

LOCAL = "127.0.0.1"
TIMEOUT = 3.0

Factory = Callable[..., Awaitable[RmrTransport]]


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Factory]:
    made: list[RmrTransport] = []

    async def factory(table: str | None = None, *, start: bool = True, **kw: object) -> RmrTransport:
        args: dict[str, object] = {
            "listen_host": LOCAL,
            "listen_port": 0,
            "src_id": LOCAL,
            "rtg_svc": "-1",
            "backoff_initial": 0.01,
            "backoff_max": 0.05,
            "connect_timeout": 1.0,
            "seed_poll_interval": 0.02,
        }
        if table is not None:
            path = tmp_path / f"seed-{len(made)}.rt"
            path.write_text(table)
            args["seed_route_table"] = path
        args.update(kw)
        transport = RmrTransport(RmrConfig(**args))  # type: ignore[arg-type]
        made.append(transport)
        if start:
            await transport.start()
        return transport

    yield factory
    for transport in made:
        await transport.aclose()


def table(*records: str, table_id: str = "t1") -> str:
    body = "".join(f"{r}\n" for r in records)
    return f"newrt|start|{table_id}\n{body}newrt|end|{len(records)}\n"


async def recv(transport: RmrTransport, timeout: float = TIMEOUT) -> Message:
    return await asyncio.wait_for(anext(aiter(transport)), timeout)


async def nothing_more(transport: RmrTransport) -> None:
    with pytest.raises(TimeoutError):
        await recv(transport, timeout=0.1)


async def eventually(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


class RawPeer:
    """A bare TCP client speaking RMR through the wire module (what rmr_probe or a C peer would send)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.frames = FrameReader()

    @classmethod
    async def connect(cls, port: int) -> RawPeer:
        reader, writer = await asyncio.open_connection(LOCAL, port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def frame(self, timeout: float = TIMEOUT) -> RmrFrame:
        async with asyncio.timeout(timeout):
            while (frame := self.frames.next_frame()) is None:
                chunk = await self.reader.read(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.frames.feed(chunk)
        return frame

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def test_transport_satisfies_the_protocol_and_constructor_is_inert() -> None:
    transport = RmrTransport(RmrConfig(listen_port=0))
    assert isinstance(transport, Transport)
    assert transport.state is TransportState.NEW and transport.port == 0 and not transport.ready


async def test_two_transports_exchange_messages_both_ways(make: Factory, tmp_path: Path) -> None:
    b_seed = tmp_path / "b.rt"  # absent at start: b runs without routes until the file appears
    b = await make(seed_route_table=b_seed)
    a = await make(table(f"mse|30000|-1|{LOCAL}:{b.port}"))
    b_seed.write_text(table(f"mse|30001|-1|{LOCAL}:{a.port}", table_id="b-routes"))
    await asyncio.wait_for(b.wait_route_table(), TIMEOUT)
    await a.send(Message(mtype=30000, payload=b"ping", sub_id=3, meid="gnb1", xid=b"tx-1"))
    got = await recv(b)
    assert (got.mtype, got.payload, got.sub_id, got.meid, got.xid) == (30000, b"ping", 3, "gnb1", b"tx-1")
    assert got.src == f"{LOCAL}:{a.port}" == a.source
    await b.send(Message(mtype=30001, payload=b"pong"))
    back = await recv(a)
    assert (back.mtype, back.payload, back.src) == (30001, b"pong", b.source)
    assert a.stats.sent == 1 and a.stats.received == 1 and b.stats.received == 1
    assert a.ready and a.route_table is not None and a.route_table.table_id == "t1"
    assert a.connected_peers() == {f"{LOCAL}:{b.port}"} and b.connected_peers() == {f"{LOCAL}:{a.port}"}


async def test_no_route_raises_no_endpoint(make: Factory) -> None:
    a = await make(table("mse|30000|-1|127.0.0.1:9"))
    with pytest.raises(NoEndpointError) as info:
        await a.send(Message(mtype=30099, payload=b"", sub_id=4))
    assert (info.value.mtype, info.value.sub_id) == (30099, 4)
    bare = await make()
    with pytest.raises(NoEndpointError):
        await bare.send(Message(mtype=1, payload=b""))


async def test_round_robin_inside_a_group_with_three_receivers(make: Factory) -> None:
    rx = [await make() for _ in range(3)]
    group = ",".join(f"{LOCAL}:{r.port}" for r in rx)
    tx = await make(table(f"mse|30000|-1|{group}"))
    for i in range(6):
        await tx.send(Message(mtype=30000, payload=str(i).encode()))
    for index, receiver in enumerate(rx):
        first, second = await recv(receiver), await recv(receiver)
        assert (first.payload, second.payload) == (str(index).encode(), str(index + 3).encode())
        await nothing_more(receiver)


async def test_multi_group_fan_out_sends_one_copy_per_group(make: Factory) -> None:
    rx = [await make() for _ in range(3)]
    groups = ";".join(f"{LOCAL}:{r.port}" for r in rx)
    tx = await make(table(f"mse|30000|77|{groups}"))
    await tx.send(Message(mtype=30000, payload=b"all", sub_id=77))
    for receiver in rx:
        assert (await recv(receiver)).payload == b"all"
        await nothing_more(receiver)
    assert tx.stats.sent == 3


async def test_meid_group_goes_to_the_owner(make: Factory) -> None:
    e2t_a, e2t_b = await make(), await make()
    seed = table("mse|12040|-1|%meid") + (
        f"meid_map|start|m1\nmme_ar|{LOCAL}:{e2t_a.port}|gnb_a\nmme_ar|{LOCAL}:{e2t_b.port}|gnb_b\nmeid_map|end|2\n"
    )
    xapp = await make(seed)
    await xapp.send(Message(mtype=12040, payload=b"ctl-b", meid="gnb_b"))
    await xapp.send(Message(mtype=12040, payload=b"ctl-a", meid="gnb_a"))
    assert (await recv(e2t_b)).payload == b"ctl-b"
    assert (await recv(e2t_a)).payload == b"ctl-a"
    with pytest.raises(NoEndpointError):
        await xapp.send(Message(mtype=12040, payload=b"", meid="unknown"))


async def test_rts_answers_each_sender_on_its_own_connection(make: Factory) -> None:
    server = await make()
    clients = [await make(table(f"mse|30000|-1|{LOCAL}:{server.port}")) for _ in range(2)]
    for i, client in enumerate(clients):
        await client.send(Message(mtype=30000, payload=f"req{i}".encode(), xid=f"x{i}".encode()))
    for _ in clients:
        request = await recv(server)
        await server.reply(request, 30001, b"re:" + request.payload)
    for i, client in enumerate(clients):
        answer = await recv(client)
        assert (answer.mtype, answer.payload, answer.xid) == (30001, f"re:req{i}".encode(), f"x{i}".encode())
        assert answer.src == server.source
        await nothing_more(client)
    assert server.connected_peers() == frozenset()  # replies went back on the arrival sockets


async def test_rts_prefers_the_connection_named_by_src(make: Factory) -> None:
    client = await make(start=False)
    await client.start()
    server = await make(table(f"mse|30005|-1|{client.source}"))
    await server.send(Message(mtype=30005, payload=b"hello"))  # server now holds a connection to client
    await recv(client)
    raw = await RawPeer.connect(server.port)
    await raw.send(encode_frame(build_frame(30000, b"q", src=client.source, srcip="ghost:1")))
    request = await recv(server)
    await server.reply(request, 30001, b"via src")
    answer = await recv(client)
    assert answer.payload == b"via src"
    with pytest.raises(TimeoutError):
        await raw.frame(timeout=0.1)
    await raw.close()


async def test_rts_falls_back_to_srcip_when_the_arrival_socket_is_gone(make: Factory) -> None:
    listener_frames: asyncio.Queue[RmrFrame] = asyncio.Queue()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = RawPeer(reader, writer)
        try:
            while True:
                await listener_frames.put(await peer.frame(timeout=5))
        except (ConnectionError, TimeoutError):
            pass
        finally:
            await peer.close()

    listener = await asyncio.start_server(on_client, LOCAL, 0)
    listen_port = listener.sockets[0].getsockname()[1]
    server = await make()
    raw = await RawPeer.connect(server.port)
    frame = build_frame(30000, b"q", src="unknown-host:1", srcip=f"{LOCAL}:{listen_port}", xid=b"abc")
    await raw.send(encode_frame(frame))
    request = await recv(server)
    await raw.close()
    await eventually(lambda: not any(c.inbound for c in server.connections()))
    await server.reply(request, 30001, b"via srcip")
    got = await asyncio.wait_for(listener_frames.get(), TIMEOUT)
    assert (got.header.mtype, got.payload, got.header.xid) == (30001, b"via srcip", b"abc")
    assert got.header.src == server.source
    listener.close()
    await listener.wait_closed()


async def test_rts_keeps_call_id_and_clears_call_flag(make: Factory) -> None:
    server = await make()
    raw = await RawPeer.connect(server.port)
    request = build_frame(30000, b"call", flags=0x04, d1=b"\x05\x00\x00\x00", trace=b"trace!", xid=b"call-1")
    await raw.send(encode_frame(request))
    await server.reply(await recv(server), 30001, b"answer")
    reply = await raw.frame()
    assert reply.d1 == b"\x05\x00\x00\x00" and reply.trace == b"trace!"
    assert reply.header.flags & 0x04 == 0
    assert reply.header.xid == b"call-1"
    await raw.close()


async def test_health_check_100_is_answered_101_ok_and_not_delivered(make: Factory) -> None:
    xapp = await make()
    probe = await RawPeer.connect(xapp.port)
    await probe.send(encode_frame(build_frame(100, b"", src="probe:43210", xid=b"probe-1")))
    reply = await probe.frame()
    assert reply.header.mtype == 101
    assert reply.payload == b"OK\n"
    assert reply.header.xid == b"probe-1"
    assert reply.header.src == xapp.source and reply.header.srcip == xapp.source_ip
    assert xapp.stats.health_checks == 1
    await nothing_more(xapp)
    assert xapp.stats.received == 0
    await probe.close()


async def test_reconnects_after_the_peer_restarts(make: Factory) -> None:
    first = await make()
    port = first.port
    sender = await make(table(f"mse|30000|-1|{LOCAL}:{port}"))
    await sender.send(Message(mtype=30000, payload=b"one"))
    assert (await recv(first)).payload == b"one"
    await first.aclose()
    await eventually(lambda: not sender.connected_peers())
    with pytest.raises(TransportError):
        await sender.send(Message(mtype=30000, payload=b"lost"))
    assert sender.stats.send_failures == 1
    second = await make(listen_port=port)

    async def send_until_accepted() -> None:
        while True:
            try:
                await sender.send(Message(mtype=30000, payload=b"two"))
                return
            except TransportError:
                await asyncio.sleep(0.01)

    await asyncio.wait_for(send_until_accepted(), TIMEOUT)
    assert (await recv(second)).payload == b"two"
    assert sender.stats.reconnects == 1


async def test_connect_failures_back_off_exponentially(make: Factory, tmp_path: Path) -> None:
    probe = await make()
    dead_port = probe.port
    await probe.aclose()
    seed = tmp_path / "dead.rt"
    seed.write_text(table(f"mse|1|-1|{LOCAL}:{dead_port}"))
    now = [0]
    sender = RmrTransport(
        RmrConfig(
            listen_host=LOCAL,
            listen_port=0,
            src_id=LOCAL,
            rtg_svc="-1",
            backoff_initial=1.0,
            backoff_factor=2.0,
            backoff_max=3.0,
            seed_route_table=seed,
        ),
        clock_ns=lambda: now[0],
    )
    await sender.start()
    try:
        msg = Message(mtype=1, payload=b"")
        with pytest.raises(TransportError, match="cannot connect"):
            await sender.send(msg)
        with pytest.raises(TransportError, match=r"next connection attempt in 1\.000s"):
            await sender.send(msg)
        now[0] = 1_000_000_000
        with pytest.raises(TransportError, match="cannot connect"):
            await sender.send(msg)
        with pytest.raises(TransportError, match=r"in 2\.000s"):
            await sender.send(msg)
        now[0] = 3_000_000_000
        with pytest.raises(TransportError, match="cannot connect"):
            await sender.send(msg)
        with pytest.raises(TransportError, match=r"in 3\.000s"):  # capped by backoff_max
            await sender.send(msg)
    finally:
        await sender.aclose()


async def test_a_peer_that_stops_reading_cannot_block_send_or_aclose(make: Factory) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    sink = await asyncio.start_server(never_read, LOCAL, 0)
    port = sink.sockets[0].getsockname()[1]
    sender = await make(table(f"mse|30000|-1|{LOCAL}:{port}"), send_timeout=0.2)
    chunk = b"z" * 65536
    async with asyncio.timeout(20):
        with pytest.raises(TransportError, match="not reading"):
            for _ in range(5000):
                await sender.send(Message(mtype=30000, payload=chunk))
        await sender.aclose()
    for writer in accepted:
        writer.close()
    sink.close()
    await sink.wait_closed()


async def test_static_mode_reloads_the_seed_file_when_it_changes(make: Factory) -> None:
    old, new = await make(), await make()
    sender = await make(table(f"mse|30000|-1|{LOCAL}:{old.port}", table_id="v1"))
    await sender.send(Message(mtype=30000, payload=b"to-old"))
    assert (await recv(old)).payload == b"to-old"
    seed = sender.config.seed_route_table
    assert seed is not None
    seed.write_text(table(f"mse|30000|-1|{LOCAL}:{new.port}", table_id="version-2"))
    os.utime(seed, ns=(1, 1))
    await asyncio.wait_for(sender.wait_route_table(lambda t: t.table_id == "version-2"), TIMEOUT)
    await sender.send(Message(mtype=30000, payload=b"to-new"))
    assert (await recv(new)).payload == b"to-new"
    await nothing_more(old)
    seed.write_text("newrt|start|broken\nmse|oops|-1|x:1\nnewrt|end\n")
    await eventually(lambda: sender.stats.tables_rejected == 1)
    assert sender.route_table is not None and sender.route_table.table_id == "version-2"


async def test_bad_seed_file_at_start_is_a_config_error(make: Factory) -> None:
    with pytest.raises(ConfigError, match="line 2"):
        await make("newrt|start\nmse|1|-1|nohost\nnewrt|end\n")


async def test_route_manager_push_is_acknowledged(make: Factory) -> None:
    receiver = await make()
    xapp = await make(rtg_svc="0")
    assert xapp.control_port
    rm = await RawPeer.connect(xapp.control_port)
    records = f"newrt|start|rm-7\nmse|30000|-1|{LOCAL}:{receiver.port}\nnewrt|end|1\n".encode()
    await rm.send(encode_frame(build_frame(20, records + b"\x00", src="rtmgr:4561")))
    ack = await rm.frame()
    assert ack.header.mtype == 22
    assert ack.payload == b"OK rm-7 \n\x00"
    await xapp.send(Message(mtype=30000, payload=b"routed"))
    assert (await recv(receiver)).payload == b"routed"
    bad = b"newrt|start|rm-8\nmse|30000|-1|x:1\nnewrt|end|5\n"
    await rm.send(encode_frame(build_frame(20, bad, src="rtmgr:4561")))
    nack = await rm.frame()
    assert nack.payload.startswith(b"ERR rm-8 ") and b"expected 5 got 1" in nack.payload
    assert xapp.route_table is not None and xapp.route_table.table_id == "rm-7"
    assert xapp.stats.tables_installed == 1 and xapp.stats.tables_rejected == 1
    await rm.close()


async def test_table_spread_over_several_route_manager_messages(make: Factory) -> None:
    xapp = await make(rtg_svc="0")
    assert xapp.control_port
    rm = await RawPeer.connect(xapp.control_port)
    for part in (b"newrt|start|split\n", b"mse|1|-1|a:1\nmse|2|-1|b:2\n", b"newrt|end|2\n"):
        await rm.send(encode_frame(build_frame(20, part)))
    assert (await rm.frame()).payload == b"OK split \n\x00"
    assert xapp.route_table is not None and len(xapp.route_table) == 2
    await rm.close()


async def test_request_mode_asks_the_route_manager_with_mtype_21(make: Factory) -> None:
    receiver = await make()
    requests: asyncio.Queue[RmrFrame] = asyncio.Queue()
    acks: asyncio.Queue[RmrFrame] = asyncio.Queue()

    async def route_manager(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = RawPeer(reader, writer)
        try:
            request = await peer.frame()
            await requests.put(request)
            records = f"newrt|start|req\nmse|30000|-1|{LOCAL}:{receiver.port}\nnewrt|end|1\n".encode()
            await peer.send(encode_frame(build_frame(20, records)))
            await acks.put(await peer.frame())
        except (ConnectionError, TimeoutError):
            pass
        finally:
            await peer.close()

    rm_server = await asyncio.start_server(route_manager, LOCAL, 0)
    rm_port = rm_server.sockets[0].getsockname()[1]
    xapp = await make(rtg_svc=f"{LOCAL}:{rm_port}", ctl_port=0, rtreq_interval=0.05)
    request = await asyncio.wait_for(requests.get(), TIMEOUT)
    assert request.header.mtype == 21
    assert request.payload.startswith(xapp.source.encode() + b" ts=") and request.payload.endswith(b"\n\x00")
    assert (await asyncio.wait_for(acks.get(), TIMEOUT)).payload == b"OK req \n\x00"
    await xapp.send(Message(mtype=30000, payload=b"ok"))
    assert (await recv(receiver)).payload == b"ok"
    rm_server.close()
    await rm_server.wait_closed()


async def test_oversize_message_is_refused_on_send(make: Factory) -> None:
    receiver = await make()
    sender = await make(table(f"mse|30000|-1|{LOCAL}:{receiver.port}"), max_message_size=100)
    with pytest.raises(MessageTooLargeError) as info:
        await sender.send(Message(mtype=30000, payload=b"x" * 101))
    assert (info.value.size, info.value.limit) == (101, 100)
    await sender.send(Message(mtype=30000, payload=b"x" * 100))
    assert len((await recv(receiver)).payload) == 100


async def test_oversize_inbound_frame_is_refused_and_the_stream_goes_on(make: Factory) -> None:
    receiver = await make(max_message_size=1000)
    raw = await RawPeer.connect(receiver.port)
    big = encode_frame(build_frame(30000, b"B" * 5000))
    medium = encode_frame(build_frame(30000, b"M" * 1500))
    good = encode_frame(build_frame(30000, b"fine"))
    await raw.send(big + medium + good)
    assert (await recv(receiver)).payload == b"fine"
    assert receiver.stats.malformed == 2 and receiver.stats.received == 1
    await raw.close()


async def test_malformed_frame_is_counted_and_the_next_good_frame_arrives(make: Factory) -> None:
    receiver = await make()
    raw = await RawPeer.connect(receiver.port)
    broken = bytearray(encode_frame(build_frame(30000, b"bad")))
    broken[54:58] = struct.pack(">i", 9999)  # plen beyond the frame
    await raw.send(bytes(broken) + encode_frame(build_frame(30000, b"good")))
    assert (await recv(receiver)).payload == b"good"
    assert receiver.stats.malformed == 1
    await raw.close()


async def test_nonsense_length_resets_the_connection_and_the_process_goes_on(make: Factory) -> None:
    receiver = await make()
    raw = await RawPeer.connect(receiver.port)
    await raw.send(b"\xff\xff\xff\xff\xff\xff\xff\xff$" + bytes(60))
    with pytest.raises(ConnectionError):
        await raw.frame()
    await raw.close()
    assert receiver.stats.malformed == 1
    again = await RawPeer.connect(receiver.port)
    await again.send(encode_frame(build_frame(30000, b"after reset")))
    assert (await recv(receiver)).payload == b"after reset"
    await again.close()


async def test_full_inbound_queue_counts_drops(make: Factory) -> None:
    receiver = await make(inbound_queue_size=2)
    sender = await make(table(f"mse|30000|-1|{LOCAL}:{receiver.port}"))
    for i in range(5):
        await sender.send(Message(mtype=30000, payload=bytes([i])))
    await eventually(lambda: receiver.stats.received == 5)
    assert receiver.stats.dropped_inbound == 3
    assert [(await recv(receiver)).payload for _ in range(2)] == [b"\x00", b"\x01"]


async def test_iteration_ends_after_aclose_and_calls_are_refused(make: Factory) -> None:
    transport = await make()
    received: list[Message] = []

    async def consume() -> None:
        async for msg in transport:
            received.append(msg)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0)
    await transport.aclose()
    await asyncio.wait_for(consumer, TIMEOUT)
    await transport.aclose()
    with pytest.raises(TransportError):
        await transport.send(Message(mtype=1, payload=b""))
    with pytest.raises(TransportError):
        await transport.start()


async def test_start_is_idempotent_and_names_are_advertised(make: Factory) -> None:
    transport = await make(src_id="xapp-host:9999")
    port = transport.port
    await transport.start()
    assert transport.port == port
    assert transport.source == f"xapp-host:{port}"
    assert transport.source_ip == f"{LOCAL}:{port}"
    named = await make(src_id="only-name", name_only=True)
    assert named.source_ip == named.source == f"only-name:{named.port}"


async def test_reply_refuses_foreign_messages(make: Factory) -> None:
    transport = await make()
    with pytest.raises(TransportError, match="not received by this transport"):
        await transport.reply(Message(mtype=1, payload=b""), 2, b"")


def test_config_from_env_reads_rmr_variables() -> None:
    env = {
        "RMR_SEED_RT": "/etc/rmr/seed.rt",
        "RMR_RTG_SVC": "4561",
        "RMR_SRC_ID": "service-ricxapp-slice-rmr.ricxapp:4560",
        "RMR_SRC_NAMEONLY": "1",
        "RMR_BIND_IF": "10.1.2.3",
        "RMR_CTL_PORT": "4599",
        "RMR_RTREQ_FREQ": "500",
    }
    cfg = RmrConfig.from_env(env, listen_port=4560)
    assert cfg.seed_route_table == Path("/etc/rmr/seed.rt")
    assert cfg.rtg_svc == "4561" and cfg.ctl_port == 4599
    assert cfg.src_id == "service-ricxapp-slice-rmr.ricxapp:4560" and cfg.name_only
    assert cfg.listen_host == "10.1.2.3" and cfg.listen_port == 4560
    assert cfg.rtreq_interval == 5.0
    assert RmrConfig.from_env({}) == RmrConfig()
    with pytest.raises(ConfigError) as info:
        RmrConfig.from_env({"RMR_CTL_PORT": "x"})
    assert info.value.source == "RMR_CTL_PORT"


@pytest.mark.parametrize(
    ("rtg_svc", "ctl_port", "plan"),
    [
        ("-1", None, RouteManagerPlan(RouteManagerMode.STATIC)),
        ("4561", None, RouteManagerPlan(RouteManagerMode.LISTEN, control_port=4561)),
        ("tcp:4570", None, RouteManagerPlan(RouteManagerMode.LISTEN, control_port=4570)),
        (None, None, RouteManagerPlan(RouteManagerMode.LISTEN, control_port=4561)),
        (None, 4600, RouteManagerPlan(RouteManagerMode.REQUEST, control_port=4600, address="routemgr:4561")),
        ("rtmgr:4561", None, RouteManagerPlan(RouteManagerMode.REQUEST, control_port=4561, address="rtmgr:4561")),
    ],
)
def test_route_manager_plan_follows_librmr(rtg_svc: str | None, ctl_port: int | None, plan: RouteManagerPlan) -> None:
    assert RmrConfig(rtg_svc=rtg_svc, ctl_port=ctl_port).route_manager() == plan


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ConfigError):
        RmrConfig(rtg_svc="not an address")
    with pytest.raises(ConfigError):
        RmrConfig(listen_port=70000)
    with pytest.raises(ConfigError):
        RmrConfig(inbound_queue_size=0)
