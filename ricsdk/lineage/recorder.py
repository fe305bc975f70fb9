"""The lineage recorder: one call per decision on the hot path, a writer task behind it.

Theory of operation
-------------------
``record(...)`` is what the runtime calls for every decision. It takes the decision time from the injected
clock, builds the event dict, and appends it to a bounded ``deque``; that is all (a few microseconds, see
``benchmarks/bench_lineage.py``). It never blocks and never waits for the disk.

The writer (an asyncio task, started by ``start()``) takes events from the queue, runs the main processor
chain over them in chunks (yielding to the loop between chunks so a big batch does not stall indications),
and writes each batch to the spool's page cache on the loop (:meth:`Spool.write_batch`, microseconds). The
sync point the fsync policy asks for waits on the device in a dedicated thread that makes system calls only
(:func:`run_sync_job`), so fsyncs never block the loop; any more Python in a second thread would contend for
the GIL with the decisions each time they release it (measured: an 8-slice decision went from about 190 to
300 us with batches written through ``asyncio.to_thread``). It wakes when a record arrives, lingers
``linger_s`` to let a batch form, and, under the ``interval`` fsync policy, wakes at least once per interval
to run a due sync point. ``drain()`` does the same work synchronously (tests, and shutdown without a running
loop); ``aclose()`` stops the task after it has written everything queued.

When the queue is full, ``record`` runs the overflow chain itself: the record gets the next sequence number,
is hashed into the overflow log's chain and appended to the spool's overflow log at once (no fsync: the next
sync point covers it). The ``overflowed`` counter says how often; this path costs more than the queue (it
encodes, hashes and writes) but never waits for an fsync and never drops a record silently. Only when even the
overflow write fails is a record lost: it is counted in ``lost`` and logged at error level.

A record that cannot be encoded (a field of the wrong type or out of range) is ``rejected``: counted, logged
with its decision id, and its sequence number given back, so the chain has no gap. A user processor that
raises is counted in ``processor_errors`` and logged; the record goes on without its feature row (the
conservative reading of any redaction policy) and through the remaining processors.

``record`` and the writer must run on the same thread (the event loop's); only the spool's file I/O leaves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog

from ricsdk.errors import ConfigError, LineageError, LineageRecordError
from ricsdk.lineage.encoding import encode_event_with, features_digest, stage_parts
from ricsdk.lineage.processors import (
    BatchSink,
    ChainHasher,
    Enricher,
    OverflowSink,
    Processor,
    SpoolItem,
    digest,
)
from ricsdk.lineage.record import GENESIS_HASH, ModelRef, RcAction, RecordEvent
from ricsdk.lineage.spool import FsyncPolicy, Spool, Stream, SyncJob, run_sync_job
from ricsdk.lineage.stats import LineageStats

__all__ = ["LineageRecorder", "RecorderState"]

log = structlog.get_logger("ricsdk.lineage.recorder")
_sha256 = hashlib.sha256


class RecorderState(enum.Enum):
    NEW = "new"
    OPEN = "open"
    RUNNING = "running"
    CLOSED = "closed"


def _frozen(values: Sequence[float]) -> tuple[float, ...]:
    if type(values) is tuple:
        return values
    tolist = getattr(values, "tolist", None)
    return tuple(tolist()) if tolist is not None else tuple(values)


class LineageRecorder:
    """Records every decision of one xApp instance into a :class:`Spool`.

    ``clock`` gives the decision timestamp in ns (wall clock by default). ``queue_limit`` bounds the records
    waiting for the writer; ``batch_size`` bounds one spool append; ``processors`` run between the digest and
    the chain hash (see :mod:`ricsdk.lineage.processors`). Nothing happens in the constructor: ``open()``
    scans the spool and continues the instance's chains, ``start()`` starts the writer task.
    """

    def __init__(
        self,
        spool: Spool,
        *,
        instance: str,
        clock: Callable[[], int] = time.time_ns,
        queue_limit: int = 65536,
        batch_size: int = 1024,
        chunk_size: int = 64,
        linger_s: float = 0.005,
        retry_s: float = 1.0,
        processors: Sequence[Processor] = (),
    ) -> None:
        if not instance:
            raise ConfigError("instance must not be empty", field="instance")
        if queue_limit < 1 or batch_size < 1 or chunk_size < 1:
            raise ConfigError("queue_limit, batch_size and chunk_size must be positive")
        if linger_s < 0 or retry_s <= 0:
            raise ConfigError("linger_s must be >= 0 and retry_s > 0")
        self.spool = spool
        self.instance = instance
        self.stats: LineageStats = spool.stats
        self._clock = clock
        self._limit = queue_limit
        self._batch_size = batch_size
        self._chunk_size = chunk_size
        self._linger_s = linger_s
        self._retry_s = retry_s
        self._user: tuple[Processor, ...] = tuple(processors)
        self._queue: deque[RecordEvent] = deque()
        self._state = RecorderState.NEW
        self._enricher = Enricher(instance, clock=clock)
        self._main_hasher = ChainHasher()
        self._overflow_hasher = ChainHasher()
        self._batch = BatchSink()
        self._overflow_sink = OverflowSink(spool)
        self._pending: list[SpoolItem] | None = None
        self._idle = False
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._syncer: _SyncThread | None = None
        self._batch_at = 0.0

    # state -----------------------------------------------------------------------------------------------

    @property
    def state(self) -> RecorderState:
        return self._state

    @property
    def queue_depth(self) -> int:
        """Records waiting for the writer (a gauge)."""
        return len(self._queue)

    @property
    def next_sequence(self) -> int:
        """The sequence number the next record of this instance gets."""
        return self._enricher.next_sequence

    @property
    def healthy(self) -> bool:
        """False once the writer task died, or while the spool is over its quota."""
        if self._task is not None and self._task.done() and self._state is RecorderState.RUNNING:
            return False
        return not self.spool.quota_exceeded

    def open(self) -> None:
        """Open the spool (scan, torn-tail repair) and continue this instance's chains from what is durable."""
        if self._state is not RecorderState.NEW:
            return
        self.spool.open()
        last = self.spool.last_sequence(self.instance)
        self._enricher.next_sequence = 0 if last is None else last + 1
        for hasher, stream in ((self._main_hasher, Stream.MAIN), (self._overflow_hasher, Stream.OVERFLOW)):
            tail = self.spool.tail(self.instance, stream)
            hasher.tails[self.instance] = GENESIS_HASH if tail is None else tail.hash
        self._state = RecorderState.OPEN
        log.info("lineage recorder opened", instance=self.instance, next_sequence=self._enricher.next_sequence)

    # hot path --------------------------------------------------------------------------------------------

    def record(
        self,
        *,
        decision_id: str,
        e2_node: str,
        cell: str,
        slice_id: str,
        model: ModelRef,
        output: Sequence[float],
        action: RcAction | None,
        features: Sequence[float] | None = None,
        input_digest: str = "",
        policy_ids: Sequence[str] = (),
        stage_ns: Mapping[str, int] | None = None,
        cpu_ns: int = 0,
    ) -> None:
        """Record one decision. Never blocks; the arguments are copied (numpy rows included)."""
        event: RecordEvent = {
            "decision_id": decision_id,
            "timestamp_ns": self._clock(),
            "e2_node": e2_node,
            "cell": cell,
            "slice_id": slice_id,
            "model": model,
            "input_digest": input_digest,
            "features": None if features is None else _frozen(features),
            "output": _frozen(output),
            "action": action,
            "policy_ids": policy_ids if type(policy_ids) is tuple else tuple(policy_ids),
            "stage_ns": dict(stage_ns) if stage_ns else {},
            "cpu_ns": cpu_ns,
        }
        self.stats.recorded += 1
        queue = self._queue
        if len(queue) < self._limit:
            queue.append(event)
            if self._idle:
                self._idle = False
                if self._wake is not None:
                    self._wake.set()
        else:
            self._overflow(event)

    def record_many(
        self,
        *,
        e2_node: str,
        cell: str,
        slice_ids: Sequence[str],
        models: Sequence[ModelRef],
        outputs: Sequence[Sequence[float]],
        actions: Sequence[RcAction | None],
        features: Sequence[Sequence[float] | None] | None = None,
        policy_ids: Sequence[Sequence[str]] | None = None,
        decision_ids: Sequence[str] | None = None,
        stage_ns: Mapping[str, int] | None = None,
        cpu_ns: int = 0,
    ) -> None:
        """Record the decisions taken together for the slices of one cell: one record per slice, as many
        ``record`` calls would make, with one timestamp and one copy of the stage timings for all of them.

        The per-slice sequences are parallel to ``slice_ids``; ``decision_ids`` default to
        ``{e2_node}/{cell}/{slice_id}/{timestamp_ns}``. Never blocks.
        """
        n = len(slice_ids)
        for name, seq in (
            ("models", models),
            ("outputs", outputs),
            ("actions", actions),
            ("features", features),
            ("policy_ids", policy_ids),
            ("decision_ids", decision_ids),
        ):
            if seq is not None and len(seq) != n:
                raise LineageRecordError(f"{name}: {len(seq)} entries for {n} slices", field=name)
        ts = self._clock()
        stages = dict(stage_ns) if stage_ns else {}
        queue = self._queue
        room = self._limit - len(queue)
        for i, slice_id in enumerate(slice_ids):
            f = features[i] if features is not None else None
            p = policy_ids[i] if policy_ids is not None else ()
            event: RecordEvent = {
                "decision_id": decision_ids[i] if decision_ids is not None else f"{e2_node}/{cell}/{slice_id}/{ts}",
                "timestamp_ns": ts,
                "e2_node": e2_node,
                "cell": cell,
                "slice_id": slice_id,
                "model": models[i],
                "input_digest": "",
                "features": None if f is None else _frozen(f),
                "output": _frozen(outputs[i]),
                "action": actions[i],
                "policy_ids": p if type(p) is tuple else tuple(p),
                "stage_ns": stages,
                "cpu_ns": cpu_ns,
            }
            if i < room:
                queue.append(event)
            else:
                self._overflow(event)
        self.stats.recorded += n
        if n and self._idle:
            self._idle = False
            if self._wake is not None:
                self._wake.set()

    def _overflow(self, event: RecordEvent) -> None:
        if not self.spool.is_open:
            self.stats.lost += 1
            log.error("lineage record lost: queue full and spool not open", decision_id=event["decision_id"])
            return
        instance = self.instance
        before = self._overflow_hasher.tails.get(instance, GENESIS_HASH)
        processed = self._prepare(event, self._overflow_hasher)
        if processed is None:
            return
        try:
            self._overflow_sink(processed)
        except LineageError as exc:
            self._overflow_hasher.tails[instance] = before
            self._enricher.release(processed["sequence"])
            self.stats.lost += 1
            log.error(
                "lineage record lost: queue full and overflow write failed",
                decision_id=processed["decision_id"],
                error=str(exc),
            )
            return
        self.stats.overflowed += 1

    # processing ------------------------------------------------------------------------------------------

    def _prepare(self, event: RecordEvent, hasher: ChainHasher) -> RecordEvent | None:
        """Enrich, digest, user processors, chain hash; None when the record is rejected."""
        event = self._enricher(event)
        sequence = event["sequence"]
        try:
            event = digest(event)
        except (TypeError, ValueError, OverflowError, LineageError) as exc:
            self._reject(event, sequence, exc)
            return None
        if self._user and event.get("stage_ns"):
            event["stage_ns"] = dict(event["stage_ns"])  # record_many's records share one: a processor may edit
        for processor in self._user:
            try:
                event = processor(event)
            except Exception as exc:  # a user processor: count it, keep the record, err on the safe side
                self.stats.processor_errors += 1
                event["features"] = None
                log.error(
                    "lineage processor failed; record kept without its feature row",
                    processor=getattr(processor, "__name__", repr(processor)),
                    decision_id=event.get("decision_id"),
                    error=repr(exc),
                )
        try:
            return hasher(event)
        except LineageRecordError as exc:
            self._reject(event, sequence, exc)
            return None

    def _reject(self, event: RecordEvent, sequence: int, exc: Exception) -> None:
        self._enricher.release(sequence)
        self._rejected(event, exc)

    def _rejected(self, event: RecordEvent, exc: Exception) -> None:
        self.stats.rejected += 1
        log.error(
            "lineage record rejected: cannot be encoded",
            decision_id=event.get("decision_id"),
            slice_id=event.get("slice_id"),
            error=str(exc),
        )

    def _process_some(self, limit: int) -> int:
        if self._user:
            return self._process_chain(limit)
        # The default chain (Enricher -> digest -> ChainHasher -> BatchSink) fused into one loop: the same
        # records, sequences and hashes as _process_chain, without a call and a dict round trip per step.
        queue = self._queue
        instance = self.instance
        enricher = self._enricher
        clock = enricher.clock
        tails = self._main_hasher.tails
        items = self._batch.items
        prev = tails.get(instance, GENESIS_HASH)
        seq = enricher.next_sequence
        done = 0
        # The records of one decision (record_many) share their stage mapping, which only this recorder holds:
        # its canonical order and encoded names are worked out once for them.
        stages: object = None
        parts: tuple[list[int], list[str]] = ([], [])
        try:
            while queue and done < limit:
                event = queue.popleft()
                done += 1
                event["instance"] = instance
                event["sequence"] = seq
                if not event.get("timestamp_ns"):
                    event["timestamp_ns"] = clock()
                if not event.get("decision_id"):
                    event["decision_id"] = f"{instance}/{seq}"
                try:
                    if not event.get("input_digest"):
                        features = event.get("features")
                        event["input_digest"] = "" if features is None else features_digest(features)
                    event["prev_hash"] = prev
                    st = event.get("stage_ns")
                    if st is not stages:
                        parts = stage_parts(st)
                        stages = st
                    body = encode_event_with(event, *parts)
                except (TypeError, ValueError, OverflowError, LineageError) as exc:
                    self._rejected(event, exc)  # its sequence is not used: the next record takes it
                    continue
                value = _sha256(body).digest()
                items.append((instance, seq, value, body + value))
                prev = value
                seq += 1
        finally:
            enricher.next_sequence = seq
            tails[instance] = prev
        return done

    def _process_chain(self, limit: int) -> int:
        queue = self._queue
        done = 0
        hasher = self._main_hasher
        sink = self._batch
        while queue and done < limit:
            processed = self._prepare(queue.popleft(), hasher)
            if processed is not None:
                sink(processed)
            done += 1
        return done

    def _wrote(self, items: list[SpoolItem]) -> None:
        self.stats.records += len(items)
        self.stats.batches += 1

    def drain(self) -> int:
        """Synchronously write everything queued (and any batch left by a failed write); returns the records
        written. Not while the writer task runs (use ``aclose()``). Raises :class:`LineageError` when the
        spool write fails; the batch is kept and retried by the next ``drain()``."""
        if self._state is RecorderState.RUNNING:
            raise LineageError("drain() while the writer task runs; use aclose()")
        if self._state is not RecorderState.OPEN:
            raise LineageError(f"drain() on a {self._state.value} recorder")
        written = 0
        while True:
            if self._pending is None:
                if not self._queue:
                    break
                self._process_some(self._batch_size)
                self._pending = self._batch.take()
            items = self._pending
            if items:
                try:
                    self.spool.append_batch(items)
                except LineageError:
                    self.stats.write_errors += 1
                    raise
                self._wrote(items)
                written += len(items)
            self._pending = None
        return written

    # writer task -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open (if needed) and start the writer task. Idempotent."""
        if self._state is RecorderState.RUNNING:
            return
        if self._state is RecorderState.CLOSED:
            raise LineageError("recorder is closed")
        if self._state is RecorderState.NEW:
            await asyncio.to_thread(self.open)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"lineage-writer-{self.instance}")
        self._task.add_done_callback(self._task_done)
        self._state = RecorderState.RUNNING

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "lineage writer task died",
                instance=self.instance,
                error=repr(task.exception()),
                queued=len(self._queue),
            )

    async def _run(self) -> None:
        spool = self.spool
        interval = spool.config.fsync is FsyncPolicy.INTERVAL
        timeout = spool.config.fsync_interval_s if interval else None
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        self._batch_at = loop.time()
        while True:
            if self._pending is None and not self._queue:
                if self._stopping:
                    return
                self._idle = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                self._idle = False
                self._wake.clear()
                if interval and spool.sync_due():
                    await self._sync_point()
                if not self._queue:
                    continue
                self._batch_at = loop.time()  # a batch forms for linger_s from its first record
            if self._pending is None:
                # Batches (and so sync points) start at least linger_s apart, also under continuous load: each
                # sync point is a round trip to the sync thread, which costs the loop more than the fsync.
                if self._linger_s > 0 and len(self._queue) < self._batch_size and not self._stopping:
                    wait = self._batch_at + self._linger_s - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                self._batch_at = loop.time()
                done = 0
                while self._queue and done < self._batch_size:
                    done += self._process_some(min(self._chunk_size, self._batch_size - done))
                    await asyncio.sleep(0)
                self._pending = self._batch.take()
            items = self._pending
            if items:
                try:
                    spool.write_batch(items)
                except LineageError as exc:
                    self.stats.write_errors += 1
                    if self._stopping:
                        self.stats.lost += len(items) + len(self._queue)
                        log.error(
                            "lineage writer stopping after a failed write; records lost",
                            records=len(items) + len(self._queue),
                            error=str(exc),
                        )
                        self._pending = None
                        self._queue.clear()
                        return
                    log.error("lineage spool write failed; will retry", records=len(items), error=str(exc))
                    await asyncio.sleep(self._retry_s)
                    continue
                if spool.sync_due():
                    await self._sync_point()
                self._wrote(items)
            self._pending = None

    async def _sync_point(self) -> None:
        """Run a sync point: descriptors taken on the loop, the fsyncs on the sync thread, the rest back here."""
        spool = self.spool
        if self._syncer is None:
            self._syncer = _SyncThread(f"lineage-sync-{self.instance}")
        job = spool.sync_begin()
        error = await self._syncer.run(spool, job)
        try:
            spool.sync_end(job, error)
        except LineageError as exc:
            spool.sync_failed(exc)

    async def stop(self) -> None:
        """Write everything queued and stop the writer, leaving the spool open (for a reporter's last flush).

        ``record()`` after this keeps queueing; ``drain()`` or ``aclose()`` writes it.
        """
        if self._state is RecorderState.RUNNING and self._task is not None:
            self._stopping = True
            if self._wake is not None:
                self._wake.set()
            try:
                await self._task
            except Exception as exc:  # already logged by the done callback
                log.error("lineage writer ended with an error", error=repr(exc))
            self._state = RecorderState.OPEN
        if self._state is RecorderState.OPEN and (self._queue or self._pending):
            await asyncio.to_thread(self.drain)

    async def aclose(self) -> None:
        """Write everything queued, stop the writer, sync and close the spool. Idempotent."""
        if self._state is RecorderState.CLOSED:
            return
        if self._state is RecorderState.RUNNING and self._task is not None:
            self._stopping = True
            if self._wake is not None:
                self._wake.set()
            try:
                await self._task
            except Exception as exc:  # already logged by the done callback; close the spool regardless
                log.error("lineage writer ended with an error", error=repr(exc))
            self._state = RecorderState.OPEN
        if self._state is RecorderState.OPEN:
            if self._queue or self._pending:
                await asyncio.to_thread(self.drain)
            await asyncio.to_thread(self.spool.close)
        if self._syncer is not None:
            self._syncer.stop()
            self._syncer = None
        self._state = RecorderState.CLOSED

    def close(self) -> None:
        """Synchronous shutdown without a running writer: ``drain()`` then close the spool."""
        if self._state is RecorderState.RUNNING:
            raise LineageError("close() while the writer task runs; use aclose()")
        if self._state is RecorderState.OPEN:
            self.drain()
            self.spool.close()
        self._state = RecorderState.CLOSED

    def acknowledge(self, instance: str, sequence: int) -> int:
        """Forward a governance acknowledgement to the spool (file I/O: call it off the loop's hot path)."""
        return self.spool.acknowledge(instance, sequence)


class _SyncThread:
    """A thread that only waits on the device for sync points.

    ``asyncio.to_thread`` would run the executor's Python machinery and the spool's bookkeeping in the worker,
    which then contends for the GIL with the decisions on the loop each time they release it (an ONNX run, a
    poll). This thread runs :func:`run_sync_job` (system calls) and hands the result back in one call.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    async def run(self, spool: Spool, job: SyncJob) -> OSError | None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[OSError | None] = loop.create_future()
        self._jobs.put((loop, fut, spool, job))
        return await fut

    def stop(self) -> None:
        self._jobs.put(None)

    def _main(self) -> None:
        while (item := self._jobs.get()) is not None:
            loop, fut, spool, job = item
            error = run_sync_job(job)
            try:
                loop.call_soon_threadsafe(_sync_done, fut, spool, job, error)
            except RuntimeError:  # the loop is closed: nobody waits for the result; release the descriptors
                _sync_done(fut, spool, job, error)


def _sync_done(fut: asyncio.Future[OSError | None], spool: Spool, job: SyncJob, error: OSError | None) -> None:
    if not fut.done():
        fut.set_result(error)
        return
    # The writer was cancelled while the device was busy: finish the sync point here so nothing leaks.
    try:
        spool.sync_end(job, error)
    except LineageError as exc:
        spool.sync_failed(exc)
