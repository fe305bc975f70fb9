"""Native RMR transport over asyncio streams, wire-compatible with librmr 4.9.x (SI95).

Theory of operation
-------------------
*Lifecycle.* ``RmrTransport(config)`` only stores its configuration. :meth:`RmrTransport.start` binds the data
port (0 picks a free port), works out the names it advertises (``src`` = ``name:port``, ``srcip`` =
``ip:port``, or the name again with ``name_only``), loads the seed route table, and starts whatever the Route
Manager mode needs. :meth:`RmrTransport.aclose` stops everything; both are idempotent.

*Connections.* Every TCP connection, accepted or opened by us, runs the same read loop: bytes go through a
:class:`~ricsdk.rmr.wire.FrameReader`, frames become :class:`~ricsdk.transport.base.Message` objects. So a
reply that a peer returns on the connection we opened is read like any other message. Outbound connections
are opened lazily, one per endpoint name (``host:port``), kept and reused. When a connect fails the next
attempt waits ``backoff_initial * backoff_factor**n`` seconds (at most ``backoff_max``); sends in that window
fail at once with :class:`~ricsdk.errors.TransportError` instead of blocking the caller. A peer that stops
reading cannot block a sender either: when nothing drains within ``send_timeout`` the connection is aborted
(its unsent bytes are lost and the send fails). A connection that
closes is reopened by the next send; a reopen after a successful connection counts in ``stats.reconnects``.

*Sending.* ``send`` looks up (mtype, sub_id), falling back to (mtype, -1), and writes one copy per endpoint
group, choosing round-robin inside the group; when the chosen endpoint cannot be reached the other members
of its group are tried in order. A ``%meid`` entry sends to the owner of ``msg.meid``. No route raises
:class:`~ricsdk.errors.NoEndpointError`; a payload above ``max_message_size`` raises
:class:`~ricsdk.errors.MessageTooLargeError`. If every copy fails, ``send`` raises ``TransportError``; if only
some fail, those copies are counted in ``send_failures`` and ``dropped_outbound`` and logged.

*Return to sender* (``reply``) follows ``rmr_rts_msg``: the connection named by the request's ``src`` (an
open connection to that endpoint, or an endpoint of the route table, connected on demand), else the
connection the request arrived on, else a connection to its ``srcip``. The reply keeps the request's xid,
sub_id, meid, trace and d1/d2 (librmr returns the same buffer, so a caller's call-id survives) and clears the
call flag; ``src``/``srcip`` are ours.

*Inbound.* Messages wait in a bounded queue (``inbound_queue_size``); when it is full the message is dropped,
counted in ``stats.dropped_inbound`` and logged. A malformed frame is counted in ``stats.malformed`` and
logged; the frame is dropped and the connection goes on, except for a nonsense length prefix, after which the
stream cannot be trusted and the connection is reset. A frame above the maximum size is refused the same way.

*Health check.* An inbound mtype 100 is answered with 101 and payload ``OK\\n`` by return to sender, counted
in ``stats.health_checks``, and not delivered to the application (what ``rmr_probe`` expects).

*Route Manager* (``RmrConfig.route_manager()``, librmr's rules):

- ``rtg_svc="-1"``: no Route Manager; the seed file is re-read whenever its stat signature changes.
- ``rtg_svc`` a port (or ``tcp:port``): listen there for mtype 20 table records; each completed table is
  acknowledged with mtype 22 ``OK <id>`` or ``ERR <id> <reason>`` by return to sender.
- ``rtg_svc`` ``host:port``: listen on the control port and send mtype 21 requests to that address every
  ``rtreq_interval`` seconds until a table arrives from the Route Manager.
- unset: listen on the control port (4561), or, when ``ctl_port`` is set, request from ``routemgr:4561``.

A seed file that cannot be read at start is logged and skipped (librmr does the same); one that is read but
holds a bad table makes ``start`` raise :class:`~ricsdk.errors.ConfigError` naming the line. Later bad tables
(file reloads, Route Manager pushes) are logged, counted in ``stats.tables_rejected`` and leave the installed
table in place. Control-port frames may carry up to 1 MiB of table text whatever ``max_message_size`` is.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import structlog

from ricsdk.errors import (
    ConfigError,
    MessageTooLargeError,
    NoEndpointError,
    RmrFrameError,
    RmrStreamError,
    RmrValueError,
    TransportError,
)
from ricsdk.rmr.routes import (
    RouteTable,
    RouteTableLoader,
    TableEvent,
    TableInstalled,
    TableRejected,
    parse_endpoint,
)
from ricsdk.rmr.wire import (
    FLAG_CALL,
    HEADER_V3_LEN,
    MAX_SRC,
    TP_HDR_LEN,
    FrameReader,
    RmrFrame,
    RmrHeader,
    SenderEncoder,
    encode_frame,
)
from ricsdk.transport.base import Message, TransportStats
from ricsdk.transport.memory import Inbox

__all__ = [
    "ConnectionInfo",
    "DEFAULT_CTL_PORT",
    "DEFAULT_DATA_PORT",
    "DEFAULT_RTG_ADDRESS",
    "MT_HEALTH_REQUEST",
    "MT_HEALTH_RESPONSE",
    "MT_TABLE_DATA",
    "MT_TABLE_REQUEST",
    "MT_TABLE_STATE",
    "RmrConfig",
    "RmrStats",
    "RmrTransport",
    "RouteManagerMode",
    "RouteManagerPlan",
    "TransportState",
]

log = structlog.get_logger(__name__)

DEFAULT_DATA_PORT: Final = 4560
DEFAULT_CTL_PORT: Final = 4561
DEFAULT_RTG_ADDRESS: Final = "routemgr:4561"

MT_TABLE_DATA: Final = 20
MT_TABLE_REQUEST: Final = 21
MT_TABLE_STATE: Final = 22
MT_HEALTH_REQUEST: Final = 100
MT_HEALTH_RESPONSE: Final = 101

_HEADER_ROOM: Final = 1024
_CONTROL_MAX_PAYLOAD: Final = 1 << 20
_READ_CHUNK: Final = 65536
_WILDCARDS: Final = frozenset({"", "0.0.0.0", "::"})


class RouteManagerMode(enum.Enum):
    STATIC = "static"  # rtg_svc=-1: no Route Manager, re-read the seed file when it changes
    LISTEN = "listen"  # Route Manager connects to our control port and pushes tables
    REQUEST = "request"  # we ask the Route Manager (mtype 21) and listen on the control port


@dataclass(frozen=True, slots=True)
class RouteManagerPlan:
    mode: RouteManagerMode
    control_port: int | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class RmrConfig:
    """Everything the native RMR transport needs; build it directly or with :meth:`from_env`.

    ``max_message_size`` bounds payloads in both directions. ``src_id`` is the advertised name (any
    ``:port`` is dropped; default: the short host name). ``advertise_ip`` is the address put in ``srcip``
    (default: the bind address, or the address of the default route). ``rtg_svc`` and ``ctl_port`` follow
    ``RMR_RTG_SVC`` and ``RMR_CTL_PORT`` (see :meth:`route_manager`).
    """

    listen_host: str = "0.0.0.0"
    listen_port: int = DEFAULT_DATA_PORT
    src_id: str | None = None
    advertise_ip: str | None = None
    name_only: bool = False
    seed_route_table: Path | None = None
    rtg_svc: str | None = None
    ctl_port: int | None = None
    max_message_size: int = 65536
    inbound_queue_size: int = 4096
    connect_timeout: float = 2.0
    send_timeout: float = 2.0
    backoff_initial: float = 0.1
    backoff_max: float = 10.0
    backoff_factor: float = 2.0
    seed_poll_interval: float = 1.0
    rtreq_interval: float = 5.0

    def __post_init__(self) -> None:
        for name in ("listen_port", "ctl_port"):
            port = getattr(self, name)
            if port is not None and not 0 <= port <= 65535:
                raise ConfigError(f"port {port} out of range 0..65535", field=name)
        for name in ("max_message_size", "inbound_queue_size"):
            if getattr(self, name) < 1:
                raise ConfigError("must be at least 1", field=name)
        for name in (
            "connect_timeout",
            "send_timeout",
            "backoff_initial",
            "backoff_max",
            "seed_poll_interval",
            "rtreq_interval",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError("must be positive", field=name)
        if self.backoff_factor < 1:
            raise ConfigError("must be at least 1", field="backoff_factor")
        self.route_manager()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> RmrConfig:
        """Read librmr's environment variables (``os.environ`` unless given); keyword overrides win.

        Reads RMR_SEED_RT, RMR_RTG_SVC, RMR_CTL_PORT, RMR_SRC_ID, RMR_SRC_NAMEONLY, RMR_BIND_IF and
        RMR_RTREQ_FREQ (1..300 s; outside that range librmr's default of 5 s applies).
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if seed := env.get("RMR_SEED_RT"):
            values["seed_route_table"] = Path(seed)
        if (rtg := env.get("RMR_RTG_SVC")) is not None and rtg.strip():
            values["rtg_svc"] = rtg.strip()
        if ctl := env.get("RMR_CTL_PORT"):
            values["ctl_port"] = _env_int(ctl, "RMR_CTL_PORT")
        if src := env.get("RMR_SRC_ID"):
            values["src_id"] = src
        if nameonly := env.get("RMR_SRC_NAMEONLY"):
            values["name_only"] = _env_int(nameonly, "RMR_SRC_NAMEONLY") > 0
        if bind := env.get("RMR_BIND_IF"):
            values["listen_host"] = bind
        if freq := env.get("RMR_RTREQ_FREQ"):
            seconds = _env_int(freq, "RMR_RTREQ_FREQ")
            values["rtreq_interval"] = float(seconds) if 1 <= seconds <= 300 else 5.0
        values.update(overrides)
        try:
            return cls(**values)  # type: ignore[arg-type]
        except TypeError as exc:
            raise ConfigError(str(exc), source="RmrConfig.from_env") from exc

    def route_manager(self) -> RouteManagerPlan:
        """How route tables arrive, from ``rtg_svc`` and ``ctl_port`` as librmr decides it."""
        ctl = self.ctl_port if self.ctl_port is not None else DEFAULT_CTL_PORT
        value = (self.rtg_svc or "").strip()
        if not value:
            if self.ctl_port is not None:
                return RouteManagerPlan(RouteManagerMode.REQUEST, control_port=ctl, address=DEFAULT_RTG_ADDRESS)
            return RouteManagerPlan(RouteManagerMode.LISTEN, control_port=DEFAULT_CTL_PORT)
        if value.lstrip("-").isdigit():
            port = int(value)
            if port < 0:
                return RouteManagerPlan(RouteManagerMode.STATIC)
            if port > 65535:
                raise ConfigError(f"port {port} out of range", field="rtg_svc")
            return RouteManagerPlan(RouteManagerMode.LISTEN, control_port=port)
        head, _, tail = value.partition(":")
        if head == "tcp" and tail.isdigit() and int(tail) <= 65535:
            return RouteManagerPlan(RouteManagerMode.LISTEN, control_port=int(tail))
        try:
            parse_endpoint(value)
        except ValueError as exc:
            raise ConfigError(str(exc), field="rtg_svc") from exc
        return RouteManagerPlan(RouteManagerMode.REQUEST, control_port=ctl, address=value)


def _env_int(text: str, name: str) -> int:
    try:
        return int(text.strip())
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not an integer", source=name) from exc


@dataclass(slots=True)
class RmrStats(TransportStats):
    """:class:`TransportStats` plus what only RMR has."""

    health_checks: int = 0
    tables_installed: int = 0
    tables_rejected: int = 0


class TransportState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


Role = Literal["data", "control"]


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """One open connection: the peer (endpoint name, or address for accepted ones), its role, direction."""

    peer: str
    role: Role
    inbound: bool


class _Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        role: Role,
        inbound: bool,
        peer: str,
        max_payload: int,
        send_timeout: float,
    ) -> None:
        self.send_timeout = send_timeout
        self.reader = reader
        self.writer = writer
        self.role: Role = role
        self.inbound = inbound
        self.peer = peer
        self.max_payload = max_payload
        self.frames = FrameReader(max_frame_size=max_payload + TP_HDR_LEN + HEADER_V3_LEN + _HEADER_ROOM)
        self._closed = False

    @property
    def is_open(self) -> bool:
        return not self._closed and not self.writer.is_closing()

    async def write(self, data: bytes) -> None:
        if not self.is_open:
            raise TransportError(f"connection to {self.peer} is closed")
        try:
            writer = self.writer
            writer.write(data)
            # Below the high-water mark drain() returns at once; skip the timeout task it would cost per message.
            if writer.transport.get_write_buffer_size() > _DRAIN_ABOVE:
                await asyncio.wait_for(writer.drain(), self.send_timeout)
        except TimeoutError as exc:
            self.close()
            self.writer.transport.abort()
            raise TransportError(f"{self.peer} is not reading: nothing drained in {self.send_timeout}s") from exc
        except (ConnectionError, OSError) as exc:
            self.close()
            raise TransportError(f"write to {self.peer} failed: {exc}") from exc

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.writer.close()


@dataclass(slots=True)
class _Peer:
    name: str
    host: str
    port: int
    conn: _Connection | None = None
    failures: int = 0
    next_attempt_ns: int = 0
    connected_before: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True, slots=True)
class _ReplyHandle:
    owner: RmrTransport
    conn: _Connection
    header: RmrHeader
    trace: bytes
    d1: bytes
    d2: bytes


# Bytes buffered in a connection above which ``write`` waits for the peer to read (asyncio's default high-water
# mark is 64 KiB; below it ``drain()`` would not wait).
_DRAIN_ABOVE = 64 * 1024


class RmrTransport:
    """The :class:`~ricsdk.transport.base.Transport` for RMR, in pure asyncio (no librmr needed)."""

    def __init__(self, config: RmrConfig, *, clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self.config = config
        self.stats: RmrStats = RmrStats()
        self.state = TransportState.NEW
        self._clock_ns = clock_ns
        self._inbox = Inbox(config.inbound_queue_size)
        self._peers: dict[str, _Peer] = {}
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._serving: set[asyncio.Task[Any]] = set()
        self._servers: list[asyncio.Server] = []
        self._loader = RouteTableLoader()
        self._routes: RouteTable | None = None
        self._table_changed = asyncio.Condition()
        self._rm_table_received = False
        self._seed_signature: tuple[int, int, int] | None = None
        self._my_name = ""
        self._my_ip = ""
        self._sender: SenderEncoder | None = None  # set with the identity, once the port is known
        self._port = 0
        self._control_port: int | None = None

    # -- public surface -------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound data port (valid after :meth:`start`)."""
        return self._port

    @property
    def control_port(self) -> int | None:
        """The bound Route Manager port, when listening for one."""
        return self._control_port

    @property
    def source(self) -> str:
        """Our ``src`` (``name:port``) as written in every message."""
        return self._my_name

    @property
    def source_ip(self) -> str:
        """Our ``srcip`` (``ip:port``, or the name with ``name_only``)."""
        return self._my_ip

    @property
    def route_table(self) -> RouteTable | None:
        return self._routes

    @property
    def ready(self) -> bool:
        """True once a route table is installed (``rmr_ready``)."""
        return self._routes is not None

    def connected_peers(self) -> frozenset[str]:
        """Endpoint names with an open outbound connection."""
        return frozenset(name for name, peer in self._peers.items() if peer.conn is not None and peer.conn.is_open)

    def connections(self) -> list[ConnectionInfo]:
        """A snapshot of the open connections, accepted and opened."""
        return [
            ConnectionInfo(peer=c.peer, role=c.role, inbound=c.inbound) for c in list(self._connections) if c.is_open
        ]

    async def wait_route_table(self, predicate: Callable[[RouteTable], bool] | None = None) -> RouteTable:
        """Wait until an installed table satisfies ``predicate`` (any table when ``None``)."""
        async with self._table_changed:
            while True:
                table = self._routes
                if table is not None and (predicate is None or predicate(table)):
                    return table
                await self._table_changed.wait()

    async def start(self) -> None:
        if self.state is TransportState.RUNNING:
            return
        if self.state is TransportState.CLOSED:
            raise TransportError("transport is closed")
        cfg = self.config
        try:
            server = await asyncio.start_server(self._accept_data, cfg.listen_host, cfg.listen_port)
        except OSError as exc:
            raise TransportError(f"cannot listen on {cfg.listen_host}:{cfg.listen_port}: {exc}") from exc
        self._servers.append(server)
        self._port = int(server.sockets[0].getsockname()[1])
        try:
            self._set_identity()
            self._loader = RouteTableLoader(my_names=self._my_names())
            if cfg.seed_route_table is not None:
                await self._load_seed(strict=True)
            plan = cfg.route_manager()
            if plan.mode is RouteManagerMode.STATIC:
                self._spawn(self._watch_seed())
            else:
                assert plan.control_port is not None
                try:
                    ctl = await asyncio.start_server(self._accept_control, cfg.listen_host, plan.control_port)
                except OSError as exc:
                    raise TransportError(f"cannot listen on control port {plan.control_port}: {exc}") from exc
                self._servers.append(ctl)
                self._control_port = int(ctl.sockets[0].getsockname()[1])
                if plan.mode is RouteManagerMode.REQUEST:
                    assert plan.address is not None
                    self._spawn(self._request_tables(plan.address))
        except BaseException:
            await self._shutdown()
            self.state = TransportState.CLOSED
            raise
        self.state = TransportState.RUNNING
        log.info(
            "rmr.started",
            src=self._my_name,
            srcip=self._my_ip,
            port=self._port,
            control_port=self._control_port,
            route_manager=cfg.route_manager().mode.value,
        )

    async def send(self, msg: Message) -> None:
        self._require_running()
        if len(msg.payload) > self.config.max_message_size:
            raise MessageTooLargeError(len(msg.payload), self.config.max_message_size)
        table = self._routes
        if table is None:
            raise NoEndpointError(msg.mtype, msg.sub_id)
        sender = self._sender
        assert sender is not None  # running implies the identity is set
        data = sender.encode(msg.mtype, msg.payload, xid=msg.xid, meid=msg.meid, sub_id=msg.sub_id)
        groups = table.select_groups(msg.mtype, msg.sub_id, msg.meid)
        failures: list[str] = []
        for group in groups:
            error = await self._send_group(group, data)
            if error is not None:
                failures.append(error)
        if failures:
            self.stats.send_failures += len(failures)
            if len(failures) == len(groups):
                log.warning("rmr.send_failed", mtype=msg.mtype, sub_id=msg.sub_id, errors=failures)
                raise TransportError(f"mtype {msg.mtype} sub_id {msg.sub_id}: " + "; ".join(failures))
            self.stats.dropped_outbound += len(failures)
            log.error("rmr.send_partial", mtype=msg.mtype, sub_id=msg.sub_id, failed=len(failures), errors=failures)

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None:
        self._require_running()
        if len(payload) > self.config.max_message_size:
            raise MessageTooLargeError(len(payload), self.config.max_message_size)
        handle = request.reply_to
        if not isinstance(handle, _ReplyHandle) or handle.owner is not self:
            raise TransportError("reply: the request was not received by this transport")
        await self._return_to_sender(handle, mtype, payload)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def aclose(self) -> None:
        if self.state is TransportState.CLOSED:
            return
        self.state = TransportState.CLOSED
        await self._shutdown()
        log.info("rmr.closed", src=self._my_name)

    async def __aenter__(self) -> RmrTransport:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- identity and route tables ---------------------------------------------------------------------------

    def _set_identity(self) -> None:
        cfg = self.config
        if cfg.src_id:
            raw = cfg.src_id
            name = raw[: raw.index("]") + 1] if raw.startswith("[") and "]" in raw else raw.split(":", 1)[0]
        else:
            name = socket.gethostname().split(".", 1)[0]
        self._my_name = f"{name}:{self._port}"
        if len(self._my_name.encode()) > MAX_SRC - 1:
            raise ConfigError(f"{self._my_name!r} is longer than {MAX_SRC - 1} bytes", field="src_id")
        if cfg.name_only:
            self._my_ip = self._my_name
        else:
            ip = cfg.advertise_ip or (cfg.listen_host if cfg.listen_host not in _WILDCARDS else _default_ip())
            self._my_ip = f"[{ip}]:{self._port}" if ":" in ip else f"{ip}:{self._port}"
        try:
            self._sender = SenderEncoder(self._my_name, self._my_ip, native_order=sys.byteorder)
        except RmrValueError as exc:
            raise ConfigError(f"this endpoint's RMR identity: {exc}", field="advertise_ip") from exc

    def _my_names(self) -> set[str]:
        names = {self._my_name, self._my_ip}
        if self.config.listen_host in _WILDCARDS or self.config.listen_host in ("127.0.0.1", "localhost"):
            names.update({f"127.0.0.1:{self._port}", f"localhost:{self._port}"})
        return names

    async def _load_seed(self, *, strict: bool) -> None:
        path = self.config.seed_route_table
        assert path is not None
        try:
            signature = await asyncio.to_thread(_signature, path)
            raw = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            log.warning("rmr.seed_unreadable", path=str(path), error=str(exc))
            return
        self._seed_signature = signature
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            error = ConfigError(f"not UTF-8 at byte {exc.start}", source=str(path))
            if strict:
                raise error from exc
            log.error("rmr.table_rejected", source=str(path), reason=str(error))
            self.stats.tables_rejected += 1
            return
        events = self._loader.feed(text, source=str(path))
        rejected = await self._apply(events, source=str(path))
        if strict and rejected is not None:
            raise rejected

    async def _apply(self, events: Iterable[TableEvent], *, source: str) -> ConfigError | None:
        first_error: ConfigError | None = None
        for event in events:
            if isinstance(event, TableInstalled):
                self.stats.tables_installed += 1
                log.info(
                    "rmr.table_installed",
                    source=source,
                    kind=event.kind,
                    table_id=event.table_id,
                    entries=len(event.table),
                    records=event.records,
                )
                async with self._table_changed:
                    self._routes = event.table
                    self._table_changed.notify_all()
            else:
                self.stats.tables_rejected += 1
                log.error(
                    "rmr.table_rejected", source=source, kind=event.kind, table_id=event.table_id, reason=event.reason
                )
                if first_error is None:
                    first_error = event.error
        return first_error

    async def _watch_seed(self) -> None:
        path = self.config.seed_route_table
        if path is None:
            return
        while True:
            await asyncio.sleep(self.config.seed_poll_interval)
            try:
                signature = await asyncio.to_thread(_signature, path)
            except OSError:
                continue
            if signature != self._seed_signature:
                log.info("rmr.seed_changed", path=str(path))
                await self._load_seed(strict=False)

    async def _request_tables(self, address: str) -> None:
        while not self._rm_table_received:
            payload = f"{self._my_name} ts={int(time.time())}\n".encode() + b"\x00"
            try:
                conn = await self._connect(address, role="control")
                frame = _frame(MT_TABLE_REQUEST, payload, src=self._my_name, srcip=self._my_ip, sub_id=0)
                await conn.write(frame)
                log.debug("rmr.table_requested", route_manager=address)
            except TransportError as exc:
                log.warning("rmr.table_request_failed", route_manager=address, error=str(exc))
            await asyncio.sleep(self.config.rtreq_interval)

    # -- connections ----------------------------------------------------------------------------------------

    async def _accept_data(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve_accepted(reader, writer, "data")

    async def _accept_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve_accepted(reader, writer, "control")

    async def _serve_accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, role: Role) -> None:
        task = asyncio.current_task()
        if self.state is TransportState.CLOSED or task is None:
            writer.close()
            return
        self._serving.add(task)
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        conn = _Connection(
            reader,
            writer,
            role=role,
            inbound=True,
            peer=peer,
            max_payload=self._max_payload(role),
            send_timeout=self.config.send_timeout,
        )
        try:
            await self._serve(conn)
        finally:
            self._serving.discard(task)

    async def _connect(self, name: str, *, role: Role = "data") -> _Connection:
        """The open outbound connection to endpoint ``name``, opening it (with backoff) when needed."""
        peer = self._peers.get(name)
        if peer is not None and peer.conn is not None and peer.conn.is_open:
            return peer.conn  # the common case: no lock needed to hand out an open connection
        if peer is None:
            try:
                host, port = parse_endpoint(name)
            except ValueError as exc:
                raise TransportError(str(exc)) from exc
            peer = self._peers[name] = _Peer(name=name, host=host, port=port)
        async with peer.lock:
            if peer.conn is not None and peer.conn.is_open:
                return peer.conn
            now = self._clock_ns()
            if now < peer.next_attempt_ns:
                wait = (peer.next_attempt_ns - now) / 1e9
                raise TransportError(f"{name} unreachable; next connection attempt in {wait:.3f}s")
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(peer.host, peer.port), self.config.connect_timeout
                )
            except (OSError, TimeoutError) as exc:
                cfg = self.config
                delay = min(cfg.backoff_initial * cfg.backoff_factor**peer.failures, cfg.backoff_max)
                peer.failures += 1
                peer.next_attempt_ns = self._clock_ns() + int(delay * 1e9)
                log.warning("rmr.connect_failed", peer=name, error=str(exc) or type(exc).__name__, retry_in=delay)
                raise TransportError(f"cannot connect to {name}: {exc or type(exc).__name__}") from exc
            if self.state is TransportState.CLOSED:
                writer.close()
                raise TransportError("transport is closed")
            peer.failures = 0
            peer.next_attempt_ns = 0
            if peer.connected_before:
                self.stats.reconnects += 1
                log.info("rmr.reconnected", peer=name)
            peer.connected_before = True
            conn = _Connection(
                reader,
                writer,
                role=role,
                inbound=False,
                peer=name,
                max_payload=self._max_payload(role),
                send_timeout=self.config.send_timeout,
            )
            peer.conn = conn
            self._spawn(self._serve(conn), serving=True)
            return conn

    async def _serve(self, conn: _Connection) -> None:
        """Read loop shared by every connection: frames in, dispatch, until EOF or a stream error."""
        self._connections.add(conn)
        try:
            while True:
                data = await conn.reader.read(_READ_CHUNK)
                if not data:
                    break
                conn.frames.feed(data)
                while True:
                    try:
                        frame = conn.frames.next_frame()
                    except RmrStreamError as exc:
                        self._malformed(conn, exc, reset=True)
                        return
                    except RmrFrameError as exc:
                        self._malformed(conn, exc, reset=False)
                        continue
                    if frame is None:
                        break
                    await self._dispatch(frame, conn)
        except (ConnectionError, OSError) as exc:
            log.debug("rmr.connection_error", peer=conn.peer, error=str(exc))
        finally:
            conn.close()
            self._connections.discard(conn)

    def _max_payload(self, role: Role) -> int:
        if role == "control":
            return max(self.config.max_message_size, _CONTROL_MAX_PAYLOAD)
        return self.config.max_message_size

    def _malformed(self, conn: _Connection, exc: RmrFrameError, *, reset: bool) -> None:
        self.stats.malformed += 1
        log.warning(
            "rmr.malformed_frame",
            peer=conn.peer,
            error=str(exc),
            head=exc.data[:64].hex(),
            connection_reset=reset,
            malformed=self.stats.malformed,
        )
        if reset:
            conn.close()

    # -- inbound --------------------------------------------------------------------------------------------

    async def _dispatch(self, frame: RmrFrame, conn: _Connection) -> None:
        header = frame.header
        if header.plen > conn.max_payload:
            self._malformed(
                conn, RmrFrameError(f"payload of {header.plen} bytes exceeds {conn.max_payload}"), reset=False
            )
            return
        handle = _ReplyHandle(owner=self, conn=conn, header=header, trace=frame.trace, d1=frame.d1, d2=frame.d2)
        if conn.role == "control":
            await self._control(frame, handle)
            return
        if header.mtype == MT_HEALTH_REQUEST:
            self.stats.health_checks += 1
            try:
                await self._return_to_sender(handle, MT_HEALTH_RESPONSE, b"OK\n")
            except TransportError as exc:
                self.stats.send_failures += 1
                log.warning("rmr.health_reply_failed", src=header.src, error=str(exc))
            return
        msg = Message(
            mtype=header.mtype,
            payload=frame.payload,
            sub_id=header.sub_id,
            meid=header.meid,
            xid=header.xid,
            src=header.src,
            received_ns=self._clock_ns(),
            reply_to=handle,
        )
        self.stats.received += 1
        if not self._inbox.put_nowait(msg):
            self.stats.dropped_inbound += 1
            dropped = self.stats.dropped_inbound
            if dropped == 1 or dropped % 1000 == 0:
                log.warning(
                    "rmr.inbound_queue_full",
                    dropped_inbound=dropped,
                    queue_size=self.config.inbound_queue_size,
                    mtype=header.mtype,
                    src=header.src,
                )

    async def _control(self, frame: RmrFrame, handle: _ReplyHandle) -> None:
        header = frame.header
        if header.mtype != MT_TABLE_DATA:
            log.info("rmr.control_message_ignored", mtype=header.mtype, src=header.src)
            return
        source = f"route manager {header.src or handle.conn.peer}"
        try:
            text = frame.payload.split(b"\x00", 1)[0].decode("utf-8")
        except UnicodeDecodeError:
            self.stats.tables_rejected += 1
            log.error("rmr.table_rejected", source=source, reason="payload is not UTF-8")
            await self._ack(handle, ok=False, table_id=None, reason="payload is not UTF-8")
            return
        events = self._loader.feed(text, source=source)
        await self._apply(events, source=source)
        for event in events:
            if isinstance(event, TableInstalled):
                self._rm_table_received = True
            if event.kind in ("route", "meid_map"):
                reason = event.reason if isinstance(event, TableRejected) else ""
                await self._ack(handle, ok=not reason, table_id=event.table_id, reason=reason)

    async def _ack(self, handle: _ReplyHandle, *, ok: bool, table_id: str | None, reason: str) -> None:
        text = f"{'OK' if ok else 'ERR'} {table_id or '<id-missing>'} {reason}\n"
        try:
            await self._return_to_sender(handle, MT_TABLE_STATE, text.encode() + b"\x00", sub_id=-1)
        except TransportError as exc:
            self.stats.send_failures += 1
            log.warning("rmr.table_ack_failed", table_id=table_id, error=str(exc))

    # -- outbound -------------------------------------------------------------------------------------------

    async def _send_group(self, group: tuple[str, ...], data: bytes) -> str | None:
        errors: list[str] = []
        for name in group:
            try:
                conn = await self._connect(name)
                await conn.write(data)
            except TransportError as exc:
                errors.append(str(exc))
                continue
            self.stats.sent += 1
            return None
        return " / ".join(errors)

    async def _return_to_sender(
        self, handle: _ReplyHandle, mtype: int, payload: bytes, *, sub_id: int | None = None
    ) -> None:
        request = handle.header
        frame = RmrFrame(
            header=RmrHeader(
                mtype=mtype,
                plen=len(payload),
                xid=request.xid,
                sid=request.sid,
                src=self._my_name,
                meid=request.meid,
                flags=request.flags & ~FLAG_CALL,
                len1=len(handle.trace),
                len2=len(handle.d1),
                len3=len(handle.d2),
                sub_id=request.sub_id if sub_id is None else sub_id,
                srcip=self._my_ip,
            ),
            payload=payload,
            trace=handle.trace,
            d1=handle.d1,
            d2=handle.d2,
        )
        data = encode_frame(frame, native_order=sys.byteorder)
        errors: list[str] = []
        for route, target in self._rts_routes(handle):
            try:
                conn = target if isinstance(target, _Connection) else await self._connect(target)
                await conn.write(data)
            except TransportError as exc:
                errors.append(f"{route}: {exc}")
                continue
            self.stats.sent += 1
            log.debug("rmr.rts", mtype=mtype, route=route, to=conn.peer)
            return
        raise TransportError(
            f"return to sender {request.src or request.srcip or handle.conn.peer!r} failed: "
            + ("; ".join(errors) or "no src, no open connection, no srcip")
        )

    def _rts_routes(self, handle: _ReplyHandle) -> list[tuple[str, _Connection | str]]:
        """Where a reply may go, in librmr's order: ``src`` connection, arrival socket, ``srcip``."""
        routes: list[tuple[str, _Connection | str]] = []
        src = handle.header.src
        if src:
            peer = self._peers.get(src)
            known = self._routes is not None and src in self._routes.endpoints()
            if (peer is not None and peer.conn is not None and peer.conn.is_open) or known:
                routes.append(("src", src))
        if handle.conn.is_open:
            routes.append(("arrival", handle.conn))
        srcip = handle.header.srcip
        if srcip and srcip != src:
            try:
                parse_endpoint(srcip)
            except ValueError:
                pass
            else:
                routes.append(("srcip", srcip))
        return routes

    # -- plumbing -------------------------------------------------------------------------------------------

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            msg = await self._inbox.get()
            if msg is None:
                return
            yield msg

    def receive_ready(self, limit: int) -> list[Message]:
        """Messages already received, up to ``limit``, without waiting (the runtime batches them)."""
        return self._inbox.take_ready(limit)

    def _require_running(self) -> None:
        if self.state is not TransportState.RUNNING:
            raise TransportError(f"transport is {self.state.value}; call start() first")

    def _spawn(self, coro: Coroutine[Any, Any, None], *, serving: bool = False) -> None:
        task = asyncio.create_task(coro)
        (self._serving if serving else self._tasks).add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._serving.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("rmr.task_failed", error=repr(exc))

    async def _shutdown(self) -> None:
        """Close servers and connections; read loops then end on EOF, background tasks are cancelled."""
        for server in self._servers:
            server.close()
        for conn in list(self._connections):
            conn.close()
        for peer in self._peers.values():
            if peer.conn is not None:
                peer.conn.close()
        current = asyncio.current_task()
        background = [t for t in self._tasks if t is not current]
        for task in background:
            task.cancel()
        if background:
            await asyncio.gather(*background, return_exceptions=True)
        serving = [t for t in self._serving if t is not current]
        if serving:
            _, pending = await asyncio.wait(serving, timeout=self.config.connect_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        writers = {c.writer for c in self._connections} | {p.conn.writer for p in self._peers.values() if p.conn}
        if writers:
            closing = {asyncio.ensure_future(_closed(w)): w for w in writers}
            _, stuck = await asyncio.wait(closing, timeout=self.config.connect_timeout)
            for future in stuck:  # a peer that stopped reading keeps unsent bytes: drop them
                closing[future].transport.abort()
            if stuck:
                await asyncio.wait(stuck)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        self._inbox.close()


def _frame(mtype: int, payload: bytes, *, src: str, srcip: str, sub_id: int = -1) -> bytes:
    header = RmrHeader(mtype=mtype, plen=len(payload), src=src, srcip=srcip, sub_id=sub_id)
    return encode_frame(RmrFrame(header=header, payload=payload), native_order=sys.byteorder)


async def _closed(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


def _signature(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _default_ip() -> str:
    """The address of the interface holding the default route (no packet is sent), else loopback."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()
