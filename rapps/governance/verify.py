"""Verify what governance stores for an instance: every payload, hash, link and sequence, and the copies.

The stored payload is authoritative. For each record, in sequence order: it decodes canonically
(``bad_record``); ``sha256(body)`` equals its hash (``hash_mismatch``); the columns the queries filter on equal
the decoded fields (``column_mismatch``: someone edited the table and not the payload); its ``prev_hash`` is the
hash of the previous stored record of the same spool log, or the genesis hash for the first (``broken_link``);
and sequences run from 0 with no hole (``gap``). Every issue names the instance and sequence. This is what
``ricsdk lineage verify --governance URL`` runs (``GET /v1/chains/{instance}/verify``).
"""

from __future__ import annotations

import hashlib

from rapps.governance.chain import STREAM_NAMES
from rapps.governance.schemas import ChainIssueOut, ChainVerification
from rapps.governance.store import SqlStore
from ricsdk.errors import LineageError
from ricsdk.lineage import GENESIS_HASH, decode_payload

__all__ = ["verify_stored_chain"]

_SLOT_CODES = {"active": 1, "shadow": 2, "canary": 3}


def verify_stored_chain(store: SqlStore, instance: str, *, max_issues: int = 1000) -> ChainVerification:
    issues: list[ChainIssueOut] = []
    tails: dict[int, bytes] = {}
    expected = 0
    records = 0

    def issue(kind: str, sequence: int, stream: int, detail: str) -> None:
        if len(issues) < max_issues:
            issues.append(
                ChainIssueOut(
                    kind=kind,
                    instance=instance,
                    sequence=sequence,
                    stream=STREAM_NAMES.get(stream, str(stream)),
                    detail=detail,
                )
            )

    for row in store.iter_chain(instance):
        (inst, sequence, stream, ts, decision_id, e2_node, cell, slice_id, name, version, slot, payload) = row
        payload = bytes(payload)
        sequence, stream = int(sequence), int(stream)
        records += 1
        if sequence > expected:
            issue("gap", expected, stream, f"sequences {expected}..{sequence - 1} not stored")
        expected = sequence + 1
        try:
            record, body = decode_payload(payload)
        except LineageError as exc:
            issue("bad_record", sequence, stream, str(exc))
            tails.pop(stream, None)
            continue
        if hashlib.sha256(body).digest() != record.hash:
            issue("hash_mismatch", sequence, stream, "stored hash is not sha256 of the stored body")
        columns = {
            "instance": (inst, record.instance),
            "sequence": (sequence, record.sequence),
            "timestamp_ns": (int(ts), record.timestamp_ns),
            "decision_id": (decision_id, record.decision_id),
            "e2_node": (e2_node, record.e2_node),
            "cell": (cell, record.cell),
            "slice_id": (slice_id, record.slice_id),
            "model_name": (name, record.model.name),
            "model_version": (version, record.model.version),
            "slot": (int(slot), _SLOT_CODES[record.model.slot.value]),
        }
        wrong = [column for column, (stored, decoded) in columns.items() if stored != decoded]
        if wrong:
            issue("column_mismatch", sequence, stream, f"columns {', '.join(wrong)} differ from the payload")
        previous = tails.get(stream)
        link = GENESIS_HASH if previous is None else previous
        if record.prev_hash != link:
            what = "the genesis hash" if previous is None else "the hash of the previous record of its log"
            issue("broken_link", sequence, stream, f"prev_hash is not {what}")
        tails[stream] = record.hash
    return ChainVerification(
        instance=instance,
        records=records,
        ok=not issues,
        issues=issues,
        integrity_events=store.count_integrity_events(instance),
    )
