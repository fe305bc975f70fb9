"""E2AP codec: round trips, independent cross-checks with pycrate's compiled E2AP, pinned bytes, errors, fuzz."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ricsdk.e2 import e2ap as m
from ricsdk.e2.per import BitString
from ricsdk.errors import E2DecodeError, E2ValueError
from tests.e2 import pycrate_e2ap
from tests.e2.e2ap_strategies import messages, subscription_request


@given(messages(v3=False))
def test_round_trip_v2(msg: m.E2apMessage) -> None:
    """Every v2 message decodes back to itself."""
    assert m.decode_e2ap(m.encode_e2ap(msg, m.E2apVersion.V2)) == msg


@given(messages(v3=True))
def test_round_trip_v3(msg: m.E2apMessage) -> None:
    """Every v3 message (with v3-only fields) decodes back to itself."""
    assert m.decode_e2ap(m.encode_e2ap(msg, m.E2apVersion.V3)) == msg


@settings(max_examples=120)
@given(messages(v3=True))
def test_pycrate_decodes_what_we_encode(msg: m.E2apMessage) -> None:
    """pycrate's compiled E2AP decodes our bytes to the same values and re-encodes them byte for byte."""
    ours = m.encode_e2ap(msg, m.E2apVersion.V3)
    assert pycrate_e2ap.pycrate_decode(ours) == pycrate_e2ap.to_pycrate(msg)
    assert pycrate_e2ap.PDU.to_aper() == ours


@settings(max_examples=120)
@given(messages(v3=True))
def test_we_decode_what_pycrate_encodes(msg: m.E2apMessage) -> None:
    """Bytes produced by pycrate from the same values decode to the same dataclass."""
    assert m.decode_e2ap(pycrate_e2ap.pycrate_encode(msg)) == msg


def test_pinned_indication_bytes() -> None:
    """A RICindication laid out by hand from X.691 rules: PDU frame, IE container, each IE."""
    msg = m.RicIndication(m.RicRequestId(123, 7), 2, 1, m.IndicationType.REPORT, b"\xaa", b"\xbb\xcc", sn=5)
    expected = bytes.fromhex(
        "00"  # initiatingMessage (ext 0, index 00)
        "05"  # procedureCode 5 RICindication
        "40"  # criticality ignore
        "2f"  # open type length 47
        "000007"  # RICindication: extension bit, 7 IEs
        "001d 00 05 00007b0007"  # RICrequestID {123, 7}
        "0005 00 02 0002"  # RANfunctionID 2
        "000f 00 01 01"  # RICactionID 1
        "001b 00 02 0005"  # RICindicationSN 5
        "001c 00 01 00"  # RICindicationType report
        "0019 00 02 01aa"  # RICindicationHeader
        "001a 00 03 02bbcc".replace(" ", "")  # RICindicationMessage
    )
    assert m.encode_e2ap(msg) == expected
    assert m.decode_e2ap(expected) == msg


def test_pinned_control_request_bytes() -> None:
    msg = m.RicControlRequest(m.RicRequestId(123, 1), 3, b"\x01", b"\x02\x03", ack_request=m.ControlAckRequest.ACK)
    expected = bytes.fromhex(
        "00040024000005001d000500007b00010005000200 030016000201 01001700030202030015000140".replace(" ", "")
    )
    assert m.encode_e2ap(msg) == expected
    assert m.decode_e2ap(expected) == msg


def test_large_message_uses_fragmented_lengths() -> None:
    """Octet strings past 16K are fragmented; pycrate agrees on the bytes."""
    big = bytes(range(256)) * 200  # 51,200 octets
    msg = m.RicIndication(m.RicRequestId(1, 2), 3, 4, m.IndicationType.REPORT, b"h", big)
    ours = m.encode_e2ap(msg)
    assert m.decode_e2ap(ours) == msg
    assert pycrate_e2ap.pycrate_encode(msg) == ours


def test_peek_procedure() -> None:
    data = m.encode_e2ap(m.RicSubscriptionDeleteResponse(m.RicRequestId(1, 2), 3))
    assert m.peek_procedure(data) == (m.PduKind.SUCCESSFUL, 9)


def test_v2_refuses_v3_fields() -> None:
    req = m.RicSubscriptionRequest(
        m.RicRequestId(1, 2), 3, b"t", (m.ActionToBeSetup(1, m.ActionType.REPORT, execution_order=3),)
    )
    with pytest.raises(E2ValueError, match="execution_order"):
        m.encode_e2ap(req, m.E2apVersion.V2)
    assert m.decode_e2ap(m.encode_e2ap(req, m.E2apVersion.V3)) == req
    timed = m.RicSubscriptionRequest(
        m.RicRequestId(1, 2), 3, b"t", (m.ActionToBeSetup(1, m.ActionType.REPORT),), start_time=b"\x00" * 8
    )
    with pytest.raises(E2ValueError, match="v3"):
        m.encode_e2ap(timed, m.E2apVersion.V2)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: m.RicRequestId(70000, 1), "requestor_id"),
        (lambda: m.RicIndication(m.RicRequestId(1, 1), 5000, 1, m.IndicationType.REPORT, b"", b""), "ran_function_id"),
        (lambda: m.RicIndication(m.RicRequestId(1, 1), 1, 256, m.IndicationType.REPORT, b"", b""), "action_id"),
        (lambda: m.RicIndication(m.RicRequestId(1, 1), 1, 1, m.IndicationType.REPORT, "x", b""), "header"),  # type: ignore[arg-type]
        (lambda: m.GlobalGnbId(b"\x00\x01", BitString(1, 22)), "plmn"),
        (lambda: m.GlobalGnbId(b"\x00\x01\x02", BitString(1, 40)), "gnb_id"),
        (lambda: m.RicSubscriptionRequest(m.RicRequestId(1, 1), 1, b"", ()), "actions"),
        (lambda: m.Cause.of("ricRequest", "no-such-cause"), "cause"),
    ],
)
def test_invalid_values_are_refused_at_construction(build: object, field: str) -> None:
    with pytest.raises(E2ValueError) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field


def _container(*ies: bytes) -> bytes:
    body = b"\x00" + len(ies).to_bytes(2, "big") + b"".join(ies)
    return bytes((0x00, 9, 0x00, len(body))) + body


def test_unknown_ie_with_reject_fails_and_ignore_is_skipped() -> None:
    rid = b"\x00\x1d\x00\x05\x00\x00\x01\x00\x02"
    fid = b"\x00\x05\x00\x02\x00\x03"
    unknown_ignore = b"\x03\xe7\x40\x01\x00"
    unknown_reject = b"\x03\xe7\x00\x01\x00"
    ok = m.decode_e2ap(_container(rid, fid, unknown_ignore))
    assert ok == m.RicSubscriptionDeleteRequest(m.RicRequestId(1, 2), 3)
    with pytest.raises(E2DecodeError, match="unknown IE 999 with criticality reject"):
        m.decode_e2ap(_container(rid, fid, unknown_reject))


def test_missing_and_repeated_ies_fail_with_the_ie_named() -> None:
    rid = b"\x00\x1d\x00\x05\x00\x00\x01\x00\x02"
    fid = b"\x00\x05\x00\x02\x00\x03"
    with pytest.raises(E2DecodeError, match="RANfunctionID"):
        m.decode_e2ap(_container(rid))
    with pytest.raises(E2DecodeError, match="repeated"):
        m.decode_e2ap(_container(rid, fid, fid))


def test_decode_error_carries_bytes_position_and_path() -> None:
    msg = m.RicSubscriptionRequest(
        m.RicRequestId(1, 2), 3, b"trigger", (m.ActionToBeSetup(1, m.ActionType.REPORT, b"def"),)
    )
    data = bytearray(m.encode_e2ap(msg))
    at = bytes(data).index(b"\x03def")
    data[at] = 0x7F  # the action definition now claims 127 octets inside a 10-octet item
    with pytest.raises(E2DecodeError) as info:
        m.decode_e2ap(bytes(data))
    err = info.value
    assert err.data == bytes(data)
    assert err.segment and err.segment in bytes(data)
    assert err.path == "RicSubscriptionRequest.RICsubscriptionDetails.ricAction-ToBeSetup-List[0]"
    assert err.bit_position >= 0


# -- fuzzing: only typed errors, never anything else --------------------------------------------------


def _decode_or_typed_error(data: bytes) -> None:
    with contextlib.suppress(E2DecodeError):
        m.decode_e2ap(data)


@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    _decode_or_typed_error(data)


@given(messages(v3=True), st.data())
def test_fuzz_truncations_and_bit_flips(msg: m.E2apMessage, data: st.DataObject) -> None:
    raw = m.encode_e2ap(msg, m.E2apVersion.V3)
    cut = data.draw(st.integers(0, len(raw) - 1))
    _decode_or_typed_error(raw[:cut])
    flips = data.draw(st.lists(st.integers(0, len(raw) * 8 - 1), min_size=1, max_size=4))
    mutated = bytearray(raw)
    for f in flips:
        mutated[f >> 3] ^= 0x80 >> (f & 7)
    _decode_or_typed_error(bytes(mutated))


def test_hostile_counts_do_not_allocate() -> None:
    """An IE count of 65535 in a tiny message fails fast instead of looping or allocating."""
    body = b"\x00\xff\xff" + b"\x00" * 8
    with pytest.raises(E2DecodeError, match="exceeds"):
        m.decode_e2ap(bytes((0x00, 5, 0x40, len(body))) + body)


@given(subscription_request(v3=False))
def test_subscription_request_ids_unique(req: m.RicSubscriptionRequest) -> None:
    ids = [a.action_id for a in req.actions]
    assert len(ids) == len(set(ids))
