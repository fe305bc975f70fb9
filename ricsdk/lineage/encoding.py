"""The canonical encoding of a decision record, and the hash that chains records.

Theory of operation
-------------------
Every record has exactly one byte encoding (its *body*); the chain hash is ``sha256(body)``, and the body
contains ``prev_hash``, so each record commits to its whole history. The encoding is hand-rolled with
:mod:`struct` instead of JSON: it is faster (see ``benchmarks/bench_lineage.py``), and it depends on nothing
that could differ between Python versions (no float repr, no dict order, no escaping rules).

Body, version 1 (all integers little-endian; strings are UTF-8 with lone surrogates passed through; ``f64`` is
IEEE-754 binary64 with its bit pattern preserved, so NaN payloads and -0.0 survive). Every number first, in a
layout fixed by four counts, then every string, then the previous hash::

    u8       version = 1
    u64      sequence
    i64      timestamp_ns
    u64      cpu_ns
    u8       model slot              1 active, 2 shadow, 3 canary
    u8       flags                   bit 0: feature row present, bit 1: action present, bit 2: action sent
                                     (bit 2 only with bit 1; other bits 0)
    3 x u8   action min_prb_pct, max_prb_pct, dedicated_prb_pct (0 when no action)
    4 x u32  F = n features (0 when absent), O = n outputs, P = n policy ids, S = n stage timings
    F+O x f64    the feature row, then the outputs
    N x u32      byte lengths of the N strings below (N = 9 + (1 if action) + P + S)
    S x u64      stage timings (ns), in stage-name order
    strings      concatenated: instance, decision_id, e2_node, cell, slice_id, model name, model version,
                 model digest, input_digest, [action reason], P policy ids (in the order given),
                 S stage names (strictly increasing, code point order)
    32 B     prev_hash

All numbers go through one ``struct`` call (its format depends only on F+O, N and S), which is what makes
the encoding cheap; a scanner finds ``sequence`` at byte 1 and ``instance`` from the four counts without
decoding the rest.

The frame payload stored in the spool is ``body || sha256(body)``. :func:`decode_payload` is strict: it
rejects trailing bytes, unknown versions or slots, flags other than 0/1, unsorted or duplicate stage names,
so a body decodes only if it is the canonical encoding of the record it yields.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

from ricsdk.errors import LineageError, LineageRecordError
from ricsdk.lineage.record import DecisionRecord, ModelRef, RcAction, RecordEvent, Slot

__all__ = [
    "FORMAT_VERSION",
    "HASH_SIZE",
    "decode_payload",
    "encode_body",
    "encode_event",
    "encode_record",
    "features_digest",
    "peek_identity",
]

FORMAT_VERSION = 1
HASH_SIZE = 32

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_HEADER_FORMAT = "<BQqQBBBBB4I"
_HEADER = struct.Struct(_HEADER_FORMAT)
_HEADER_FIELDS = 13
_COUNTS = struct.Struct("<4I")
_COUNTS_AT = _HEADER.size - _COUNTS.size
_N_FIXED_STRINGS = 9
_LAYOUTS: dict[tuple[int, int, int], struct.Struct] = {}


def _layout(n_floats: int, n_strings: int, n_stages: int) -> struct.Struct:
    key = (n_floats, n_strings, n_stages)
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = struct.Struct(f"{_HEADER_FORMAT}{n_floats}d{n_strings}I{n_stages}Q")
        if len(_LAYOUTS) < 4096:
            _LAYOUTS[key] = layout
    return layout


_SLOT_CODE = {Slot.ACTIVE: 1, Slot.SHADOW: 2, Slot.CANARY: 3}
_CODE_SLOT = {1: Slot.ACTIVE, 2: Slot.SHADOW, 3: Slot.CANARY}
_u32 = _U32.pack
_u64 = _U64.pack
_sha256 = hashlib.sha256


def _checked_hash(value: bytes) -> bytes:
    if type(value) is not bytes or len(value) != HASH_SIZE:
        raise LineageRecordError(f"prev_hash must be {HASH_SIZE} bytes", field="prev_hash")
    return value


def features_digest(features: Sequence[float]) -> str:
    """Hex sha256 of a feature row: ``u32 n`` then ``n x f64``, little-endian."""
    n = len(features)
    row = _ROWS.get(n)
    if row is None:
        row = struct.Struct(f"<I{n}d")
        if len(_ROWS) < 256:
            _ROWS[n] = row
    return _sha256(row.pack(n, *features)).hexdigest()


_ROWS: dict[int, struct.Struct] = {}


def _utf8(texts: list[str]) -> list[bytes]:
    try:
        return [text.encode() for text in texts]
    except UnicodeEncodeError:
        return [text.encode("utf-8", "surrogatepass") for text in texts]


def encode_body(
    *,
    instance: str,
    sequence: int,
    timestamp_ns: int,
    decision_id: str,
    e2_node: str,
    cell: str,
    slice_id: str,
    model: ModelRef,
    input_digest: str,
    features: Sequence[float] | None,
    output: Sequence[float],
    action: RcAction | None,
    policy_ids: Sequence[str],
    stage_ns: Iterable[tuple[str, int]],
    cpu_ns: int,
    prev_hash: bytes,
) -> bytes:
    """The canonical body of a record (see the module docstring).

    ``stage_ns`` must be sorted by name without repeats. Raises :class:`~ricsdk.errors.LineageRecordError`
    for a value the encoding cannot hold.
    """
    stages = list(stage_ns)
    names = [name for name, _ in stages]
    for i in range(1, len(names)):
        if not names[i - 1] < names[i]:
            raise LineageRecordError(f"stage names not strictly increasing at {names[i]!r}", field="stage_ns")
    return encode_event(
        cast(
            RecordEvent,
            {
                "instance": instance,
                "sequence": sequence,
                "timestamp_ns": timestamp_ns,
                "decision_id": decision_id,
                "e2_node": e2_node,
                "cell": cell,
                "slice_id": slice_id,
                "model": model,
                "input_digest": input_digest,
                "features": features,
                "output": output,
                "action": action,
                "policy_ids": policy_ids,
                "stage_ns": dict(stages),
                "cpu_ns": cpu_ns,
                "prev_hash": prev_hash,
            },
        )
    )


def stage_parts(stage_ns: Mapping[str, int] | None) -> tuple[list[int], list[str]]:
    """The stage timings of an event in their canonical order: ``(values, names)``.

    Records taken together share one stage mapping; the writer computes this once for them.
    """
    if not stage_ns:
        return [], []
    try:
        names = sorted(stage_ns)  # dict keys: sorted means strictly increasing
        return [stage_ns[name] for name in names], names
    except (TypeError, AttributeError) as exc:
        raise LineageRecordError(f"stage timings must map names to ns: {exc}", field="stage_ns") from exc


def encode_event(event: RecordEvent) -> bytes:
    """The canonical body of a processor-chain event (``prev_hash`` included, ``hash`` not)."""
    values, names = stage_parts(event.get("stage_ns"))
    return encode_event_with(event, values, names)


def encode_event_with(event: RecordEvent, stage_values: list[int], stage_names: list[str]) -> bytes:
    """:func:`encode_event` with the event's :func:`stage_parts` given (the writer's hot path: one pass over
    the event's fields, one ``struct`` call for every number)."""
    decision_id = event.get("decision_id")
    try:
        model: ModelRef = event["model"]
        features: Sequence[float] | None = event.get("features")
        action: RcAction | None = event.get("action")
        output: Sequence[float] = event["output"]
        policy_ids: Sequence[str] = event.get("policy_ids", ())
        texts = [
            event["instance"],
            event["decision_id"],
            event["e2_node"],
            event["cell"],
            event["slice_id"],
            model.name,
            model.version,
            model.digest,
            event.get("input_digest", ""),
        ]
        if action is None:
            flags = 0 if features is None else 1
            lo = hi = dedicated = 0
        else:
            flags = (0 if features is None else 1) | 2 | (4 if action.sent else 0)
            lo, hi, dedicated = action.min_prb_pct, action.max_prb_pct, action.dedicated_prb_pct
            texts.append(action.reason)
        texts += policy_ids
        texts += stage_names
        joined = "".join(texts)
        if joined.isascii():  # the usual case: one encode, and byte lengths are character lengths
            strings = joined.encode("ascii")
            lengths: Iterable[int] = map(len, texts)
        else:
            raw = _utf8(texts)
            strings = b"".join(raw)
            lengths = map(len, raw)
        n_features = 0 if features is None else len(features)
        n_stages = len(stage_names)
        slot = _SLOT_CODE.get(model.slot)
        if slot is None:
            raise LineageRecordError(f"unknown model slot {model.slot!r}", field="model")
        numbers = _layout(n_features + len(output), len(texts), n_stages).pack(
            FORMAT_VERSION,
            event["sequence"],
            event["timestamp_ns"],
            event.get("cpu_ns", 0),
            slot,
            flags,
            lo,
            hi,
            dedicated,
            n_features,
            len(output),
            len(policy_ids),
            n_stages,
            *(features or ()),
            *output,
            *lengths,
            *stage_values,
        )
        return b"".join((numbers, strings, _checked_hash(event["prev_hash"])))
    except LineageRecordError:
        raise
    except KeyError as exc:
        raise LineageRecordError(f"record event lacks {exc.args[0]!r}", field=str(exc.args[0])) from exc
    except (struct.error, AttributeError, TypeError, OverflowError, UnicodeError) as exc:
        raise LineageRecordError(f"cannot encode record {decision_id!r}: {exc}") from exc


def encode_record(record: DecisionRecord) -> bytes:
    """The canonical body of a record (``sha256`` of it is ``record.hash`` for a chained record)."""
    return encode_body(
        instance=record.instance,
        sequence=record.sequence,
        timestamp_ns=record.timestamp_ns,
        decision_id=record.decision_id,
        e2_node=record.e2_node,
        cell=record.cell,
        slice_id=record.slice_id,
        model=record.model,
        input_digest=record.input_digest,
        features=record.features,
        output=record.output,
        action=record.action,
        policy_ids=record.policy_ids,
        stage_ns=record.stage_ns,
        cpu_ns=record.cpu_ns,
        prev_hash=record.prev_hash,
    )


class _Reader:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data = data
        self.pos = pos
        self.end = end

    def take(self, n: int) -> bytes:
        start = self.pos
        stop = start + n
        if stop > self.end:
            raise LineageError(f"record body truncated at byte {start} (needs {n} more)")
        self.pos = stop
        return self.data[start:stop]

    def utf8(self, n: int) -> str:
        try:
            return self.take(n).decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise LineageError(f"invalid UTF-8 in record body before byte {self.pos}") from exc

    def text(self) -> str:
        (n,) = _U32.unpack(self.take(4))
        return self.utf8(n)

    def u64(self) -> int:
        value: int = _U64.unpack(self.take(8))[0]
        return value


def peek_identity(payload: bytes) -> tuple[str, int]:
    """``(instance, sequence)`` from the start of a payload, without decoding or checking the rest."""
    try:
        version, sequence = struct.unpack_from("<BQ", payload, 0)
        if version != FORMAT_VERSION:
            raise LineageError(f"unknown record format version {version}")
        n_features, n_output, n_policies, n_stages = _COUNTS.unpack_from(payload, _COUNTS_AT)
        lengths_at = _HEADER.size + 8 * (n_features + n_output)
        (n,) = _U32.unpack_from(payload, lengths_at)
        n_strings = _N_FIXED_STRINGS + n_policies + n_stages + (1 if payload[_COUNTS_AT - 4] & 2 else 0)
        start = lengths_at + 4 * n_strings + 8 * n_stages
        if start + n > len(payload):
            raise LineageError("record header names an instance past the end of the payload")
        return payload[start : start + n].decode("utf-8", "surrogatepass"), sequence
    except (struct.error, UnicodeDecodeError, IndexError) as exc:
        raise LineageError(f"unreadable record header: {exc}") from exc


def decode_payload(payload: bytes) -> tuple[DecisionRecord, bytes]:
    """Decode a frame payload into ``(record, body)``; ``record.hash`` is the stored hash, not recomputed.

    Raises :class:`~ricsdk.errors.LineageError` when the payload is not a canonical version-1 encoding.
    """
    body_end = len(payload) - HASH_SIZE
    if body_end < _HEADER.size:
        raise LineageError(f"record payload too short ({len(payload)} bytes)")
    (
        version,
        sequence,
        timestamp_ns,
        cpu_ns,
        slot_code,
        flags,
        lo,
        hi,
        dedicated,
        n_features,
        n_output,
        n_policies,
        n_stages,
    ) = _HEADER.unpack_from(payload, 0)
    if version != FORMAT_VERSION:
        raise LineageError(f"unknown record format version {version}")
    slot = _CODE_SLOT.get(slot_code)
    if slot is None:
        raise LineageError(f"unknown model slot code {slot_code}")
    if flags & ~7 or (flags & 4 and not flags & 2):
        raise LineageError(f"invalid flags byte {flags:#04x}")
    if not flags & 1 and n_features:
        raise LineageError("feature count set on a record without a feature row")
    if not flags & 2 and (lo or hi or dedicated):
        raise LineageError("action ratios set on a record without an action")
    n_floats = n_features + n_output
    has_action = 1 if flags & 2 else 0
    n_strings = _N_FIXED_STRINGS + has_action + n_policies + n_stages
    if 8 * n_floats + 4 * n_strings + 8 * n_stages > body_end - _HEADER.size:
        raise LineageError("record counts run past the end of the body")
    layout = _layout(n_floats, n_strings, n_stages)
    values = layout.unpack_from(payload, 0)
    at = _HEADER_FIELDS
    floats: tuple[float, ...] = values[at : at + n_floats]
    lengths = values[at + n_floats : at + n_floats + n_strings]
    stage_values = values[at + n_floats + n_strings :]
    reader = _Reader(payload, layout.size, body_end)
    texts = [reader.utf8(n) for n in lengths]
    instance, decision_id, e2_node, cell, slice_id, name, version_text, digest, input_digest = texts[:9]
    action: RcAction | None = None
    if has_action:
        try:
            action = RcAction(lo, hi, dedicated, bool(flags & 4), texts[9])
        except LineageRecordError as exc:
            raise LineageError(f"invalid action in record body: {exc}") from exc
    policy_ids = tuple(texts[9 + has_action : 9 + has_action + n_policies])
    stage_names = texts[9 + has_action + n_policies :]
    for i in range(1, n_stages):
        if stage_names[i] <= stage_names[i - 1]:
            raise LineageError(f"stage names not strictly increasing at {stage_names[i]!r}")
    prev_hash = reader.take(HASH_SIZE)
    if reader.pos != body_end:
        raise LineageError(f"{body_end - reader.pos} trailing bytes in record body")
    record = DecisionRecord(
        decision_id=decision_id,
        instance=instance,
        sequence=sequence,
        timestamp_ns=timestamp_ns,
        e2_node=e2_node,
        cell=cell,
        slice_id=slice_id,
        model=ModelRef(name, version_text, digest, slot),
        input_digest=input_digest,
        features=floats[:n_features] if flags & 1 else None,
        output=floats[n_features:],
        action=action,
        policy_ids=policy_ids,
        stage_ns=tuple(zip(stage_names, stage_values, strict=True)),
        cpu_ns=cpu_ns,
        prev_hash=prev_hash,
        hash=payload[body_end:],
    )
    return record, payload[:body_end]
