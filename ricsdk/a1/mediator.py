"""The OSC A1 mediator's RMR messages (sans-I/O): A1_POLICY_REQ 20010, A1_POLICY_RESP 20011, QUERY 20012.

Quirks of the mediator (ric-plt-a1, Go) handled here:

- it builds the 20010 JSON from a string map, so ``policy_type_id`` arrives as a *string* and ``payload`` as a
  *JSON-encoded string*; the published contract says integer and object. Both are accepted.
- a delete carries ``operation: "DELETE"`` and ``payload: ""``.
- in 20011 it casts every field to its type without checks: ``policy_type_id`` must be a JSON number and all
  fields must be present; ``status`` is ``OK`` | ``ERROR`` | ``DELETED``.
- 20012 ``{"policy_type_id": <number>}`` makes it resend every stored instance as a CREATE.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from ricsdk.errors import A1PayloadError

__all__ = [
    "A1_POLICY_QUERY",
    "A1_POLICY_REQ",
    "A1_POLICY_RESP",
    "PolicyRequest",
    "encode_policy_query",
    "encode_policy_response",
    "parse_policy_request",
]

A1_POLICY_REQ: Final = 20010
A1_POLICY_RESP: Final = 20011
A1_POLICY_QUERY: Final = 20012
_OPERATIONS: Final = frozenset({"CREATE", "UPDATE", "DELETE"})
_MAX_PAYLOAD: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    operation: str
    policy_type_id: int
    policy_instance_id: str
    payload: dict[str, Any] = field(default_factory=dict)


def parse_policy_request(raw: bytes) -> PolicyRequest:
    """Parse an A1_POLICY_REQ payload; anything malformed raises :class:`A1PayloadError` naming the field."""
    if len(raw) > _MAX_PAYLOAD:
        raise A1PayloadError(f"policy request of {len(raw)} bytes is too large")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise A1PayloadError(f"policy request is not JSON: {exc}", payload=raw[:200]) from exc
    if not isinstance(doc, dict):
        raise A1PayloadError("policy request must be a JSON object", payload=doc)
    op = doc.get("operation")
    if op not in _OPERATIONS:
        raise A1PayloadError(f"operation must be CREATE, UPDATE or DELETE, got {op!r}", payload=doc)
    tid = doc.get("policy_type_id")
    if isinstance(tid, str) and tid.strip().isdigit():
        tid = int(tid)
    if not isinstance(tid, int) or isinstance(tid, bool) or not 1 <= tid <= 2147483647:
        raise A1PayloadError(f"policy_type_id must be an integer 1..2147483647, got {tid!r}", payload=doc)
    iid = doc.get("policy_instance_id")
    if not isinstance(iid, str) or not iid:
        raise A1PayloadError("policy_instance_id must be a non-empty string", payload=doc)
    payload = doc.get("payload", {})
    if op == "DELETE":
        payload = {}
    elif isinstance(payload, str):
        try:
            payload = json.loads(payload) if payload else {}
        except ValueError as exc:
            raise A1PayloadError(f"payload string is not JSON: {exc}", payload=doc) from exc
    if not isinstance(payload, dict):
        raise A1PayloadError("payload must be a JSON object", payload=doc)
    return PolicyRequest(op, tid, iid, payload)


def encode_policy_response(policy_type_id: int, policy_instance_id: str, handler_id: str, status: str) -> bytes:
    """A1_POLICY_RESP with every field present and the type id as a number, as the mediator expects."""
    if status not in ("OK", "ERROR", "DELETED"):
        raise A1PayloadError(f"status must be OK, ERROR or DELETED, got {status!r}")
    doc = {
        "policy_type_id": int(policy_type_id),
        "policy_instance_id": policy_instance_id,
        "handler_id": handler_id,
        "status": status,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def encode_policy_query(policy_type_id: int) -> bytes:
    return json.dumps({"policy_type_id": int(policy_type_id)}).encode()
