"""The C reader of RICindication and RICcontrolAcknowledge (``ricsdk/e2/_e2ap.c``) changes nothing but speed:
``decode_e2ap`` gives the same message, or the same typed error (message and bit position), with and without it.
Where the C reader declines a PDU, the Python decoder decides, so the comparison covers both ways."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ricsdk.e2 import e2ap as m
from ricsdk.errors import E2DecodeError
from ricsdk.trace import records
from tests.e2 import e2ap_strategies as es
from tests.e2 import kpm_strategies as ks

IND = m._fast_indication
ACK = m._fast_control_ack
FIND = records._fast_find

needs_c = pytest.mark.skipif(IND is None, reason="ricsdk.e2._e2ap was not built (no C compiler)")

hot = st.one_of(
    st.builds(
        m.RicIndication,
        es.request_id,
        es.func_id,
        st.integers(0, 255),
        st.sampled_from(list(m.IndicationType)),
        st.binary(max_size=300),
        st.binary(max_size=300),
        st.none() | es.u16,
        st.none() | es.small_bytes,
    ),
    st.builds(
        m.RicControlAcknowledge, es.request_id, es.func_id, st.none() | es.small_bytes, st.none() | es.small_bytes
    ),
)


@contextmanager
def python_only() -> Iterator[None]:
    saved = m._fast_indication, m._fast_control_ack
    m._fast_indication = m._fast_control_ack = None
    try:
        yield
    finally:
        m._fast_indication, m._fast_control_ack = saved


def outcome(raw: bytes) -> object:
    try:
        msg = m.decode_e2ap(raw)
    except E2DecodeError as exc:
        return ("error", str(exc), exc.bit_position)
    return ("ok", type(msg).__name__, repr(msg))


def same(raw: bytes) -> object:
    fast = outcome(raw)
    with python_only():
        slow = outcome(raw)
    assert fast == slow
    return fast


@needs_c
@given(hot)
def test_hot_pdus_take_the_c_reader_and_decode_the_same(msg: m.E2apMessage) -> None:
    raw = m.encode_e2ap(msg)
    reader = IND if isinstance(msg, m.RicIndication) else ACK
    assert reader is not None
    assert reader(raw) is not None  # what the encoder writes is read in C
    decoded = m.decode_e2ap(raw)
    assert decoded == msg and type(decoded.request_id) is m.RicRequestId
    if isinstance(msg, m.RicIndication):
        assert type(decoded.indication_type) is m.IndicationType  # type: ignore[union-attr]
    assert same(raw)[0] == "ok"


@needs_c
@given(es.messages())
def test_every_pdu_decodes_the_same(msg: m.E2apMessage) -> None:
    same(m.encode_e2ap(msg, m.E2apVersion.V3))


@needs_c
@settings(max_examples=400)
@given(hot, st.data())
def test_damaged_pdus_give_the_same_errors(msg: m.E2apMessage, data: st.DataObject) -> None:
    truncated, mutated = ks.damaged(m.encode_e2ap(msg), data)
    same(truncated)
    same(mutated)


@needs_c
@settings(max_examples=400)
@given(st.sampled_from([b"\x00\x05\x40", b"\x20\x04\x00", b"\x40\x04\x00", b"\x00\x04\x00"]), st.binary(max_size=80))
def test_random_bodies_behind_hot_headers_give_the_same_outcome(head: bytes, body: bytes) -> None:
    same(head + body)
    same(head + bytes((len(body),)) + body)


@needs_c
def test_reader_declines_what_python_reads_its_own_way() -> None:
    """Pieces the C reader leaves to Python: a RICrequestID with extensions (a PDU that only the Python reader
    takes), an unknown IE of criticality reject, a repeated IE, a missing mandatory IE, another procedure."""
    assert IND is not None and ACK is not None
    ind = m.RicIndication(m.RicRequestId(1, 2), 3, 4, m.IndicationType.REPORT, b"h", b"m", 5, None)
    raw = m.encode_e2ap(ind)
    assert IND(raw) == (b"\x00\x00\x01\x00\x02", 3, 4, 5, 0, b"h", b"m", None)
    body = m._encode_indication(ind)
    rid_ie = b"\x00\x1d\x00\x05\x00\x00\x01\x00\x02"
    assert rid_ie in body
    cases = {
        "unknown IE, reject": body[:2] + bytes((body[2] + 1,)) + body[3:] + b"\x00\x63\x00\x01\x00",
        "repeated IE": body[:2] + bytes((body[2] + 1,)) + body[3:] + rid_ie,
        "missing IE": b"\x00\x00" + bytes((body[2] - 1,)) + body[3:].replace(rid_ie, b""),
    }
    for name, b in cases.items():
        pdu = m._pdu(m.PduKind.INITIATING, 5, b)
        assert IND(pdu) is None, name
        with pytest.raises(E2DecodeError):
            m.decode_e2ap(pdu)
        same(pdu)
    ignored = body[:2] + bytes((body[2] + 1,)) + body[3:] + b"\x00\x63\x40\x01\x00"  # criticality ignore: skipped
    pdu = m._pdu(m.PduKind.INITIATING, 5, ignored)
    assert IND(pdu) is not None and m.decode_e2ap(pdu) == ind
    req = m.RicControlRequest(m.RicRequestId(1, 2), 3, b"h", b"m", b"\x00\x00\x00\x01", m.ControlAckRequest.ACK)
    assert ACK(m.encode_e2ap(req)) is None and IND(m.encode_e2ap(req)) is None
    with pytest.raises(TypeError):
        IND(bytearray(raw))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ACK("x")  # type: ignore[arg-type]


@needs_c
@settings(max_examples=500)
@given(st.binary(max_size=120))
def test_readers_on_arbitrary_bytes_never_read_past_them(raw: bytes) -> None:
    assert IND is not None and ACK is not None
    for reader in (IND, ACK):
        got = reader(raw)
        assert got is None or isinstance(got, tuple)
    same(raw)


def _python_walk(pdu: bytes, wanted: tuple[int, ...]) -> object:
    saved = records._fast_find
    records._fast_find = None  # type: ignore[assignment]
    try:
        return records._find_ies(pdu, wanted)
    except records.TraceError as exc:
        return ("error", str(exc))
    finally:
        records._fast_find = saved


WANTED = st.sampled_from([(29, 5, 20), (29,), (5,), (20,), (29, 29), (26, 15, 99), ()])


@needs_c
@settings(max_examples=400)
@given(es.messages(), WANTED, st.data())
def test_ie_walk_in_c_finds_what_the_python_walk_finds(
    msg: m.E2apMessage, wanted: tuple[int, ...], data: st.DataObject
) -> None:
    """``find_ies`` (used by the trace's id readers, the replay's control answers among them) on whole, truncated
    and bit-flipped PDUs: the Python walk's result wherever it gives one, else None (the Python walk then raises)."""
    assert FIND is not None
    raw = m.encode_e2ap(msg, m.E2apVersion.V3)
    truncated, mutated = ks.damaged(raw, data)
    for pdu in (raw, truncated, mutated, raw[:3] + b"\x81\x00" + raw[4:]):
        got = FIND(pdu, wanted)
        ref = _python_walk(pdu, wanted)
        assert got is None or got == ref
    assert FIND(raw, wanted) == _python_walk(raw, wanted)  # a whole PDU is always walked in C


@needs_c
@settings(max_examples=400)
@given(st.binary(max_size=60), WANTED)
def test_ie_walk_in_c_on_arbitrary_bytes(raw: bytes, wanted: tuple[int, ...]) -> None:
    assert FIND is not None
    got = FIND(raw, wanted)
    assert got is None or got == _python_walk(raw, wanted)
    with pytest.raises(TypeError):
        FIND(raw, list(wanted))  # type: ignore[arg-type]


@needs_c
@given(
    st.builds(
        m.RicControlRequest,
        es.request_id,
        es.func_id,
        st.binary(max_size=300),
        st.binary(max_size=300),
        st.none() | es.small_bytes,
        st.none() | st.sampled_from(list(m.ControlAckRequest)),
    )
)
def test_control_request_encoded_in_c_is_the_python_encoding(msg: m.RicControlRequest) -> None:
    python = m._pdu(m.PduKind.INITIATING, 4, m._encode_control_request(msg))
    assert m.encode_e2ap(msg) == python
    args = (msg.request_id, msg.ran_function_id, msg.header, msg.message, msg.call_process_id, msg.ack_request)
    assert m.encode_control_request(*args) == python
    assert m.decode_e2ap(python) == msg


@needs_c
def test_control_request_encoder_leaves_odd_fields_to_the_dataclass() -> None:
    """Out-of-range or oddly typed fields are refused with the dataclass's typed error; a long message (a
    fragmented length) is encoded by Python, the same bytes as through encode_e2ap."""
    rid = m.RicRequestId(1, 2)
    fast = m._fast_control_request
    assert fast is not None
    assert fast(1, 2, 4096, b"h", b"m", None, -1) is None
    assert fast(1, 2, True, b"h", b"m", None, -1) is None
    assert fast(1, 2, 3, bytearray(b"h"), b"m", None, -1) is None
    assert fast(1, 2, 3, b"h", b"m" * 20000, None, -1) is None
    assert fast(1, 70000, 3, b"h", b"m", None, -1) is None
    with pytest.raises(m.E2ValueError) as info:
        m.encode_control_request(rid, 4096, b"h", b"m")
    assert info.value.field == "ran_function_id"
    with pytest.raises(m.E2ValueError) as info:
        m.encode_control_request(rid, 3, "h", b"m")  # type: ignore[arg-type]
    assert info.value.field == "header"
    long = m.RicControlRequest(rid, 3, b"h", b"m" * 20000, b"\x00\x00\x00\x01", m.ControlAckRequest.ACK)
    assert m.encode_control_request(rid, 3, b"h", b"m" * 20000, b"\x00\x00\x00\x01", m.ControlAckRequest.ACK) == (
        m._pdu(m.PduKind.INITIATING, 4, m._encode_control_request(long))
    )
    with pytest.raises(TypeError):
        fast(1, 2, 3)  # type: ignore[call-arg]


@needs_c
@given(
    st.builds(
        m.RicControlAcknowledge, es.request_id, es.func_id, st.none() | es.small_bytes, st.none() | es.small_bytes
    )
)
def test_control_ack_encoded_in_c_is_the_python_encoding(msg: m.RicControlAcknowledge) -> None:
    python = m._pdu(m.PduKind.SUCCESSFUL, 4, m._encode_control_ack(msg))
    assert m.encode_e2ap(msg) == python
    assert m.encode_control_ack(msg.request_id, msg.ran_function_id, msg.call_process_id, msg.outcome) == python
    assert m.decode_e2ap(python) == msg


@needs_c
def test_control_ack_encoder_leaves_odd_fields_to_the_dataclass() -> None:
    fast = m._fast_control_ack_pdu
    assert fast is not None
    assert fast(1, 2, 4096, None, None) is None
    assert fast(1, 2, 3, bytearray(b"c"), None) is None
    assert fast(1, 2, 3, None, b"o" * 20000) is None
    with pytest.raises(m.E2ValueError) as info:
        m.encode_control_ack(m.RicRequestId(1, 2), -1)
    assert info.value.field == "ran_function_id"
    long = m.RicControlAcknowledge(m.RicRequestId(1, 2), 3, b"\x01", b"o" * 20000)
    assert m.encode_control_ack(long.request_id, 3, b"\x01", b"o" * 20000) == m._pdu(
        m.PduKind.SUCCESSFUL, 4, m._encode_control_ack(long)
    )
