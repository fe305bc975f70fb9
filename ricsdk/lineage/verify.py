"""Verify a lineage spool offline: every frame, every hash, every link, every sequence.

``verify_spool(path)`` never writes: it reads both logs (main and overflow) of a spool directory, including
torn tails a later ``open()`` would truncate, and reports what it finds. ``verify_spool_strict`` raises
:class:`~ricsdk.errors.ChainIntegrityError` naming the first bad record. This is the library behind
``ricsdk lineage verify SPOOL_DIR``.

Checks, per log and per instance, in file order:

- every frame is whole and its CRC matches (``corrupt_frame``); its payload decodes canonically
  (``bad_record``); ``sha256(body)`` equals the stored hash (``hash_mismatch``);
- sequences strictly increase (``fork`` for a repeated sequence, ``reorder`` for a smaller one);
- ``prev_hash`` is the hash of the previous record of the instance in the same log, the genesis hash for the
  first, or the anchor's hash when older segments were deleted after acknowledgement (``broken_link``);
- segment headers are valid and match their file names (``bad_segment``);

and per instance across both logs: every sequence from 0 (or from just above the acknowledged sequence in
``anchor.json``) up to the highest one is present exactly once (``gap``, ``fork``).

A damaged frame is named after its own header when that agrees with its neighbours (the previous and next
good records of the same log), else after the first sequence missing between those neighbours. After a
damaged region the chain of that log is re-anchored on the next good record, so one damage is reported once
(plus the gap it leaves), not once per following record.
"""

from __future__ import annotations

import enum
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ricsdk.errors import ChainIntegrityError, LineageError
from ricsdk.lineage.encoding import FORMAT_VERSION, decode_payload, peek_identity
from ricsdk.lineage.record import GENESIS_HASH
from ricsdk.lineage.spool import (
    FRAME_HEADER_SIZE,
    SEGMENT_HEADER_SIZE,
    ChainTail,
    Stream,
    load_anchor,
    parse_segment_header,
    read_frame,
)

__all__ = ["ChainIssue", "InstanceSummary", "IssueKind", "VerifyReport", "verify_spool", "verify_spool_strict"]


class IssueKind(enum.Enum):
    """What is wrong; for issues naming the same record, the earlier kind here is listed first."""

    CORRUPT_FRAME = "corrupt_frame"
    BAD_RECORD = "bad_record"
    HASH_MISMATCH = "hash_mismatch"
    BAD_SEGMENT = "bad_segment"
    BROKEN_LINK = "broken_link"
    FORK = "fork"
    REORDER = "reorder"
    GAP = "gap"
    BAD_ANCHOR = "bad_anchor"


@dataclass(frozen=True, slots=True)
class ChainIssue:
    """One problem: what, which record (instance and sequence; -1 when it cannot be named), and where."""

    kind: IssueKind
    instance: str
    sequence: int
    stream: Stream | None
    segment: str
    offset: int
    detail: str

    def __str__(self) -> str:
        where = f" ({self.segment} @ {self.offset})" if self.segment else ""
        return f"{self.kind.value}: instance {self.instance!r} sequence {self.sequence}{where}: {self.detail}"


@dataclass(frozen=True, slots=True)
class InstanceSummary:
    """What a spool holds for one instance."""

    first_sequence: int
    last_sequence: int
    records: int
    overflow_records: int
    acknowledged: int | None


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of :func:`verify_spool`. ``issues`` are sorted by instance, then sequence."""

    path: str
    segments: int
    records: int
    instances: Mapping[str, InstanceSummary]
    issues: tuple[ChainIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def first_issue(self) -> ChainIssue | None:
        return self.issues[0] if self.issues else None

    def raise_for_issues(self) -> None:
        """Raise :class:`ChainIntegrityError` for the first issue, if any."""
        first = self.first_issue
        if first is not None:
            more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
            raise ChainIntegrityError(f"{first}{more}", instance=first.instance, sequence=first.sequence)


@dataclass(slots=True)
class _Good:
    instance: str
    sequence: int
    prev_hash: bytes
    hash: bytes
    segment: str
    offset: int


@dataclass(slots=True)
class _Bad:
    kind: IssueKind
    candidate: tuple[str, int] | None
    segment: str
    offset: int
    detail: str


_Entry = _Good | _Bad


def _resync(data: bytes, start: int, end: int) -> int:
    """The next offset at or after ``start`` that holds a valid frame, or ``end``."""
    offset = start
    while offset + FRAME_HEADER_SIZE < end:
        if data[offset + FRAME_HEADER_SIZE] == FORMAT_VERSION and not isinstance(read_frame(data, offset, end), str):
            return offset
        offset += 1
    return end


def _candidate(data: bytes, offset: int, end: int) -> tuple[str, int] | None:
    try:
        return peek_identity(data[offset + FRAME_HEADER_SIZE : end])
    except LineageError:
        return None


def _segment_files(path: Path, stream: Stream) -> list[tuple[int, Path]]:
    prefix = f"{stream.value}-"
    found = []
    for entry in path.iterdir():
        name = entry.name
        if name.startswith(prefix) and name.endswith(".seg") and name[len(prefix) : -4].isdigit():
            found.append((int(name[len(prefix) : -4]), entry))
    return sorted(found)


def _read_log(path: Path, stream: Stream, segment_issues: list[tuple[str, int, str]]) -> tuple[list[_Entry], int]:
    entries: list[_Entry] = []
    files = _segment_files(path, stream)
    for number, file in files:
        data = file.read_bytes()
        name = file.name
        try:
            header_stream, header_number = parse_segment_header(data)
            if header_stream is not stream or header_number != number:
                segment_issues.append((name, len(entries), f"header names {header_stream.value} #{header_number}"))
        except LineageError as exc:
            segment_issues.append((name, len(entries), str(exc)))
        offset, end = SEGMENT_HEADER_SIZE, len(data)
        while offset < end:
            frame = read_frame(data, offset, end)
            if isinstance(frame, str):
                entries.append(_Bad(IssueKind.CORRUPT_FRAME, _candidate(data, offset, end), name, offset, frame))
                offset = _resync(data, offset + 1, end)
                continue
            payload, stop = frame
            try:
                record, body = decode_payload(payload)
            except LineageError as exc:
                entries.append(_Bad(IssueKind.BAD_RECORD, _candidate(data, offset, end), name, offset, str(exc)))
                offset = stop
                continue
            if hashlib.sha256(body).digest() != record.hash:
                entries.append(
                    _Bad(
                        IssueKind.HASH_MISMATCH,
                        (record.instance, record.sequence),
                        name,
                        offset,
                        "stored hash is not sha256 of the record body",
                    )
                )
            else:
                entries.append(_Good(record.instance, record.sequence, record.prev_hash, record.hash, name, offset))
            offset = stop
    return entries, len(files)


def _name_bad(
    entries: list[_Entry], i: int, present: Mapping[str, set[int]], claimed: set[tuple[str, int]]
) -> tuple[str, int]:
    """Name a damaged entry: its own header if it fits between its good neighbours, else the first sequence
    missing (and not already claimed by another damaged entry) after the previous good record."""
    bad = entries[i]
    assert isinstance(bad, _Bad)
    before = next((e for e in reversed(entries[:i]) if isinstance(e, _Good)), None)
    after = next((e for e in entries[i + 1 :] if isinstance(e, _Good)), None)

    def first_missing(inst: str) -> tuple[int, int | None, int]:
        lo = before.sequence if before is not None and before.instance == inst else -1
        hi = after.sequence if after is not None and after.instance == inst else None
        seen = present.get(inst, set())
        seq = lo + 1
        while (seq in seen or (inst, seq) in claimed) and (hi is None or seq < hi):
            seq += 1
        return lo, hi, seq

    name: tuple[str, int] | None = None
    cand = bad.candidate
    if cand is not None and (cand[0] in present or (before is None and after is None)):
        inst, seq = cand
        lo, hi, missing = first_missing(inst)
        fits = lo < seq and seq not in present.get(inst, set()) and (inst, seq) not in claimed
        if fits and (seq == missing or (hi is not None and seq < hi)):
            name = cand
    if name is None:
        neighbour = before if before is not None else after
        if neighbour is not None:
            name = (neighbour.instance, first_missing(neighbour.instance)[2])
        else:
            name = cand if cand is not None else ("", -1)
    claimed.add(name)
    return name


def verify_spool(path: str | os.PathLike[str]) -> VerifyReport:
    """Re-read every segment of both logs of a spool directory and check every hash, link and sequence."""
    root = Path(path)
    if not root.is_dir():
        raise LineageError(f"{root} is not a spool directory")
    issues: list[ChainIssue] = []
    try:
        acked, anchors = load_anchor(root)
    except LineageError as exc:
        issues.append(ChainIssue(IssueKind.BAD_ANCHOR, "", -1, None, "anchor.json", 0, str(exc)))
        acked, anchors = {}, {stream: {} for stream in Stream}

    logs: dict[Stream, list[_Entry]] = {}
    segment_count = 0
    header_issues: dict[Stream, list[tuple[str, int, str]]] = {}
    for stream in Stream:
        header_issues[stream] = []
        logs[stream], count = _read_log(root, stream, header_issues[stream])
        segment_count += count

    present: dict[str, set[int]] = {}
    for entries in logs.values():
        for entry in entries:
            if isinstance(entry, _Good):
                present.setdefault(entry.instance, set()).add(entry.sequence)

    sequences: dict[str, dict[Stream, list[int]]] = {}
    records = 0
    for stream, entries in logs.items():
        for segment, index, detail in header_issues[stream]:
            first = next((e for e in entries[index:] if e.segment == segment), None)
            inst, seq = ("", -1)
            if isinstance(first, _Good):
                inst, seq = first.instance, first.sequence
            elif first is not None and first.candidate is not None:
                inst, seq = first.candidate
            issues.append(ChainIssue(IssueKind.BAD_SEGMENT, inst, seq, stream, segment, 0, detail))
        last: dict[str, ChainTail] = dict(anchors[stream])
        unknown: set[str] = set()
        damaged_since_good = False
        claimed: set[tuple[str, int]] = set()
        for i, entry in enumerate(entries):
            if isinstance(entry, _Bad):
                inst, seq = _name_bad(entries, i, present, claimed)
                issues.append(ChainIssue(entry.kind, inst, seq, stream, entry.segment, entry.offset, entry.detail))
                damaged_since_good = True
                continue
            records += 1
            inst, seq = entry.instance, entry.sequence
            sequences.setdefault(inst, {}).setdefault(stream, []).append(seq)
            if damaged_since_good:
                unknown.update(present)
                damaged_since_good = False
            previous = last.get(inst)
            where = (stream, entry.segment, entry.offset)
            if inst in unknown:
                unknown.discard(inst)
            elif previous is not None and seq == previous.sequence:
                issues.append(ChainIssue(IssueKind.FORK, inst, seq, *where, "sequence repeated in the same log"))
            elif previous is not None and seq < previous.sequence:
                issues.append(ChainIssue(IssueKind.REORDER, inst, seq, *where, f"follows sequence {previous.sequence}"))
            else:
                expected = GENESIS_HASH if previous is None else previous.hash
                if entry.prev_hash != expected:
                    after = "the genesis hash" if previous is None else f"the hash of sequence {previous.sequence}"
                    issues.append(ChainIssue(IssueKind.BROKEN_LINK, inst, seq, *where, f"prev_hash is not {after}"))
            last[inst] = ChainTail(seq, entry.hash)

    summaries: dict[str, InstanceSummary] = {}
    for inst in sorted(set(sequences) | set(acked)):
        per_stream = sequences.get(inst, {})
        main = per_stream.get(Stream.MAIN, [])
        overflow = per_stream.get(Stream.OVERFLOW, [])
        floor = acked.get(inst, -1)
        owner: dict[int, Stream] = {}
        for stream, seqs in ((Stream.MAIN, main), (Stream.OVERFLOW, overflow)):
            for seq in seqs:
                if owner.setdefault(seq, stream) is not stream:
                    issues.append(
                        ChainIssue(
                            IssueKind.FORK, inst, seq, stream, "", -1, "sequence in both the main and overflow log"
                        )
                    )
        wanted = floor + 1
        for seq in sorted(owner):
            if seq < wanted:
                continue
            if seq > wanted:
                issues.append(
                    ChainIssue(IssueKind.GAP, inst, wanted, None, "", -1, f"sequences {wanted}..{seq - 1} missing")
                )
            wanted = seq + 1
        if owner:
            summaries[inst] = InstanceSummary(min(owner), max(owner), len(main), len(overflow), acked.get(inst))
        else:
            summaries[inst] = InstanceSummary(-1, floor, 0, 0, acked.get(inst))

    issues.sort(key=lambda issue: (issue.instance, issue.sequence, list(IssueKind).index(issue.kind)))
    return VerifyReport(str(root), segment_count, records, summaries, tuple(issues))


def verify_spool_strict(path: str | os.PathLike[str]) -> VerifyReport:
    """:func:`verify_spool`, raising :class:`ChainIntegrityError` naming the first bad record."""
    report = verify_spool(path)
    report.raise_for_issues()
    return report
