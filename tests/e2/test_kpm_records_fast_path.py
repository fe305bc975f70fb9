"""The C paths of ``ricsdk/e2/_records.c`` give exactly what the Python decoder gives: the run of octet-aligned
INTEGER records in ``kpm._dec_records``, and the format-1 fast path of ``KpmCodec.decode_indication_message``
(records of the usual messages in C, the measurement information from the memo). Same messages, and the same
typed error (message and bit position) for damaged ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ricsdk.e2 import kpm as k
from ricsdk.errors import E2DecodeError
from tests.e2 import kpm_strategies as ks

V2 = k.KpmCodec(k.KpmVersion.V2)
V3 = k.KpmCodec(k.KpmVersion.V3)
FAST = k._fast_records
F1 = k._fast_f1

needs_c = pytest.mark.skipif(FAST is None, reason="ricsdk.e2._records was not built (no C compiler)")


@contextmanager
def python_loop() -> Iterator[None]:
    saved = k._fast_records, k._fast_f1
    k._fast_records = k._fast_f1 = None  # type: ignore[assignment]
    try:
        yield
    finally:
        k._fast_records, k._fast_f1 = saved


def outcome(decode: Callable[[bytes], object], raw: bytes) -> object:
    """What decoding ``raw`` gives: the value's repr, or the error's type, message and bit position."""
    try:
        return ("ok", repr(decode(raw)))
    except E2DecodeError as exc:
        return ("error", str(exc), exc.bit_position)


def both(decode: Callable[[bytes], object], raw: bytes) -> None:
    first = outcome(decode, raw)  # fills the measurement-information memo the format-1 fast path reads
    fast = outcome(decode, raw)
    with python_loop():
        slow = outcome(decode, raw)
    assert first == fast == slow


@needs_c
@given(ks.indication_message(v3=True))
def test_same_messages(m: k.IndicationMessage) -> None:
    raw = V3.encode_indication_message(m)
    both(V3.decode_indication_message, raw)


@needs_c
@settings(max_examples=300)
@given(ks.indication_message(v3=True), st.data())
def test_same_errors_on_damaged_messages(m: k.IndicationMessage, data: st.DataObject) -> None:
    truncated, mutated = ks.damaged(V3.encode_indication_message(m), data)
    both(V3.decode_indication_message, truncated)
    both(V3.decode_indication_message, mutated)
    both(V2.decode_indication_message, mutated)


@needs_c
@given(st.binary(max_size=200))
def test_same_outcome_on_random_bytes(raw: bytes) -> None:
    both(V2.decode_indication_message, raw)


@needs_c
def test_run_stops_where_the_python_loop_must_take_over() -> None:
    """Integers of 1 to 4 octets are read; a REAL, an unaligned position, a record past ``end`` or ``m`` stop the
    run and leave the position there."""
    assert FAST is not None
    ints = bytes([0x00, 7, 0x08, 1, 2, 0x18, 0xFF, 0xFF, 0xFF, 0xFF])
    out: list[object] = []
    assert FAST(ints, 0, len(ints) * 8, 3, out) == 80 and out == [7, 258, 4294967295]
    out = []
    assert FAST(ints, 0, len(ints) * 8, 2, out) == 40 and out == [7, 258]
    out = []
    assert FAST(ints, 0, 72, 3, out) == 40 and out == [7, 258]  # the third runs past end
    out = []
    assert FAST(ints + bytes([0x20]), 0, 88, 4, out) == 80 and len(out) == 3  # 0x20: the REAL alternative
    out = []
    assert FAST(ints, 3, 80, 3, out) == 3 and out == []  # not octet-aligned
    for bad in [(ints, -1, 80, 1), (ints, 0, 81, 1), (ints, 0, 80, -1)]:
        with pytest.raises(ValueError):
            FAST(*bad, [])
    with pytest.raises(TypeError):
        FAST(bytearray(ints), 0, 80, 1, [])  # type: ignore[arg-type]


def _reference_run(data: bytes, pos: int, end: int, m: int) -> tuple[list[int], int]:
    """The fast-path condition of ``kpm._dec_records`` written out in Python."""
    out: list[int] = []
    for _ in range(m):
        if pos & 7 or pos >= end:
            break
        i = pos >> 3
        b = data[i]
        if b >= 0x20:
            break
        j = i + 2 + (b >> 3)
        if j << 3 > end:
            break
        out.append(int.from_bytes(data[i + 1 : j], "big"))
        pos = j << 3
    return out, pos


@needs_c
@settings(max_examples=500)
@given(st.binary(max_size=64), st.data())
def test_direct_calls_on_arbitrary_bytes(data: bytes, draw: st.DataObject) -> None:
    """Any position, end and count on any bytes: the run the Python rule gives, or a ValueError for arguments
    outside the data, never a read past it."""
    assert FAST is not None
    bits = len(data) * 8
    pos = draw.draw(st.integers(-8, bits + 8))
    end = draw.draw(st.integers(-8, bits + 8))
    m = draw.draw(st.integers(-1, 40))
    out: list[object] = []
    if pos < 0 or end < 0 or end > bits or m < 0:
        with pytest.raises(ValueError):
            FAST(data, pos, end, m, out)
        return
    got = FAST(data, pos, end, m, out)
    assert (out, got) == _reference_run(data, pos, end, m)


def _f1(records: tuple[k.MeasRecord, ...]) -> k.IndicationMessageF1:
    info = tuple(k.MeasInfoItem(f"m{i}") for i in range(len(records)))
    return k.IndicationMessageF1((k.MeasDataItem(records),), info, 1000)


@needs_c
def test_format_1_fast_path_is_taken_for_integer_and_no_value_records() -> None:
    """Integers of every width and noValue records (which leave the integers after them unaligned) are read in
    C; the decoded message is the one the Python decoder gives. A REAL, an incompleteFlag or a measurement
    information list never seen before leave the message to Python."""
    assert F1 is not None
    recs: tuple[k.MeasRecord, ...] = (7, k.Missing.NO_VALUE, 258, 4294967295, k.Missing.NO_VALUE, 0, 65536)
    msg = _f1(recs)
    raw = V2.encode_indication_message(msg)
    got = F1(raw, k.Missing.NO_VALUE)
    assert got is not None and got[0] == 0b11 and got[1] == (recs,)
    assert V2.decode_indication_message(raw) == msg  # fills the memo
    calls = []

    def spy(data: bytes, no_value: object) -> object:
        out = F1(data, no_value)
        calls.append(out is not None)
        return out

    k._fast_f1 = spy  # type: ignore[assignment]
    try:
        assert V2.decode_indication_message(raw) == msg
    finally:
        k._fast_f1 = F1
    assert calls == [True]
    for other in (_f1((1, 2.5)), k.IndicationMessageF1((k.MeasDataItem((1,), incomplete=True),), (), None)):
        assert F1(V2.encode_indication_message(other), k.Missing.NO_VALUE) is None
    with pytest.raises(TypeError):
        F1(bytearray(raw), k.Missing.NO_VALUE)  # type: ignore[arg-type]


@needs_c
@settings(max_examples=500)
@given(st.binary(max_size=80))
def test_format_1_records_on_arbitrary_bytes(data: bytes) -> None:
    """On any bytes: None, or records that the Python decoder reads the same, when it decodes them at all (the
    part after the records may still be invalid)."""
    assert F1 is not None
    got = F1(data, k.Missing.NO_VALUE)
    if got is None:
        return
    assert 0 <= got[2] <= len(data) * 8
    with python_loop():
        try:
            msg = V2.decode_indication_message(data)
        except E2DecodeError:
            return
    assert isinstance(msg, k.IndicationMessageF1)
    assert tuple(item.records for item in msg.meas_data) == got[1]
