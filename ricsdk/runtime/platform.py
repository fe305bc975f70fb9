"""The xApp's HTTP side inside the OSC RIC: probes, configuration, metrics, submgr callbacks, A1-P.

Theory of operation
-------------------
:class:`HttpServer` serves one ASGI app with uvicorn *inside the running event loop* (an asyncio task, no
thread). It binds its own socket (port 0 picks a free one, read back from :attr:`HttpServer.port`), so a
busy port is a :class:`~ricsdk.errors.TransportError` rather than uvicorn's ``sys.exit``, and it installs
no signal handlers: the process that owns the loop owns the signals.

:class:`PlatformServer` is the app the OSC platform talks to (the chart's ``http`` port, 8080):

- ``GET /ric/v1/health/alive``: 200 while the process serves HTTP (the liveness probe);
- ``GET /ric/v1/health/ready``: 200 when ``runner.health().ok``, else 503 with the reason (readiness);
- ``GET /ric/v1/config``: the descriptor in force, as ``XappConfigList`` (``[{metadata, config}]``);
- ``GET /metrics`` (and ``/ric/v1/metrics``, where the Go framework serves it): Prometheus text;
- ``POST /ric/v1/subscriptions/response``: submgr's notifications, handed to the
  :class:`~ricsdk.runtime.submgr.SubmgrSubscriber`;
- the A1-P v2 endpoint under ``/A1-P/v2`` when an :class:`~ricsdk.a1.server.A1PolicyServer` is given.

Rejected requests (bad JSON, malformed notifications) are answered 400 with ``application/problem+json`` and
counted in ``ricsdk_http_*`` metrics. :class:`XAppHost` starts and stops the pieces in the order the platform
needs: HTTP first (submgr calls back during subscribe), then the runner, then appmgr registration and the
config watcher; on the way out the reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Final, Protocol

import structlog
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from starlette.types import ASGIApp

from ricsdk.a1.mediator import PolicyRequest
from ricsdk.a1.server import A1_ROOT, A1PolicyServer, A1Unavailable, EnforceStatus, PolicySink, problem
from ricsdk.errors import ConfigError, RemoteProtocolError, TransportError
from ricsdk.runtime.appmgr import AppmgrClient, Registration, RegistrationError
from ricsdk.runtime.config import ConfigWatcher, XAppConfig
from ricsdk.runtime.events import PolicyEvent
from ricsdk.runtime.metrics import StatsCollector
from ricsdk.runtime.runner import XAppRunner

__all__ = [
    "HttpServer",
    "PlatformConfig",
    "PlatformServer",
    "PlatformStats",
    "SubscriptionResponseSink",
    "XAppHost",
    "descriptor_of",
    "runner_policy_sink",
]

log = structlog.get_logger(__name__)

#: The Prometheus text format ``RuntimeMetrics.render()`` produces.
METRICS_CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4


class _LoopServer(uvicorn.Server):
    """uvicorn without its signal handlers (the application owns the process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HttpServer:
    """Serves ``app`` on ``host:port`` in the current event loop; ``start()`` binds, ``aclose()`` stops."""

    def __init__(
        self, app: ASGIApp, *, host: str = "0.0.0.0", port: int = 8080, graceful_shutdown_s: float = 2.0
    ) -> None:
        if not 0 <= port <= 65535:
            raise ConfigError(f"port {port} out of range 0..65535", field="port")
        self.app = app
        self.host = host
        self._port = port
        self._graceful = graceful_shutdown_s
        self._server: _LoopServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    @property
    def port(self) -> int:
        """The bound port (the configured one until ``start()``)."""
        if self._sock is not None:
            return int(self._sock.getsockname()[1])
        return self._port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("[::1]" if self.host == "::" else self.host)
        return f"http://{host}:{self.port}"

    @property
    def serving(self) -> bool:
        return self._server is not None and self._server.started and not self._server.should_exit

    async def start(self) -> None:
        if self._task is not None:
            return
        try:
            sock = socket.create_server((self.host, self._port), family=_family(self.host), reuse_port=False)
        except OSError as exc:
            raise TransportError(f"cannot listen on {self.host}:{self._port}: {exc.strerror or exc}") from exc
        sock.setblocking(False)
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=max(1, round(self._graceful)),
        )
        server = _LoopServer(config)
        self._sock, self._server = sock, server
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name=f"http-{self.port}")
        while not server.started:
            if self._task.done():
                failure = self._task.exception()
                await self._cleanup()
                raise TransportError(f"HTTP server on {self.host}:{self._port} did not start: {failure}") from failure
            await asyncio.sleep(0.005)
        log.info("http server listening", host=self.host, port=self.port)

    async def aclose(self) -> None:
        server, task = self._server, self._task
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), self._graceful + 1.0)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        except Exception:
            log.exception("http server stopped with an error", port=self.port)
        await self._cleanup()

    async def _cleanup(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._server = self._task = None

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _single(stats: object) -> Callable[[], list[tuple[dict[str, str], object]]]:
    def source() -> list[tuple[dict[str, str], object]]:
        return [({}, stats)]

    return source


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class SubscriptionResponseSink(Protocol):
    """Takes submgr's ``SubscriptionResponse`` notifications (:class:`~ricsdk.runtime.submgr.SubmgrSubscriber`)."""

    async def handle_response(self, body: object) -> None: ...


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    host: str = "0.0.0.0"
    port: int = 8080
    max_body_bytes: int = 1 << 20
    graceful_shutdown_s: float = 2.0
    a1_prefix: str = A1_ROOT

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} out of range 0..65535", field="platform.port")
        if self.max_body_bytes < 1:
            raise ConfigError("must be at least 1", field="platform.max_body_bytes")
        if not self.a1_prefix.startswith("/"):
            raise ConfigError("must start with '/'", field="platform.a1_prefix")


@dataclass(slots=True)
class PlatformStats:
    ready_ok: int = 0
    ready_refused: int = 0
    scrapes: int = 0
    notifications: int = 0
    rejected: int = 0


class PlatformServer:
    """The xApp's platform-facing HTTP server (see the module docstring)."""

    def __init__(
        self,
        runner: XAppRunner,
        *,
        config: PlatformConfig | None = None,
        descriptor: Callable[[], XAppConfig | None] | None = None,
        subscriptions: SubscriptionResponseSink | None = None,
        a1: A1PolicyServer | None = None,
    ) -> None:
        self.runner = runner
        self.config = config or PlatformConfig()
        self.stats = PlatformStats()
        self._descriptor = descriptor
        self._subscriptions = subscriptions
        self._a1 = a1
        self._collectors: list[Collector] = []
        self.app = self._build()
        self.http = HttpServer(
            self.app, host=self.config.host, port=self.config.port, graceful_shutdown_s=self.config.graceful_shutdown_s
        )

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def url(self) -> str:
        return self.http.url

    async def start(self) -> None:
        """Register the HTTP-side counters with the runner's metrics, start the A1 endpoint, then listen."""
        if not self._collectors:
            sources: list[tuple[str, Any]] = [("ricsdk_http", self.stats)]
            if self._a1 is not None:
                sources.append(("ricsdk_a1_server", self._a1.stats))
            if self._subscriptions is not None and hasattr(self._subscriptions, "stats"):
                sources.append(("ricsdk_submgr", self._subscriptions.stats))
            for prefix, stats in sources:
                collector = StatsCollector(prefix, _single(stats))
                self.runner.metrics.add_collector(collector)
                self._collectors.append(collector)
        try:
            if self._a1 is not None:
                await self._a1.start()
            await self.http.start()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        await self.http.aclose()
        if self._a1 is not None:
            await self._a1.aclose()
        for collector in self._collectors:
            with contextlib.suppress(KeyError):
                self.runner.metrics.registry.unregister(collector)
        self._collectors.clear()

    async def __aenter__(self) -> PlatformServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- routes ------------------------------------------------------------------------------------------------
    def _build(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        app.add_api_route("/ric/v1/health/alive", self._alive, methods=["GET"])
        app.add_api_route("/ric/v1/health/ready", self._ready, methods=["GET"])
        app.add_api_route("/ric/v1/config", self._config, methods=["GET"])
        app.add_api_route("/metrics", self._metrics, methods=["GET"])
        app.add_api_route("/ric/v1/metrics", self._metrics, methods=["GET"])
        if self._subscriptions is not None:
            app.add_api_route("/ric/v1/subscriptions/response", self._subscription_response, methods=["POST"])
        if self._a1 is not None:
            app.mount(self.config.a1_prefix, self._a1.app)
        return app

    async def _alive(self) -> Response:
        return JSONResponse({"status": "alive"})

    async def _ready(self) -> Response:
        health = self.runner.health()
        if health.ok:
            self.stats.ready_ok += 1
            return JSONResponse({"status": "ready", "state": self.runner.state.value})
        self.stats.ready_refused += 1
        return JSONResponse(
            {"status": "not ready", "state": self.runner.state.value, "reason": health.detail}, status_code=503
        )

    async def _config(self) -> Response:
        current = self._descriptor() if self._descriptor is not None else None
        if current is None:
            return JSONResponse([])
        return JSONResponse(
            [{"metadata": {"xappName": current.name, "configType": "json"}, "config": dict(current.descriptor)}]
        )

    async def _metrics(self) -> Response:
        self.stats.scrapes += 1
        return Response(self.runner.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    async def _subscription_response(self, request: Request) -> Response:
        sink = self._subscriptions
        assert sink is not None
        raw = await request.body()
        if len(raw) > self.config.max_body_bytes:
            self.stats.rejected += 1
            return problem(400, "Bad Request", f"body of {len(raw)} bytes exceeds {self.config.max_body_bytes}")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            self.stats.rejected += 1
            log.warning("submgr notification is not JSON", error=str(exc))
            return problem(400, "Bad Request", f"body is not JSON: {exc}")
        try:
            await sink.handle_response(body)
        except RemoteProtocolError as exc:
            self.stats.rejected += 1
            log.warning("malformed submgr notification", error=str(exc))
            return problem(400, "Bad Request", str(exc))
        self.stats.notifications += 1
        return Response(status_code=200)


def runner_policy_sink(runner: XAppRunner) -> PolicySink:
    """Deliver A1-P REST policies to the runner's ``@on_policy`` handlers (as the mediator path does)."""

    async def deliver(req: PolicyRequest) -> EnforceStatus:
        if not runner.lifecycle.serving:
            raise A1Unavailable(f"xApp {runner.app.name} is {runner.state.value}")
        status = await runner.dispatcher.deliver_policy(
            PolicyEvent(req.operation, req.policy_type_id, req.policy_instance_id, req.payload)
        )
        return EnforceStatus.NOT_ENFORCED if status == "ERROR" else EnforceStatus.ENFORCED

    return deliver


class XAppHost:
    """One xApp in the OSC RIC: HTTP server, runner, appmgr registration and config reload, in order.

    ``registration`` and ``appmgr`` go together; a registration that fails every try is logged and the xApp
    keeps running unless ``require_registration`` is set.
    """

    def __init__(
        self,
        runner: XAppRunner,
        platform: PlatformServer,
        *,
        appmgr: AppmgrClient | None = None,
        registration: Registration | None = None,
        watcher: ConfigWatcher | None = None,
        require_registration: bool = False,
    ) -> None:
        if (appmgr is None) != (registration is None):
            raise ConfigError("appmgr and registration go together", field="appmgr")
        self.runner = runner
        self.platform = platform
        self.appmgr = appmgr
        self.registration = registration
        self.watcher = watcher
        self.require_registration = require_registration
        self._started: list[str] = []

    async def start(self) -> None:
        try:  # each piece is marked before it starts, so a half-started one is closed too
            self._started.append("platform")
            await self.platform.start()
            self._started.append("runner")
            await self.runner.start()
            if self.appmgr is not None and self.registration is not None:
                try:
                    await self.appmgr.register(self.registration)
                except RegistrationError as exc:
                    if self.require_registration:
                        raise
                    log.error("xApp not registered with appmgr; running unregistered", error=str(exc))
            if self.watcher is not None:
                self._started.append("watcher")
                await self.watcher.start()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self.appmgr is not None and self.registration is not None and self.appmgr.registered:
            try:
                await self.appmgr.deregister(self.registration)
            except RegistrationError as exc:
                log.warning("appmgr deregistration failed", error=str(exc))
        if "watcher" in self._started and self.watcher is not None:
            await self.watcher.aclose()
        if "runner" in self._started:
            await self.runner.aclose()
        if "platform" in self._started:
            await self.platform.aclose()
        self._started.clear()

    async def __aenter__(self) -> XAppHost:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def descriptor_of(watcher: ConfigWatcher | None, fallback: XAppConfig | None = None) -> Callable[[], XAppConfig | None]:
    """The ``descriptor`` callable for :class:`PlatformServer`: the watcher's current config, else ``fallback``."""

    def current() -> XAppConfig | None:
        return watcher.current if watcher is not None else fallback

    return current
