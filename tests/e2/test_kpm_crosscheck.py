"""E2SM-KPM v2/v3 cross-checked against asn1tools compiling ASN.1 modules written from the specifications.

Both directions: asn1tools decodes our bytes to the value we meant, and we decode asn1tools' bytes to the same
dataclass. Encodings are also compared byte for byte, except in two places where asn1tools departs from the
standard and we follow it (both forms decode alike):

- a REAL: asn1tools may add a redundant leading mantissa octet, which X.690 8.5.7.5 does not require;
- a NULL extension alternative (the v3 ``notSatisfied`` record): asn1tools writes an empty open type (length
  0), while X.691 10.1.3 makes the complete encoding of an empty value one zero octet (length 1, ``00``), as we
  and pycrate write it (pycrate refuses asn1tools' form; see test_not_satisfied_is_pinned).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ricsdk.e2 import kpm as k
from tests.e2 import asn1tools_kpm as A
from tests.e2 import kpm_strategies as ks
from tests.reference import kpm_v2, kpm_v3


def _oracle(v3: bool) -> Any:
    return kpm_v3() if v3 else kpm_v2()


def _has_real(v: Any) -> bool:
    return "real" in repr(v) or "valueReal" in repr(v) or isinstance(v, float) or "notSatisfied" in repr(v)


def _normalise(v: Any) -> Any:
    """asn1tools returns floats for REAL; compare NaN-free values, tuples as lists."""
    if isinstance(v, dict):
        return {key: _normalise(x) for key, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_normalise(x) for x in v]
    if isinstance(v, float) and math.isinf(v):
        return ("inf", v > 0)
    return v


def _check(type_name: str, value: Any, ours: bytes, asn1: Any, decode: Callable[[bytes], Any], v3: bool) -> None:
    oracle = _oracle(v3)
    assert _normalise(oracle.decode(type_name, ours)) == _normalise(asn1), "asn1tools reads our bytes differently"
    theirs = oracle.encode(type_name, asn1)
    assert decode(theirs) == value, "we read asn1tools' bytes differently"
    if not _has_real(asn1):
        assert theirs == ours, "encodings differ"


@settings(max_examples=60)
@given(st.booleans(), st.data())
def test_indication_message(v3: bool, data: st.DataObject) -> None:
    m = data.draw(ks.indication_message(v3))
    codec = k.KpmCodec(k.KpmVersion.V3 if v3 else k.KpmVersion.V2)
    _check(
        "E2SM-KPM-IndicationMessage",
        m,
        codec.encode_indication_message(m),
        A.message(m, v3),
        codec.decode_indication_message,
        v3,
    )


@given(st.booleans(), st.data())
def test_indication_header(v3: bool, data: st.DataObject) -> None:
    h = data.draw(ks.header(8 if v3 else 4))
    codec = k.KpmCodec(k.KpmVersion.V3 if v3 else k.KpmVersion.V2)
    _check(
        "E2SM-KPM-IndicationHeader",
        h,
        codec.encode_indication_header(h),
        A.header(h),
        codec.decode_indication_header,
        v3,
    )


@settings(max_examples=60)
@given(st.booleans(), st.data())
def test_action_definition(v3: bool, data: st.DataObject) -> None:
    a = data.draw(ks.action_definition(v3))
    codec = k.KpmCodec(k.KpmVersion.V3 if v3 else k.KpmVersion.V2)
    _check(
        "E2SM-KPM-ActionDefinition",
        a,
        codec.encode_action_definition(a),
        A.action_definition(a, v3),
        codec.decode_action_definition,
        v3,
    )


@given(st.booleans(), st.integers(1, 4294967295))
def test_event_trigger(v3: bool, period: int) -> None:
    t = k.EventTrigger(period)
    codec = k.KpmCodec()
    _check(
        "E2SM-KPM-EventTriggerDefinition",
        t,
        codec.encode_event_trigger(t),
        A.event_trigger(t),
        codec.decode_event_trigger,
        v3,
    )


def test_ran_function_description_both_versions() -> None:
    from ricsdk.e2.common import RanFunctionName

    desc = k.RanFunctionDescription(
        RanFunctionName("ORAN-E2SM-KPM", k.KPM_OID_V2, "KPM Monitor", 3),
        (k.EventTriggerStyle(1, "Periodic Report", 1),),
        (
            k.ReportStyle(
                1,
                "E2 Node Measurement",
                1,
                (k.MeasInfoActionItem("DRB.UEThpDl", 7), k.MeasInfoActionItem("RRU.PrbUsedDl")),
                1,
                1,
            ),
        ),
    )
    codec = k.KpmCodec()
    for v3 in (False, True):
        _check(
            "E2SM-KPM-RANfunction-Description",
            desc,
            codec.encode_ran_function_description(desc),
            A.ran_function_description(desc),
            codec.decode_ran_function_description,
            v3,
        )


def test_per_slice_indication_is_byte_identical_to_asn1tools() -> None:
    """The flagship's shape (8 slices x 4 measurements, sliceID labels) through the template encoder."""
    from ricsdk.e2.common import Snssai

    names = ("DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "DRB.RlcSduDelayDl")
    info = tuple(k.MeasInfoItem(n, (k.MeasLabel(slice_id=Snssai.of(1, s)),)) for s in range(8) for n in names)
    recs = tuple(range(1000, 1032))
    m = k.IndicationMessageF1((k.MeasDataItem(recs),), info, 100)
    ours = k.F1Encoder(info, 100).encode(recs)
    assert ours == kpm_v2().encode("E2SM-KPM-IndicationMessage", A.message(m, False))
    assert k.KpmCodec().decode_indication_message(ours) == m


def test_not_satisfied_is_pinned() -> None:
    """X.691 10.1.3: the open type of an empty extension alternative carries one zero octet (pycrate agrees)."""
    m = k.IndicationMessageF1((k.MeasDataItem((5, k.Missing.NOT_SATISFIED, 7)),))
    codec = k.KpmCodec(k.KpmVersion.V3)
    assert codec.encode_indication_message(m).hex() == "000000000300058001000007"
    assert codec.decode_indication_message(bytes.fromhex("0000000003000580000007")) == m  # asn1tools' form
