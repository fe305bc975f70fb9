"""Turn a canonical record payload into the row governance stores, without building a ``DecisionRecord``.

Ingest reads only what the store indexes and aggregates (identity, time, place, model, slot, action flag,
policies, CPU time) straight from the version-1 body layout (``docs/lineage.md``, "Canonical encoding"): one
header unpack, the string lengths, and the strings. Floats and stage timings stay inside the payload, which is
stored whole; queries that need them decode it with :func:`ricsdk.lineage.decode_payload`. The extraction is
strict in the same ways as the full decoder on what it reads (version, slot, flags, counts within the body,
the UTF-8 of the strings it reads); the full canonical check (every string, stage-name order, no trailing
bytes) is :func:`ricsdk.lineage.decode_payload`, which stored-chain verification runs on every record. The hash
is checked by the chain verifier.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import NamedTuple

from ricsdk.lineage.encoding import FORMAT_VERSION, HASH_SIZE

__all__ = ["SLOT_CODES", "SLOT_NAMES", "PayloadError", "Row", "extract_row", "payload_hash_ok", "policies_json"]

_HEADER = struct.Struct("<BQqQBBBBB4I")
_N_FIXED = 9
_I64_MAX = 2**63 - 1
_U32_LAYOUTS: dict[int, struct.Struct] = {}
SLOT_NAMES = {1: "active", 2: "shadow", 3: "canary"}
SLOT_CODES = {name: code for code, name in SLOT_NAMES.items()}
_sha256 = hashlib.sha256


class PayloadError(ValueError):
    """A payload that is not a version-1 canonical record; ``identity`` is (instance, sequence) when readable."""

    def __init__(self, message: str, identity: tuple[str, int] | None = None) -> None:
        self.identity = identity
        super().__init__(message)


class Row(NamedTuple):
    """What governance stores per record (the payload is authoritative; the rest is indexed copies of it)."""

    instance: str
    sequence: int
    timestamp_ns: int
    decision_id: str
    e2_node: str
    cell: str
    slice_id: str
    model_name: str
    model_version: str
    model_digest: str
    slot: int
    action: int | None
    policy_ids: tuple[str, ...]
    cpu_ns: int
    prev_hash: bytes
    hash: bytes
    payload: bytes

    def policies_json(self) -> str:
        return policies_json(self.policy_ids)

    @property
    def governs(self) -> bool:
        """Active and canary decisions govern their slice; shadow decisions are recorded but never sent."""
        return self.slot != 2


_POLICY_JSON: dict[tuple[str, ...], str] = {(): "[]"}


def policies_json(policy_ids: tuple[str, ...]) -> str:
    """The policy ids as a JSON array (memoised: deployments have few distinct policy sets)."""
    text = _POLICY_JSON.get(policy_ids)
    if text is None:
        text = json.dumps(list(policy_ids), ensure_ascii=False)
        if len(_POLICY_JSON) < 4096:
            _POLICY_JSON[policy_ids] = text
    return text


def _lengths(n: int) -> struct.Struct:
    layout = _U32_LAYOUTS.get(n)
    if layout is None:
        layout = struct.Struct(f"<{n}I")
        if len(_U32_LAYOUTS) < 1024:
            _U32_LAYOUTS[n] = layout
    return layout


def payload_hash_ok(payload: bytes) -> bool:
    """``sha256(body) == stored hash``."""
    return len(payload) > HASH_SIZE and _sha256(payload[:-HASH_SIZE]).digest() == payload[-HASH_SIZE:]


def extract_row(payload: bytes) -> Row:
    """The stored row of a payload; :class:`PayloadError` when the payload is not a canonical record."""
    body_end = len(payload) - HASH_SIZE
    if body_end < _HEADER.size:
        raise PayloadError(f"record payload too short ({len(payload)} bytes)")
    (
        version,
        sequence,
        timestamp_ns,
        cpu_ns,
        slot,
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
        raise PayloadError(f"unknown record format version {version}")
    if sequence > _I64_MAX or cpu_ns > _I64_MAX:
        raise PayloadError(f"sequence {sequence} or cpu_ns {cpu_ns} beyond what the store holds (2**63 - 1)")
    if slot not in SLOT_NAMES:
        raise PayloadError(f"unknown model slot code {slot}")
    if flags & ~7 or (flags & 4 and not flags & 2) or (not flags & 1 and n_features):
        raise PayloadError(f"invalid flags byte {flags:#04x} for {n_features} features")
    has_action = 1 if flags & 2 else 0
    if not has_action and (lo or hi or dedicated):
        raise PayloadError("action ratios set on a record without an action")
    if lo > 100 or hi > 100 or dedicated > 100:
        raise PayloadError("action ratio above 100")
    n_strings = _N_FIXED + has_action + n_policies + n_stages
    lengths_at = _HEADER.size + 8 * (n_features + n_output)
    strings_at = lengths_at + 4 * n_strings + 8 * n_stages
    if strings_at > body_end:
        raise PayloadError("record counts run past the end of the body")
    lengths = _lengths(n_strings).unpack_from(payload, lengths_at)
    if strings_at + sum(lengths) + HASH_SIZE != body_end:
        raise PayloadError("string lengths do not add up to the body length")
    first_policy = _N_FIXED + has_action
    texts: list[str] = []
    at = strings_at
    try:
        for i, n in enumerate(lengths):
            if i < 8 or first_policy <= i < first_policy + n_policies:
                chunk = payload[at : at + n]
                try:
                    texts.append(chunk.decode())
                except UnicodeDecodeError:
                    texts.append(chunk.decode("utf-8", "surrogatepass"))
            at += n
    except UnicodeDecodeError as exc:
        raise PayloadError(f"invalid UTF-8 in record body of sequence {sequence}") from exc
    return Row(
        texts[0],
        sequence,
        timestamp_ns,
        texts[1],
        texts[2],
        texts[3],
        texts[4],
        texts[5],
        texts[6],
        texts[7],
        slot,
        ((1 if flags & 4 else 0) if has_action else None),
        tuple(texts[8:]),
        cpu_ns,
        payload[body_end - HASH_SIZE : body_end],
        payload[body_end:],
        payload,
    )
