"""The slice SLA policy type (20008): schema, parsing into frozen dataclasses, errors naming the field."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jsonschema
import pytest

from ricsdk.a1 import slice_sla
from ricsdk.a1.mediator import parse_policy_request
from ricsdk.e2.common import Snssai
from ricsdk.errors import A1PayloadError

GOOD: dict[str, Any] = {
    "slices": [
        {"snssai": "1-000001", "min_prb_ratio": 10, "max_prb_ratio": 60, "target_throughput_mbps": 50},
        {"snssai": "1-00000A", "min_prb_ratio": 5, "max_prb_ratio": 40, "max_latency_ms": 20},
        {"snssai": "2", "min_prb_ratio": 0, "max_prb_ratio": 100},
    ]
}


def test_the_schema_is_draft_07_and_the_type_id_is_an_integer_the_mediator_accepts() -> None:
    assert slice_sla.SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(slice_sla.SCHEMA)
    jsonschema.Draft7Validator.check_schema(slice_sla.STATUS_SCHEMA)
    assert isinstance(slice_sla.TYPE_ID, int) and 1 <= slice_sla.TYPE_ID <= 2147483647
    body = json.loads(slice_sla.mediator_policy_type())
    assert set(body) == {"name", "description", "policy_type_id", "create_schema"}
    assert body["policy_type_id"] == 20008 and body["create_schema"] == slice_sla.SCHEMA


def test_a_valid_policy_parses_into_frozen_entries() -> None:
    sla = slice_sla.parse(GOOD)
    a, b, c = sla.slices
    assert a == slice_sla.SliceSlaEntry(Snssai.of(1, 1), 10, 60, 50.0, None)
    assert b.key == "1-00000a" and b.max_latency_ms == 20.0  # keys are canonical (lower-case SD)
    assert c.snssai == Snssai.of(2) and c.target_throughput_mbps is None
    assert sla.get("1-000001") is a and sla.get("9") is None
    assert set(sla.by_key()) == {"1-000001", "1-00000a", "2"}
    assert a.clamp(80) == 60 and a.clamp(3) == 10 and a.clamp(30) == 30
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.min_prb_ratio = 0  # type: ignore[misc]
    assert slice_sla.parse(sla.to_json()) == sla


def test_the_mediator_path_payload_string_parses_too() -> None:
    raw = json.dumps(
        {"operation": "CREATE", "policy_type_id": "20008", "policy_instance_id": "sla-1", "payload": json.dumps(GOOD)}
    ).encode()
    req = parse_policy_request(raw)
    assert slice_sla.parse(req.payload).slices[0].max_prb_ratio == 60


def _with(index: int, **changes: Any) -> dict[str, Any]:
    slices = [dict(s) for s in GOOD["slices"]]
    slices[index].update(changes)
    return {"slices": [{k: v for k, v in s.items() if v is not None} for s in slices]}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], "policy"),
        ({}, "slices: is required"),
        ({"slices": []}, "slices"),
        ({**GOOD, "extra": 1}, "extra: is not allowed"),
        (_with(1, snssai=None), r"slices\[1\]\.snssai: is required"),
        (_with(0, snssai="1-xyz"), r"slices\[0\]\.snssai"),
        (_with(0, snssai="999"), r"slices\[0\]\.snssai"),
        (_with(2, max_prb_ratio=101), r"slices\[2\]\.max_prb_ratio"),
        (_with(2, min_prb_ratio=-1), r"slices\[2\]\.min_prb_ratio"),
        (_with(0, min_prb_ratio=12.5), r"slices\[0\]\.min_prb_ratio"),
        (_with(0, min_prb_ratio=True), r"slices\[0\]\.min_prb_ratio"),
        (_with(0, target_throughput_mbps=0), r"slices\[0\]\.target_throughput_mbps"),
        (_with(1, max_latency_ms="fast"), r"slices\[1\]\.max_latency_ms"),
        (_with(1, colour="red"), r"slices\[1\]\.colour: is not allowed"),
        (_with(0, min_prb_ratio=70), r"slices\[0\]\.max_prb_ratio: 60 is below min_prb_ratio 70"),
        (_with(2, snssai="1-000001"), r"slices\[2\]\.snssai: slice 1-000001 appears twice"),
        (_with(2, min_prb_ratio=90, max_prb_ratio=90), "add up to 105"),
    ],
)
def test_invalid_policies_raise_a1_payload_errors_naming_the_field(payload: object, field: str) -> None:
    with pytest.raises(A1PayloadError, match=field):
        slice_sla.parse(payload)
