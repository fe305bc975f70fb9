"""The processor chain a decision record flows through, structlog style.

A processor is any callable that takes a :class:`~ricsdk.lineage.record.RecordEvent` (a plain dict) and returns
it, changed or not; the last one in a chain *sinks* the record. The recorder's chains are::

    Enricher -> digest -> [your processors] -> ChainHasher -> BatchSink        (writer, main log)
    Enricher -> digest -> [your processors] -> ChainHasher -> OverflowSink     (hot path, queue full)

- :class:`Enricher` sets ``instance``, the next ``sequence`` of that instance (one counter shared by both chains,
  so sequences have no gaps across the main and overflow logs) and, when absent, ``timestamp_ns`` and
  ``decision_id``.
- :func:`digest` sets ``input_digest`` from the feature row (unless the caller already gave one).
- Your processors run next: they may edit the record (:func:`drop_features` removes the feature row by policy,
  keeping its digest) but must not change ``instance`` or ``sequence``.
- :class:`ChainHasher` sets ``prev_hash`` from its per-instance state, encodes the record canonically, sets
  ``hash = sha256(body)`` and leaves ``payload = body || hash`` for the sink. Each log has its own hasher, so
  each log holds one hash chain per instance.
- A sink hands ``(instance, sequence, hash, payload)`` on: :class:`BatchSink` collects a batch for the spool,
  :class:`OverflowSink` writes straight to the spool's overflow log, :class:`CaptureSink` keeps the
  :class:`~ricsdk.lineage.record.DecisionRecord` objects (tests, ``capture_lineage()``).

:class:`ProcessorChain` runs any list of processors; tests build chains from these parts directly.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence

from ricsdk.lineage.encoding import encode_event, features_digest
from ricsdk.lineage.record import GENESIS_HASH, DecisionRecord, RecordEvent
from ricsdk.lineage.spool import Spool

__all__ = [
    "BatchSink",
    "CaptureSink",
    "ChainHasher",
    "Enricher",
    "OverflowSink",
    "Processor",
    "ProcessorChain",
    "SpoolItem",
    "digest",
    "drop_features",
]

Processor = Callable[[RecordEvent], RecordEvent]
SpoolItem = tuple[str, int, bytes, bytes]
"""``(instance, sequence, hash, payload)``: what a spool appends."""

_sha256 = hashlib.sha256


class Enricher:
    """enrich: ``instance``, the next ``sequence``, and ``timestamp_ns`` / ``decision_id`` when absent.

    ``next_sequence`` is where the instance's chain continues (0 for a new instance).
    """

    def __init__(self, instance: str, *, clock: Callable[[], int] = time.time_ns, next_sequence: int = 0) -> None:
        self.instance = instance
        self.clock = clock
        self.next_sequence = next_sequence

    def __call__(self, event: RecordEvent) -> RecordEvent:
        sequence = self.next_sequence
        self.next_sequence = sequence + 1
        event["instance"] = self.instance
        event["sequence"] = sequence
        if not event.get("timestamp_ns"):
            event["timestamp_ns"] = self.clock()
        if not event.get("decision_id"):
            event["decision_id"] = f"{self.instance}/{sequence}"
        return event

    def release(self, sequence: int) -> bool:
        """Give back ``sequence`` if it is the last one handed out (its record could not be written)."""
        if sequence == self.next_sequence - 1:
            self.next_sequence = sequence
            return True
        return False


def digest(event: RecordEvent) -> RecordEvent:
    """digest: ``input_digest`` = hex sha256 of the feature row (see :func:`features_digest`), if not given."""
    if not event.get("input_digest"):
        features = event.get("features")
        event["input_digest"] = "" if features is None else features_digest(features)
    return event


def drop_features(event: RecordEvent) -> RecordEvent:
    """Remove the feature row (its digest stays): for deployments whose policy forbids storing inputs."""
    event["features"] = None
    return event


class ChainHasher:
    """chain-hash: link the record to the previous one of its instance and hash it.

    ``tails`` maps an instance to the hash of its last record in this chain (absent: the genesis hash).
    """

    def __init__(self, tails: dict[str, bytes] | None = None) -> None:
        self.tails: dict[str, bytes] = dict(tails) if tails else {}

    def __call__(self, event: RecordEvent) -> RecordEvent:
        instance = event["instance"]
        event["prev_hash"] = self.tails.get(instance, GENESIS_HASH)
        body = encode_event(event)
        value = _sha256(body).digest()
        event["hash"] = value
        event["payload"] = body + value
        self.tails[instance] = value
        return event


class BatchSink:
    """sink: collect spool items until the writer takes the batch."""

    def __init__(self) -> None:
        self.items: list[SpoolItem] = []

    def __call__(self, event: RecordEvent) -> RecordEvent:
        self.items.append((event["instance"], event["sequence"], event["hash"], event["payload"]))
        return event

    def take(self) -> list[SpoolItem]:
        """The collected batch; the sink starts a new one."""
        items = self.items
        self.items = []
        return items


class OverflowSink:
    """sink: append the record to the spool's overflow log at once (raises :class:`LineageError` on failure)."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool

    def __call__(self, event: RecordEvent) -> RecordEvent:
        self.spool.append_overflow((event["instance"], event["sequence"], event["hash"], event["payload"]))
        return event


class CaptureSink:
    """sink: keep the finished records as :class:`DecisionRecord` objects, in order."""

    def __init__(self) -> None:
        self.records: list[DecisionRecord] = []

    def __call__(self, event: RecordEvent) -> RecordEvent:
        self.records.append(DecisionRecord.from_event(event))
        return event


class ProcessorChain:
    """Run processors in order; the result of each is the input of the next."""

    def __init__(self, processors: Iterable[Processor]) -> None:
        self.processors: tuple[Processor, ...] = tuple(processors)

    def __call__(self, event: RecordEvent) -> RecordEvent:
        for processor in self.processors:
            event = processor(event)
        return event

    def __add__(self, other: ProcessorChain | Sequence[Processor]) -> ProcessorChain:
        more = other.processors if isinstance(other, ProcessorChain) else tuple(other)
        return ProcessorChain(self.processors + more)
