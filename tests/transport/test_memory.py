"""The in-memory hub: RMR routing semantics (mtype/sub_id with fallback, %meid, return to sender), bounded queues."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ricsdk.errors import ConfigError, MessageTooLargeError, NoEndpointError, TransportError
from ricsdk.transport.base import Message, Transport
from ricsdk.transport.memory import MEID_ROUTE, Inbox, MemoryHub, MemoryTransport

TIMEOUT = 2.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


@pytest.fixture
def hub() -> MemoryHub:
    return MemoryHub(clock_ns=Clock())


@pytest.fixture
async def started(hub: MemoryHub) -> AsyncIterator[dict[str, MemoryTransport]]:
    endpoints = {
        "xapp": hub.endpoint("xapp"),
        "submgr": hub.endpoint("submgr"),
        "e2t-a": hub.endpoint("e2t-a", meids=("gnb-1", "gnb-2")),
        "e2t-b": hub.endpoint("e2t-b", meids=("gnb-3",)),
    }
    for endpoint in endpoints.values():
        await endpoint.start()
    yield endpoints
    for endpoint in endpoints.values():
        await endpoint.aclose()


async def receive(endpoint: MemoryTransport) -> Message:
    return await asyncio.wait_for(anext(aiter(endpoint)), TIMEOUT)


async def test_endpoint_is_a_transport(hub: MemoryHub) -> None:
    assert isinstance(hub.endpoint("x"), Transport)


async def test_route_by_mtype_and_sub_id_with_fallback(hub: MemoryHub, started: dict[str, MemoryTransport]) -> None:
    hub.add_route(12050, "xapp", sub_id=7)
    hub.add_route(12050, "submgr")
    await started["e2t-a"].send(Message(12050, b"for-7", sub_id=7, meid="gnb-1"))
    await started["e2t-a"].send(Message(12050, b"for-8", sub_id=8, meid="gnb-1"))
    to_xapp = await receive(started["xapp"])
    assert (to_xapp.payload, to_xapp.sub_id, to_xapp.meid, to_xapp.src) == (b"for-7", 7, "gnb-1", "e2t-a")
    assert to_xapp.received_ns > 1_000
    fallback = await receive(started["submgr"])
    assert (fallback.payload, fallback.sub_id) == (b"for-8", 8)
    assert started["xapp"].pending == 0 and started["submgr"].pending == 0


async def test_no_route_raises_no_endpoint(started: dict[str, MemoryTransport]) -> None:
    with pytest.raises(NoEndpointError) as err:
        await started["xapp"].send(Message(12040, b"x", sub_id=3, meid="gnb-1"))
    assert (err.value.mtype, err.value.sub_id) == (12040, 3)


async def test_meid_route_goes_to_the_owner_of_the_node(hub: MemoryHub, started: dict[str, MemoryTransport]) -> None:
    hub.add_route(12040, MEID_ROUTE)
    await started["xapp"].send(Message(12040, b"ctl-1", meid="gnb-2", xid=b"x1"))
    await started["xapp"].send(Message(12040, b"ctl-3", meid="gnb-3", xid=b"x3"))
    assert (await receive(started["e2t-a"])).payload == b"ctl-1"
    assert (await receive(started["e2t-b"])).payload == b"ctl-3"
    with pytest.raises(TransportError, match="no endpoint owns meid 'gnb-9'"):
        await started["xapp"].send(Message(12040, b"ctl-9", meid="gnb-9"))
    assert started["xapp"].stats.send_failures == 1
    hub.assign_meid("gnb-9", "e2t-b")
    await started["xapp"].send(Message(12040, b"ctl-9", meid="gnb-9"))
    assert (await receive(started["e2t-b"])).meid == "gnb-9"


async def test_reply_returns_to_the_sender(hub: MemoryHub, started: dict[str, MemoryTransport]) -> None:
    hub.add_route(12040, MEID_ROUTE)
    await started["xapp"].send(Message(12040, b"request", sub_id=5, meid="gnb-1", xid=b"txn-1"))
    request = await receive(started["e2t-a"])
    await started["e2t-a"].reply(request, 12041, b"ack")
    answer = await receive(started["xapp"])
    assert (answer.mtype, answer.payload, answer.sub_id, answer.meid, answer.xid, answer.src) == (
        12041,
        b"ack",
        5,
        "gnb-1",
        b"txn-1",
        "e2t-a",
    )
    await started["xapp"].reply(answer, 12042, b"and back")
    assert (await receive(started["e2t-a"])).payload == b"and back"


async def test_reply_needs_a_message_from_the_same_hub(started: dict[str, MemoryTransport]) -> None:
    other = MemoryHub()
    stranger = other.endpoint("stranger")
    await stranger.start()
    other.add_route(1, "stranger")
    await stranger.send(Message(1, b"self"))
    foreign = await receive(stranger)
    with pytest.raises(TransportError, match="not received through the hub"):
        await started["xapp"].reply(foreign, 2, b"x")
    with pytest.raises(TransportError, match="not received through the hub"):
        await started["xapp"].reply(Message(1, b"made up"), 2, b"x")
    await stranger.aclose()


async def test_full_queue_drops_are_counted_on_the_receiver(hub: MemoryHub) -> None:
    sender, slow = hub.endpoint("sender"), hub.endpoint("slow", queue_size=3)
    await sender.start()
    await slow.start()
    hub.add_route(12050, "slow")
    for n in range(10):
        await sender.send(Message(12050, bytes([n])))
    assert sender.stats.sent == 10 and sender.stats.send_failures == 0
    assert slow.stats.received == 10 and slow.stats.dropped_inbound == 7 and slow.pending == 3
    assert [(await receive(slow)).payload for _ in range(3)] == [b"\x00", b"\x01", b"\x02"]


async def test_fan_out_with_partial_and_total_failure(hub: MemoryHub, started: dict[str, MemoryTransport]) -> None:
    hub.add_route(30000, ("xapp", "submgr"))
    await started["e2t-a"].send(Message(30000, b"both"))
    assert (await receive(started["xapp"])).payload == b"both"
    assert (await receive(started["submgr"])).payload == b"both"
    await started["submgr"].aclose()
    await started["e2t-a"].send(Message(30000, b"one"))
    assert (await receive(started["xapp"])).payload == b"one"
    assert started["e2t-a"].stats.send_failures == 1 and started["e2t-a"].stats.dropped_outbound == 1
    await started["xapp"].aclose()
    with pytest.raises(TransportError, match="is closed"):
        await started["e2t-a"].send(Message(30000, b"none"))
    assert started["e2t-a"].stats.sent == 2 and started["e2t-a"].stats.send_failures == 3


async def test_payload_is_copied_at_send(hub: MemoryHub, started: dict[str, MemoryTransport]) -> None:
    hub.add_route(1, "xapp")
    buffer = bytearray(b"before")
    await started["submgr"].send(Message(1, buffer))  # type: ignore[arg-type]
    buffer[:] = b"after!"
    received = await receive(started["xapp"])
    assert received.payload == b"before" and isinstance(received.payload, bytes)


async def test_size_limit_and_lifecycle(hub: MemoryHub) -> None:
    small = hub.endpoint("small", max_message_size=4)
    hub.add_route(1, "small")
    with pytest.raises(TransportError, match="new"):
        await small.send(Message(1, b"x"))
    await small.start()
    with pytest.raises(MessageTooLargeError):
        await small.send(Message(1, b"12345"))
    await small.send(Message(1, b"1234"))
    await small.aclose()
    assert [m.payload async for m in small] == [b"1234"]
    with pytest.raises(TransportError, match="closed"):
        await small.start()


def test_hub_configuration_is_validated(hub: MemoryHub) -> None:
    hub.endpoint("a")
    with pytest.raises(ConfigError, match="already exists"):
        hub.endpoint("a")
    with pytest.raises(ConfigError):
        hub.endpoint(MEID_ROUTE)
    with pytest.raises(ConfigError, match="queue_size"):
        hub.endpoint("b", queue_size=0)
    with pytest.raises(ConfigError, match="no target"):
        hub.add_route(1, ())
    with pytest.raises(ConfigError, match="queue_size"):
        Inbox(0)


async def test_inbox_returns_queued_messages_then_none_after_close() -> None:
    inbox = Inbox(2)
    assert inbox.put_nowait(Message(1, b"a")) and inbox.put_nowait(Message(2, b"b"))
    assert not inbox.put_nowait(Message(3, b"c"))
    waiter = asyncio.create_task(_drain(inbox))
    inbox.close()
    assert not inbox.put_nowait(Message(4, b"d"))
    assert await asyncio.wait_for(waiter, TIMEOUT) == [1, 2]


async def _drain(inbox: Inbox) -> list[int]:
    out = []
    while (msg := await inbox.get()) is not None:
        out.append(msg.mtype)
    return out
