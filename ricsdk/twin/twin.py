"""The twin: a simulated RAN (one E2 node per cell) that speaks real E2 over any transport.

::

    twin = Twin(load_scenario("flash_crowd"))
    report = await twin.run_with(MyXApp(...), "memory", periods=600)   # SLA report (dict)

Theory of operation
-------------------
A :class:`Twin` owns a :class:`~ricsdk.twin.sim.Simulation` (traffic, RAN model, quotas, SLA account, virtual
clock) and, once started on a node-side transport, one :class:`~ricsdk.twin.node.TwinNode` per cell. All nodes
share that transport, as the E2 nodes behind one E2 Termination do: inbound requests are handed to the node
named by the message's ``meid`` (unknown nodes are counted and logged), answers go back by return to sender and
indications are sent with the node as ``meid``.

:meth:`Twin.step` runs one tick: the simulation applies the controls staged since the last tick, advances, and
every node sends the indications whose reporting period ended. Time is virtual: the clock moves by one tick
per step, whether steps run as fast as possible (:meth:`run`, tests, training, benchmarks) or paced by the
wall clock (``realtime=True``, demos). :meth:`run_with` closes the loop with an xApp over the in-memory, native
RMR or gRPC transport (see :mod:`ricsdk.twin.loop`).

Nothing in the constructor touches a transport, a file or a task; :meth:`start` and :meth:`aclose` do.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from ricsdk.errors import LocalProtocolError
from ricsdk.runtime.runner import RunnerConfig
from ricsdk.runtime.xapp import XApp
from ricsdk.transport.base import Message, Transport
from ricsdk.twin.batch import BatchF1Encoder
from ricsdk.twin.loop import TransportKind, run_with
from ricsdk.twin.node import TickRecords, TwinConfig, TwinNode, batch_messages
from ricsdk.twin.scenario import Scenario
from ricsdk.twin.sim import Simulation, TickResult

__all__ = ["Twin", "TwinState", "TwinStats"]

log = structlog.get_logger(__name__)


class TwinState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(slots=True)
class TwinStats:
    ticks: int = 0
    indications: int = 0
    requests: int = 0
    unknown_node: int = 0
    handler_errors: int = 0


NodeFactory = Callable[[Simulation, TickRecords, int, Transport, TwinConfig], TwinNode]


class Twin:
    def __init__(
        self,
        scenario: Scenario,
        config: TwinConfig | None = None,
        *,
        seed: int | None = None,
        node_factory: NodeFactory = TwinNode,
    ) -> None:
        self.config = config or TwinConfig()
        self.sim = Simulation(scenario, seed=seed)
        self.scenario = scenario
        self.clock = self.sim.clock
        self.records = TickRecords(self.sim, real_values=self.config.real_values)
        self.stats = TwinStats()
        self.state = TwinState.NEW
        self.nodes: dict[str, TwinNode] = {}
        self.transport: Transport | None = None
        self._node_factory = node_factory
        self._batch = BatchF1Encoder()
        self._serve_task: asyncio.Task[None] | None = None

    @property
    def node_ids(self) -> tuple[str, ...]:
        """The E2 node ids (one per cell, the cell names), known before :meth:`start`."""
        return self.scenario.cell_names

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self, transport: Transport) -> None:
        """Start serving E2 on ``transport`` (the node side: a memory endpoint, an RMR transport, a relay port)."""
        if self.state is not TwinState.NEW:
            raise LocalProtocolError(f"twin is {self.state.value}; start it once")
        await transport.start()
        self.transport = transport
        self.nodes = {
            name: self._node_factory(self.sim, self.records, i, transport, self.config)
            for i, name in enumerate(self.scenario.cell_names)
        }
        self._serve_task = asyncio.create_task(self._serve(transport), name="twin-serve")
        self.state = TwinState.RUNNING
        log.info(
            "twin started",
            scenario=self.scenario.name,
            cells=len(self.nodes),
            slices=len(self.scenario.slices),
            tick_ms=self.sim.tick_ms,
            seed=self.sim.seed,
            transport=type(transport).__name__,
        )

    async def aclose(self) -> None:
        if self.state is TwinState.CLOSED:
            return
        self.state = TwinState.CLOSED
        if self.transport is not None:
            await self.transport.aclose()
        if self._serve_task is not None:
            self._serve_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._serve_task
        log.info("twin closed", scenario=self.scenario.name, stats=asdict(self.stats))

    async def __aenter__(self) -> Twin:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _serve(self, transport: Transport) -> None:
        async for msg in transport:
            await self.handle(msg)

    async def handle(self, msg: Message) -> None:
        """Hand one inbound E2 message to the node it names."""
        self.stats.requests += 1
        node = self.nodes.get(msg.meid)
        if node is None:
            self.stats.unknown_node += 1
            log.warning("twin: message for an unknown E2 node", meid=msg.meid, mtype=msg.mtype)
            return
        try:
            await node.handle(msg)
        except Exception:
            self.stats.handler_errors += 1
            log.exception("twin: node failed on a message", e2_node=msg.meid, mtype=msg.mtype)

    # -- time ----------------------------------------------------------------------------------------------
    async def step(self) -> TickResult:
        """One tick: advance the simulation, then send the indications that are due."""
        result = self.sim.advance()
        self.records.update(result)
        self.stats.ticks += 1
        due = [(node, plan) for node in self.nodes.values() for plan in node.due()]
        messages = batch_messages(self.records, [plan for _, plan in due], self._batch)
        header = self.records.header
        for (node, plan), message in zip(due, messages, strict=True):
            if message is None:
                await node.emit(plan)
            else:
                pdu = node.indication_pdu(plan.sub, header(node.codec, plan.start_ns), message)
                await node.send_indication(plan.sub, pdu)
        self.stats.indications += len(due)
        return result

    async def run(
        self,
        ticks: int | None = None,
        *,
        realtime: bool = False,
        after_step: Callable[[], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Run ``ticks`` ticks (the scenario's duration by default) and return the report.

        As fast as possible, or paced by the event loop's clock when ``realtime``. ``after_step`` is awaited
        after each tick (the lockstep of :meth:`run_with` uses it to let the xApp answer).
        """
        n = self.scenario.ticks if ticks is None else ticks
        loop = asyncio.get_running_loop()
        start = loop.time()
        for k in range(n):
            if realtime:
                await asyncio.sleep(max(0.0, start + k * self.sim.tick_s - loop.time()))
            await self.step()
            if after_step is not None:
                await after_step()
        return self.report()

    async def run_with(
        self,
        xapp: XApp,
        transport_kind: TransportKind | str,
        periods: int | None = None,
        *,
        realtime: bool = False,
        runner_config: RunnerConfig | None = None,
    ) -> dict[str, Any]:
        """Close the loop: run ``xapp`` against the twin over ``transport_kind`` ("memory", "rmr" or "grpc") for
        ``periods`` ticks and return the SLA report. In stepped mode (the default) every tick waits until the
        xApp has handled its indications and the nodes have answered its controls."""
        return await run_with(self, xapp, transport_kind, periods, realtime=realtime, runner_config=runner_config)

    # -- results -------------------------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """The SLA report with the scenario, the seed and the E2 counters."""
        out = self.sim.sla.report()
        out["scenario"] = self.scenario.name
        out["seed"] = self.sim.seed
        out["e2"] = {
            **asdict(self.stats),
            "controls_acked": sum(n.stats.controls_acked for n in self.nodes.values()),
            "controls_refused": sum(n.stats.controls_refused for n in self.nodes.values()),
            "quotas_applied": self.sim.quotas.applied,
        }
        return out

    def register_metrics(self, registry: CollectorRegistry) -> None:
        """Expose the SLA figures as Prometheus metrics in ``registry``."""
        self.sim.sla.register(registry)
