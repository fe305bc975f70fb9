"""Trace records: metadata comments, the pcapng form, E2AP direction/mtype, RICrequestID and other IEs read and
rewritten on the bytes, dissector choice; hostile input only ever counted or raised as TraceError."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ricsdk.e2 import e2ap as m
from ricsdk.trace.pcap import PcapngWriter, exported_pdu
from ricsdk.trace.records import (
    Direction,
    TraceError,
    TraceRecord,
    call_process_id_of,
    control_ids_of,
    decode_comment,
    dissector_for,
    e2ap_route,
    encode_comment,
    encode_trace,
    parse_trace,
    ran_function_of,
    request_id_of,
    with_request_id,
)

RID = m.RicRequestId(1234, 56)
CAUSE = m.Cause.of("ricRequest", "control-message-invalid")

# (message, natural direction, RMR mtype)
MESSAGES: list[tuple[m.E2apMessage, Direction, int]] = [
    (m.RicIndication(RID, 2, 1, m.IndicationType.REPORT, b"h", b"m", 9), Direction.IN, 12050),
    (m.RicControlRequest(RID, 3, b"h", b"m", b"\x00\x00\x00\x07", m.ControlAckRequest.ACK), Direction.OUT, 12040),
    (m.RicControlAcknowledge(RID, 3, b"\x00\x00\x00\x07"), Direction.IN, 12041),
    (m.RicControlFailure(RID, 3, CAUSE, b"\x07"), Direction.IN, 12042),
    (
        m.RicSubscriptionRequest(RID, 2, b"\x00", (m.ActionToBeSetup(1, m.ActionType.REPORT, b"\x01"),)),
        Direction.OUT,
        12010,
    ),
    (m.RicSubscriptionResponse(RID, 2, (1,)), Direction.IN, 12011),
    (m.RicSubscriptionFailure(RID, 2, CAUSE), Direction.IN, 12012),
    (m.RicSubscriptionDeleteRequest(RID, 2), Direction.OUT, 12020),
    (m.RicSubscriptionDeleteResponse(RID, 2), Direction.IN, 12021),
    (m.RicSubscriptionDeleteFailure(RID, 2, CAUSE), Direction.IN, 12022),
]


@pytest.mark.parametrize(("msg", "direction", "mtype"), MESSAGES, ids=lambda v: type(v).__name__)
def test_e2ap_route_and_request_id(msg: m.E2apMessage, direction: Direction, mtype: int) -> None:
    pdu = m.encode_e2ap(msg)
    assert e2ap_route(pdu) == (direction, mtype)
    assert request_id_of(pdu) == (1234, 56)
    rewritten = with_request_id(pdu, 7, 65535)
    assert len(rewritten) == len(pdu)
    decoded = m.decode_e2ap(rewritten)
    assert decoded == dataclasses.replace(msg, request_id=m.RicRequestId(7, 65535))  # type: ignore[arg-type]
    assert ran_function_of(pdu) == msg.ran_function_id  # type: ignore[union-attr]
    assert control_ids_of(pdu) == (request_id_of(pdu), ran_function_of(pdu), call_process_id_of(pdu))


def test_call_process_id_and_either_direction_procedures() -> None:
    ctl = m.encode_e2ap(MESSAGES[1][0])
    assert call_process_id_of(ctl) == b"\x00\x00\x00\x07"
    assert control_ids_of(ctl) == ((1234, 56), ran_function_of(ctl), b"\x00\x00\x00\x07")
    assert call_process_id_of(m.encode_e2ap(MESSAGES[0][0])) is None
    err = m.encode_e2ap(m.ErrorIndication(request_id=RID, cause=CAUSE))
    assert e2ap_route(err) == (Direction.IN, 12006)
    assert e2ap_route(err, Direction.OUT) == (Direction.OUT, 12007)
    assert e2ap_route(b"\x00\x1f\x00\x00") == (Direction.IN, -1)  # a procedure nobody maps: unknown mtype
    with pytest.raises(TraceError):
        e2ap_route(b"\xe0\x01\x00")


@given(st.integers(0, 65535), st.integers(0, 65535), st.binary(max_size=20000))
def test_request_id_rewrite_in_any_size_of_indication(req: int, inst: int, body: bytes) -> None:
    pdu = m.encode_e2ap(m.RicIndication(RID, 2, 1, m.IndicationType.REPORT, b"h", body, 3))
    out = with_request_id(pdu, req, inst)
    assert request_id_of(out) == (req, inst)
    ind = m.decode_e2ap(out)
    assert isinstance(ind, m.RicIndication) and ind.message == body and ind.sn == 3


@given(st.binary(max_size=200))
def test_fuzz_ie_readers(data: bytes) -> None:
    assert control_ids_of(data) == (request_id_of(data), ran_function_of(data), call_process_id_of(data))
    with contextlib.suppress(TraceError, ValueError):
        with_request_id(data, 1, 1)
    with contextlib.suppress(TraceError):
        e2ap_route(data)


records = st.builds(
    TraceRecord,
    st.integers(0, 2**62),
    st.sampled_from(Direction),
    st.integers(-1, 70000),
    st.binary(max_size=300),
    st.integers(-1, 2**31 - 1),
    st.text(max_size=30),
    st.binary(max_size=32),
    st.text(max_size=30),
    st.integers(0, 2**63 - 1),
)


@given(st.lists(records, max_size=6))
def test_trace_round_trip(recs: list[TraceRecord]) -> None:
    parsed = parse_trace(encode_trace(recs))
    assert list(parsed.records) == recs and not parsed.skipped


@given(records)
def test_comment_round_trip(rec: TraceRecord) -> None:
    meta = decode_comment(encode_comment(rec))
    assert (meta.direction, meta.mtype, meta.sub_id, meta.meid, meta.xid, meta.src, meta.received_ns) == (
        rec.direction,
        rec.mtype,
        rec.sub_id,
        rec.meid,
        rec.xid,
        rec.src,
        rec.received_ns,
    )


@pytest.mark.parametrize(
    "comment",
    ['{"v":1,"dir":"sideways","mtype":1}', '{"v":2}', "not json", '{"v":1,"dir":"in","mtype":"12050"}', "[1]"],
)
def test_bad_metadata_is_a_trace_error(comment: str) -> None:
    with pytest.raises(TraceError) as info:
        decode_comment(comment)
    assert info.value.reason == "bad-metadata"


def test_dissector_choice() -> None:
    assert dissector_for(12050, b"\x00") == "e2ap"
    assert dissector_for(20010, b' {"a": 1}') == "json"
    assert dissector_for(20010, b"{\xff") == "data"
    assert dissector_for(100, b"\x01\x02") == "data"


def test_packets_without_metadata() -> None:
    """E2AP without a comment is inferred; a foreign comment is ignored; other payloads without one are counted."""
    w = PcapngWriter()
    ind = m.encode_e2ap(MESSAGES[0][0])
    blob = (
        w.header()
        + w.packet(1, exported_pdu(ind))
        + w.packet(2, exported_pdu(ind), comment="captured at site 3")
        + w.packet(3, exported_pdu(b"{}", "json"))
        + w.packet(4, b"\x00\x0c\x00\x08ab")
    )
    parsed = parse_trace(blob)
    assert [(r.direction, r.mtype, r.sub_id, r.meid) for r in parsed.records] == [
        (Direction.IN, 12050, 56, "e2-node")
    ] * 2
    assert dict(parsed.skipped) == {"unknown-payload": 1, "malformed-exported-pdu": 1}
