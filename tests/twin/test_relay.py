"""The twin's nodes behind the gRPC E2 relay: ListNodes returns their E2 setup, streams end cleanly."""

from __future__ import annotations

import pytest

from ricsdk.e2 import e2ap
from ricsdk.errors import TransportError
from ricsdk.transport.base import Message
from ricsdk.transport.grpc import E2RelayServer, GrpcE2Transport, GrpcTransportConfig, RelayServerConfig
from ricsdk.twin import Twin, load_scenario
from ricsdk.twin.relay import RelayPort


async def test_list_nodes_returns_every_nodes_e2_setup_request() -> None:
    twin = Twin(load_scenario("steady"))
    port = RelayPort()
    await twin.start(port)
    server = E2RelayServer(port.backends(twin.nodes.values()), RelayServerConfig(port=0))
    await server.start()
    client = GrpcE2Transport(GrpcTransportConfig(target=server.address, app_id="t"))
    try:
        await client.start()
        nodes = await client.list_nodes()
        assert [n.node_id for n in nodes] == list(twin.node_ids)
        setup = e2ap.decode_e2ap(nodes[0].setup_request)
        assert isinstance(setup, e2ap.E2setupRequest)
        assert [f.id for f in setup.ran_functions] == [2, 3]
    finally:
        await client.aclose()
        await server.aclose()
        await twin.aclose()


async def test_an_indication_without_an_open_stream_is_counted_and_refused() -> None:
    port = RelayPort()
    await port.start()
    with pytest.raises(TransportError, match="no open stream"):
        await port.send(Message(12050, b"x", sub_id=4, meid="cell-001"))
    assert port.stats.dropped_outbound == 1
    with pytest.raises(TransportError, match="can only send indications"):
        await port.send(Message(12011, b"x", meid="cell-001"))
    await port.aclose()
    with pytest.raises(TransportError, match="not running"):
        await port.call("cell-001", 12010, b"")
