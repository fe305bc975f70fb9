"""The slice SLA A1 policy type (id 20008): PRB ratio bounds and KPI targets per slice.

The flagship slice PRB allocator clamps every quota its model proposes to the bounds of the slice's SLA in
force, so this is the policy type its descriptor lists in ``policies`` and the governance rApp creates. One
policy instance carries any number of slices::

    {"slices": [
        {"snssai": "1-000001", "min_prb_ratio": 10, "max_prb_ratio": 60, "target_throughput_mbps": 50},
        {"snssai": "1-000002", "min_prb_ratio": 5, "max_prb_ratio": 40, "max_latency_ms": 20}]}

- ``snssai``: the slice key, SST in decimal, optionally ``-`` and the SD as 6 hex digits.
- ``min_prb_ratio`` / ``max_prb_ratio``: integer percentages 0..100 of the cell's PRBs, as E2SM-RC's slice
  PRB quota carries them (RC Control Style 2, Action 6); ``min <= max``; the minima of one policy add up to at
  most 100.
- ``target_throughput_mbps`` (> 0) and ``max_latency_ms`` (> 0) are optional KPI targets the rollback guard
  and the model use; they are not sent to the RAN.

Type id 20008 sits in the OSC mediator's integer range (1..2147483647) and clear of the RMR message types
(20010..20017) it might be confused with in logs. :data:`SCHEMA` is draft-07, which both the OSC mediator
(``create_schema``) and the O-RAN A1AP ``policySchema`` expect. :func:`parse` validates against it, then
checks what a schema cannot say (``min <= max``, unique slices, the sum of minima), and returns frozen
dataclasses; every failure is an :class:`~ricsdk.errors.A1PayloadError` whose message starts with the
offending field (``slices[1].max_prb_ratio: ...``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import jsonschema  # type: ignore[import-untyped]

from ricsdk.e2.common import Snssai
from ricsdk.errors import A1PayloadError, E2ValueError

__all__ = [
    "NAME",
    "SCHEMA",
    "STATUS_SCHEMA",
    "TYPE_ID",
    "SliceSla",
    "SliceSlaEntry",
    "mediator_policy_type",
    "parse",
]

TYPE_ID: Final = 20008
NAME: Final = "ricsdk-slice-sla"
_MAX_SLICES: Final = 1024

SCHEMA: Final[Mapping[str, Any]] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "ricsdk slice SLA",
    "description": "PRB ratio bounds (percent of the cell's PRBs) and optional KPI targets per network slice",
    "type": "object",
    "required": ["slices"],
    "additionalProperties": False,
    "properties": {
        "slices": {
            "type": "array",
            "minItems": 1,
            "maxItems": _MAX_SLICES,
            "items": {
                "type": "object",
                "required": ["snssai", "min_prb_ratio", "max_prb_ratio"],
                "additionalProperties": False,
                "properties": {
                    "snssai": {"type": "string", "pattern": "^[0-9]{1,3}(-[0-9A-Fa-f]{6})?$"},
                    "min_prb_ratio": {"type": "integer", "minimum": 0, "maximum": 100},
                    "max_prb_ratio": {"type": "integer", "minimum": 0, "maximum": 100},
                    "target_throughput_mbps": {"type": "number", "exclusiveMinimum": 0},
                    "max_latency_ms": {"type": "number", "exclusiveMinimum": 0},
                },
            },
        }
    },
}

#: The A1AP ``statusSchema``: the enforcement status the xApp reports for an instance.
STATUS_SCHEMA: Final[Mapping[str, Any]] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["enforceStatus"],
    "properties": {
        "enforceStatus": {"type": "string", "enum": ["ENFORCED", "NOT_ENFORCED"]},
        "enforceReason": {
            "type": "string",
            "enum": ["SCOPE_NOT_APPLICABLE", "STATEMENT_NOT_APPLICABLE", "OTHER_REASON"],
        },
    },
}

_VALIDATOR: Final = jsonschema.Draft7Validator(SCHEMA)


@dataclass(frozen=True, slots=True)
class SliceSlaEntry:
    snssai: Snssai
    min_prb_ratio: int
    max_prb_ratio: int
    target_throughput_mbps: float | None = None
    max_latency_ms: float | None = None

    @property
    def key(self) -> str:
        return self.snssai.key

    def clamp(self, ratio: int) -> int:
        """``ratio`` within this slice's bounds."""
        return max(self.min_prb_ratio, min(self.max_prb_ratio, ratio))

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "snssai": self.key,
            "min_prb_ratio": self.min_prb_ratio,
            "max_prb_ratio": self.max_prb_ratio,
        }
        if self.target_throughput_mbps is not None:
            doc["target_throughput_mbps"] = self.target_throughput_mbps
        if self.max_latency_ms is not None:
            doc["max_latency_ms"] = self.max_latency_ms
        return doc


@dataclass(frozen=True, slots=True)
class SliceSla:
    slices: tuple[SliceSlaEntry, ...]

    def get(self, key: str) -> SliceSlaEntry | None:
        for e in self.slices:
            if e.key == key:
                return e
        return None

    def by_key(self) -> dict[str, SliceSlaEntry]:
        return {e.key: e for e in self.slices}

    def to_json(self) -> dict[str, Any]:
        return {"slices": [e.to_json() for e in self.slices]}


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _schema_error(payload: object) -> A1PayloadError | None:
    errors = sorted(_VALIDATOR.iter_errors(payload), key=lambda e: (list(e.absolute_path), e.validator))
    if not errors:
        return None
    err = errors[0]
    where = list(err.absolute_path)
    if err.validator == "required" and isinstance(err.instance, dict):
        missing = [r for r in err.validator_value if r not in err.instance]
        where.append(missing[0] if missing else "?")
        message = "is required"
    elif err.validator == "additionalProperties" and isinstance(err.instance, dict):
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        where.append(extra[0] if extra else "?")
        message = "is not allowed"
    else:
        message = err.message
    return A1PayloadError(f"{_path(where) or 'policy'}: {message}", payload=payload)


def parse(payload: object) -> SliceSla:
    """Validate a slice SLA policy (decoded JSON) and build its frozen form."""
    error = _schema_error(payload)
    if error is not None:
        raise error
    assert isinstance(payload, dict)
    entries: list[SliceSlaEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(payload["slices"]):
        where = f"slices[{i}]"
        try:
            snssai = Snssai.parse(item["snssai"])
        except E2ValueError as exc:
            raise A1PayloadError(f"{where}.snssai: {exc}", payload=payload) from exc
        if snssai.key in seen:
            raise A1PayloadError(f"{where}.snssai: slice {snssai.key} appears twice", payload=payload)
        seen.add(snssai.key)
        lo, hi = item["min_prb_ratio"], item["max_prb_ratio"]
        if lo > hi:
            raise A1PayloadError(f"{where}.max_prb_ratio: {hi} is below min_prb_ratio {lo}", payload=payload)
        tput = item.get("target_throughput_mbps")
        lat = item.get("max_latency_ms")
        entries.append(
            SliceSlaEntry(snssai, lo, hi, None if tput is None else float(tput), None if lat is None else float(lat))
        )
    total = sum(e.min_prb_ratio for e in entries)
    if total > 100:
        raise A1PayloadError(f"slices: the min_prb_ratio values add up to {total} %, above 100 %", payload=payload)
    return SliceSla(tuple(entries))


def mediator_policy_type(description: str = "Slice SLA: PRB ratio bounds and KPI targets per slice") -> str:
    """The body that creates this type in the OSC A1 mediator (``PUT /A1-P/v2/policytypes/20008``)."""
    return json.dumps({"name": NAME, "description": description, "policy_type_id": TYPE_ID, "create_schema": SCHEMA})
