"""E2SM-KPM codec: round trips for v2.0x and v3, version skew, TimeStamp detection, memoisation, fuzz."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ricsdk.e2 import kpm as k
from ricsdk.e2.common import RanFunctionName, Snssai
from ricsdk.errors import E2DecodeError, E2ValueError
from tests.e2 import kpm_strategies as ks

V2 = k.KpmCodec(k.KpmVersion.V2)
V3 = k.KpmCodec(k.KpmVersion.V3)


def _same(a: object, b: object) -> bool:
    """Equality that treats NaN-free floats exactly (records are compared bit for bit through repr)."""
    return a == b or repr(a) == repr(b)


@given(ks.indication_message(v3=False))
def test_indication_message_round_trip_v2(m: k.IndicationMessage) -> None:
    assert _same(V2.decode_indication_message(V2.encode_indication_message(m)), m)


@given(ks.indication_message(v3=True))
def test_indication_message_round_trip_v3(m: k.IndicationMessage) -> None:
    assert _same(V3.decode_indication_message(V3.encode_indication_message(m)), m)


@given(ks.header(4))
def test_header_round_trip_v2(h: k.IndicationHeader) -> None:
    assert V2.decode_indication_header(V2.encode_indication_header(h)) == h


@given(ks.header(8))
def test_header_round_trip_v3(h: k.IndicationHeader) -> None:
    assert V3.decode_indication_header(V3.encode_indication_header(h)) == h


@given(ks.action_definition(v3=False))
def test_action_definition_round_trip_v2(a: k.ActionDefinition) -> None:
    assert V2.decode_action_definition(V2.encode_action_definition(a)) == a


@given(ks.action_definition(v3=True))
def test_action_definition_round_trip_v3(a: k.ActionDefinition) -> None:
    assert V3.decode_action_definition(V3.encode_action_definition(a)) == a


@given(st.integers(1, 4294967295))
def test_event_trigger_round_trip(period: int) -> None:
    t = k.EventTrigger(period)
    assert V2.decode_event_trigger(V2.encode_event_trigger(t)) == t


def test_ran_function_description_round_trip() -> None:
    desc = k.RanFunctionDescription(
        RanFunctionName("ORAN-E2SM-KPM", k.KPM_OID_V3, "KPM Monitor", 1),
        (k.EventTriggerStyle(1, "Periodic Report", 1),),
        (
            k.ReportStyle(
                1,
                "E2 Node Measurement",
                1,
                (k.MeasInfoActionItem("DRB.UEThpDl", 1), k.MeasInfoActionItem("RRU.PrbUsedDl")),
                1,
                1,
            ),
        ),
    )
    assert V3.decode_ran_function_description(V3.encode_ran_function_description(desc)) == desc


def test_v2_refuses_v3_values() -> None:
    rec = k.IndicationMessageF1((k.MeasDataItem((k.Missing.NOT_SATISFIED,)),))
    with pytest.raises(E2ValueError, match="v3"):
        V2.encode_indication_message(rec)
    f3 = k.IndicationMessageF3((k.UeMeasReport(ks.UeIdGnbDu(1), k.IndicationMessageF1((k.MeasDataItem((1,)),))),))
    with pytest.raises(E2ValueError, match="format 3"):
        V2.encode_indication_message(f3)
    lab = k.IndicationMessageF1((k.MeasDataItem((1,)),), (k.MeasInfoItem("x", (k.MeasLabel(ssb_index=3),)),))
    with pytest.raises(E2ValueError, match="v3"):
        V2.encode_indication_message(lab)
    assert V3.decode_indication_message(V3.encode_indication_message(lab)) == lab


def test_timestamp_size_is_detected_when_the_node_skews() -> None:
    """A node announcing v2 but sending the 8-octet v3 TimeStamp still decodes, and vice versa."""
    h8 = k.IndicationHeader(bytes(range(8)), vendor_name="acme")
    h4 = k.IndicationHeader(bytes(range(4)), sender_name="du-1")
    assert V2.decode_indication_header(V3.encode_indication_header(h8)) == h8
    assert V3.decode_indication_header(V2.encode_indication_header(h4)) == h4
    pinned = k.KpmCodec(k.KpmVersion.V2, timestamp_octets=8)
    assert pinned.encode_indication_header(h8) == V3.encode_indication_header(h8)
    with pytest.raises(E2ValueError):
        pinned.encode_indication_header(h4)


def test_ntp_timestamps() -> None:
    ntp = (3913056000 + 2208988800 - 2208988800).to_bytes(4, "big") + (1 << 31).to_bytes(4, "big")
    h = k.IndicationHeader(ntp)
    assert math.isclose(h.collect_start_unix, 3913056000 - 2208988800 + 0.5)


@pytest.mark.parametrize(
    ("oid", "version"),
    [(k.KPM_OID_V2, k.KpmVersion.V2), (k.KPM_OID_V3, k.KpmVersion.V3), ("1.3.6.1.4.1.53148.1.4.2.2", k.KpmVersion.V3)],
)
def test_codec_from_oid(oid: str, version: k.KpmVersion) -> None:
    assert k.KpmCodec.for_oid(oid).version is version
    assert k.KpmCodec.for_oid(oid, version=k.KpmVersion.V2).version is k.KpmVersion.V2


def test_unknown_oid_is_refused() -> None:
    with pytest.raises(E2ValueError, match="OID"):
        k.KpmCodec.for_oid("1.3.6.1.4.1.53148.1.1.2.3")


def _slices_message(n: int, seed: int) -> k.IndicationMessageF1:
    names = ("DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "DRB.RlcSduDelayDl")
    info = tuple(k.MeasInfoItem(nm, (k.MeasLabel(slice_id=Snssai.of(1, s)),)) for s in range(n) for nm in names)
    recs = tuple((seed * 7919 + i * 13) % 10_000_000 for i in range(len(info)))
    return k.IndicationMessageF1((k.MeasDataItem(recs),), info, 100)


def test_memoised_tail_gives_the_same_values_as_a_cold_decode() -> None:
    """The measurement-info memo and interning change nothing in the decoded values."""
    msgs = [_slices_message(8, seed) for seed in range(5)]
    raw = [V2.encode_indication_message(m) for m in msgs]
    k.set_interning(False)
    try:
        cold = [V2.decode_indication_message(r) for r in raw]
    finally:
        k.set_interning(True)
    warm = [V2.decode_indication_message(r) for r in raw] + [V2.decode_indication_message(r) for r in raw]
    assert cold == msgs
    assert warm == msgs + msgs


def test_memo_does_not_hide_a_corrupted_tail() -> None:
    m = _slices_message(4, 1)
    raw = bytearray(V2.encode_indication_message(m))
    V2.decode_indication_message(bytes(raw))
    raw[-1] ^= 0xFF  # the granularity period changes; the memo key is the exact bytes
    assert V2.decode_indication_message(bytes(raw)) != m


def test_trailing_octets_are_refused() -> None:
    raw = V2.encode_indication_message(_slices_message(2, 0))
    with pytest.raises(E2DecodeError, match="trailing"):
        V2.decode_indication_message(raw + b"\x00")


@pytest.mark.parametrize(
    "build",
    [
        lambda: k.MeasLabel(five_qi=300),
        lambda: k.MeasLabel(plmn=b"\x01"),
        lambda: k.MeasInfoItem("", ()),
        lambda: k.MeasInfoItem("x" * 151),
        lambda: k.MeasDataItem(()),
        lambda: k.MeasDataItem((2**32,)),
        lambda: k.MeasDataItem((True,)),
        lambda: k.IndicationHeader(b"\x00\x01"),
        lambda: k.EventTrigger(0),
    ],
)
def test_invalid_values_raise_local_errors(build: object) -> None:
    with pytest.raises(E2ValueError):
        build()  # type: ignore[operator]


# -- fuzz ----------------------------------------------------------------------------------------------


def _only_typed(fn: object, data: bytes) -> None:
    with contextlib.suppress(E2DecodeError):
        fn(data)  # type: ignore[operator]


@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    for codec in (V2, V3):
        _only_typed(codec.decode_indication_message, data)
        _only_typed(codec.decode_indication_header, data)
        _only_typed(codec.decode_action_definition, data)
        _only_typed(codec.decode_event_trigger, data)
        _only_typed(codec.decode_ran_function_description, data)


@settings(max_examples=150)
@given(ks.indication_message(v3=True), st.data())
def test_fuzz_truncations_and_bit_flips(m: k.IndicationMessage, data: st.DataObject) -> None:
    truncated, mutated = ks.damaged(V3.encode_indication_message(m), data)
    _only_typed(V3.decode_indication_message, truncated)
    _only_typed(V3.decode_indication_message, mutated)
    _only_typed(V2.decode_indication_message, mutated)


def test_hostile_record_count_fails_fast() -> None:
    """A measurement record claiming 2**30 items in a few octets is refused before any allocation."""
    raw = bytes([0x00, 0x00, 0x00, 0x00, 0xC4]) + b"\x00" * 16
    with pytest.raises(E2DecodeError):
        V2.decode_indication_message(raw)


@settings(max_examples=150)
@given(st.booleans(), ks.meas_info(v3=False) | st.just(()), ks.granul, st.data())
def test_f1_template_encoder_matches_the_general_encoder(
    v3: bool, info: tuple[k.MeasInfoItem, ...], granul: int | None, data: st.DataObject
) -> None:
    """The per-subscription template gives the same bytes as the general encoder, for any records."""
    version = k.KpmVersion.V3 if v3 else k.KpmVersion.V2
    n = len(info) or data.draw(st.integers(1, 6))
    recs = tuple(data.draw(st.lists(ks.record(v3) | st.integers(0, 4294967295), min_size=n, max_size=n)))
    codec = k.KpmCodec(version)
    expected = codec.encode_indication_message(k.IndicationMessageF1((k.MeasDataItem(recs),), info, granul))
    assert k.F1Encoder(info, granul, version).encode(recs) == expected
