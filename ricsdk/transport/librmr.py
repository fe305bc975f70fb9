"""Optional RMR backend over OSC's C library (librmr_si.so) through ``ricxappframe.rmr``.

Theory of operation
-------------------
librmr owns its sockets, route table collector and receive thread; what Python sees are blocking calls on a
context. This transport runs each blocking call in a worker thread (``asyncio.to_thread``) so the event loop
never waits on C:

* ``start()`` imports ``ricxappframe.rmr.rmr`` (which loads ``librmr_si.so`` with ``ctypes`` at import time,
  so it is imported here and nowhere else: ricsdk never needs it), calls ``rmr_init`` and starts one receive
  task that polls ``rmr_torcv_msg`` every ``receive_timeout_ms`` (so ``aclose`` is never stuck in C);
* librmr reads its own environment (RMR_SEED_RT, RMR_RTG_SVC, RMR_SRC_ID, ...) inside ``rmr_init``;
* received buffers are copied into :class:`~ricsdk.transport.base.Message` objects; the C buffer is kept
  for return to sender in a bounded cache (``rts_cache`` buffers, oldest freed first), because
  ``rmr_rts_msg`` needs the original buffer;
* ``send`` allocates, fills every field explicitly (ricxappframe's helpers skip falsy values such as
  mtype 0 or an empty payload), and retries ``RMR_ERR_RETRY`` up to ``send_retries`` times;
* mtype 100 is answered with 101 ``OK\\n`` like the native transport (librmr itself leaves it to the app).

:func:`librmr_available` tells whether the shared library can be loaded on this machine.
"""

from __future__ import annotations

import asyncio
import ctypes
import enum
import importlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

import structlog

from ricsdk.errors import ConfigError, MessageTooLargeError, NoEndpointError, RmrValueError, TransportError
from ricsdk.rmr.wire import MAX_MEID, MAX_XID
from ricsdk.transport.base import Message
from ricsdk.transport.rmr import MT_HEALTH_REQUEST, MT_HEALTH_RESPONSE, RmrStats

__all__ = ["LIBRARY_NAME", "LibRmrConfig", "LibRmrTransport", "librmr_available"]

log = structlog.get_logger(__name__)

LIBRARY_NAME: Final = "librmr_si.so"
_MODULE: Final = "ricxappframe.rmr.rmr"


def librmr_available() -> bool:
    """True when ``librmr_si.so`` can be loaded (the only thing this backend cannot do without)."""
    try:
        ctypes.CDLL(LIBRARY_NAME, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class LibRmrConfig:
    """Settings for :class:`LibRmrTransport`; librmr reads everything else from its environment."""

    port: int = 4560
    max_message_size: int = 65536
    flags: int = 0
    receive_timeout_ms: int = 100
    inbound_queue_size: int = 4096
    send_retries: int = 3
    rts_cache: int = 1024

    def __post_init__(self) -> None:
        if not 0 < self.port <= 65535:
            raise ConfigError("must be 1..65535 (librmr cannot bind port 0)", field="port")
        for name in ("max_message_size", "receive_timeout_ms", "inbound_queue_size", "rts_cache"):
            if getattr(self, name) < 1:
                raise ConfigError("must be at least 1", field=name)
        if self.send_retries < 0:
            raise ConfigError("must not be negative", field="send_retries")


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


class LibRmrTransport:
    """The :class:`~ricsdk.transport.base.Transport` protocol on top of librmr (see the module docstring)."""

    def __init__(self, config: LibRmrConfig, *, clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self.config = config
        self._clock_ns = clock_ns
        self.stats: RmrStats = RmrStats()
        self._state = _State.NEW
        self._rmr: Any = None
        self._ctx: Any = None
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._held: OrderedDict[int, Any] = OrderedDict()
        self._next_handle = 0
        self._receiver: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._state is _State.RUNNING:
            return
        if self._state is _State.CLOSED:
            raise TransportError("transport is closed")
        try:
            self._rmr = importlib.import_module(_MODULE)
        except (ImportError, OSError) as exc:
            raise TransportError(
                f"librmr backend unavailable: cannot load {LIBRARY_NAME} through {_MODULE} ({exc}); "
                "install librmr 4.9.x and ricxappframe, or use ricsdk.transport.rmr.RmrTransport"
            ) from exc
        rmr = self._rmr
        try:
            self._ctx = await asyncio.to_thread(
                rmr.rmr_init, str(self.config.port).encode(), self.config.max_message_size, self.config.flags
            )
        except Exception as exc:
            raise TransportError(f"rmr_init on port {self.config.port} failed: {exc!r}") from exc
        self._state = _State.RUNNING
        self._receiver = asyncio.create_task(self._receive_loop())
        log.info("librmr.started", port=self.config.port)

    @property
    def ready(self) -> bool:
        """``rmr_ready``: a route table is loaded."""
        return self._state is _State.RUNNING and bool(self._rmr.rmr_ready(self._ctx))

    async def send(self, msg: Message) -> None:
        self._require_running()
        if len(msg.payload) > self.config.max_message_size:
            raise MessageTooLargeError(len(msg.payload), self.config.max_message_size)
        if len(msg.meid.encode()) >= MAX_MEID:
            raise RmrValueError(f"at most {MAX_MEID - 1} UTF-8 bytes", field="meid", value=msg.meid)
        if len(msg.xid) > MAX_XID:
            raise RmrValueError(f"at most {MAX_XID} bytes", field="xid", value=msg.xid)
        state = await asyncio.to_thread(self._send_blocking, msg)
        self._check_state(state, msg.mtype, msg.sub_id)

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None:
        self._require_running()
        if len(payload) > self.config.max_message_size:
            raise MessageTooLargeError(len(payload), self.config.max_message_size)
        handle = request.reply_to
        mbuf = self._held.pop(handle, None) if isinstance(handle, int) else None
        if mbuf is None:
            raise TransportError("reply: request buffer not held (not from this transport, or evicted)")
        state = await asyncio.to_thread(self._rts_blocking, mbuf, mtype, payload)
        self._check_state(state, mtype, request.sub_id)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def aclose(self) -> None:
        if self._state is _State.CLOSED:
            return
        was_running = self._state is _State.RUNNING
        self._state = _State.CLOSED
        if self._receiver is not None:
            await asyncio.gather(self._receiver, return_exceptions=True)
        if was_running:
            for mbuf in self._held.values():
                self._rmr.rmr_free_msg(mbuf)
            self._held.clear()
            await asyncio.to_thread(self._rmr.rmr_close, self._ctx)
        self._queue.put_nowait(None)
        log.info("librmr.closed", port=self.config.port)

    # -- blocking halves (worker threads) -------------------------------------------------------------------

    def _fill(self, mbuf: Any, mtype: int, payload: bytes) -> Any:
        rmr = self._rmr
        if rmr.rmr_payload_size(mbuf) < len(payload):
            mbuf = rmr.rmr_realloc_payload(mbuf, len(payload), False, False)
        ctypes.memmove(mbuf.contents.payload, payload, len(payload))
        mbuf.contents.len = len(payload)
        mbuf.contents.mtype = mtype
        return mbuf

    def _send_blocking(self, msg: Message) -> tuple[int, int]:
        rmr = self._rmr
        mbuf = rmr.rmr_alloc_msg(self._ctx, max(len(msg.payload), 1))
        mbuf = self._fill(mbuf, msg.mtype, bytes(msg.payload))
        mbuf.contents.sub_id = msg.sub_id
        rmr.rmr_set_meid(mbuf, msg.meid.encode())
        ctypes.memmove(mbuf.contents.xaction, msg.xid.ljust(MAX_XID, b"\x00"), MAX_XID)
        return self._retry(rmr.rmr_send_msg, mbuf)

    def _rts_blocking(self, mbuf: Any, mtype: int, payload: bytes) -> tuple[int, int]:
        mbuf = self._fill(mbuf, mtype, payload)
        return self._retry(self._rmr.rmr_rts_msg, mbuf)

    def _retry(self, call: Any, mbuf: Any) -> tuple[int, int]:
        rmr = self._rmr
        retries = 0
        while True:
            mbuf = call(self._ctx, mbuf)
            state = int(mbuf.contents.state)
            if state != rmr.RMR_ERR_RETRY or retries >= self.config.send_retries:
                break
            retries += 1
        rmr.rmr_free_msg(mbuf)
        return (state, retries)

    # -- receiving ------------------------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        rmr = self._rmr
        while self._state is _State.RUNNING:
            mbuf = await asyncio.to_thread(rmr.rmr_torcv_msg, self._ctx, None, self.config.receive_timeout_ms)
            if mbuf is None:
                continue
            if int(mbuf.contents.state) != rmr.RMR_OK:
                rmr.rmr_free_msg(mbuf)
                continue
            try:
                summary = rmr.message_summary(mbuf)
                msg = Message(
                    mtype=int(summary[rmr.RMR_MS_MSG_TYPE]),
                    payload=bytes(summary[rmr.RMR_MS_PAYLOAD] or b""),
                    sub_id=int(summary[rmr.RMR_MS_SUB_ID]),
                    meid=bytes(summary[rmr.RMR_MS_MEID] or b"").split(b"\x00", 1)[0].decode("utf-8"),
                    xid=bytes(summary[rmr.RMR_MS_TRN_ID] or b"").rstrip(b"\x00"),
                    src=str(summary[rmr.RMR_MS_MSG_SOURCE]),
                    received_ns=self._clock_ns(),
                )
            except (UnicodeDecodeError, ValueError, KeyError) as exc:
                self.stats.malformed += 1
                log.warning("librmr.malformed_message", error=repr(exc))
                rmr.rmr_free_msg(mbuf)
                continue
            handle = self._hold(mbuf)
            if msg.mtype == MT_HEALTH_REQUEST:
                self.stats.health_checks += 1
                request = Message(mtype=msg.mtype, payload=b"", reply_to=handle)
                try:
                    await self.reply(request, MT_HEALTH_RESPONSE, b"OK\n")
                except TransportError as exc:
                    self.stats.send_failures += 1
                    log.warning("librmr.health_reply_failed", error=str(exc))
                continue
            self.stats.received += 1
            if self._queue.qsize() >= self.config.inbound_queue_size:
                self.stats.dropped_inbound += 1
                self._release(handle)
                dropped = self.stats.dropped_inbound
                if dropped == 1 or dropped % 1000 == 0:
                    log.warning("librmr.inbound_queue_full", dropped_inbound=dropped, mtype=msg.mtype)
                continue
            self._queue.put_nowait(
                Message(
                    mtype=msg.mtype,
                    payload=msg.payload,
                    sub_id=msg.sub_id,
                    meid=msg.meid,
                    xid=msg.xid,
                    src=msg.src,
                    received_ns=msg.received_ns,
                    reply_to=handle,
                )
            )

    def _hold(self, mbuf: Any) -> int:
        self._next_handle += 1
        self._held[self._next_handle] = mbuf
        while len(self._held) > self.config.rts_cache:
            _, old = self._held.popitem(last=False)
            self._rmr.rmr_free_msg(old)
        return self._next_handle

    def _release(self, handle: int) -> None:
        mbuf = self._held.pop(handle, None)
        if mbuf is not None:
            self._rmr.rmr_free_msg(mbuf)

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            msg = await self._queue.get()
            if msg is None:
                self._queue.put_nowait(None)
                return
            yield msg

    def receive_ready(self, limit: int) -> list[Message]:
        """Messages already received, up to ``limit``, without waiting (the runtime batches them)."""
        out: list[Message] = []
        queue = self._queue
        while len(out) < limit and not queue.empty():
            msg = queue.get_nowait()
            if msg is None:  # closed: leave the end mark for the iterator
                queue.put_nowait(None)
                break
            out.append(msg)
        return out

    # -- helpers --------------------------------------------------------------------------------------------

    def _require_running(self) -> None:
        if self._state is not _State.RUNNING:
            raise TransportError(f"transport is {self._state.value}; call start() first")

    def _check_state(self, result: tuple[int, int], mtype: int, sub_id: int) -> None:
        state, retries = result
        rmr = self._rmr
        if state == rmr.RMR_OK:
            self.stats.sent += 1
            return
        self.stats.send_failures += 1
        if state == rmr.RMR_ERR_NOENDPT:
            raise NoEndpointError(mtype, sub_id)
        raise TransportError(f"librmr send of mtype {mtype} failed: state {state} after {retries} retries")
