"""The lineage reporter: ships spooled records to the governance rApp and deletes only what it acknowledged.

Theory of operation
-------------------
The reporter reads a :class:`~ricsdk.lineage.spool.Spool` (the one the recorder writes, shared in the same
process, or a spool of its own) with one :class:`SpoolCursor` per log (main and overflow). A cursor is a
position (segment, offset) and reads frames straight from the segment files, a bounded chunk at a time, so
memory stays bounded by ``batch_bytes x batches_per_call`` plus one read chunk whatever the spool holds. It
skips records at or below the spool's acknowledged sequence of their instance. It never decodes a record: it
ships the canonical payload, exactly the bytes of the frame, and governance re-hashes and decodes it.

One *round* (:meth:`LineageReporter.run_once`) reads up to ``batches_per_call`` batches (each up to
``batch_records`` records and ``batch_bytes`` bytes, from one log), sends them in one client-streamed
``LineageService.Ingest`` call and receives, per instance, the highest contiguous sequence governance holds.
Only then do the cursors move past what was sent, and :meth:`Spool.acknowledge` is called with those sequences
(in a worker thread: it writes ``anchor.json`` and unlinks segments). A failed call moves nothing: the same
records are sent again, and governance's idempotence by (instance, sequence) makes that harmless.

The task started by :meth:`LineageReporter.start` runs rounds back to back while there is something to send,
polls every ``poll_s`` when caught up, and after a failure waits with exponential backoff
(``backoff_initial_s`` doubling up to ``backoff_max_s``, less up to ``jitter`` of it at random); each retry is
counted (``stats.retries``) and logged. At start it asks governance for its watermarks, so records that were
stored before a crash are acknowledged locally without being sent again.

Disk quota: the spool raises its alarm when its segments exceed ``quota_bytes``. The reporter reflects it in
:attr:`LineageReporter.degraded` (which the runtime's readiness reads), counts and logs each crossing, and
keeps shipping; nothing unacknowledged is ever deleted, so the spool grows past its quota rather than lose a
record. ``degraded`` is also set while shipping has failed for longer than ``degraded_after_s``.

Damage: a frame that fails its CRC in a sealed segment cannot be shipped. The reporter counts it
(``stats.unreadable_frames``), logs it at error level with its position, and resumes at the next valid frame;
governance then reports the gap, and the records after it are never acknowledged, so the spool keeps them until
an operator acts (``ricsdk lineage verify`` names the record).

Time is injected: ``clock`` (monotonic seconds) for ages and ``sleep`` for waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import importlib
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import structlog

from ricsdk.errors import ConfigError, LineageError
from ricsdk.lineage.encoding import peek_identity
from ricsdk.lineage.spool import (
    FRAME_HEADER_SIZE,
    MAX_FRAME_PAYLOAD,
    SEGMENT_HEADER_SIZE,
    Spool,
    SpoolPosition,
    Stream,
    read_frame,
)

__all__ = [
    "ClientTls",
    "GrpcLineageClient",
    "IngestResult",
    "LineageClient",
    "LineageReporter",
    "OutgoingBatch",
    "ReporterError",
    "ReporterState",
    "ReporterStats",
    "RoundResult",
    "SpoolCursor",
]

log = structlog.get_logger("ricsdk.lineage.reporter")


class ReporterError(LineageError):
    """Shipping failed: ``code`` is the gRPC status name (``UNAVAILABLE``, ``UNAUTHENTICATED`` ...)."""

    def __init__(self, message: str, *, code: str = "") -> None:
        self.code = code
        super().__init__(f"{code}: {message}" if code else message)


@dataclass(frozen=True, slots=True)
class OutgoingBatch:
    """Canonical payloads of one spool log, in log order."""

    stream: Stream
    payloads: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Governance's answer: per instance, the highest contiguous and the highest stored sequence (-1: none)."""

    contiguous: Mapping[str, int]
    highest: Mapping[str, int]
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    integrity_events: int = 0


class LineageClient(Protocol):
    """Where the reporter sends batches (a gRPC client in production, anything with these methods in tests)."""

    async def ingest(self, batches: Sequence[OutgoingBatch]) -> IngestResult: ...

    async def watermarks(self, instances: Sequence[str]) -> IngestResult: ...


@dataclass(frozen=True, slots=True)
class ClientTls:
    """TLS towards governance: trusted roots (PEM; None: the system's) and an optional client certificate."""

    root_certificates: bytes | None = None
    certificate_chain: bytes | None = None
    private_key: bytes | None = None
    server_name: str | None = None


_STREAM_TO_PB = {Stream.MAIN: 1, Stream.OVERFLOW: 2}


def _proto() -> tuple[Any, Any]:
    """The generated lineage modules, imported by name: generated code is not type-checked (ricsdk._proto)."""
    try:
        return (
            importlib.import_module("ricsdk._proto.lineage.v1.lineage_pb2"),
            importlib.import_module("ricsdk._proto.lineage.v1.lineage_pb2_grpc"),
        )
    except ImportError as exc:
        raise LineageError(
            "the generated lineage protobuf modules are missing: reinstall ricsdk or run python -m ricsdk._proto.build"
        ) from exc


class GrpcLineageClient:
    """A :class:`LineageClient` over gRPC (``LineageService``). The channel opens on first use, not here.

    ``token`` is sent as ``authorization: Bearer <token>``; ``tls`` None means a plaintext channel.
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        tls: ClientTls | None = None,
        timeout_s: float = 30.0,
        max_message_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        if not target:
            raise ConfigError("governance target must not be empty", field="target")
        self.target = target
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        self._tls = tls
        self._timeout_s = timeout_s
        self._max_message_bytes = max_message_bytes
        self._channel: Any = None
        self._stub: Any = None

    def _open(self) -> Any:
        if self._stub is not None:
            return self._stub
        import grpc

        _, lineage_pb2_grpc = _proto()
        options: list[tuple[str, int | str]] = [
            ("grpc.max_send_message_length", self._max_message_bytes),
            ("grpc.max_receive_message_length", self._max_message_bytes),
        ]
        if self._tls is None:
            self._channel = grpc.aio.insecure_channel(self.target, options=options)
        else:
            tls = self._tls
            credentials = grpc.ssl_channel_credentials(tls.root_certificates, tls.private_key, tls.certificate_chain)
            if tls.server_name:
                options.append(("grpc.ssl_target_name_override", tls.server_name))
            self._channel = grpc.aio.secure_channel(self.target, credentials, options=options)
        self._stub = lineage_pb2_grpc.LineageServiceStub(self._channel)
        return self._stub

    @staticmethod
    def _result(ack: Any) -> IngestResult:
        return IngestResult(
            contiguous={item.instance: int(item.contiguous) for item in ack.instances},
            highest={item.instance: int(item.highest) for item in ack.instances},
            received=int(ack.received),
            stored=int(ack.stored),
            duplicates=int(ack.duplicates),
            integrity_events=int(ack.integrity_events),
        )

    async def ingest(self, batches: Sequence[OutgoingBatch]) -> IngestResult:
        import grpc

        lineage_pb2, _ = _proto()
        stub = self._open()
        source = f"{os.uname().nodename}:{os.getpid()}"
        messages = [
            lineage_pb2.RecordBatch(
                stream=_STREAM_TO_PB[b.stream],
                payloads=list(b.payloads),
                source=source,
            )
            for b in batches
        ]
        try:
            ack = await stub.Ingest(iter(messages), metadata=self._metadata, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as exc:
            raise ReporterError(exc.details() or "ingest failed", code=exc.code().name) from exc
        return self._result(ack)

    async def watermarks(self, instances: Sequence[str]) -> IngestResult:
        import grpc

        lineage_pb2, _ = _proto()
        stub = self._open()
        try:
            ack = await stub.Watermarks(
                lineage_pb2.WatermarksRequest(instances=list(instances)),
                metadata=self._metadata,
                timeout=self._timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            raise ReporterError(exc.details() or "watermarks failed", code=exc.code().name) from exc
        return self._result(ack)

    async def aclose(self) -> None:
        """Close the channel (if it was opened). Idempotent."""
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close()


class SpoolCursor:
    """Reads one log of a spool from a position, frame by frame, in bounded chunks, without decoding records.

    ``read(max_records, max_bytes)`` returns ``(items, next_position)`` where items are ``(instance, sequence,
    payload)``; nothing moves until :meth:`advance` is given that position. Incomplete frames at the end of the
    active segment are left for the next read (the writer may be mid-write); damaged frames elsewhere are
    skipped to the next valid frame, counted in ``unreadable`` and logged.
    """

    def __init__(self, spool: Spool, stream: Stream, *, chunk_bytes: int = 1 << 20) -> None:
        self.spool = spool
        self.stream = stream
        self.position = SpoolPosition(0, SEGMENT_HEADER_SIZE)
        self.unreadable = 0
        self._chunk = max(chunk_bytes, FRAME_HEADER_SIZE + 64)

    def _path(self, number: int) -> Path:
        return self.spool.path / f"{self.stream.value}-{number:012d}.seg"

    def advance(self, position: SpoolPosition) -> None:
        if position > self.position:
            self.position = position

    def read(self, max_records: int, max_bytes: int) -> tuple[list[tuple[str, int, bytes]], SpoolPosition]:
        numbers = self.spool.segment_numbers(self.stream)
        position = self.position
        items: list[tuple[str, int, bytes]] = []
        size = 0
        for index, number in enumerate(numbers):
            if number < position.segment:
                continue
            if number > position.segment:
                position = SpoolPosition(number, SEGMENT_HEADER_SIZE)
            active = index == len(numbers) - 1
            position, finished = self._read_segment(position, active, items, max_records, max_bytes - size)
            size = sum(len(p) for _, _, p in items)
            if not finished or len(items) >= max_records or size >= max_bytes:
                break
        return items, position

    def _read_segment(
        self,
        position: SpoolPosition,
        active: bool,
        items: list[tuple[str, int, bytes]],
        max_records: int,
        budget: int,
    ) -> tuple[SpoolPosition, bool]:
        """Append frames of one segment; returns (position after the last frame taken, segment exhausted)."""
        segment = position.segment
        path = self._path(segment)
        offset = position.offset
        used = 0
        try:
            with path.open("rb") as f:
                f.seek(offset)
                buf = f.read(self._chunk)
                base = offset
                while len(items) < max_records and used < budget:
                    at = offset - base
                    if at >= len(buf):
                        f.seek(offset)
                        buf, base, at = f.read(self._chunk), offset, 0
                        if not buf:
                            return SpoolPosition(segment, offset), True
                    frame = read_frame(buf, at, len(buf))
                    if isinstance(frame, str):
                        need = self._frame_length(buf, at)
                        avail = len(buf) - at
                        if (need is None and avail < FRAME_HEADER_SIZE) or (need is not None and need > avail):
                            f.seek(offset)
                            buf, base = f.read(max(self._chunk, need or 0)), offset
                            if len(buf) > avail:
                                continue
                            if active:
                                return SpoolPosition(segment, offset), False  # the writer is mid-write
                        self._damaged(segment, offset, frame)
                        resumed = self._resync(f, offset + 1)
                        if resumed is None:
                            return SpoolPosition(segment, f.seek(0, os.SEEK_END)), True
                        offset = resumed
                        f.seek(offset)
                        buf, base = f.read(self._chunk), offset
                        continue
                    payload, stop = frame
                    offset = base + stop
                    try:
                        instance, sequence = peek_identity(payload)
                    except LineageError as exc:
                        self._damaged(segment, offset - len(payload) - FRAME_HEADER_SIZE, str(exc))
                        continue
                    acked = self.spool.acknowledged(instance)
                    if acked is None or sequence > acked:
                        items.append((instance, sequence, payload))
                        used += len(payload)
        except FileNotFoundError:
            return SpoolPosition(segment + 1, SEGMENT_HEADER_SIZE), True
        except OSError as exc:
            raise LineageError(f"cannot read {path}: {exc}") from exc
        return SpoolPosition(segment, offset), False

    @staticmethod
    def _frame_length(data: bytes, at: int) -> int | None:
        """The whole frame's length if its header is readable and plausible, else None."""
        if len(data) - at < FRAME_HEADER_SIZE:
            return None
        length = int.from_bytes(data[at : at + 4], "little")
        if length > MAX_FRAME_PAYLOAD:
            return None
        return FRAME_HEADER_SIZE + length

    def _resync(self, f: Any, start: int) -> int | None:
        """The offset of the next valid frame at or after ``start`` (None: none in this segment)."""
        f.seek(start)
        data = f.read()
        at = 0
        while at + FRAME_HEADER_SIZE < len(data):
            frame = read_frame(data, at, len(data))
            if not isinstance(frame, str):
                try:
                    peek_identity(frame[0])
                    return start + at
                except LineageError:
                    pass
            at += 1
        return None

    def _damaged(self, segment: int, offset: int, reason: str) -> None:
        self.unreadable += 1
        log.error(
            "lineage frame unreadable; skipped, governance will report the gap",
            spool=str(self.spool.path),
            stream=self.stream.value,
            segment=segment,
            offset=offset,
            problem=reason,
        )


class ReporterState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(slots=True)
class ReporterStats:
    """Monotonic counters of the reporter."""

    rounds: int = 0
    calls: int = 0
    batches_sent: int = 0
    records_sent: int = 0
    bytes_sent: int = 0
    duplicates: int = 0
    integrity_events: int = 0
    acknowledgements: int = 0
    segments_deleted: int = 0
    retries: int = 0
    failures: int = 0
    auth_failures: int = 0
    unreadable_frames: int = 0
    quota_alarms: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RoundResult:
    """What one round did: records sent, and the acknowledgements applied (instance -> sequence)."""

    sent: int
    acknowledged: Mapping[str, int] = field(default_factory=dict)
    more: bool = False


class LineageReporter:
    """Ships a spool's records to governance (see the module docstring).

    ``client`` is any :class:`LineageClient`; the reporter does not close it. Nothing happens in the
    constructor: ``start()`` opens the spool if needed and starts the task, ``aclose()`` stops it.
    """

    def __init__(
        self,
        spool: Spool,
        client: LineageClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        batch_records: int = 1024,
        batch_bytes: int = 1 << 20,
        batches_per_call: int = 8,
        poll_s: float = 0.2,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 30.0,
        jitter: float = 0.2,
        degraded_after_s: float = 60.0,
        chunk_bytes: int = 1 << 20,
    ) -> None:
        if batch_records < 1 or batch_bytes < 1 or batches_per_call < 1:
            raise ConfigError("batch_records, batch_bytes and batches_per_call must be positive")
        if not (0 < backoff_initial_s <= backoff_max_s) or poll_s <= 0 or not 0 <= jitter < 1:
            raise ConfigError("need 0 < backoff_initial_s <= backoff_max_s, poll_s > 0 and 0 <= jitter < 1")
        self.spool = spool
        self.client = client
        self.stats = ReporterStats()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._batch_records = batch_records
        self._batch_bytes = batch_bytes
        self._batches_per_call = batches_per_call
        self._poll_s = poll_s
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._jitter = jitter
        self._degraded_after_s = degraded_after_s
        self._cursors = {stream: SpoolCursor(spool, stream, chunk_bytes=chunk_bytes) for stream in Stream}
        self._state = ReporterState.NEW
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._failing_since: float | None = None
        self._consecutive_failures = 0
        self._quota_alarm = False
        self._last_error = ""
        self._last_ack: dict[str, int] = {}
        self._synced = False

    # state -----------------------------------------------------------------------------------------------

    @property
    def state(self) -> ReporterState:
        return self._state

    @property
    def degraded(self) -> bool:
        """True while the spool is over its quota or shipping has failed for longer than ``degraded_after_s``."""
        return bool(self.degraded_reasons)

    @property
    def degraded_reasons(self) -> tuple[str, ...]:
        reasons = []
        if self.spool.quota_exceeded:
            reasons.append("spool over its disk quota")
        if self._failing_since is not None and self._clock() - self._failing_since >= self._degraded_after_s:
            reasons.append(f"governance unreachable: {self._last_error}")
        if self._task is not None and self._task.done() and self._state is ReporterState.RUNNING:
            reasons.append("reporter task ended")
        return tuple(reasons)

    @property
    def acknowledged(self) -> Mapping[str, int]:
        """The highest sequence governance acknowledged per instance, as last applied."""
        return dict(self._last_ack)

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    # one round -------------------------------------------------------------------------------------------

    def _collect(self) -> tuple[list[OutgoingBatch], dict[Stream, SpoolPosition], bool]:
        batches: list[OutgoingBatch] = []
        ends: dict[Stream, SpoolPosition] = {}
        more = False
        for stream in (Stream.OVERFLOW, Stream.MAIN):
            cursor = self._cursors[stream]
            saved = cursor.position
            before = cursor.unreadable
            try:
                while len(batches) < self._batches_per_call:
                    items, end = cursor.read(self._batch_records, self._batch_bytes)
                    if end == cursor.position:
                        break
                    ends[stream] = end
                    cursor.position = end
                    if items:
                        batches.append(OutgoingBatch(stream, tuple(p for _, _, p in items)))
                if len(batches) >= self._batches_per_call:
                    more = True
            finally:
                cursor.position = saved
                self.stats.unreadable_frames += cursor.unreadable - before
        return batches, ends, more

    async def run_once(self) -> RoundResult:
        """Send what the spool holds (up to ``batches_per_call`` batches) and apply the acknowledgement.

        Raises :class:`ReporterError` when the call fails; nothing moves then."""
        self._check_quota()
        batches, ends, more = await asyncio.to_thread(self._collect)
        self.stats.rounds += 1
        if not batches:
            for stream, end in ends.items():
                self._cursors[stream].advance(end)
            return RoundResult(0)
        sent = sum(len(b.payloads) for b in batches)
        self.stats.calls += 1
        result = await self.client.ingest(batches)
        self.stats.batches_sent += len(batches)
        self.stats.records_sent += sent
        self.stats.bytes_sent += sum(len(p) for b in batches for p in b.payloads)
        self.stats.duplicates += result.duplicates
        self.stats.integrity_events += result.integrity_events
        if result.integrity_events:
            log.error(
                "governance stored integrity events for records we sent",
                events=result.integrity_events,
                spool=str(self.spool.path),
            )
        for stream, end in ends.items():
            self._cursors[stream].advance(end)
        applied = await self._apply(result.contiguous)
        return RoundResult(sent, applied, more)

    async def _apply(self, contiguous: Mapping[str, int]) -> dict[str, int]:
        applied: dict[str, int] = {}
        for instance, sequence in contiguous.items():
            if sequence < 0:
                continue
            known = self.spool.last_sequence(instance)
            if known is None:
                continue
            sequence = min(sequence, known)
            if sequence <= _acked(self.spool, instance):
                continue
            deleted = await asyncio.to_thread(self.spool.acknowledge, instance, sequence)
            self.stats.acknowledgements += 1
            self.stats.segments_deleted += deleted
            self._last_ack[instance] = sequence
            applied[instance] = sequence
        self._check_quota()
        return applied

    def _check_quota(self) -> None:
        over = self.spool.quota_exceeded
        if over and not self._quota_alarm:
            self.stats.quota_alarms += 1
            log.warning(
                "lineage reporter degraded: spool over its disk quota; shipping on, nothing is evicted",
                spool=str(self.spool.path),
                usage_bytes=self.spool.usage_bytes,
                quota_bytes=self.spool.config.quota_bytes,
            )
        elif self._quota_alarm and not over:
            log.info("lineage reporter: spool back under its quota", spool=str(self.spool.path))
        self._quota_alarm = over

    async def sync_watermarks(self) -> dict[str, int]:
        """Ask governance what it already holds for the spool's instances and acknowledge that locally."""
        instances = sorted(self._instances())
        result = await self.client.watermarks(instances)
        self._synced = True
        return await self._apply({k: v for k, v in result.contiguous.items() if k in instances})

    def _instances(self) -> set[str]:
        found: set[str] = set()
        for stream in Stream:
            for number in self.spool.segment_numbers(stream):
                found.update(_instances_in(self.spool.path / f"{stream.value}-{number:012d}.seg"))
        return found

    # task ------------------------------------------------------------------------------------------------

    def backoff_delay(self, failures: int) -> float:
        """The wait after ``failures`` consecutive failures (>= 1)."""
        base = min(self._backoff_max_s, self._backoff_initial_s * 2.0 ** min(failures - 1, 62))
        return float(base * (1.0 - self._jitter * self._rng()))

    async def start(self) -> None:
        """Open the spool if needed and start shipping. Idempotent."""
        if self._state is ReporterState.RUNNING:
            return
        if self._state is ReporterState.CLOSED:
            raise LineageError("reporter is closed")
        if not self.spool.is_open:
            await asyncio.to_thread(self.spool.open)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"lineage-reporter-{self.spool.path.name}")
        self._state = ReporterState.RUNNING
        log.info("lineage reporter started", spool=str(self.spool.path))

    async def _run(self) -> None:
        while not self._stopping:
            try:
                if not self._synced:
                    await self.sync_watermarks()
                result = await self.run_once()
            except (ReporterError, LineageError) as exc:
                self._failed(exc)
                await self._sleep(self.backoff_delay(self._consecutive_failures))
                continue
            if self._consecutive_failures:
                log.info(
                    "lineage reporter recovered",
                    after_failures=self._consecutive_failures,
                    spool=str(self.spool.path),
                )
            self._consecutive_failures = 0
            self._failing_since = None
            if not result.more and result.sent == 0:
                await self._sleep(self._poll_s)

    def _failed(self, exc: LineageError) -> None:
        self._consecutive_failures += 1
        self.stats.failures += 1
        self.stats.retries += 1
        self._last_error = str(exc)
        if self._failing_since is None:
            self._failing_since = self._clock()
        delay = self.backoff_delay(self._consecutive_failures)
        code = exc.code if isinstance(exc, ReporterError) else ""
        refused = code in ("UNAUTHENTICATED", "PERMISSION_DENIED")
        if refused:
            self.stats.auth_failures += 1
        logger = log.error if refused else log.warning
        logger(
            "lineage shipping failed; retrying with backoff",
            error=str(exc),
            code=code,
            failures=self._consecutive_failures,
            retry_in_s=round(delay, 3),
            spool=str(self.spool.path),
        )

    async def flush(self, timeout_s: float) -> bool:
        """Wait until every record the spool holds now is acknowledged (polling); False on timeout."""
        deadline = self._clock() + timeout_s
        targets = {
            inst: seq
            for inst in await asyncio.to_thread(self._instances)
            if (seq := self.spool.last_sequence(inst)) is not None
        }
        while self._clock() < deadline:
            if all(_acked(self.spool, inst) >= seq for inst, seq in targets.items()):
                return True
            await self._sleep(min(self._poll_s, 0.05))
        return False

    async def aclose(self) -> None:
        """Stop shipping (a call in progress is cancelled; its records are sent again next time). Idempotent."""
        if self._state is ReporterState.CLOSED:
            return
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._state = ReporterState.CLOSED
        log.info("lineage reporter stopped", spool=str(self.spool.path), **self.stats.as_dict())


def _acked(spool: Spool, instance: str) -> int:
    """The spool's acknowledged sequence of ``instance``, -1 when none."""
    acked = spool.acknowledged(instance)
    return -1 if acked is None else acked


def _instances_in(path: Path) -> Iterator[str]:
    """Instances named by the records of a segment file, read one frame at a time (stops at damage)."""
    seen: set[str] = set()
    try:
        with path.open("rb") as f:
            f.seek(SEGMENT_HEADER_SIZE)
            while True:
                header = f.read(FRAME_HEADER_SIZE)
                if len(header) < FRAME_HEADER_SIZE:
                    return
                length = int.from_bytes(header[:4], "little")
                if length > MAX_FRAME_PAYLOAD:
                    return
                frame = read_frame(header + f.read(length), 0, FRAME_HEADER_SIZE + length)
                if isinstance(frame, str):
                    return
                try:
                    instance, _ = peek_identity(frame[0])
                except LineageError:
                    continue
                if instance not in seen:
                    seen.add(instance)
                    yield instance
    except OSError:
        return
