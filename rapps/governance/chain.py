"""Chain verification at ingest (sans-I/O): classify each incoming record before anything is stored.

Theory of operation
-------------------
Every xApp instance numbers its records 0, 1, 2 ... with one counter and keeps one hash chain per spool log
(main and overflow): each record's ``prev_hash`` is the hash of the previous record *of the same log*. The
verifier keeps, per instance, the set of stored sequences (as disjoint intervals, so a long run costs one
entry) and, per log, the chain tail (last sequence and hash). For each payload of a batch, in order:

1. ``bad_record``: the payload is not a canonical record. ``bad_hash``: sha256(body) is not the stored hash.
   Neither is stored as a decision; both are stored as integrity events with the payload.
2. The sequence is already stored (or earlier in the batch): same hash, a *duplicate* (counted, nothing
   changes: ingest is idempotent); another hash, a ``fork`` (an integrity event with the payload; the first
   record stays the decision).
3. A new sequence above the log's tail must link to it (``prev_hash`` = the tail's hash; the genesis hash when
   the log has no tail). If not: ``gap`` when sequences between the tail and this record are missing, else
   ``broken_link``. A new sequence below the log's tail is a ``reorder``. In all three cases the record itself
   is intact (its hash matches), so it is stored as a decision *and* the event is stored.

:meth:`ChainVerifier.plan` computes all of this against the committed state plus the batch itself and
changes nothing; the caller stores the plan in one transaction and then calls :meth:`ChainVerifier.commit`,
so a failed transaction leaves the verifier as it was. The acknowledgement per instance is the highest
*contiguous* sequence: every record 0..S stored.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rapps.governance.rows import PayloadError, Row, extract_row, payload_hash_ok
from ricsdk.lineage import GENESIS_HASH

__all__ = [
    "BatchPlan",
    "ChainSnapshot",
    "ChainVerifier",
    "IntegrityEvent",
    "IntegrityKind",
    "IntervalSet",
    "STREAM_CODES",
]

STREAM_CODES = {"main": 1, "overflow": 2}
STREAM_NAMES = {code: name for name, code in STREAM_CODES.items()}


class IntegrityKind(enum.Enum):
    BAD_RECORD = "bad_record"
    BAD_HASH = "bad_hash"
    FORK = "fork"
    GAP = "gap"
    BROKEN_LINK = "broken_link"
    REORDER = "reorder"


@dataclass(frozen=True, slots=True)
class IntegrityEvent:
    """Something wrong with a record as it arrived; ``payload`` is kept when the record was not stored."""

    kind: IntegrityKind
    instance: str
    sequence: int
    stream: int
    detail: str
    hash: bytes | None = None
    payload: bytes | None = None


class IntervalSet:
    """A set of non-negative integers kept as sorted, disjoint, non-adjacent inclusive intervals."""

    __slots__ = ("_lo", "_hi")

    def __init__(self, intervals: Iterable[tuple[int, int]] = ()) -> None:
        self._lo: list[int] = []
        self._hi: list[int] = []
        for lo, hi in sorted(intervals):
            self.add_range(lo, hi)

    def __contains__(self, value: int) -> bool:
        i = bisect.bisect_right(self._lo, value) - 1
        return i >= 0 and value <= self._hi[i]

    def __len__(self) -> int:
        return sum(h - lo + 1 for lo, h in zip(self._lo, self._hi))

    def intervals(self) -> list[tuple[int, int]]:
        return list(zip(self._lo, self._hi))

    def add(self, value: int) -> None:
        self.add_range(value, value)

    def add_range(self, lo: int, hi: int) -> None:
        i = bisect.bisect_left(self._hi, lo - 1)
        j = bisect.bisect_right(self._lo, hi + 1)
        if i < j:
            lo = min(lo, self._lo[i])
            hi = max(hi, self._hi[j - 1])
        self._lo[i:j] = [lo]
        self._hi[i:j] = [hi]

    def contiguous(self) -> int:
        """The highest S with 0..S all present; -1 when 0 is absent."""
        return self._hi[0] if self._lo and self._lo[0] == 0 else -1

    def highest(self) -> int:
        return self._hi[-1] if self._hi else -1

    def missing(self, lo: int, hi: int, extra: Iterable[int] = ()) -> list[tuple[int, int]]:
        """Ranges of ``lo..hi`` (inclusive) in neither the set nor ``extra``."""
        if hi < lo:
            return []
        cover = IntervalSet((max(a, lo), min(b, hi)) for a, b in zip(self._lo, self._hi) if b >= lo and a <= hi)
        for value in extra:
            if lo <= value <= hi:
                cover.add(value)
        out: list[tuple[int, int]] = []
        value = lo
        for a, b in cover.intervals():
            if a > value:
                out.append((value, a - 1))
            value = b + 1
        if value <= hi:
            out.append((value, hi))
        return out


@dataclass(slots=True)
class _Chain:
    stored: IntervalSet = field(default_factory=IntervalSet)
    tails: dict[int, tuple[int, bytes]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChainSnapshot:
    """One instance's committed state, as the store loads it at start."""

    instance: str
    intervals: Sequence[tuple[int, int]]
    tails: dict[int, tuple[int, bytes]]


@dataclass(slots=True)
class BatchPlan:
    """What to store for one batch: decision rows, integrity events, new chain tails, and counters."""

    stream: int
    source: str
    rows: list[Row] = field(default_factory=list)
    events: list[IntegrityEvent] = field(default_factory=list)
    tails: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    duplicates: int = 0
    received: int = 0
    instances: set[str] = field(default_factory=set)


class ChainVerifier:
    """Per-instance chain state and the classification of incoming batches (see the module docstring)."""

    def __init__(self) -> None:
        self._chains: dict[str, _Chain] = {}

    def load(self, snapshots: Iterable[ChainSnapshot]) -> None:
        for snap in snapshots:
            self._chains[snap.instance] = _Chain(IntervalSet(snap.intervals), dict(snap.tails))

    def instances(self) -> list[str]:
        return sorted(self._chains)

    def watermark(self, instance: str) -> tuple[int, int]:
        """(contiguous, highest) stored sequence of ``instance``; (-1, -1) when unknown."""
        chain = self._chains.get(instance)
        if chain is None:
            return -1, -1
        return chain.stored.contiguous(), chain.stored.highest()

    def tails(self, instance: str) -> dict[int, tuple[int, bytes]]:
        chain = self._chains.get(instance)
        return dict(chain.tails) if chain is not None else {}

    def plan(
        self,
        stream: int,
        payloads: Sequence[bytes],
        stored_hash: Callable[[str, int], bytes | None],
        source: str = "",
    ) -> BatchPlan:
        """Classify a batch of payloads from one log (``stream`` 1 main, 2 overflow). Changes nothing."""
        plan = BatchPlan(stream, source, received=len(payloads))
        new_seqs: dict[str, dict[int, bytes]] = {}
        tails = plan.tails
        empty = IntervalSet()
        for payload in payloads:
            try:
                row = extract_row(payload)
            except PayloadError as exc:
                inst, seq = exc.identity or ("", -1)
                plan.events.append(IntegrityEvent(IntegrityKind.BAD_RECORD, inst, seq, stream, str(exc), None, payload))
                continue
            instance, seq = row.instance, row.sequence
            plan.instances.add(instance)
            if not payload_hash_ok(payload):
                plan.events.append(
                    IntegrityEvent(
                        IntegrityKind.BAD_HASH,
                        instance,
                        seq,
                        stream,
                        "stored hash is not sha256 of the body",
                        row.hash,
                        payload,
                    )
                )
                continue
            chain = self._chains.get(instance)
            stored = chain.stored if chain is not None else empty
            batch = new_seqs.get(instance)
            if batch is None:
                batch = new_seqs[instance] = {}
            if seq in batch or seq in stored:
                known = batch.get(seq)
                if known is None:
                    known = stored_hash(instance, seq)
                if known == row.hash:
                    plan.duplicates += 1
                else:
                    plan.events.append(
                        IntegrityEvent(
                            IntegrityKind.FORK,
                            instance,
                            seq,
                            stream,
                            "sequence already stored with another hash",
                            row.hash,
                            payload,
                        )
                    )
                continue
            tail = tails.get(instance)
            if tail is None and chain is not None:
                tail = chain.tails.get(stream)
            if tail is None or seq > tail[0]:
                expected = GENESIS_HASH if tail is None else tail[1]
                if row.prev_hash != expected:
                    lo = 0 if tail is None else tail[0] + 1
                    holes = stored.missing(lo, seq - 1, batch)
                    if holes:
                        text = ", ".join(f"{a}..{b}" if a != b else str(a) for a, b in holes[:8])
                        plan.events.append(
                            IntegrityEvent(
                                IntegrityKind.GAP,
                                instance,
                                seq,
                                stream,
                                f"prev_hash links to nothing stored; sequences {text} missing",
                                row.hash,
                            )
                        )
                    else:
                        after = "the genesis hash" if tail is None else f"the hash of sequence {tail[0]}"
                        plan.events.append(
                            IntegrityEvent(
                                IntegrityKind.BROKEN_LINK, instance, seq, stream, f"prev_hash is not {after}", row.hash
                            )
                        )
                tails[instance] = (seq, row.hash)
            else:
                plan.events.append(
                    IntegrityEvent(
                        IntegrityKind.REORDER,
                        instance,
                        seq,
                        stream,
                        f"arrived after sequence {tail[0]} of the same log",
                        row.hash,
                    )
                )
            batch[seq] = row.hash
            plan.rows.append(row)
        return plan

    def preview(self, plan: BatchPlan) -> dict[str, tuple[int, int]]:
        """(contiguous, highest) per instance the plan touches, as they will be once it is committed."""
        added: dict[str, list[int]] = {}
        for row in plan.rows:
            added.setdefault(row.instance, []).append(row.sequence)
        out: dict[str, tuple[int, int]] = {}
        for instance in {*added, *plan.instances, *(e.instance for e in plan.events if e.instance)}:
            chain = self._chains.get(instance)
            stored = IntervalSet(chain.stored.intervals() if chain is not None else ())
            for seq in added.get(instance, ()):
                stored.add(seq)
            out[instance] = (stored.contiguous(), stored.highest())
        return out

    def commit(self, plan: BatchPlan) -> None:
        """Apply a plan the store has committed."""
        for row in plan.rows:
            chain = self._chains.get(row.instance)
            if chain is None:
                chain = self._chains[row.instance] = _Chain()
            chain.stored.add(row.sequence)
        for instance, tail in plan.tails.items():
            self._chains.setdefault(instance, _Chain()).tails[plan.stream] = tail
