"""A crash-safe, append-only spool of lineage records.

Theory of operation
-------------------
A spool is a directory. It holds two logs of *segment* files: ``main-<n>.seg``, where the writer appends
batches, and ``overflow-<n>.seg``, where the hot path appends single records when the recorder's queue is full.
Each log has exactly one *active* segment, its highest-numbered one; the others are *sealed* and never written
again. A segment starts with a 24-byte header and holds frames back to back::

    segment header   8 B magic b"RICLSEG\\0", u8 format version (1), u8 stream (1 main, 2 overflow),
                     6 B zero, u64 segment number (equal to the number in the file name); little-endian
    frame            u32 payload length, u32 CRC-32 (zlib polynomial) of the 4 length bytes followed by the
                     payload, then the payload: a record body and its sha256 (``ricsdk.lineage.encoding``)

A batch is written with one ``write`` at the end of the active segment; when the batch would take the segment
past ``segment_bytes`` the segment is sealed first and a new one created (a batch is never split, so a segment
can exceed the limit by one batch). A failed write is cut back to the segment's previous end.

Opening (``open()``) scans every segment. In the active segment of each log the first frame that is short,
has an impossible length, a bad CRC or an unreadable header is a *torn tail*: it and everything after it are
copied to ``quarantine/`` and the file is truncated to the last whole frame, so a torn record is never
accepted; the event is counted (``torn_tails_truncated``, ``torn_bytes``) and logged. A bad frame in a sealed
segment is not a torn tail: the segment is marked damaged, counted (``corrupt_segments``), logged at error
level, kept, and never deleted by acknowledgement (after a machine crash under the ``interval`` or ``never``
policy a sealed segment can lose its unsynced tail too; it is then reported this way). The scan also yields,
per instance, the last durable ``(sequence, hash)`` of each log, from which the recorder continues its
chains.

Durability (``fsync``)
----------------------
Writes go to the OS page cache; a *sync point* fdatasyncs the dirty segments of both logs and, when a segment
was created, the directory. A process crash (SIGKILL, OOM kill, an exception) loses nothing that was written:
the kernel still holds it. A machine crash (power loss, kernel panic) loses what was written after the last
sync point. In both cases records still in the recorder's queue (not yet handed to the spool) are lost, and a
write cut short leaves a torn tail that the next open truncates. Per policy, on a machine crash:

- ``per_batch``: every ``append_batch`` ends with a sync point, so a batch is durable when the call returns.
  Lost: the batch being written, and overflow records written since the last batch (they are synced with the
  next batch).
- ``interval``: a sync point when ``fsync_interval_s`` has passed since the last one, checked on each
  ``append_batch`` and on each ``maybe_sync()`` (the recorder's writer calls it at least once per interval).
  Lost: up to the last ``fsync_interval_s`` seconds of records (a little more if the writer is starved).
- ``never``: no sync point at all, not even on close (for tests and throw-away runs). Lost: whatever the
  kernel had not written back, which can be anything not yet old enough (about 30 s with Linux defaults).

Acknowledgement and quota
-------------------------
``acknowledge(instance, sequence)`` records that the governance service holds every record of ``instance`` up
to ``sequence``. Segments are deleted oldest first, while every record in them is acknowledged and they are
sealed and undamaged. Before a segment is unlinked, ``anchor.json`` is rewritten (atomically) with, per
instance, the last sequence and hash in the deleted segments and the acknowledged sequence, so
:func:`ricsdk.lineage.verify.verify_spool` can check that what remains links to what was deleted.

``quota_bytes`` bounds the segments of both logs. Going over it raises the alarm (``quota_exceeded``, a
structlog warning, the ``quota_alarms`` counter); writing goes on and nothing unacknowledged is deleted.
The alarm clears when acknowledgements bring the spool back under the quota.

Threads
-------
The recorder runs ``append_batch`` in a worker thread while the event loop may append overflow records,
acknowledge and read; each log has a lock held for its bookkeeping and ``write`` calls, never across an
fsync (which runs on duplicated descriptors outside the locks).
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from ricsdk.errors import ConfigError, LineageError
from ricsdk.lineage.encoding import HASH_SIZE, decode_payload, peek_identity
from ricsdk.lineage.record import DecisionRecord
from ricsdk.lineage.stats import LineageStats

__all__ = [
    "FRAME_HEADER_SIZE",
    "MAX_FRAME_PAYLOAD",
    "SEGMENT_HEADER_SIZE",
    "ANCHOR_FILE",
    "ChainTail",
    "FrameProblem",
    "FsyncPolicy",
    "Spool",
    "SpoolConfig",
    "SpoolPosition",
    "SpooledRecord",
    "Stream",
    "encode_frame",
    "iter_frames",
    "load_anchor",
    "read_frame",
    "parse_segment_header",
    "segment_header",
]

log = structlog.get_logger("ricsdk.lineage.spool")

MAGIC = b"RICLSEG\x00"
SEGMENT_FORMAT = 1
_SEGMENT_HEADER = struct.Struct("<8sBB6xQ")
SEGMENT_HEADER_SIZE = _SEGMENT_HEADER.size
_FRAME_HEADER = struct.Struct("<II")
FRAME_HEADER_SIZE = _FRAME_HEADER.size
_LENGTH = struct.Struct("<I")
MAX_FRAME_PAYLOAD = 16 * 1024 * 1024
ANCHOR_FILE = "anchor.json"
QUARANTINE_DIR = "quarantine"

_fdatasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


class FsyncPolicy(enum.Enum):
    """When the spool forces its writes to stable storage (see the module docstring for the loss windows)."""

    PER_BATCH = "per_batch"
    INTERVAL = "interval"
    NEVER = "never"


class Stream(enum.Enum):
    """The two logs of a spool."""

    MAIN = "main"
    OVERFLOW = "overflow"


_STREAM_CODE = {Stream.MAIN: 1, Stream.OVERFLOW: 2}


@dataclass(frozen=True, slots=True)
class SpoolConfig:
    """How a spool writes: segment size, disk quota and fsync policy."""

    segment_bytes: int = 64 * 1024 * 1024
    quota_bytes: int | None = None
    fsync: FsyncPolicy = FsyncPolicy.PER_BATCH
    fsync_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.segment_bytes < 4096:
            raise ConfigError("segment_bytes must be at least 4096", field="segment_bytes")
        if self.quota_bytes is not None and self.quota_bytes <= 0:
            raise ConfigError("quota_bytes must be positive", field="quota_bytes")
        if not self.fsync_interval_s > 0:
            raise ConfigError("fsync_interval_s must be positive", field="fsync_interval_s")


@dataclass(frozen=True, slots=True, order=True)
class SpoolPosition:
    """A frame boundary in one log: segment number and byte offset in that segment."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class SpooledRecord:
    """A record read back from a spool, with where it starts and where the next one starts."""

    stream: Stream
    position: SpoolPosition
    next_position: SpoolPosition
    record: DecisionRecord


@dataclass(frozen=True, slots=True)
class ChainTail:
    """The last durable record of an instance in one log."""

    sequence: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class FrameProblem:
    """A frame that cannot be accepted: where it starts and why."""

    offset: int
    reason: str


def segment_header(stream: Stream, number: int) -> bytes:
    """The 24-byte header of segment ``number`` of ``stream``."""
    return _SEGMENT_HEADER.pack(MAGIC, SEGMENT_FORMAT, _STREAM_CODE[stream], number)


def parse_segment_header(data: bytes) -> tuple[Stream, int]:
    """``(stream, number)`` from a segment header; :class:`LineageError` when it is not one."""
    if len(data) < SEGMENT_HEADER_SIZE:
        raise LineageError(f"segment header truncated ({len(data)} bytes)")
    magic, version, code, number = _SEGMENT_HEADER.unpack_from(data, 0)
    if magic != MAGIC or version != SEGMENT_FORMAT:
        raise LineageError("not a lineage segment (bad magic or format version)")
    if data[10:16] != bytes(6):
        raise LineageError("segment header reserved bytes are not zero")
    for stream, stream_code in _STREAM_CODE.items():
        if code == stream_code:
            return stream, number
    raise LineageError(f"unknown stream code {code} in segment header")


def encode_frame(payload: bytes) -> bytes:
    """One frame: length, CRC-32 of the length bytes and the payload, payload."""
    length = _LENGTH.pack(len(payload))
    return length + _LENGTH.pack(zlib.crc32(payload, zlib.crc32(length))) + payload


def read_frame(data: bytes, offset: int, end: int) -> tuple[bytes, int] | str:
    """The frame at ``offset``: ``(payload, next offset)``, or why there is no valid frame there."""
    if end - offset < FRAME_HEADER_SIZE:
        return f"short frame header ({end - offset} bytes)"
    length, crc = _FRAME_HEADER.unpack_from(data, offset)
    if length > MAX_FRAME_PAYLOAD or length < HASH_SIZE + 1:
        return f"impossible frame length {length}"
    stop = offset + FRAME_HEADER_SIZE + length
    if stop > end:
        return f"frame of {length} bytes runs past the end ({end - offset} bytes left)"
    payload = data[offset + FRAME_HEADER_SIZE : stop]
    if zlib.crc32(payload, zlib.crc32(data[offset : offset + 4])) != crc:
        return "frame CRC mismatch"
    return payload, stop


def iter_frames(data: bytes, start: int, end: int) -> Iterator[tuple[int, bytes] | FrameProblem]:
    """Frames of ``data[start:end]`` as ``(offset, payload)``; a :class:`FrameProblem` ends the iteration."""
    offset = start
    while offset < end:
        frame = read_frame(data, offset, end)
        if isinstance(frame, str):
            yield FrameProblem(offset, frame)
            return
        payload, stop = frame
        yield offset, payload
        offset = stop


@dataclass(slots=True)
class SyncJob:
    """The descriptors (duplicates, closed by :meth:`Spool.sync_end`) one sync point forces to the device."""

    path: Path
    logs: list[tuple[Stream, list[int], bool]]


def run_sync_job(job: SyncJob) -> OSError | None:
    """The device wait of a sync point: system calls only, so it can run in a thread without contending for the
    GIL with the event loop. Returns the first error instead of raising it."""
    try:
        dir_dirty = False
        for _, fds, dirty in job.logs:
            for fd in fds:
                _fdatasync(fd)
            dir_dirty = dir_dirty or dirty
        if dir_dirty:
            _fsync_dir(job.path)
    except OSError as exc:
        return exc
    return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(slots=True)
class _Segment:
    number: int
    path: Path
    size: int
    index: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    records: int = 0
    damaged: bool = False


class _Log:
    """One stream's segments: appends, rolls, scan on open, deferred fsync."""

    def __init__(self, spool: Spool, stream: Stream) -> None:
        self.spool = spool
        self.stream = stream
        self.lock = threading.Lock()
        self.segments: list[_Segment] = []
        self.fd: int | None = None
        self.dirty = False
        self.dir_dirty = False
        self.sealed_unsynced: list[int] = []

    @property
    def prefix(self) -> str:
        return f"{self.stream.value}-"

    def path_for(self, number: int) -> Path:
        return self.spool.path / f"{self.stream.value}-{number:012d}.seg"

    def open(self) -> None:
        numbers: list[int] = []
        for entry in self.spool.path.iterdir():
            name = entry.name
            if name.startswith(self.prefix) and name.endswith(".seg"):
                digits = name[len(self.prefix) : -4]
                if digits.isdigit():
                    numbers.append(int(digits))
        numbers.sort()
        for i, number in enumerate(numbers):
            self.segments.append(self._scan(number, active=i == len(numbers) - 1))
        if self.segments:
            active = self.segments[-1]
            self.fd = os.open(active.path, os.O_WRONLY | os.O_APPEND)

    def _scan(self, number: int, *, active: bool) -> _Segment:
        path = self.path_for(number)
        data = path.read_bytes()
        segment = _Segment(number, path, len(data))
        problem: str | None = None
        bad_at = SEGMENT_HEADER_SIZE
        try:
            stream, header_number = parse_segment_header(data)
            if stream is not self.stream or header_number != number:
                problem = f"segment header names {stream.value} #{header_number}"
        except LineageError as exc:
            problem = str(exc)
        if problem is not None:
            bad_at = 0
        else:
            for item in iter_frames(data, SEGMENT_HEADER_SIZE, len(data)):
                if isinstance(item, FrameProblem):
                    problem, bad_at = item.reason, item.offset
                    break
                offset, payload = item
                try:
                    instance, sequence = peek_identity(payload)
                except LineageError as exc:
                    problem, bad_at = str(exc), offset
                    break
                segment.index[instance] = (sequence, payload[-HASH_SIZE:])
                segment.records += 1
        if problem is None:
            return segment
        if active:
            self._truncate_torn(segment, data, bad_at, problem)
        else:
            segment.damaged = True
            self.spool._count(corrupt_segments=1)
            log.error(
                "lineage segment damaged; kept and never deleted",
                segment=str(path),
                offset=bad_at,
                problem=problem,
                records_before=segment.records,
            )
        return segment

    def _truncate_torn(self, segment: _Segment, data: bytes, bad_at: int, problem: str) -> None:
        torn = data[bad_at:]
        quarantine = self.spool.path / QUARANTINE_DIR
        quarantine.mkdir(exist_ok=True)
        keep = quarantine / f"{segment.path.name}.{bad_at}.torn"
        keep.write_bytes(torn)
        if bad_at < SEGMENT_HEADER_SIZE:
            segment.path.write_bytes(segment_header(self.stream, segment.number))
            segment.size = SEGMENT_HEADER_SIZE
        else:
            os.truncate(segment.path, bad_at)
            segment.size = bad_at
        if self.spool.config.fsync is not FsyncPolicy.NEVER:
            fd = os.open(segment.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_dir(quarantine)
        self.spool._count(torn_tails_truncated=1, torn_bytes=len(torn))
        log.warning(
            "lineage torn tail truncated",
            segment=str(segment.path),
            offset=bad_at,
            bytes=len(torn),
            problem=problem,
            quarantined=str(keep),
        )

    def _create(self, number: int) -> None:
        path = self.path_for(number)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        header = segment_header(self.stream, number)
        try:
            os.write(fd, header)
        except OSError:
            os.close(fd)
            raise
        self.fd = fd
        self.segments.append(_Segment(number, path, SEGMENT_HEADER_SIZE))
        self.dir_dirty = True
        self.spool._grow(SEGMENT_HEADER_SIZE)

    def _seal(self) -> None:
        if self.fd is None:
            return
        if self.dirty and self.spool.config.fsync is not FsyncPolicy.NEVER:
            self.sealed_unsynced.append(self.fd)
        else:
            os.close(self.fd)
        self.fd = None
        self.dirty = False

    def append(self, items: Sequence[tuple[str, int, bytes, bytes]]) -> int:
        """Write ``(instance, sequence, hash, payload)`` items as one write; returns the bytes written."""
        data = b"".join([encode_frame(item[3]) for item in items])
        with self.lock:
            try:
                if self.fd is None:
                    self._create(self.segments[-1].number + 1 if self.segments else 1)
                active = self.segments[-1]
                if active.size > SEGMENT_HEADER_SIZE and active.size + len(data) > self.spool.config.segment_bytes:
                    self._seal()
                    self._create(active.number + 1)
                    active = self.segments[-1]
                assert self.fd is not None
                self._write_all(self.fd, active, data)
            except OSError as exc:
                raise LineageError(f"cannot append to {self.stream.value} log in {self.spool.path}: {exc}") from exc
            active.size += len(data)
            active.records += len(items)
            index = active.index
            for instance, sequence, digest, _ in items:
                index[instance] = (sequence, digest)
            self.dirty = True
        self.spool._grow(len(data))
        return len(data)

    def _write_all(self, fd: int, segment: _Segment, data: bytes) -> None:
        view = memoryview(data)
        done = 0
        try:
            while done < len(data):
                done += os.write(fd, view[done:])
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, segment.size)
            raise

    def take_unsynced(self) -> tuple[list[int], bool]:
        """Under the lock: (descriptors to fsync and then close, whether the directory changed)."""
        with self.lock:
            fds = [os.dup(self.fd)] if self.dirty and self.fd is not None else []
            sealed = self.sealed_unsynced
            self.sealed_unsynced = []
            dir_dirty = self.dir_dirty
            self.dirty = False
            self.dir_dirty = False
        return fds + sealed, dir_dirty

    def restore_unsynced(self, dir_dirty: bool) -> None:
        with self.lock:
            self.dirty = self.fd is not None
            self.dir_dirty = self.dir_dirty or dir_dirty

    def tail(self, instance: str) -> ChainTail | None:
        with self.lock:
            for segment in reversed(self.segments):
                entry = segment.index.get(instance)
                if entry is not None:
                    return ChainTail(entry[0], entry[1])
        return None

    def close(self) -> None:
        with self.lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
            for fd in self.sealed_unsynced:
                os.close(fd)
            self.sealed_unsynced = []


class Spool:
    """A directory of lineage segments (see the module docstring). Built closed; ``open()`` scans it.

    ``monotonic`` is the clock (seconds) of the ``interval`` fsync policy. ``stats`` may be shared with a
    :class:`~ricsdk.lineage.recorder.LineageRecorder`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: SpoolConfig | None = None,
        *,
        stats: LineageStats | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.config = config if config is not None else SpoolConfig()
        self.stats = stats if stats is not None else LineageStats()
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._ack_lock = threading.Lock()
        self._logs = {stream: _Log(self, stream) for stream in Stream}
        self._usage = 0
        self._quota_exceeded = False
        self._last_sync = 0.0
        self._acked: dict[str, int] = {}
        self._anchors: dict[Stream, dict[str, ChainTail]] = {stream: {} for stream in Stream}
        self._opened = False
        self._closed = False

    # lifecycle -------------------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._opened and not self._closed

    def open(self) -> None:
        """Create the directory if needed, load the anchor, scan the segments, truncate torn tails."""
        if self._opened:
            if self._closed:
                raise LineageError(f"spool {self.path} is closed")
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._load_anchor()
            for lg in self._logs.values():
                lg.open()
        except OSError as exc:
            for lg in self._logs.values():
                lg.close()
            raise LineageError(f"cannot open spool {self.path}: {exc}") from exc
        self._usage = sum(s.size for lg in self._logs.values() for s in lg.segments)
        self._last_sync = self._monotonic()
        self._opened = True
        self._check_quota()
        log.info(
            "lineage spool opened",
            path=str(self.path),
            segments=sum(len(lg.segments) for lg in self._logs.values()),
            bytes=self._usage,
            fsync=self.config.fsync.value,
        )

    def close(self) -> None:
        """Sync (unless the policy is ``never``) and release the files. Idempotent."""
        if not self._opened or self._closed:
            self._closed = True
            return
        try:
            if self.config.fsync is not FsyncPolicy.NEVER:
                self.sync()
        finally:
            for lg in self._logs.values():
                lg.close()
            self._closed = True

    def _require_open(self) -> None:
        if not self._opened or self._closed:
            raise LineageError(f"spool {self.path} is not open")

    # writing ---------------------------------------------------------------------------------------------

    def append_batch(self, items: Sequence[tuple[str, int, bytes, bytes]]) -> int:
        """Append encoded records ``(instance, sequence, hash, payload)`` to the main log, then apply the fsync
        policy. Returns the bytes written. Raises :class:`LineageError` when the write fails (nothing of the
        batch is kept then, so it can be retried); a failed fsync is counted and logged instead, since the
        batch is written and the next sync point retries it."""
        written = self.write_batch(items)
        if written:
            self.after_write()
        return written

    def write_batch(self, items: Sequence[tuple[str, int, bytes, bytes]]) -> int:
        """The write half of :meth:`append_batch`: frames to the main log (the page cache), no sync point."""
        self._require_open()
        if not items:
            return 0
        return self._logs[Stream.MAIN].append(items)

    def sync_due(self) -> bool:
        """Whether :meth:`after_write` would run a sync point now (per batch: always; interval: when due)."""
        policy = self.config.fsync
        if policy is FsyncPolicy.PER_BATCH:
            return True
        return policy is FsyncPolicy.INTERVAL and self._monotonic() - self._last_sync >= self.config.fsync_interval_s

    def after_write(self) -> None:
        """The sync half of :meth:`append_batch`: apply the fsync policy to what was written. A failed fsync
        is counted and logged (the segments stay dirty, so the next sync point tries again)."""
        policy = self.config.fsync
        try:
            if policy is FsyncPolicy.PER_BATCH:
                self.sync()
            elif policy is FsyncPolicy.INTERVAL:
                self.maybe_sync()
        except LineageError as exc:
            self.sync_failed(exc)

    def sync_failed(self, exc: LineageError) -> None:
        """Count and log a failed sync point. The batch is written (appending it again would fork the chain);
        only its durability is in doubt, and the next sync point tries again."""
        self._count(write_errors=1)
        log.error("lineage sync point failed; batch written but not yet durable", path=str(self.path), error=str(exc))

    def append_overflow(self, item: tuple[str, int, bytes, bytes]) -> int:
        """Append one encoded record to the overflow log without syncing (the next sync point covers it)."""
        self._require_open()
        return self._logs[Stream.OVERFLOW].append((item,))

    def maybe_sync(self) -> bool:
        """Run a sync point if the ``interval`` policy says one is due; True when it did."""
        if self.config.fsync is not FsyncPolicy.INTERVAL or not self.is_open:
            return False
        if self._monotonic() - self._last_sync < self.config.fsync_interval_s:
            return False
        self.sync()
        return True

    def sync(self) -> None:
        """A sync point: fdatasync every segment written since the last one, and the directory if it changed."""
        job = self.sync_begin()
        self.sync_end(job, run_sync_job(job))

    def sync_begin(self) -> SyncJob:
        """First part of a sync point (on the writer's thread): take the descriptors to sync from every log."""
        self._require_open()
        self._last_sync = self._monotonic()
        return SyncJob(self.path, [(stream, *lg.take_unsynced()) for stream, lg in self._logs.items()])

    def sync_end(self, job: SyncJob, error: OSError | None) -> None:
        """Last part of a sync point (on the writer's thread), after :func:`run_sync_job`: close the duplicated
        descriptors, count the fsyncs; when one failed, mark the logs dirty again and raise :class:`LineageError`."""
        for _, fds, _ in job.logs:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if error is not None:
            for stream, _, dir_dirty in job.logs:
                self._logs[stream].restore_unsynced(dir_dirty)
            raise LineageError(f"fsync failed in spool {self.path}: {error}") from error
        self._count(fsyncs=sum(len(fds) + (1 if dir_dirty else 0) for _, fds, dir_dirty in job.logs))

    # chain state -----------------------------------------------------------------------------------------

    def tail(self, instance: str, stream: Stream = Stream.MAIN) -> ChainTail | None:
        """The last durable record of ``instance`` in ``stream`` (from its segments, else from the anchor)."""
        self._require_open()
        found = self._logs[stream].tail(instance)
        if found is not None:
            return found
        return self._anchors[stream].get(instance)

    def last_sequence(self, instance: str) -> int | None:
        """The highest sequence of ``instance`` in either log (or their anchors); None for an unknown instance."""
        candidates = [t.sequence for s in Stream if (t := self.tail(instance, s)) is not None]
        return max(candidates) if candidates else None

    # reading ---------------------------------------------------------------------------------------------

    def segment_numbers(self, stream: Stream = Stream.MAIN) -> list[int]:
        """The numbers of the segments of ``stream``, oldest first."""
        lg = self._logs[stream]
        with lg.lock:
            return [s.number for s in lg.segments]

    def records(self, stream: Stream = Stream.MAIN, start: SpoolPosition | None = None) -> Iterator[SpooledRecord]:
        """Records of ``stream`` from ``start`` (a ``next_position`` from an earlier read; None: the oldest).

        Reads up to what was written when each segment is reached. A frame that fails its CRC or does not
        decode raises :class:`LineageError` naming its position; nothing is skipped silently.
        """
        self._require_open()
        lg = self._logs[stream]
        with lg.lock:
            snapshot = [(s.number, s.path, s.size) for s in lg.segments]
        for number, path, size in snapshot:
            if start is not None and number < start.segment:
                continue
            offset = SEGMENT_HEADER_SIZE
            if start is not None and number == start.segment:
                offset = max(start.offset, SEGMENT_HEADER_SIZE)
            try:
                with path.open("rb") as f:
                    data = f.read(size)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise LineageError(f"cannot read {path}: {exc}") from exc
            for item in iter_frames(data, offset, len(data)):
                if isinstance(item, FrameProblem):
                    raise LineageError(f"{path}: bad frame at offset {item.offset}: {item.reason}")
                at, payload = item
                try:
                    record, _ = decode_payload(payload)
                except LineageError as exc:
                    raise LineageError(f"{path}: undecodable record at offset {at}: {exc}") from exc
                nxt = SpoolPosition(number, at + FRAME_HEADER_SIZE + len(payload))
                yield SpooledRecord(stream, SpoolPosition(number, at), nxt, record)

    # acknowledgement and quota ---------------------------------------------------------------------------

    @property
    def usage_bytes(self) -> int:
        """Bytes in the segments of both logs."""
        return self._usage

    @property
    def quota_exceeded(self) -> bool:
        """The disk quota alarm: True while the segments take more than ``quota_bytes``."""
        return self._quota_exceeded

    def acknowledged(self, instance: str) -> int | None:
        """The highest acknowledged sequence of ``instance``, if any."""
        return self._acked.get(instance)

    def acknowledge(self, instance: str, sequence: int) -> int:
        """Governance holds every record of ``instance`` up to ``sequence``; delete what is now fully
        acknowledged (oldest first, sealed, undamaged segments). Returns the number of segments deleted.

        An acknowledgement past the instance's last record is clamped to it, one for an unknown instance is
        ignored; both are logged."""
        self._require_open()
        with self._ack_lock:
            highest = self.last_sequence(instance)
            if highest is None:
                log.warning("lineage acknowledgement for an unknown instance ignored", instance=instance)
                return 0
            if sequence > highest:
                log.warning(
                    "lineage acknowledgement past the last record clamped",
                    instance=instance,
                    sequence=sequence,
                    last_sequence=highest,
                )
                sequence = highest
            if sequence <= self._acked.get(instance, -1):
                return 0
            self._acked[instance] = sequence
            doomed: list[tuple[Stream, _Segment]] = []
            for stream, lg in self._logs.items():
                with lg.lock:
                    keep_from = 0
                    for segment in lg.segments[:-1]:
                        if segment.damaged or any(
                            seq > self._acked.get(inst, -1) for inst, (seq, _) in segment.index.items()
                        ):
                            break
                        keep_from += 1
                    doomed.extend((stream, s) for s in lg.segments[:keep_from])
                    del lg.segments[:keep_from]
            if not doomed:
                return 0
            for stream, segment in doomed:
                for inst, (seq, digest) in segment.index.items():
                    self._anchors[stream][inst] = ChainTail(seq, digest)
            try:
                self._write_anchor()
                for _, segment in doomed:
                    segment.path.unlink(missing_ok=True)
                if self.config.fsync is not FsyncPolicy.NEVER:
                    _fsync_dir(self.path)
            except OSError as exc:
                raise LineageError(f"cannot delete acknowledged segments in {self.path}: {exc}") from exc
            freed = sum(s.size for _, s in doomed)
            self._count(segments_deleted=len(doomed))
            self._grow(-freed)
            log.info(
                "lineage segments acknowledged and deleted",
                instance=instance,
                sequence=sequence,
                segments=len(doomed),
                bytes=freed,
            )
            return len(doomed)

    def _write_anchor(self) -> None:
        doc = {
            "format": 1,
            "acked": dict(sorted(self._acked.items())),
            "anchors": {
                stream.value: {inst: [t.sequence, t.hash.hex()] for inst, t in sorted(self._anchors[stream].items())}
                for stream in Stream
            },
        }
        tmp = self.path / (ANCHOR_FILE + ".tmp")
        data = json.dumps(doc, sort_keys=True, indent=1).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            if self.config.fsync is not FsyncPolicy.NEVER:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path / ANCHOR_FILE)

    def _load_anchor(self) -> None:
        acked, anchors = load_anchor(self.path)
        self._acked = acked
        self._anchors = anchors

    def _grow(self, delta: int) -> None:
        with self._lock:
            self._usage += delta
            if delta > 0:
                self.stats.bytes += delta
        self._check_quota()

    def _count(self, **counters: int) -> None:
        with self._lock:
            for name, value in counters.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    def _check_quota(self) -> None:
        quota = self.config.quota_bytes
        if quota is None:
            return
        with self._lock:
            over = self._usage > quota
            changed = over != self._quota_exceeded
            self._quota_exceeded = over
            if changed and over:
                self.stats.quota_alarms += 1
        if changed and over:
            log.warning(
                "lineage spool over its disk quota; nothing unacknowledged is deleted",
                path=str(self.path),
                usage_bytes=self._usage,
                quota_bytes=quota,
            )
        elif changed:
            log.info(
                "lineage spool back under its disk quota",
                path=str(self.path),
                usage_bytes=self._usage,
                quota_bytes=quota,
            )


def load_anchor(path: Path) -> tuple[dict[str, int], dict[Stream, dict[str, ChainTail]]]:
    """Read ``anchor.json`` of a spool directory: (acknowledged sequences, per-stream tails of deleted data)."""
    file = path / ANCHOR_FILE
    anchors: dict[Stream, dict[str, ChainTail]] = {stream: {} for stream in Stream}
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return {}, anchors
    except OSError as exc:
        raise LineageError(f"cannot read {file}: {exc}") from exc
    try:
        doc = json.loads(raw)
        acked = {str(k): int(v) for k, v in doc["acked"].items()}
        for stream in Stream:
            for inst, (seq, digest) in doc["anchors"].get(stream.value, {}).items():
                value = bytes.fromhex(digest)
                if len(value) != HASH_SIZE:
                    raise ValueError("anchor hash of the wrong size")
                anchors[stream][str(inst)] = ChainTail(int(seq), value)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LineageError(f"{file} is not a valid anchor file: {exc}") from exc
    return acked, anchors
