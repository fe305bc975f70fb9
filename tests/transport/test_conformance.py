"""One scripted E2 exchange, run over the in-memory hub and over the gRPC relay: the xApp sees the same messages.

On both wires the E2 node side is the same :class:`ScriptedNode`: behind an :class:`E2RelayServer` for gRPC, and
behind a :class:`MemoryE2Host` (RMR-style E2 Termination: return to sender, indications routed by sub_id) for the
hub. The xApp side is just a :class:`Transport`; every payload is encoded and decoded with the real E2AP codec.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from ricsdk.e2.e2ap import (
    RicControlAcknowledge,
    RicControlFailure,
    RicIndication,
    RicSubscriptionDeleteFailure,
    RicSubscriptionFailure,
    RicSubscriptionResponse,
    decode_e2ap,
)
from ricsdk.transport.base import Message, Transport
from ricsdk.transport.grpc import E2RelayServer, GrpcE2Transport, GrpcTransportConfig, RelayServerConfig
from ricsdk.transport.memory import MEID_ROUTE, MemoryHub
from tests.transport.e2node import (
    KPM_FUNCTION,
    MT_CONTROL_REQ,
    MT_INDICATION,
    MT_SUB_DEL_REQ,
    MT_SUB_REQ,
    REFUSED_FUNCTION,
    MemoryE2Host,
    ScriptedNode,
    control_request,
    delete_request,
    subscription_request,
)

TIMEOUT = 5.0


@dataclass
class Link:
    xapp: Transport
    node: ScriptedNode


@pytest.fixture(params=["memory", "grpc"])
async def link(request: pytest.FixtureRequest) -> AsyncIterator[Link]:
    node = ScriptedNode("gnb-1")
    if request.param == "memory":
        hub = MemoryHub()
        xapp = hub.endpoint("xapp")
        host = MemoryE2Host(hub.endpoint("e2term", meids=("gnb-1",)), [node])
        for mtype in (MT_SUB_REQ, MT_SUB_DEL_REQ, MT_CONTROL_REQ):
            hub.add_route(mtype, MEID_ROUTE)
        hub.add_route(MT_INDICATION, "xapp")
        await host.start()
        await xapp.start()
        yield Link(xapp, node)
        await xapp.aclose()
        await host.aclose()
    else:
        server = E2RelayServer([node], RelayServerConfig(host="127.0.0.1", port=0))
        await server.start()
        client = GrpcE2Transport(GrpcTransportConfig(target=server.address, app_id="conformance"))
        await client.start()
        yield Link(client, node)
        await client.aclose()
        await server.aclose()


Seen = tuple[int, int, str, bytes, str, object]


def observe(msg: Message) -> Seen:
    """What the xApp can rely on: routing fields and the decoded PDU (``src`` is wire-specific)."""
    decoded = decode_e2ap(msg.payload)
    detail: object = None
    if isinstance(decoded, RicIndication):
        detail = decoded.sn
    elif isinstance(decoded, RicControlAcknowledge):
        detail = decoded.outcome
    elif isinstance(decoded, (RicSubscriptionFailure, RicControlFailure, RicSubscriptionDeleteFailure)):
        detail = decoded.cause.name
    elif isinstance(decoded, RicSubscriptionResponse):
        detail = decoded.admitted
    return (msg.mtype, msg.sub_id, msg.meid, msg.xid, type(decoded).__name__, detail)


async def run_exchange(xapp: Transport, node: ScriptedNode) -> list[Seen]:
    inbound = aiter(xapp)

    async def take(n: int) -> list[Seen]:
        return [observe(await asyncio.wait_for(anext(inbound), TIMEOUT)) for _ in range(n)]

    seen: list[Seen] = []
    await xapp.send(Message(MT_SUB_REQ, subscription_request(21), sub_id=21, meid="gnb-1", xid=b"s21"))
    seen += await take(4)
    await xapp.send(
        Message(MT_SUB_REQ, subscription_request(22, REFUSED_FUNCTION), sub_id=22, meid="gnb-1", xid=b"s22")
    )
    seen += await take(1)
    await xapp.send(Message(MT_CONTROL_REQ, control_request(21), sub_id=21, meid="gnb-1", xid=b"c1"))
    seen += await take(1)
    await xapp.send(Message(MT_CONTROL_REQ, control_request(21, REFUSED_FUNCTION), sub_id=21, meid="gnb-1", xid=b"c2"))
    seen += await take(1)
    await xapp.send(Message(MT_SUB_DEL_REQ, delete_request(21), sub_id=21, meid="gnb-1", xid=b"d1"))
    seen += await take(1)
    await node.wait_for(lambda n: not n.active and n.released == 1)
    await xapp.send(Message(MT_SUB_DEL_REQ, delete_request(21), sub_id=21, meid="gnb-1", xid=b"d2"))
    seen += await take(1)
    return seen


EXPECTED: list[Seen] = [
    (12011, 21, "gnb-1", b"s21", "RicSubscriptionResponse", (1,)),
    (12050, 21, "gnb-1", b"", "RicIndication", 0),
    (12050, 21, "gnb-1", b"", "RicIndication", 1),
    (12050, 21, "gnb-1", b"", "RicIndication", 2),
    (12012, 22, "gnb-1", b"s22", "RicSubscriptionFailure", "ran-function-id-invalid"),
    (12041, 21, "gnb-1", b"c1", "RicControlAcknowledge", b"applied:prb-quota"),
    (12042, 21, "gnb-1", b"c2", "RicControlFailure", "control-message-invalid"),
    (12021, 21, "gnb-1", b"d1", "RicSubscriptionDeleteResponse", None),
    (12022, 21, "gnb-1", b"d2", "RicSubscriptionDeleteFailure", "request-id-unknown"),
]


async def test_same_exchange_over_every_transport(link: Link) -> None:
    assert await run_exchange(link.xapp, link.node) == EXPECTED
    assert [(c.ran_function_id, c.request_id.instance_id) for c in link.node.subscribe_calls] == [
        (KPM_FUNCTION, 21),
        (REFUSED_FUNCTION, 22),
    ]
    assert link.xapp.stats.dropped_inbound == 0 and link.xapp.stats.send_failures == 0
    assert link.xapp.stats.sent == 6 and link.xapp.stats.received == len(EXPECTED)
