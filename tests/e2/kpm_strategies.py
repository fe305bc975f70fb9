"""Hypothesis strategies for E2SM-KPM values (v2.0x and v3.00)."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from ricsdk.e2 import kpm as k
from ricsdk.e2.common import NrCgi, Snssai, UeIdGnbDu
from ricsdk.e2.per import BitString

PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"

snssai = st.builds(Snssai, st.binary(min_size=1, max_size=1), st.none() | st.binary(min_size=3, max_size=3))
meas_name = st.sampled_from(
    ["DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "RRU.PrbTotDl", "DRB.RlcSduDelayDl", "RRU.PrbAvailDl"]
) | st.text(PRINTABLE, min_size=1, max_size=40)
meas_type = meas_name | st.integers(1, 65536)
opt = st.none


@st.composite
def label(draw: st.DrawFn, v3: bool) -> k.MeasLabel:
    kind = draw(st.sampled_from(["slice", "noLabel", "rich"]))
    if kind == "slice":
        return k.MeasLabel(slice_id=draw(snssai))
    if kind == "noLabel":
        return k.MeasLabel(no_label=True)
    r16 = opt() | st.integers(1, 65535)
    return k.MeasLabel(
        no_label=draw(st.booleans()),
        plmn=draw(opt() | st.binary(min_size=3, max_size=3)),
        slice_id=draw(opt() | snssai),
        five_qi=draw(opt() | st.integers(0, 255)),
        qfi=draw(opt() | st.integers(0, 63)),
        qci=draw(opt() | st.integers(0, 255)),
        qci_max=draw(opt() | st.integers(0, 255)),
        qci_min=draw(opt() | st.integers(0, 255)),
        arp_max=draw(opt() | st.integers(1, 15)),
        arp_min=draw(opt() | st.integers(1, 15)),
        bitrate_range=draw(r16),
        layer_mu_mimo=draw(r16),
        sum=draw(st.booleans()),
        dist_bin_x=draw(r16),
        dist_bin_y=draw(r16),
        dist_bin_z=draw(r16),
        pre_label_override=draw(st.booleans()),
        start_end_ind=draw(opt() | st.sampled_from(list(k.StartEndInd))),
        min=draw(st.booleans()),
        max=draw(st.booleans()),
        avg=draw(st.booleans()),
        ssb_index=draw(r16) if v3 else None,
        non_gob_bf_mode_index=draw(r16) if v3 else None,
        mimo_mode_index=draw(opt() | st.integers(1, 2)) if v3 else None,
    )


finite_float = st.floats(allow_nan=False, allow_infinity=True, width=64).filter(lambda f: not math.isnan(f))


def record(v3: bool) -> st.SearchStrategy[k.MeasRecord]:
    base = st.integers(0, 4294967295) | finite_float | st.just(k.Missing.NO_VALUE)
    return base | st.just(k.Missing.NOT_SATISFIED) if v3 else base


def meas_data(v3: bool) -> st.SearchStrategy[tuple[k.MeasDataItem, ...]]:
    return st.lists(
        st.builds(k.MeasDataItem, st.lists(record(v3), min_size=1, max_size=12).map(tuple), st.booleans()),
        min_size=1,
        max_size=4,
    ).map(tuple)


def meas_info(v3: bool) -> st.SearchStrategy[tuple[k.MeasInfoItem, ...]]:
    return st.lists(
        st.builds(k.MeasInfoItem, meas_type, st.lists(label(v3), min_size=1, max_size=3).map(tuple)),
        min_size=1,
        max_size=6,
    ).map(tuple)


granul = st.none() | st.integers(1, 4294967295)
ueid = st.builds(UeIdGnbDu, st.integers(0, 4294967295), st.none() | st.binary(min_size=8, max_size=8))
cgi = st.builds(NrCgi, st.binary(min_size=3, max_size=3), st.integers(0, (1 << 36) - 1).map(lambda v: BitString(v, 36)))


def message_f1(v3: bool) -> st.SearchStrategy[k.IndicationMessageF1]:
    return st.builds(k.IndicationMessageF1, meas_data(v3), st.just(()) | meas_info(v3), granul)


def test_value(v3: bool) -> st.SearchStrategy[k.TestCondValue]:
    base = st.one_of(
        st.integers(-(2**40), 2**40),
        st.integers(-1000, 1000).map(k.TestCondEnum),
        st.booleans(),
        st.integers(0, 2**20).flatmap(lambda v: st.integers(max(1, v.bit_length()), 24).map(lambda n: BitString(v, n))),
        st.binary(max_size=8),
        st.text(PRINTABLE, max_size=12),
    )
    return base | finite_float if v3 else base


def test_cond(v3: bool) -> st.SearchStrategy[k.TestCondInfo]:
    types = list(k.TestCondType) if v3 else list(k.TestCondType)[:6]
    expr = st.sampled_from(list(k.TestCondExpression))
    if v3:
        return st.builds(k.TestCondInfo, st.sampled_from(types), st.none() | expr, st.none() | test_value(v3))
    return st.builds(k.TestCondInfo, st.sampled_from(types), expr, test_value(v3))


def matching_cond(v3: bool) -> st.SearchStrategy[tuple[k.MatchingCondItem, ...]]:
    item = st.builds(k.MatchingCondItem, label(v3) | test_cond(v3), st.booleans() if v3 else st.just(False))
    return st.lists(item, min_size=1, max_size=3).map(tuple)


def message_f2(v3: bool) -> st.SearchStrategy[k.IndicationMessageF2]:
    per_gp = st.lists(st.lists(ueid, max_size=2).map(tuple), max_size=3).map(tuple) if v3 else st.just(())
    item = st.builds(k.MeasCondUeIdItem, meas_type, matching_cond(v3), st.lists(ueid, max_size=3).map(tuple), per_gp)
    return st.builds(k.IndicationMessageF2, meas_data(v3), st.lists(item, min_size=1, max_size=3).map(tuple), granul)


def message_f3() -> st.SearchStrategy[k.IndicationMessageF3]:
    rep = st.builds(k.UeMeasReport, ueid, message_f1(True))
    return st.builds(k.IndicationMessageF3, st.lists(rep, min_size=1, max_size=3).map(tuple))


def indication_message(v3: bool) -> st.SearchStrategy[k.IndicationMessage]:
    s = message_f1(v3) | message_f2(v3)
    return s | message_f3() if v3 else s


def header(ts_octets: int) -> st.SearchStrategy[k.IndicationHeader]:
    return st.builds(
        k.IndicationHeader,
        st.binary(min_size=ts_octets, max_size=ts_octets),
        st.none() | st.text(PRINTABLE, max_size=15),
        st.none() | st.text(PRINTABLE, max_size=40),
        st.none() | st.text(PRINTABLE, max_size=8),
        st.none() | st.text(PRINTABLE, max_size=32),
    )


def action_f1(v3: bool) -> st.SearchStrategy[k.ActionDefinitionF1]:
    return st.builds(k.ActionDefinitionF1, meas_info(v3), st.integers(1, 4294967295), st.none() | cgi)


def action_definition(v3: bool) -> st.SearchStrategy[k.ActionDefinition]:
    f3 = st.builds(
        k.ActionDefinitionF3,
        st.lists(st.builds(k.MeasCondItem, meas_type, matching_cond(v3)), min_size=1, max_size=3).map(tuple),
        st.integers(1, 4294967295),
        st.none() | cgi,
    )
    formats = action_f1(v3) | st.builds(k.ActionDefinitionF2, ueid, action_f1(v3)) | f3
    if v3:
        f4 = st.builds(
            k.ActionDefinitionF4,
            st.lists(st.builds(k.MatchingUeCond, test_cond(True), st.booleans()), min_size=1, max_size=3).map(tuple),
            action_f1(True),
        )
        f5 = st.builds(k.ActionDefinitionF5, st.lists(ueid, min_size=2, max_size=3).map(tuple), action_f1(True))
        formats = formats | f4 | f5
    return st.builds(k.ActionDefinition, st.integers(0, 255), formats)


def damaged(raw: bytes, data: st.DataObject) -> tuple[bytes, bytes]:
    """Two damaged copies of an encoding: truncated at a drawn octet, and with one to four drawn bits flipped."""
    cut = data.draw(st.integers(0, max(0, len(raw) - 1)))
    flips = data.draw(st.lists(st.integers(0, len(raw) * 8 - 1), min_size=1, max_size=4))
    mutated = bytearray(raw)
    for f in flips:
        mutated[f >> 3] ^= 0x80 >> (f & 7)
    return raw[:cut], bytes(mutated)
