"""Slice PRB quotas (RC Style 2 / Action 6): both id presets, the template encoder, ids from a RAN function
definition, lenient decoding of other producers' trees, validation and fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ricsdk.e2 import rc as R
from ricsdk.e2 import slice_quota as sq
from ricsdk.e2.common import RanFunctionName, Snssai, UeIdGnbDu, plmn_from_str
from ricsdk.e2.rc import (
    ControlAction,
    ControlDecision,
    ControlHeaderFormat1,
    ControlMessageFormat1,
    ControlStyle,
    ElementFalse,
    ElementTrue,
    ListDefinition,
    RanFunctionDefinition,
    RanParameter,
    RanParameterInfo,
    Structure,
    StructureDefinition,
    StructureList,
)
from ricsdk.e2.slice_quota import (
    DEFAULT_QUOTA_IDS,
    DEFAULT_UE_ID,
    GAPLESS_QUOTA_IDS,
    QUOTA_ID_PRESETS,
    SRSRAN_QUOTA_IDS,
    QuotaParamIds,
    SliceQuota,
    SliceQuotaEncoder,
    decode_slice_quotas,
    encode_slice_quotas,
    quota_control_header,
    quota_control_message,
    quota_ids_from_ran_function,
    slice_quotas_from_message,
)
from ricsdk.errors import ConfigError, E2DecodeError, E2ValueError
from tests.e2.test_common import ueids
from tests.reference import rc as oracle

PLMN = plmn_from_str("00101")
PRESETS = [SRSRAN_QUOTA_IDS, GAPLESS_QUOTA_IDS]

# -- strategies ------------------------------------------------------------------------------------------


@st.composite
def quota_lists(draw: st.DrawFn, max_size: int = 10) -> list[SliceQuota]:
    n = draw(st.integers(1, max_size))
    keys = draw(
        st.lists(
            st.tuples(
                st.binary(min_size=3, max_size=3),
                st.binary(min_size=1, max_size=1),
                st.none() | st.binary(min_size=3, max_size=3),
            ),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    budget = 100
    out = []
    for plmn, sst, sd in keys:
        mn = draw(st.integers(0, budget))
        budget -= mn
        mx = draw(st.integers(mn, 100))
        ded = draw(st.integers(0, mn))
        out.append(SliceQuota(plmn, Snssai(sst, sd), mn, mx, ded))
    return out


id_sets = st.lists(
    st.integers(1, 300) | st.integers(60000, 70000) | st.integers(2**31, 2**32 - 1),
    min_size=12,
    max_size=12,
    unique=True,
).map(lambda ids: QuotaParamIds(*ids))


def eight_slices() -> list[SliceQuota]:
    """Eight slices of one PLMN, two of them without an SD."""
    return [
        SliceQuota(PLMN, Snssai.of(1 + i) if i in (0, 2) else Snssai.of(1, i), 10, 40 + i, 5 if i % 2 else 0)
        for i in range(8)
    ]


# -- round trips -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("ids", PRESETS, ids=["srsran", "gapless"])
@settings(max_examples=60)
@given(quotas=quota_lists())
def test_both_presets_round_trip(ids: QuotaParamIds, quotas: list[SliceQuota]) -> None:
    header, message = SliceQuotaEncoder(ids).encode(quotas)
    assert decode_slice_quotas(header, message, ids) == tuple(quotas)
    assert decode_slice_quotas(header, message) == tuple(quotas)  # preset detected


@settings(max_examples=60)
@given(quota_lists(), id_sets)
def test_the_template_encoder_is_byte_identical_to_the_generic_encoder(
    quotas: list[SliceQuota], ids: QuotaParamIds
) -> None:
    """Any id set (one-, two- and four-octet ids): the template fill equals the generic RC encoding."""
    header, message = SliceQuotaEncoder(ids).encode(quotas)
    assert header == R.encode_control_header(quota_control_header())
    assert message == R.encode_control_message(quota_control_message(quotas, ids))
    assert decode_slice_quotas(header, message, ids) == tuple(quotas)


@settings(max_examples=60)
@given(quota_lists(), id_sets)
def test_encode_rows_is_byte_identical_to_encode_message_and_reuses_entries(
    quotas: list[SliceQuota], ids: QuotaParamIds
) -> None:
    enc = SliceQuotaEncoder(ids)
    plmn = quotas[0].plmn
    same_plmn = [SliceQuota(plmn, q.snssai, q.min_ratio, q.max_ratio, q.dedicated_ratio) for q in quotas]
    if len({q.snssai for q in same_plmn}) != len(same_plmn):
        return  # two PLMNs' copies of one S-NSSAI: not one list under a single PLMN
    rows = [(q.snssai, (q.min_ratio, q.max_ratio, q.dedicated_ratio)) for q in same_plmn]
    expected = enc.encode_message(same_plmn)
    assert enc.encode_rows(plmn, rows) == expected
    assert enc.encode_rows(plmn, rows) == expected, "from the entry cache"
    assert enc.encode_rows(plmn, rows[::-1]) == enc.encode_message(same_plmn[::-1])


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([], "quotas"),
        ([(Snssai.of(1), (10, 50, 0))] * 2, "quotas"),
        ([(Snssai.of(1), (60, 60, 0)), (Snssai.of(2), (50, 60, 0))], "min_ratio"),
        ([(Snssai.of(1), (50, 40, 0))], "min_ratio"),
        ([(Snssai.of(1), (10, 101, 0))], "max_ratio"),
        ([(Snssai.of(1), (10, 50, 20))], "dedicated_ratio"),
        ([(Snssai.of(1), (10.5, 50, 0))], "min_ratio"),
        ([(Snssai.of(1), (10.0, 50, 0))], "min_ratio"),
    ],
    ids=[
        "empty",
        "repeated-slice",
        "min-over-100",
        "min-over-max",
        "max-over-100",
        "dedicated-over-min",
        "float",
        "float-equal-to-a-cached-int",
    ],
)
def test_encode_rows_refuses_what_encode_message_refuses(rows: list[Any], field: str) -> None:
    enc = SliceQuotaEncoder()
    enc.encode_rows(PLMN, [(Snssai.of(1), (10, 50, 0))])  # a valid entry in the cache changes nothing below
    with pytest.raises(E2ValueError) as info:
        enc.encode_rows(PLMN, rows)
    assert info.value.field == field
    with pytest.raises(E2ValueError):
        enc.encode_rows(b"\x00\x01", [(Snssai.of(1), (10, 50, 0))])  # a PLMN of 2 octets
    with pytest.raises(E2ValueError, match="plmn"):
        enc.encode_rows(bytearray(PLMN), [(Snssai.of(1), (10, 50, 0))])  # unhashable, still a typed error


def test_encode_slice_quotas_uses_the_default_preset_and_ue_id() -> None:
    quotas = eight_slices()
    header, message = encode_slice_quotas(quotas)
    assert DEFAULT_QUOTA_IDS is SRSRAN_QUOTA_IDS
    assert R.decode_control_header(header) == ControlHeaderFormat1(UeIdGnbDu(0), 2, 6)
    assert R.decode_control_message(message) == quota_control_message(quotas, SRSRAN_QUOTA_IDS)
    assert next(iter(QUOTA_ID_PRESETS.values())) is DEFAULT_QUOTA_IDS


@settings(max_examples=30)
@given(ueids, st.none() | st.sampled_from(list(ControlDecision)))
def test_the_ue_id_is_configurable(ue: Any, decision: ControlDecision | None) -> None:
    enc = SliceQuotaEncoder(ue_id=ue, decision=decision)
    header, message = enc.encode(eight_slices())
    assert R.decode_control_header(header) == ControlHeaderFormat1(ue, 2, 6, decision)
    assert encode_slice_quotas(eight_slices(), ue_id=ue, decision=decision) == (header, message)


# -- interop: the tree as srsRAN's reference xApp builds it ----------------------------------------------


def srsran_xapp_tree(plmn: bytes, sst: bytes, sd: bytes, mn: int, mx: int, ded: int) -> dict[str, Any]:
    """The asn1tools value srsRAN's reference xApp (oran-sc-ric e2sm_rc_module.py) sends for one slice."""

    def elem(pid: int, kind: str, v: Any) -> dict[str, Any]:
        return {
            "ranParameter-ID": pid,
            "ranParameter-valueType": ("ranP-Choice-ElementFalse", {"ranParameter-value": (kind, v)}),
        }

    def struct(pid: int, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "ranParameter-ID": pid,
            "ranParameter-valueType": (
                "ranP-Choice-Structure",
                {"ranParameter-Structure": {"sequence-of-ranParameters": items}},
            ),
        }

    def lst(pid: int, entries: list[list[dict[str, Any]]]) -> dict[str, Any]:
        return {
            "ranParameter-ID": pid,
            "ranParameter-valueType": (
                "ranP-Choice-List",
                {"ranParameter-List": {"list-of-ranParameter": [{"sequence-of-ranParameters": e} for e in entries]}},
            ),
        }

    member = struct(6, [elem(7, "valueOctS", plmn), struct(8, [elem(9, "valueOctS", sst), elem(10, "valueOctS", sd)])])
    group = struct(
        2,
        [
            struct(3, [lst(5, [[member]])]),
            elem(11, "valueInt", mn),
            elem(12, "valueInt", mx),
            elem(13, "valueInt", ded),
        ],
    )
    return {"ric-controlMessage-formats": ("controlMessage-Format1", {"ranP-List": [lst(1, [[group]])]})}


def test_our_message_is_exactly_what_the_srsran_xapp_sends() -> None:
    q = SliceQuota(PLMN, Snssai.of(1, 1), 10, 50, 5)
    header, message = encode_slice_quotas([q])
    assert oracle().decode("E2SM-RC-ControlMessage", message) == srsran_xapp_tree(
        PLMN, b"\x01", b"\x00\x00\x01", 10, 50, 5
    )
    assert message == oracle().encode(
        "E2SM-RC-ControlMessage", srsran_xapp_tree(PLMN, b"\x01", b"\x00\x00\x01", 10, 50, 5)
    )
    assert oracle().decode("E2SM-RC-ControlHeader", header) == {
        "ric-controlHeader-formats": (
            "controlHeader-Format1",
            {"ueID": ("gNB-DU-UEID", {"gNB-CU-UE-F1AP-ID": 0}), "ric-Style-Type": 2, "ric-ControlAction-ID": 6},
        )
    }


def test_pinned_one_slice_message() -> None:
    """One slice (PLMN 001-01, S-NSSAI 1-000001, min 10, max 50, dedicated 5), srsRAN ids, checked by hand:

    00 | 00 01                      message/format ext bits | ranP-List: 1 item
    00 00 60 00 00                  id 1: item header, ID-1=0 | List (011, two ext bits) | 1 entry
    40 00 00                        entry: STRUCTURE ext 0, present 1 | 1 item
    00 01 44 00 03                  id 2: Structure (010, ext, ext, present) | 4 items
    00 02 44 00 00                  id 3: Structure | 1 item
    00 04 60 00 00 40 00 00         id 5: List | 1 entry | entry present, 1 item
    00 05 44 00 01                  id 6: Structure | 2 items
    00 06 2a 00 03 00 f1 10         id 7: ElementFalse (001, ext, present) + valueOctS (0100) | length 3 | PLMN
    00 07 44 00 01                  id 8: Structure | 2 items
    00 08 2a 00 01 01               id 9: SST 01
    00 09 2a 00 03 00 00 01         id 10: SD 000001
    00 0a 28 80 01 0a               id 11: ElementFalse + valueInt (0001) | length 1 | 10
    00 0b 28 80 01 32               id 12: 50
    00 0c 28 80 01 05               id 13: 5
    """
    _, message = encode_slice_quotas([SliceQuota(PLMN, Snssai.of(1, 1), 10, 50, 5)])
    assert message.hex() == (
        "00000100006000004000000001440003000244000000046000004000000005440001"
        "00062a000300f1100007440001000"
        "82a000101"
        "00092a0003000001"
        "000a2880010a"
        "000b28800132"
        "000c28800105"
    )


# -- lenient decoding of other producers' trees ----------------------------------------------------------


def _tree(ids: QuotaParamIds, wrap: bool = True, element: type = ElementFalse) -> StructureList:
    """One entry, built by hand (not by the module under test)."""
    snssai = Structure((RanParameter(ids.sst, element(b"\x01")), RanParameter(ids.sd, element(b"\x00\x00\x07"))))
    member = (RanParameter(ids.plmn_identity, element(PLMN)), RanParameter(ids.s_nssai, snssai))
    member_entry = Structure((RanParameter(ids.rrm_policy_member, Structure(member)),) if wrap else member)
    policy = Structure((RanParameter(ids.rrm_policy_member_list, StructureList((member_entry,))),))
    group = (
        RanParameter(ids.rrm_policy, policy),
        RanParameter(ids.min_prb_policy_ratio, element(20)),
        RanParameter(ids.max_prb_policy_ratio, element(60)),
        RanParameter(ids.dedicated_prb_policy_ratio, element(10)),
    )
    entry = Structure((RanParameter(ids.rrm_policy_ratio_group, Structure(group)),) if wrap else group)
    return StructureList((entry,))


EXPECTED = SliceQuota(PLMN, Snssai.of(1, 7), 20, 60, 10)


@pytest.mark.parametrize("ids", PRESETS, ids=["srsran", "gapless"])
@pytest.mark.parametrize("wrap", [True, False], ids=["wrapped", "unwrapped"])
@pytest.mark.parametrize("element", [ElementFalse, ElementTrue])
def test_decoding_accepts_wrapped_unwrapped_and_key_elements(ids: QuotaParamIds, wrap: bool, element: type) -> None:
    m = ControlMessageFormat1((RanParameter(ids.rrm_policy_ratio_list, _tree(ids, wrap, element)),))
    assert slice_quotas_from_message(m, ids) == (EXPECTED,)
    assert slice_quotas_from_message(m) == (EXPECTED,)


def test_decoding_accepts_one_top_level_list_per_slice() -> None:
    """srsRAN's own test helper sends one ``RRM Policy Ratio List`` item per group."""
    ids = SRSRAN_QUOTA_IDS
    m = ControlMessageFormat1(tuple(RanParameter(1, _tree(ids)) for _ in range(2)))
    assert slice_quotas_from_message(m) == (EXPECTED, EXPECTED)


def test_groups_of_several_members_are_refused() -> None:
    ids = SRSRAN_QUOTA_IDS
    entry = _tree(ids).items[0]
    group = entry.params[0].value
    assert isinstance(group, Structure)
    policy = group.params[0].value
    assert isinstance(policy, Structure)
    members = policy.params[0].value
    assert isinstance(members, StructureList)
    two = StructureList(members.items * 2)
    new_policy = Structure((RanParameter(ids.rrm_policy_member_list, two),))
    new_group = Structure((RanParameter(ids.rrm_policy, new_policy), *group.params[1:]))
    m = ControlMessageFormat1((RanParameter(1, StructureList((Structure((RanParameter(2, new_group),)),))),))
    with pytest.raises(E2DecodeError, match="2 members"):
        slice_quotas_from_message(m, ids)


def test_a_message_of_one_preset_is_refused_under_the_other_ids() -> None:
    header, message = SliceQuotaEncoder(GAPLESS_QUOTA_IDS).encode(eight_slices())
    with pytest.raises(E2DecodeError, match=r"no Dedicated PRB Policy Ratio \(parameter 13\)"):
        decode_slice_quotas(header, message, SRSRAN_QUOTA_IDS)


def test_other_control_actions_are_refused() -> None:
    header = R.encode_control_header(ControlHeaderFormat1(UeIdGnbDu(0), 3, 1))
    _, message = encode_slice_quotas(eight_slices())
    with pytest.raises(E2DecodeError, match="style 3 action 1"):
        decode_slice_quotas(header, message)


def test_invalid_ratios_in_a_received_tree_are_decode_errors() -> None:
    ids = SRSRAN_QUOTA_IDS
    m = ControlMessageFormat1((RanParameter(1, _tree(ids)),))
    data = bytearray(R.encode_control_message(m))
    # Max PRB Policy Ratio 60 (0x3c) -> 5: below the min ratio 20
    i = data.index(bytes.fromhex("0b2880013c"))  # item ID 12 - 1, ElementFalse valueInt, length 1, 60
    data[i + 4] = 5
    with pytest.raises(E2DecodeError, match="min_ratio 20 exceeds max_ratio 5"):
        decode_slice_quotas(R.encode_control_header(quota_control_header()), bytes(data))


# -- ids from the RAN function definition ----------------------------------------------------------------

_NAMES = [
    "RRM Policy Ratio List",
    "RRM Policy Ratio Group",
    "RRM Policy",
    "RRM Policy Member List",
    "RRM Policy Member",
    "PLMN Identity",
    "S-NSSAI",
    "SST",
    "SD",
    "Min PRB Policy Ratio",
    "Max PRB Policy Ratio",
    "Dedicated PRB Policy Ratio",
]


def _definition(params: tuple[RanParameterInfo, ...], style: int = 2, action: int = 6) -> RanFunctionDefinition:
    return RanFunctionDefinition(
        RanFunctionName(R.RC_SHORT_NAME, R.RC_OID, R.RC_DESCRIPTION),
        control=(
            ControlStyle(
                style,
                "Radio Resource Allocation Control",
                1,
                1,
                1,
                (
                    ControlAction(1, "DRX parameter configuration"),
                    ControlAction(action, "Slice-level PRB quota", params),
                ),
            ),
        ),
    )


def _flat(ids: QuotaParamIds, names: list[str] = _NAMES) -> tuple[RanParameterInfo, ...]:
    values = [getattr(ids, f) for f in ids.__dataclass_fields__]
    return tuple(RanParameterInfo(i, n) for i, n in zip(values, names, strict=True))


@pytest.mark.parametrize("ids", PRESETS, ids=["srsran", "gapless"])
def test_ids_come_from_what_the_node_announces(ids: QuotaParamIds) -> None:
    """Flat list (srsRAN's gNB), through the wire: E2 setup bytes -> definition -> ids."""
    definition = R.decode_ran_function_definition(R.encode_ran_function_definition(_definition(_flat(ids))))
    assert quota_ids_from_ran_function(definition) == ids


def test_ids_from_nested_definitions_and_long_spellings() -> None:
    i = GAPLESS_QUOTA_IDS

    def info(pid: int, name: str, *children: RanParameterInfo, kind: type = StructureDefinition) -> RanParameterInfo:
        return RanParameterInfo(pid, name, kind(children) if children else None)

    tree = info(
        i.rrm_policy_ratio_list,
        "RRM Policy Ratio List",
        info(
            i.rrm_policy_ratio_group,
            "RRM Policy Ratio Group",
            info(
                i.rrm_policy,
                "RRM Policy",
                info(
                    i.rrm_policy_member_list,
                    "RRM Policy Member List",
                    info(
                        i.rrm_policy_member,
                        "RRM Policy Member",
                        info(i.plmn_identity, "PLMN Identity"),
                        info(i.s_nssai, "S-NSSAI", info(i.sst, "SST"), info(i.sd, "SD")),
                    ),
                    kind=ListDefinition,
                ),
            ),
            info(i.min_prb_policy_ratio, "Minimum PRB Policy Ratio"),
            info(i.max_prb_policy_ratio, "Maximum PRB Policy Ratio"),
            info(i.dedicated_prb_policy_ratio, "Dedicated PRB Policy Ratio"),
        ),
        kind=ListDefinition,
    )
    definition = R.decode_ran_function_definition(R.encode_ran_function_definition(_definition((tree,))))
    assert quota_ids_from_ran_function(definition) == GAPLESS_QUOTA_IDS


def test_a_node_announcing_only_the_top_list_is_refused_with_the_missing_names() -> None:
    """OAI-style: only "RRM Policy Ratio List" without a definition."""
    definition = _definition((RanParameterInfo(1, "RRM Policy Ratio List"),))
    with pytest.raises(ConfigError, match="does not announce") as info:
        quota_ids_from_ran_function(definition)
    assert "Min PRB Policy Ratio" in str(info.value)
    assert "SRSRAN_QUOTA_IDS" in str(info.value)


def test_a_node_without_the_action_is_refused() -> None:
    with pytest.raises(ConfigError, match="no control style 2 action 6"):
        quota_ids_from_ran_function(_definition(_flat(SRSRAN_QUOTA_IDS), action=7))


def test_a_name_announced_with_two_ids_is_refused() -> None:
    params = (*_flat(SRSRAN_QUOTA_IDS), RanParameterInfo(99, "SST"))
    with pytest.raises(ConfigError, match="'SST' is announced with ids"):
        quota_ids_from_ran_function(_definition(params))


def test_colliding_announced_ids_are_refused() -> None:
    names = list(_NAMES)
    params = tuple(RanParameterInfo(5 if n in ("SST", "SD") else k + 20, n) for k, n in enumerate(names))
    with pytest.raises(ConfigError, match="unusable"):
        quota_ids_from_ran_function(_definition(params))


# -- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: SliceQuota(b"\x00\xf1", Snssai.of(1), 0, 0, 0),
        lambda: SliceQuota("00101", Snssai.of(1), 0, 0, 0),  # type: ignore[arg-type]
        lambda: SliceQuota(PLMN, "1-000001", 0, 0, 0),  # type: ignore[arg-type]
        lambda: SliceQuota(PLMN, Snssai.of(1), 60, 50, 0),
        lambda: SliceQuota(PLMN, Snssai.of(1), 10, 50, 20),
        lambda: SliceQuota(PLMN, Snssai.of(1), 10, 101, 0),
        lambda: SliceQuota(PLMN, Snssai.of(1), -1, 50, 0),
        lambda: SliceQuota(PLMN, Snssai.of(1), 10.0, 50, 0),  # type: ignore[arg-type]
        lambda: SliceQuota(PLMN, Snssai.of(1), True, 50, 0),
        lambda: QuotaParamIds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11),
        lambda: QuotaParamIds(0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
        lambda: QuotaParamIds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 2**32),
    ],
)
def test_invalid_values_are_refused_at_construction(make: Any) -> None:
    with pytest.raises(E2ValueError):
        make()


def test_integer_like_ratios_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    q = SliceQuota(PLMN, Snssai.of(1), np.int64(10), np.int32(50), np.uint8(5))
    assert (q.min_ratio, q.max_ratio, q.dedicated_ratio) == (10, 50, 5)
    assert type(q.min_ratio) is int


@pytest.mark.parametrize(
    "quotas",
    [
        [],
        [SliceQuota(PLMN, Snssai.of(1), 10, 50, 0)] * 2,
        [SliceQuota(PLMN, Snssai.of(1), 60, 60, 0), SliceQuota(PLMN, Snssai.of(2), 50, 60, 0)],
        [Snssai.of(1)],
    ],
    ids=["empty", "repeated-slice", "min-over-100", "not-a-quota"],
)
def test_invalid_quota_sets_are_refused_by_both_encoders(quotas: list[Any]) -> None:
    with pytest.raises(E2ValueError):
        SliceQuotaEncoder().encode(quotas)
    with pytest.raises(E2ValueError):
        quota_control_message(quotas)


def test_default_ue_id_is_srsrans() -> None:
    assert UeIdGnbDu(gnb_cu_ue_f1ap_id=0) == DEFAULT_UE_ID


# -- fuzzing ---------------------------------------------------------------------------------------------


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(quota_lists(max_size=3), st.sampled_from(PRESETS), st.data())
def test_damaged_quota_messages_raise_only_decode_errors(
    quotas: list[SliceQuota], ids: QuotaParamIds, data: st.DataObject
) -> None:
    header, message = SliceQuotaEncoder(ids).encode(quotas)
    raw = bytearray(message)
    for f in data.draw(st.lists(st.integers(0, len(raw) * 8 - 1), min_size=1, max_size=3)):
        raw[f >> 3] ^= 0x80 >> (f & 7)
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        with contextlib.suppress(E2DecodeError):
            decode_slice_quotas(header, candidate)


# -- the C entry loop (ricsdk/e2/_e2ap.c, quota_entries) ----------------------------------------------------

needs_c = pytest.mark.skipif(sq._fast_entries is None, reason="ricsdk.e2._e2ap was not built (no C compiler)")

_POOL = [Snssai.of(1), Snssai.of(1, 1), Snssai.of(2), Snssai.of(2, 0xABCDEF), Snssai.of(3), Snssai.of(255, 0)]
_ratio = st.one_of(st.integers(-2, 102), st.sampled_from([10.0, True, 2**70]))


def _rows_outcome(enc: SliceQuotaEncoder, plmn: Any, rows: Any) -> object:
    try:
        return ("ok", enc.encode_rows(plmn, rows))
    except E2ValueError as exc:
        return ("error", str(exc), exc.field)


@needs_c
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(_POOL), st.tuples(_ratio, _ratio, _ratio)), max_size=8),
    st.sampled_from([PLMN, b"\x00\x01", plmn_from_str("310410")]),
    id_sets,
)
def test_c_entry_loop_gives_what_the_python_loop_gives(rows: list[Any], plmn: bytes, ids: QuotaParamIds) -> None:
    """Any rows (valid or not: repeated slices, ratios out of range, out of order, not ints, mins past 100):
    the same octets or the same typed error with and without the C loop."""
    enc = SliceQuotaEncoder(ids)
    fast = _rows_outcome(enc, plmn, rows)
    saved = sq._fast_entries
    sq._fast_entries = None  # type: ignore[assignment]
    try:
        slow = _rows_outcome(SliceQuotaEncoder(ids), plmn, rows)
    finally:
        sq._fast_entries = saved
    assert fast == slow


@needs_c
def test_c_entry_loop_takes_plain_rows_and_declines_the_rest() -> None:
    enc = SliceQuotaEncoder()
    rows = [(Snssai.of(1), (10, 50, 5)), (Snssai.of(2, 7), (30, 80, 0))]
    args = (enc._head, PLMN, rows, Snssai, *enc._c_templates)
    expected = enc.encode_message([SliceQuota(PLMN, s, *q) for s, q in rows])
    assert sq._fast_entries is not None
    assert sq._fast_entries(*args) == expected
    declined = [
        [(Snssai.of(1), (10, 50, 5))] * 2,  # a slice twice
        [(Snssai.of(1), (60, 60, 0)), (Snssai.of(2), (50, 60, 0))],  # mins past 100
        [(Snssai.of(1), (10, 50, 20))],  # dedicated over min
        [(Snssai.of(1), (10.0, 50, 0))],  # not an int
        [(Snssai.of(1), [10, 50, 0])],  # not a tuple
        [(Snssai.of(i % 256, i), (0, 1, 0)) for i in range(65)],  # more than 64 rows
        [],
    ]
    for bad in declined:
        assert sq._fast_entries(enc._head, PLMN, bad, Snssai, *enc._c_templates) is None
    assert sq._fast_entries(enc._head, b"\x00\x01", rows, Snssai, *enc._c_templates) is None
    many = [(Snssai.of(i % 256, i), (0, 1, 0)) for i in range(65)]
    assert enc.encode_rows(PLMN, many) == enc.encode_message([SliceQuota(PLMN, s, *q) for s, q in many])
    with pytest.raises(TypeError):
        sq._fast_entries(enc._head, PLMN, tuple(rows), Snssai, *enc._c_templates)  # type: ignore[arg-type]
