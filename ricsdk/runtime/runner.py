"""The runner: one xApp, one transport, one event loop.

Theory of operation
-------------------
``start()`` walks the lifecycle (see :mod:`ricsdk.runtime.state`): start the transport, bind the xApp to its
context, ``load()`` it, start the dispatcher task (it must run before subscribing, since the subscription
answers arrive through it), subscribe to what ``subscriptions()`` asks for, and start the control-timeout
sweep. A subscription that fails leaves the runner DEGRADED and is retried in the background with backoff.
``aclose()`` unsubscribes (best effort, bounded in time), stops the tasks, closes the xApp and the transport.
Nothing happens in the constructor; ``async with XAppRunner(...)`` is the usual form.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from ricsdk.e2 import e2ap
from ricsdk.errors import ConfigError
from ricsdk.runtime.control import ControlTracker
from ricsdk.runtime.dispatcher import Dispatcher
from ricsdk.runtime.metrics import RuntimeMetrics, StatsCollector
from ricsdk.runtime.state import Lifecycle, XAppState
from ricsdk.runtime.subscriptions import (
    ActiveSubscription,
    E2Subscriber,
    KpmSubscriptionSpec,
    ResponseWaiters,
    Subscriber,
    SubscriptionRegistry,
)
from ricsdk.runtime.xapp import Health, XApp, XAppContext
from ricsdk.transport.base import Message, Transport

__all__ = ["RunnerConfig", "XAppRunner"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    control_timeout_s: float = 1.0
    sweep_interval_s: float = 0.05
    subscribe_retry_s: float = 1.0
    subscribe_retry_max_s: float = 30.0
    unsubscribe_timeout_s: float = 3.0
    e2ap_version: e2ap.E2apVersion = e2ap.E2apVersion.V2
    handler_id: str = "ricsdk"
    app_config: Mapping[str, Any] = field(default_factory=dict)
    #: the most messages taken from the transport at once when several are waiting (their indications go to
    #: an ``@on_indications`` handler as one batch); 1 turns batching off
    batch_max: int = 512
    #: after the first message of a batch arrives, wait this long (seconds) for more before handling them, as
    #: Ray Serve's ``batch_wait_timeout_s`` does: under sustained load from many cells, decisions then come in
    #: batches of many cells (one inference call, warm caches) at the price of up to this much added latency.
    #: Keep it well under the reporting period; 0 (the default) handles what is waiting at once.
    batch_wait_s: float = 0.0


class XAppRunner:
    def __init__(
        self,
        app: XApp,
        transport: Transport,
        *,
        config: RunnerConfig | None = None,
        subscriber: Subscriber | None = None,
        metrics: RuntimeMetrics | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.app = app
        self.transport = transport
        self.config = config or RunnerConfig()
        if self.config.batch_max < 1:
            raise ConfigError(f"batch_max must be at least 1, got {self.config.batch_max}", field="batch_max")
        wait = self.config.batch_wait_s
        if not (isinstance(wait, (int, float)) and 0 <= wait <= 10):
            raise ConfigError(f"batch_wait_s must be 0..10 seconds, got {wait!r}", field="batch_wait_s")
        self.metrics = metrics or RuntimeMetrics()
        self.clock = clock
        self.lifecycle = Lifecycle()
        self.registry = SubscriptionRegistry()
        self.waiters = ResponseWaiters()
        self.tracker = ControlTracker(timeout_ns=int(self.config.control_timeout_s * 1e9), clock=clock)
        self.subscriber: Subscriber = subscriber or E2Subscriber(
            transport, self.waiters, version=self.config.e2ap_version
        )
        self.dispatcher = Dispatcher(
            app,
            registry=self.registry,
            waiters=self.waiters,
            tracker=self.tracker,
            metrics=self.metrics,
            reply=transport.reply,
            clock=clock,
            handler_id=self.config.handler_id,
        )
        self.context = XAppContext(
            send=transport.send,
            control_sent=self.tracker.sent,
            next_call_process_id=self.tracker.next_call_process_id,
            clock=clock,
            metrics=self.metrics,
            config=self.config.app_config,
            e2ap_version=self.config.e2ap_version,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._pending_specs: list[KpmSubscriptionSpec] = []
        self.metrics.add_collector(
            StatsCollector("ricsdk_transport", lambda: [({"transport": type(transport).__name__}, transport.stats)])
        )
        self.metrics.add_collector(StatsCollector("ricsdk_control_tracker", lambda: [({}, _TrackerView(self.tracker))]))

    # -- state ---------------------------------------------------------------------------------------------
    @property
    def state(self) -> XAppState:
        return self.lifecycle.state

    def _to(self, state: XAppState) -> None:
        old = self.lifecycle.state
        self.lifecycle.to(state)
        if old is not state:
            self.metrics.state.labels(old.value).set(0)
            self.metrics.state.labels(state.value).set(1)
            log.info("xapp state", app=self.app.name, state=state.value)

    def health(self) -> Health:
        """Alive and ready: serving, every wanted subscription active, and the xApp's own check."""
        if not self.lifecycle.serving:
            return Health(False, f"state {self.state.value}")
        if self._pending_specs:
            return Health(False, f"{len(self._pending_specs)} subscription(s) not active")
        return self.app.check_health()

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def __aenter__(self) -> XAppRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        self._to(XAppState.STARTING)
        try:
            await self.transport.start()
            self.app.bind(self.context)
            await self.app.load()
        except Exception:
            self._to(XAppState.FAILED)
            log.exception("xapp failed to start", app=self.app.name)
            raise
        self._tasks.append(asyncio.create_task(self._dispatch_loop(), name=f"{self.app.name}-dispatch"))
        self._tasks.append(asyncio.create_task(self._sweep_loop(), name=f"{self.app.name}-sweep"))
        self._pending_specs = list(self.app.subscriptions())
        await self._subscribe_pending()
        if self._pending_specs:
            self._to(XAppState.DEGRADED)
            self._tasks.append(asyncio.create_task(self._resubscribe_loop(), name=f"{self.app.name}-resubscribe"))
        else:
            self._to(XAppState.RUNNING)

    async def _subscribe_pending(self) -> None:
        remaining = []
        for spec in self._pending_specs:
            try:
                active = await self.subscriber.subscribe(spec)
            except Exception as exc:
                log.warning("subscription failed", subscription=spec.name, e2_node=spec.e2_node, error=str(exc))
                remaining.append(spec)
                continue
            self.registry.add(active)
        self._pending_specs = remaining
        self.metrics.subscriptions.set(len(self.registry))

    async def _resubscribe_loop(self) -> None:
        delay = self.config.subscribe_retry_s
        while self._pending_specs:
            await asyncio.sleep(delay)
            await self._subscribe_pending()
            delay = min(delay * 2, self.config.subscribe_retry_max_s)
        if self.state is XAppState.DEGRADED:
            self._to(XAppState.RUNNING)

    async def _dispatch_loop(self) -> None:
        handle = self.dispatcher.handle
        handle_many = self.dispatcher.handle_many
        more = self.config.batch_max - 1
        ready: Callable[[int], list[Message]] | None = getattr(self.transport, "receive_ready", None)
        if more < 1:
            ready = None
        wait = self.config.batch_wait_s if ready is not None else 0.0
        async for msg in self.transport:
            try:
                if wait:
                    await asyncio.sleep(wait)
                waiting = ready(more) if ready is not None else None
                if waiting:
                    waiting.insert(0, msg)
                    await handle_many(waiting)
                else:
                    await handle(msg)
            except Exception:
                log.exception(
                    "dispatcher error (messages dropped)",
                    mtype=msg.mtype,
                    e2_node=msg.meid,
                    messages=len(waiting) if waiting else 1,
                )

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval_s)
            for outcome in self.tracker.sweep():
                await self.dispatcher.report_outcome(outcome)

    async def handle(self, msg: Message) -> None:
        """Handle one message as if it had arrived on the transport (tests, replay, benchmarks)."""
        await self.dispatcher.handle(msg)

    async def subscribe(self, spec: KpmSubscriptionSpec) -> ActiveSubscription:
        active = await self.subscriber.subscribe(spec)
        self.registry.add(active)
        self.metrics.subscriptions.set(len(self.registry))
        return active

    async def aclose(self) -> None:
        if self.state in (XAppState.STOPPED, XAppState.STOPPING):
            return
        if self.state is XAppState.CREATED:
            self._to(XAppState.STOPPED)
            return
        self._to(XAppState.STOPPING)
        for sub in self.registry.all():
            try:
                await asyncio.wait_for(self.subscriber.unsubscribe(sub), self.config.unsubscribe_timeout_s)
            except Exception as exc:
                log.warning("unsubscribe failed", subscription=sub.spec.name, error=str(exc))
            self.registry.remove(sub)
        self.metrics.subscriptions.set(0)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        try:
            await self.app.close()
        except Exception:
            log.exception("xapp close failed", app=self.app.name)
        self.app.bind(None)
        await self.transport.aclose()
        self._to(XAppState.STOPPED)


@dataclass(slots=True)
class _TrackerView:
    """The control tracker's counters as a stats object for the metrics collector."""

    acked: int
    failed: int
    timed_out: int
    late: int
    unmatched: int
    evicted: int
    pending: int

    def __init__(self, t: ControlTracker) -> None:
        self.acked, self.failed, self.timed_out = t.acked, t.failed, t.timed_out
        self.late, self.unmatched, self.evicted, self.pending = t.late, t.unmatched, t.evicted, t.pending
