"""Closing the loop: an xApp against the twin over the in-memory, native RMR or gRPC transport.

Theory of operation
-------------------
:func:`connect` builds both ends of a transport for the twin's nodes and an xApp:

- ``memory``: a :class:`~ricsdk.transport.memory.MemoryHub` (on the twin's clock) with an endpoint owning every
  node id (the E2 Termination role) and an ``xapp`` endpoint; 12010/12020/12040 are routed by ``meid``, 12050 to
  the xApp, answers return to sender.
- ``rmr``: two native RMR transports on loopback (port 0), with seed route tables written to a temporary
  directory once the ports are known (12010/12020/12040 to the twin, 12050 to the xApp).
- ``grpc``: the twin's nodes behind an :class:`~ricsdk.transport.grpc.E2RelayServer` on loopback (port 0)
  through a :class:`~ricsdk.twin.relay.RelayPort`, and a :class:`~ricsdk.transport.grpc.GrpcE2Transport` for the
  xApp.

Both ends are wrapped in a :class:`Probe`, which counts what each side sends and what each side's consumer has
finished handling (a consumer that asks for its next message has handled the previous one). The loop is
*settled* when both consumers wait and each side has handled everything the other sent; :func:`run_with` settles
after every tick in stepped mode, so the xApp's controls for tick ``k`` are in force from tick ``k + 1``
whatever the transport, and runs are reproducible. A loop that does not settle within ``settle_timeout``
seconds (a lost message) raises :class:`~ricsdk.errors.TransportError` with both sides' counts. In real-time
mode there is no settling: ticks follow the wall clock and controls apply from the tick after they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from ricsdk.errors import ConfigError, TransportError
from ricsdk.rmr.routes import RouteTable
from ricsdk.runtime.runner import RunnerConfig, XAppRunner
from ricsdk.runtime.xapp import XApp
from ricsdk.transport.base import Message, TransportStats
from ricsdk.transport.memory import MEID_ROUTE, MemoryHub
from ricsdk.transport.rmr import RmrConfig, RmrTransport
from ricsdk.twin.relay import RelayPort

if TYPE_CHECKING:
    from ricsdk.twin.twin import Twin

__all__ = ["Endpoint", "Link", "Probe", "TransportKind", "connect", "run_with"]

log = structlog.get_logger(__name__)

_TO_NODE = (12010, 12020, 12040)
_TO_XAPP = (12050,)


class TransportKind(enum.Enum):
    MEMORY = "memory"
    RMR = "rmr"
    GRPC = "grpc"


class Endpoint(Protocol):
    """What :class:`Probe` wraps: a transport whose statistics may be a subclass of TransportStats."""

    @property
    def stats(self) -> TransportStats: ...

    async def start(self) -> None: ...

    async def send(self, msg: Message) -> None: ...

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None: ...

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def aclose(self) -> None: ...


class Probe:
    """A transport wrapper that counts messages sent and messages its consumer has finished handling."""

    def __init__(self, inner: Endpoint) -> None:
        self.inner = inner
        self.stats: TransportStats = inner.stats
        self.sent = 0
        self.yielded = 0
        self.waiting = False

    @property
    def handled(self) -> int:
        return self.yielded if self.waiting else self.yielded - 1

    async def start(self) -> None:
        await self.inner.start()

    async def send(self, msg: Message) -> None:
        await self.inner.send(msg)
        self.sent += 1

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None:
        await self.inner.reply(request, mtype, payload)
        self.sent += 1

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        it = self.inner.__aiter__()
        while True:
            self.waiting = True
            try:
                msg = await it.__anext__()
            except StopAsyncIteration:
                return
            finally:
                self.waiting = False
            self.yielded += 1
            yield msg

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass(slots=True)
class Link:
    """Both ends of a transport between the twin and an xApp, probed."""

    kind: TransportKind
    node: Probe
    xapp: Probe

    def settled(self) -> bool:
        n, x = self.node, self.xapp
        return n.waiting and x.waiting and n.yielded == x.sent and x.yielded == n.sent

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until both sides have handled everything the other sent (see the module docstring)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        spins = 0
        quiet = 0
        while quiet < 2:
            quiet = quiet + 1 if self.settled() else 0
            if loop.time() > deadline:
                n, x = self.node, self.xapp
                raise TransportError(
                    f"{self.kind.value}: the loop did not settle in {timeout} s (xApp sent {x.sent}, twin handled "
                    f"{n.handled}; twin sent {n.sent}, xApp handled {x.handled})"
                )
            await asyncio.sleep(0 if spins < 200 else 0.0002)
            spins += 1


@contextlib.asynccontextmanager
async def connect(twin: Twin, kind: TransportKind | str) -> AsyncIterator[Link]:
    """Start ``twin`` on the node side of a ``kind`` transport; yield the probed link (the xApp side not started)."""
    k = TransportKind(kind) if isinstance(kind, str) else kind
    if k is TransportKind.MEMORY:
        async with _memory(twin) as link:
            yield link
    elif k is TransportKind.RMR:
        async with _rmr(twin) as link:
            yield link
    else:
        async with _grpc(twin) as link:
            yield link


@contextlib.asynccontextmanager
async def _memory(twin: Twin) -> AsyncIterator[Link]:
    hub = MemoryHub(clock_ns=twin.clock)
    node_end = hub.endpoint("twin-e2t", meids=twin.node_ids)
    xapp_end = hub.endpoint("xapp")
    for mtype in _TO_NODE:
        hub.add_route(mtype, MEID_ROUTE)
    for mtype in _TO_XAPP:
        hub.add_route(mtype, "xapp")
    link = Link(TransportKind.MEMORY, Probe(node_end), Probe(xapp_end))
    await twin.start(link.node)
    try:
        yield link
    finally:
        await twin.aclose()


def _rmr_config(table: Path, name: str) -> RmrConfig:
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


def _at_least(n: int) -> Callable[[RouteTable], bool]:
    return lambda table: len(table) >= n


@contextlib.asynccontextmanager
async def _rmr(twin: Twin) -> AsyncIterator[Link]:
    with tempfile.TemporaryDirectory(prefix="ricsdk-twin-rmr-") as tmp:
        node_table, xapp_table = Path(tmp) / "twin.rt", Path(tmp) / "xapp.rt"
        node_t = RmrTransport(_rmr_config(node_table, "twin-e2t"))
        xapp_t = RmrTransport(_rmr_config(xapp_table, "xapp"))
        link = Link(TransportKind.RMR, Probe(node_t), Probe(xapp_t))
        await twin.start(link.node)
        try:
            await xapp_t.start()
            node_routes = [f"mse|{m}|-1|127.0.0.1:{xapp_t.port}" for m in _TO_XAPP]
            xapp_routes = [f"mse|{m}|-1|127.0.0.1:{node_t.port}" for m in _TO_NODE]
            for path, routes in ((node_table, node_routes), (xapp_table, xapp_routes)):
                path.write_text("newrt|start\n" + "".join(r + "\n" for r in routes) + "newrt|end\n")
            for t, n in ((node_t, len(node_routes)), (xapp_t, len(xapp_routes))):
                await asyncio.wait_for(t.wait_route_table(_at_least(n)), 10)
            yield link
        finally:
            await twin.aclose()
            await xapp_t.aclose()


@contextlib.asynccontextmanager
async def _grpc(twin: Twin) -> AsyncIterator[Link]:
    from ricsdk.transport.grpc import E2RelayServer, GrpcE2Transport, GrpcTransportConfig, RelayServerConfig

    port = RelayPort()
    link_node = Probe(port)
    await twin.start(link_node)
    server = E2RelayServer(port.backends(twin.nodes.values()), RelayServerConfig(host="127.0.0.1", port=0))
    try:
        await server.start()
        client = GrpcE2Transport(GrpcTransportConfig(target=server.address, app_id="twin-xapp"), clock_ns=twin.clock)
        yield Link(TransportKind.GRPC, link_node, Probe(client))
    finally:
        await server.aclose()
        await twin.aclose()


async def run_with(
    twin: Twin,
    xapp: XApp,
    transport_kind: TransportKind | str,
    periods: int | None = None,
    *,
    realtime: bool = False,
    runner_config: RunnerConfig | None = None,
    settle_timeout: float = 10.0,
) -> dict[str, Any]:
    """Run ``xapp`` against ``twin`` for ``periods`` ticks (the scenario's duration by default); the SLA report."""
    try:
        kind = TransportKind(transport_kind) if isinstance(transport_kind, str) else transport_kind
    except ValueError as exc:
        known = ", ".join(k.value for k in TransportKind)
        raise ConfigError(f"unknown transport {transport_kind!r} (known: {known})", field="transport_kind") from exc
    async with connect(twin, kind) as link:
        runner = XAppRunner(xapp, link.xapp, config=runner_config, clock=twin.clock)
        await runner.start()
        try:
            if not realtime:
                await link.settle(settle_timeout)

            async def settle() -> None:
                await link.settle(settle_timeout)

            report = await twin.run(periods, realtime=realtime, after_step=None if realtime else settle)
            report["transport"] = kind.value
            report["xapp"] = {"name": xapp.name, "version": xapp.version, "state": runner.state.value}
        finally:
            await runner.aclose()
    log.info("twin loop closed", scenario=twin.scenario.name, transport=kind.value, xapp=xapp.name)
    return report
