"""Recording: a transport wrapper that writes every message crossing it to a pcapng trace.

Theory of operation
-------------------
:class:`RecordingTransport` wraps any :class:`~ricsdk.transport.base.Transport`. What the inner transport
yields (inbound) and what ``send``/``reply`` hand to it (outbound, once the inner transport accepted it) is
noted as a :class:`~ricsdk.trace.records.TraceRecord` with the wall-clock time; directions follow the trace
convention (``in`` = towards the RIC / xApp). When the wrapped transport is an E2 node's (``role=NODE``), what
it sends is ``in`` and what it receives is ``out``.

The hot path only appends ``(time, direction, message)`` to a bounded deque (messages are frozen, nothing is
copied). A writer task started by :meth:`RecordingTransport.start` takes the queued batch every
``flush_interval_s`` (or sooner when ``batch`` records wait), and a worker thread encodes it
(:func:`~ricsdk.trace.records.encode_record`) and appends it to the :class:`TraceSink`. When the queue holds
``queue_size`` records the next one is dropped, counted in ``recorder_stats.dropped`` and logged (the first
drop and every thousandth); a sink that fails counts its records in ``write_errors`` and logs, and a message
too large for a pcapng packet is counted in ``too_large``. Nothing is dropped silently.
:meth:`RecordingTransport.flush` waits until everything queued so far is written; :meth:`RecordingTransport.aclose`
closes the inner transport, writes what is left and closes the sink.

Sinks: :class:`FileSink` writes pcapng files, rotating to a new segment (a complete pcapng file of its own,
``trace.pcapng``, ``trace.1.pcapng``, ``trace.2.pcapng`` ...) when the current one would exceed ``max_bytes``,
and keeps at most ``max_files`` segments when asked (deleting the oldest, logged). :class:`MemorySink` keeps
records in a list (tests, replay straight from memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import structlog

from ricsdk.errors import ConfigError, TransportError
from ricsdk.trace.pcap import PcapngWriter
from ricsdk.trace.records import MAX_RECORD_PAYLOAD, Direction, TraceRecord, encode_record, encode_trace
from ricsdk.transport.base import Message, Transport, TransportStats

__all__ = [
    "FileSink",
    "MemorySink",
    "RecorderStats",
    "RecordingTransport",
    "Role",
    "TraceSink",
    "record_of",
]

log = structlog.get_logger(__name__)


class TraceSink(Protocol):
    """Where records go. Called from one worker thread at a time, never concurrently."""

    def open(self) -> None: ...

    def write(self, records: Sequence[TraceRecord]) -> None: ...

    def close(self) -> None: ...


class MemorySink:
    """Keeps records in memory; :meth:`to_bytes` gives them as a pcapng file."""

    def __init__(self) -> None:
        self.records: list[TraceRecord] = []
        self.closed = False

    def open(self) -> None:
        self.closed = False

    def write(self, records: Sequence[TraceRecord]) -> None:
        self.records.extend(records)

    def close(self) -> None:
        self.closed = True

    def to_bytes(self) -> bytes:
        return encode_trace(self.records)


class FileSink:
    """pcapng segments at ``path`` with rotation by size (see the module docstring)."""

    def __init__(self, path: str | Path, *, max_bytes: int | None = None, max_files: int | None = None) -> None:
        if max_bytes is not None and max_bytes < 1024:
            raise ConfigError("must be at least 1024 bytes", field="max_bytes")
        if max_files is not None and max_files < 1:
            raise ConfigError("must be at least 1", field="max_files")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_files = max_files
        #: every segment written, oldest first (deleted ones included)
        self.segments: list[Path] = []
        self.deleted: list[Path] = []
        self._file: IO[bytes] | None = None
        self._writer = PcapngWriter()
        self._size = 0
        self._header_size = 0

    def _segment_path(self, n: int) -> Path:
        if n == 0:
            return self.path
        suffix = self.path.suffix or ".pcapng"
        return self.path.with_name(f"{self.path.name.removesuffix(self.path.suffix)}.{n}{suffix}")

    def open(self) -> None:
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._start_segment()

    def _start_segment(self) -> None:
        seg = self._segment_path(len(self.segments))
        self._file = open(seg, "wb")  # noqa: SIM115 - the segment stays open across writes
        self.segments.append(seg)
        self._writer = PcapngWriter()
        header = self._writer.header()
        self._file.write(header)
        self._size = self._header_size = len(header)
        if self.max_files is not None:
            live = [p for p in self.segments if p not in self.deleted]
            for old in live[: max(0, len(live) - self.max_files)]:
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
                self.deleted.append(old)
                log.info("trace segment deleted (max_files)", segment=str(old), max_files=self.max_files)

    def write(self, records: Sequence[TraceRecord]) -> None:
        if self._file is None:
            self.open()
        assert self._file is not None
        out: list[bytes] = []
        for rec in records:
            blob = encode_record(self._writer, rec)
            if (
                self.max_bytes is not None
                and self._size + len(blob) > self.max_bytes
                and self._size > self._header_size
            ):
                self._file.write(b"".join(out))
                out.clear()
                self._file.close()
                self._start_segment()
                assert self._file is not None
                blob = encode_record(self._writer, rec)  # the new segment declares its interfaces again
            out.append(blob)
            self._size += len(blob)
        self._file.write(b"".join(out))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


class Role(enum.Enum):
    """Whose transport is being recorded: the RIC side (an xApp's) or an E2 node's."""

    RIC = "ric"
    NODE = "node"


@dataclass(slots=True)
class RecorderStats:
    recorded: int = 0
    written: int = 0
    dropped: int = 0
    write_errors: int = 0
    #: messages above :data:`~ricsdk.trace.records.MAX_RECORD_PAYLOAD` (a pcapng packet's limit), not recorded
    too_large: int = 0
    batches: int = 0


def record_of(msg: Message, direction: Direction, timestamp_ns: int) -> TraceRecord:
    """The trace record of a message."""
    return TraceRecord(
        timestamp_ns,
        direction,
        msg.mtype,
        msg.payload,
        msg.sub_id,
        msg.meid,
        msg.xid,
        msg.src,
        msg.received_ns,
    )


class RecordingTransport:
    """A :class:`~ricsdk.transport.base.Transport` that records what crosses ``inner`` (see the module docs)."""

    def __init__(
        self,
        inner: Transport,
        sink: TraceSink,
        *,
        role: Role = Role.RIC,
        queue_size: int = 65536,
        batch: int = 512,
        flush_interval_s: float = 0.05,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if queue_size < 1:
            raise ConfigError("must be at least 1", field="queue_size")
        self.inner = inner
        self.sink = sink
        self.recorder_stats = RecorderStats()
        self._in, self._out = (Direction.IN, Direction.OUT) if role is Role.RIC else (Direction.OUT, Direction.IN)
        self._queue: deque[tuple[int, Direction, Message]] = deque()
        self._queue_size = queue_size
        self._batch = batch
        self._interval = flush_interval_s
        self._clock = clock_ns
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def stats(self) -> TransportStats:
        return self.inner.stats

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        return len(self._queue)

    async def start(self) -> None:
        """Start the inner transport, open the sink and start the writer task (undoing the first if the sink fails)."""
        await self.inner.start()
        if self._writer is not None:
            return
        try:
            await asyncio.to_thread(self.sink.open)
        except OSError as exc:
            await self.inner.aclose()
            raise TransportError(f"cannot open the trace sink: {exc}") from exc
        self._writer = asyncio.create_task(self._write_loop(), name="trace-recorder")

    def _note(self, direction: Direction, msg: Message) -> None:
        st = self.recorder_stats
        if len(self._queue) >= self._queue_size:
            st.dropped += 1
            if st.dropped == 1 or st.dropped % 1000 == 0:
                log.warning("trace recorder queue full: record dropped", dropped=st.dropped, queue=self._queue_size)
            return
        st.recorded += 1
        self._queue.append((self._clock(), direction, msg))
        self._idle.clear()
        if len(self._queue) >= self._batch:
            self._wake.set()

    async def send(self, msg: Message) -> None:
        await self.inner.send(msg)
        self._note(self._out, msg)

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None:
        await self.inner.reply(request, mtype, payload)
        self._note(self._out, Message(mtype, bytes(payload), sub_id=request.sub_id, meid=request.meid, xid=request.xid))

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        async for msg in self.inner:
            self._note(self._in, msg)
            yield msg

    def receive_ready(self, limit: int) -> list[Message]:
        """The inner transport's already-received messages (recorded like the iterator's), if it offers them."""
        ready = getattr(self.inner, "receive_ready", None)
        if ready is None:
            return []
        msgs: list[Message] = ready(limit)
        for msg in msgs:
            self._note(self._in, msg)
        return msgs

    async def _write_loop(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                if self._closed:
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            await self._drain()

    async def _drain(self) -> None:
        while self._queue:
            n = min(len(self._queue), 4 * self._batch)
            items = [self._queue.popleft() for _ in range(n)]
            st = self.recorder_stats
            try:
                await asyncio.to_thread(self._encode_and_write, items)
            except (OSError, ValueError) as exc:
                st.write_errors += len(items)
                log.error("trace sink failed: records lost", records=len(items), error=str(exc))
            else:
                st.written += len(items)
                st.batches += 1

    def _encode_and_write(self, items: list[tuple[int, Direction, Message]]) -> None:
        records = []
        st = self.recorder_stats
        for t, d, m in items:
            if len(m.payload) > MAX_RECORD_PAYLOAD:
                st.too_large += 1
                log.warning("message too large for a trace record: not recorded", mtype=m.mtype, size=len(m.payload))
                continue
            records.append(record_of(m, d, t))
        self.sink.write(records)

    async def flush(self) -> None:
        """Wait until every record queued so far is written to the sink."""
        if self._writer is None or self._writer.done():
            await self._drain()
            return
        self._wake.set()
        await self._idle.wait()

    async def aclose(self) -> None:
        """Close the inner transport, write what is queued, close the sink. Idempotent."""
        if self._closed:
            return
        await self.inner.aclose()
        self._closed = True
        self._wake.set()
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self._drain()
        await asyncio.to_thread(self.sink.close)
        st = self.recorder_stats
        log.info("trace recorder closed", recorded=st.recorded, written=st.written, dropped=st.dropped)

    async def __aenter__(self) -> RecordingTransport:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
