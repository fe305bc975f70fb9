"""The canonical encoding: one body per record, stable bytes, strict decoding."""

from __future__ import annotations

import hashlib
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ricsdk.errors import LineageError, LineageRecordError
from ricsdk.lineage import DecisionRecord, ModelRef, RcAction, Slot, decode_payload, encode_record, snssai
from ricsdk.lineage.encoding import features_digest, peek_identity

GOLDEN = DecisionRecord(
    decision_id="dec-1",
    instance="xapp-1",
    sequence=7,
    timestamp_ns=1_700_000_000_123_456_789,
    e2_node="gnb-001",
    cell="cell-2",
    slice_id="1-000001",
    model=ModelRef("prb", "1.0", "sha256:00", Slot.CANARY),
    input_digest="",
    features=(1.5, -0.0),
    output=(0.25,),
    action=RcAction(10, 80, 5, False, "shadow"),
    policy_ids=("p1",),
    stage_ns=(("decode", 1200), ("infer", 45000)),
    cpu_ns=41000,
    prev_hash=bytes(range(32)),
)
GOLDEN_HASH = "7eb4d6b6ffcc76cb2833350b1dadb408f84dceab8d34bb887f8e921bb5d070b2"

texts = st.text(max_size=12)
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
records = st.builds(
    DecisionRecord,
    decision_id=texts,
    instance=texts,
    sequence=st.integers(0, 2**64 - 1),
    timestamp_ns=st.integers(-(2**63), 2**63 - 1),
    e2_node=texts,
    cell=texts,
    slice_id=texts,
    model=st.builds(ModelRef, texts, texts, texts, st.sampled_from(Slot)),
    input_digest=texts,
    features=st.none() | st.lists(floats, max_size=6).map(tuple),
    output=st.lists(floats, max_size=6).map(tuple),
    action=st.none()
    | st.builds(RcAction, st.integers(0, 100), st.integers(0, 100), st.integers(0, 100), st.booleans(), texts),
    policy_ids=st.lists(texts, max_size=4).map(tuple),
    stage_ns=st.dictionaries(texts, st.integers(0, 2**64 - 1), max_size=5).map(lambda d: tuple(sorted(d.items()))),
    cpu_ns=st.integers(0, 2**64 - 1),
    prev_hash=st.binary(min_size=32, max_size=32),
)


def _payload(record: DecisionRecord) -> bytes:
    body = encode_record(record)
    return body + hashlib.sha256(body).digest()


def test_golden_vector_is_stable() -> None:
    """The body and hash of a fixed record never change (across Python versions and platforms)."""
    body = encode_record(GOLDEN)
    assert hashlib.sha256(body).hexdigest() == GOLDEN_HASH
    assert body[:1] == b"\x01"
    assert body[-32:] == bytes(range(32))


@given(records)
def test_encoding_is_deterministic_and_round_trips(record: DecisionRecord) -> None:
    """Encoding twice gives the same bytes; decoding and re-encoding gives them again (NaN bits included)."""
    body = encode_record(record)
    assert encode_record(record) == body
    decoded, decoded_body = decode_payload(_payload(record))
    assert decoded_body == body
    assert encode_record(decoded) == body
    assert peek_identity(_payload(record)) == (record.instance, record.sequence)
    assert decoded.features is None if record.features is None else len(decoded.features) == len(record.features)
    if not any(math.isnan(x) for x in (*(record.features or ()), *record.output)):
        assert decoded == DecisionRecord(**{**_fields(record), "hash": hashlib.sha256(body).digest()})


def _fields(record: DecisionRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in DecisionRecord.__dataclass_fields__}


@given(records, records)
def test_different_records_have_different_bodies(a: DecisionRecord, b: DecisionRecord) -> None:
    """The encoding is injective: equal bodies only for records with identical fields."""
    if encode_record(a) == encode_record(b):
        assert _payload(a) == _payload(b)
        assert decode_payload(_payload(a))[0] == decode_payload(_payload(b))[0] or any(
            math.isnan(x) for x in (*(a.features or ()), *a.output)
        )


def test_stage_timings_must_be_sorted_and_unique() -> None:
    bad = DecisionRecord(**{**_fields(GOLDEN), "stage_ns": (("infer", 1), ("decode", 2))})  # type: ignore[arg-type]
    with pytest.raises(LineageRecordError):
        encode_record(bad)


@pytest.mark.parametrize(
    ("field", "value"),
    [("sequence", -1), ("cpu_ns", 2**64), ("prev_hash", b"short"), ("stage_ns", (("a", -5),))],
)
def test_values_out_of_range_are_rejected(field: str, value: object) -> None:
    bad = DecisionRecord(**{**_fields(GOLDEN), field: value})  # type: ignore[arg-type]
    with pytest.raises(LineageRecordError):
        encode_record(bad)


def test_decoding_is_strict() -> None:
    """Trailing bytes, unknown versions, slots or flag bits are refused, not guessed."""
    payload = _payload(GOLDEN)
    body = payload[:-32]
    for broken in (
        body + b"\x00" + payload[-32:],
        b"\x02" + payload[1:],
        payload[:-33],
    ):
        with pytest.raises(LineageError):
            decode_payload(broken)
    flags_at = 1 + 8 + 8 + 8 + 1
    with pytest.raises(LineageError):
        decode_payload(payload[:flags_at] + b"\x08" + payload[flags_at + 1 :])
    with pytest.raises(LineageError):
        decode_payload(payload[: flags_at - 1] + b"\x09" + payload[flags_at:])


def test_features_digest_is_sha256_of_the_packed_row() -> None:
    row = (1.0, 2.0, 3.5)
    expected = hashlib.sha256(struct.pack("<I3d", 3, *row)).hexdigest()
    assert features_digest(row) == expected


def test_snssai_and_action_validation() -> None:
    assert snssai(1, 1) == "1-000001"
    assert snssai(2) == "2"
    with pytest.raises(LineageRecordError):
        snssai(256)
    with pytest.raises(LineageRecordError):
        RcAction(0, 101, 0, True)


def test_non_ascii_and_lone_surrogate_texts_round_trip() -> None:
    """The ASCII fast path and the UTF-8 (surrogatepass) path give the lengths and bytes the format defines."""
    record = DecisionRecord(**{**_fields(GOLDEN), "cell": "zelle-\u00e9\u4e2d", "slice_id": "s\ud800", "hash": b""})
    body = encode_record(record)
    assert "zelle-\u00e9\u4e2d".encode() in body and "s\ud800".encode("utf-8", "surrogatepass") in body
    decoded, _ = decode_payload(_payload(record))
    assert (decoded.cell, decoded.slice_id) == (record.cell, record.slice_id)
    assert encode_record(decoded) == body
