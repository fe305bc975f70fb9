"""E2SM common IEs: round trips, cross-checks against the asn1tools oracle, pinned vectors, validation, fuzzing."""

from __future__ import annotations

import contextlib
import string
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ricsdk.e2 import common
from ricsdk.e2.common import (
    BitString,
    CellRnti,
    Cgi,
    EutraCgi,
    GlobalEnbId,
    GlobalEnGnbId,
    GlobalGnbId,
    GlobalNgEnbId,
    GlobalNgRanNodeId,
    Guami,
    Gummei,
    NrCgi,
    RanFunctionName,
    Snssai,
    UeId,
    UeIdEnb,
    UeIdEnGnb,
    UeIdGnb,
    UeIdGnbCuUp,
    UeIdGnbDu,
    UeIdNgEnb,
    UeIdNgEnbDu,
    plmn_from_mcc_mnc,
    plmn_from_str,
    plmn_to_mcc_mnc,
    plmn_to_str,
)
from ricsdk.e2.per import PerDecoder, PerEncoder, decode_complete, encode_complete
from ricsdk.errors import E2DecodeError, E2ValueError
from tests.reference import kpm_v2, kpm_v3, rc

T = TypeVar("T")

# -- strategies ------------------------------------------------------------------------------------------

PRINTABLE_CHARS = string.ascii_letters + string.digits + " '()+,-./:=?"
U32 = st.integers(0, 2**32 - 1)
plmns = st.binary(min_size=3, max_size=3)


def bits(n: int) -> st.SearchStrategy[BitString]:
    return st.integers(0, 2**n - 1).map(lambda v: BitString(v, n))


def bits_of(lengths: list[int]) -> st.SearchStrategy[BitString]:
    return st.sampled_from(lengths).flatmap(bits)


snssais = st.builds(Snssai, st.binary(min_size=1, max_size=1), st.none() | st.binary(min_size=3, max_size=3))
nr_cgis = st.builds(NrCgi, plmns, bits(36))
eutra_cgis = st.builds(EutraCgi, plmns, bits(28))
cgis: st.SearchStrategy[Cgi] = nr_cgis | eutra_cgis
guamis = st.builds(Guami, plmns, bits(8), bits(10), bits(6))
gummeis = st.builds(Gummei, plmns, st.binary(min_size=2, max_size=2), st.binary(min_size=1, max_size=1))
global_gnb_ids = st.builds(GlobalGnbId, plmns, bits_of(list(range(22, 33))))
global_ng_enb_ids = st.builds(GlobalNgEnbId, plmns, bits_of([20, 18, 21]))
global_enb_ids = st.builds(GlobalEnbId, plmns, bits_of([20, 28, 18, 21]))
global_en_gnb_ids = st.builds(GlobalEnGnbId, plmns, bits_of(list(range(22, 33))))
ng_ran_node_ids: st.SearchStrategy[GlobalNgRanNodeId] = global_gnb_ids | global_ng_enb_ids
cell_rntis = st.builds(CellRnti, st.integers(0, 65535), cgis)
ran_ue_ids = st.none() | st.binary(min_size=8, max_size=8)
id_lists_f1 = st.lists(U32, max_size=4).map(tuple)
id_lists_e1 = st.lists(U32, max_size=6).map(tuple)
opt_u32 = st.none() | U32
amf_ids = st.integers(0, 2**40 - 1)

ueids: st.SearchStrategy[UeId] = st.one_of(
    st.builds(
        UeIdGnb,
        amf_ids,
        guamis,
        id_lists_f1,
        id_lists_e1,
        ran_ue_ids,
        opt_u32,
        st.none() | global_gnb_ids,
        st.none() | ng_ran_node_ids,
        st.none() | cell_rntis,
    ),
    st.builds(UeIdGnbDu, U32, ran_ue_ids, st.none() | cell_rntis),
    st.builds(UeIdGnbCuUp, U32, ran_ue_ids),
    st.builds(
        UeIdNgEnb,
        amf_ids,
        guamis,
        opt_u32,
        opt_u32,
        st.none() | global_ng_enb_ids,
        st.none() | ng_ran_node_ids,
        st.none() | cell_rntis,
    ),
    st.builds(UeIdNgEnbDu, U32, st.none() | cell_rntis),
    st.builds(
        UeIdEnGnb,
        st.integers(0, 4095),
        global_enb_ids,
        st.none() | st.integers(0, 2**32 - 1),
        opt_u32,
        id_lists_e1,
        ran_ue_ids,
        st.none() | cell_rntis,
    ),
    st.builds(
        UeIdEnb,
        U32,
        gummeis,
        st.none() | st.integers(0, 4095),
        st.none() | st.integers(0, 10000),
        st.none() | global_enb_ids,
        st.none() | cell_rntis,
    ),
)


def printable(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=PRINTABLE_CHARS, min_size=min_size, max_size=max_size)


# asn1tools cannot decode extended string sizes, so the oracle-checked names stay within the root sizes;
# names past them (encoded as size extensions) are round-tripped on their own below.
ran_function_names = st.builds(
    RanFunctionName,
    printable(1, 150),
    printable(1, 40) | printable(990, 1000),
    printable(1, 150),
    st.none() | st.integers(-(2**40), 2**40),
)
long_ran_function_names = st.builds(
    RanFunctionName, printable(151, 200), printable(1001, 1010), printable(1, 150), st.none()
)

# -- converters to asn1tools values ----------------------------------------------------------------------


def a_bits(b: BitString) -> tuple[bytes, int]:
    n = b.length
    nbytes = (n + 7) // 8
    return (b.value << (nbytes * 8 - n)).to_bytes(nbytes, "big"), n


def a_snssai(v: Snssai) -> dict[str, Any]:
    out: dict[str, Any] = {"sST": v.sst}
    if v.sd is not None:
        out["sD"] = v.sd
    return out


def a_cgi(v: Cgi) -> tuple[str, dict[str, Any]]:
    if isinstance(v, NrCgi):
        return "nR-CGI", {"pLMNIdentity": v.plmn_identity, "nRCellIdentity": a_bits(v.nr_cell_identity)}
    return "eUTRA-CGI", {"pLMNIdentity": v.plmn_identity, "eUTRACellIdentity": a_bits(v.eutra_cell_identity)}


def a_guami(v: Guami) -> dict[str, Any]:
    return {
        "pLMNIdentity": v.plmn_identity,
        "aMFRegionID": a_bits(v.amf_region_id),
        "aMFSetID": a_bits(v.amf_set_id),
        "aMFPointer": a_bits(v.amf_pointer),
    }


def a_gummei(v: Gummei) -> dict[str, Any]:
    return {"pLMN-Identity": v.plmn_identity, "mME-Group-ID": v.mme_group_id, "mME-Code": v.mme_code}


def a_global_gnb_id(v: GlobalGnbId) -> dict[str, Any]:
    return {"pLMNIdentity": v.plmn_identity, "gNB-ID": ("gNB-ID", a_bits(v.gnb_id))}


_NG_ENB_ALTS = {20: "macroNgENB-ID", 18: "shortMacroNgENB-ID", 21: "longMacroNgENB-ID"}
_ENB_ALTS = {20: "macro-eNB-ID", 28: "home-eNB-ID", 18: "short-Macro-eNB-ID", 21: "long-Macro-eNB-ID"}


def a_global_ng_enb_id(v: GlobalNgEnbId) -> dict[str, Any]:
    return {"pLMNIdentity": v.plmn_identity, "ngENB-ID": (_NG_ENB_ALTS[v.ng_enb_id.length], a_bits(v.ng_enb_id))}


def a_global_enb_id(v: GlobalEnbId) -> dict[str, Any]:
    return {"pLMNIdentity": v.plmn_identity, "eNB-ID": (_ENB_ALTS[v.enb_id.length], a_bits(v.enb_id))}


def a_global_en_gnb_id(v: GlobalEnGnbId) -> dict[str, Any]:
    return {"pLMN-Identity": v.plmn_identity, "en-gNB-ID": ("en-gNB-ID", a_bits(v.en_gnb_id))}


def a_node(v: GlobalNgRanNodeId) -> tuple[str, dict[str, Any]]:
    if isinstance(v, GlobalGnbId):
        return "gNB", a_global_gnb_id(v)
    return "ng-eNB", a_global_ng_enb_id(v)


def a_cell_rnti(v: CellRnti) -> dict[str, Any]:
    return {"c-RNTI": v.c_rnti, "cell-Global-ID": a_cgi(v.cell_global_id)}


def _put(d: dict[str, Any], key: str, v: Any, conv: Callable[[Any], Any] = lambda x: x) -> None:
    if v is not None and v != ():
        d[key] = conv(v)


def a_ueid(v: UeId) -> tuple[str, dict[str, Any]]:
    d: dict[str, Any] = {}
    if isinstance(v, UeIdGnb):
        d["amf-UE-NGAP-ID"] = v.amf_ue_ngap_id
        d["guami"] = a_guami(v.guami)
        _put(d, "gNB-CU-UE-F1AP-ID-List", v.gnb_cu_ue_f1ap_id_list, lambda x: [{"gNB-CU-UE-F1AP-ID": i} for i in x])
        _put(
            d,
            "gNB-CU-CP-UE-E1AP-ID-List",
            v.gnb_cu_cp_ue_e1ap_id_list,
            lambda x: [{"gNB-CU-CP-UE-E1AP-ID": i} for i in x],
        )
        _put(d, "ran-UEID", v.ran_ue_id)
        _put(d, "m-NG-RAN-UE-XnAP-ID", v.m_ng_ran_ue_xnap_id)
        _put(d, "globalGNB-ID", v.global_gnb_id, a_global_gnb_id)
        _put(d, "globalNG-RANNode-ID", v.global_ng_ran_node_id, a_node)
        _put(d, "cell-RNTI", v.cell_rnti, a_cell_rnti)
        return "gNB-UEID", d
    if isinstance(v, UeIdGnbDu):
        d["gNB-CU-UE-F1AP-ID"] = v.gnb_cu_ue_f1ap_id
        _put(d, "ran-UEID", v.ran_ue_id)
        _put(d, "cell-RNTI", v.cell_rnti, a_cell_rnti)
        return "gNB-DU-UEID", d
    if isinstance(v, UeIdGnbCuUp):
        d["gNB-CU-CP-UE-E1AP-ID"] = v.gnb_cu_cp_ue_e1ap_id
        _put(d, "ran-UEID", v.ran_ue_id)
        return "gNB-CU-UP-UEID", d
    if isinstance(v, UeIdNgEnb):
        d["amf-UE-NGAP-ID"] = v.amf_ue_ngap_id
        d["guami"] = a_guami(v.guami)
        _put(d, "ng-eNB-CU-UE-W1AP-ID", v.ng_enb_cu_ue_w1ap_id)
        _put(d, "m-NG-RAN-UE-XnAP-ID", v.m_ng_ran_ue_xnap_id)
        _put(d, "globalNgENB-ID", v.global_ng_enb_id, a_global_ng_enb_id)
        _put(d, "globalNG-RANNode-ID", v.global_ng_ran_node_id, a_node)
        _put(d, "cell-RNTI", v.cell_rnti, a_cell_rnti)
        return "ng-eNB-UEID", d
    if isinstance(v, UeIdNgEnbDu):
        d["ng-eNB-CU-UE-W1AP-ID"] = v.ng_enb_cu_ue_w1ap_id
        _put(d, "cell-RNTI", v.cell_rnti, a_cell_rnti)
        return "ng-eNB-DU-UEID", d
    if isinstance(v, UeIdEnGnb):
        d["m-eNB-UE-X2AP-ID"] = v.m_enb_ue_x2ap_id
        _put(d, "m-eNB-UE-X2AP-ID-Extension", v.m_enb_ue_x2ap_id_extension)
        d["globalENB-ID"] = a_global_enb_id(v.global_enb_id)
        _put(d, "gNB-CU-UE-F1AP-ID", v.gnb_cu_ue_f1ap_id)
        _put(
            d,
            "gNB-CU-CP-UE-E1AP-ID-List",
            v.gnb_cu_cp_ue_e1ap_id_list,
            lambda x: [{"gNB-CU-CP-UE-E1AP-ID": i} for i in x],
        )
        _put(d, "ran-UEID", v.ran_ue_id)
        _put(d, "cell-RNTI", v.cell_rnti, a_cell_rnti)
        return "en-gNB-UEID", d
    assert isinstance(v, UeIdEnb)
    d["mME-UE-S1AP-ID"] = v.mme_ue_s1ap_id
    d["gUMMEI"] = a_gummei(v.gummei)
    _put(d, "m-eNB-UE-X2AP-ID", v.m_enb_ue_x2ap_id)
    _put(d, "m-eNB-UE-X2AP-ID-Extension", v.m_enb_ue_x2ap_id_extension)
    _put(d, "globalENB-ID", v.global_enb_id, a_global_enb_id)
    _put(d, "cell-RNTI", v.cell_rnti, a_cell_rnti)
    return "eNB-UEID", d


def a_ran_function_name(v: RanFunctionName) -> dict[str, Any]:
    d: dict[str, Any] = {
        "ranFunction-ShortName": v.short_name,
        "ranFunction-E2SM-OID": v.e2sm_oid,
        "ranFunction-Description": v.description,
    }
    _put(d, "ranFunction-Instance", v.instance)
    return d


# (our encoder, our decoder, asn1tools type name, converter) per IE
IES: dict[str, tuple[Callable[[PerEncoder, Any], None], Callable[[PerDecoder], Any], str, Callable[[Any], Any]]] = {
    "snssai": (common._enc_snssai, common._dec_snssai, "S-NSSAI", a_snssai),
    "cgi": (common._enc_cgi, common._dec_cgi, "CGI", a_cgi),
    "guami": (common._enc_guami, common._dec_guami, "GUAMI", a_guami),
    "gummei": (common._enc_gummei, common._dec_gummei, "GUMMEI", a_gummei),
    "global_gnb_id": (common._enc_global_gnb_id, common._dec_global_gnb_id, "GlobalGNB-ID", a_global_gnb_id),
    "global_ng_enb_id": (
        common._enc_global_ng_enb_id,
        common._dec_global_ng_enb_id,
        "GlobalNgENB-ID",
        a_global_ng_enb_id,
    ),
    "global_enb_id": (common._enc_global_enb_id, common._dec_global_enb_id, "GlobalENB-ID", a_global_enb_id),
    "global_en_gnb_id": (
        common._enc_global_en_gnb_id,
        common._dec_global_en_gnb_id,
        "GlobalenGNB-ID",
        a_global_en_gnb_id,
    ),
    "ng_ran_node_id": (
        common._enc_global_ng_ran_node_id,
        common._dec_global_ng_ran_node_id,
        "GlobalNGRANNodeID",
        a_node,
    ),
    "cell_rnti": (common._enc_cell_rnti, common._dec_cell_rnti, "Cell-RNTI", a_cell_rnti),
    "ueid": (common._enc_ueid, common._dec_ueid, "UEID", a_ueid),
    "ran_function_name": (
        common._enc_ran_function_name,
        common._dec_ran_function_name,
        "RANfunction-Name",
        a_ran_function_name,
    ),
}
STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "snssai": snssais,
    "cgi": cgis,
    "guami": guamis,
    "gummei": gummeis,
    "global_gnb_id": global_gnb_ids,
    "global_ng_enb_id": global_ng_enb_ids,
    "global_enb_id": global_enb_ids,
    "global_en_gnb_id": global_en_gnb_ids,
    "ng_ran_node_id": ng_ran_node_ids,
    "cell_rnti": cell_rntis,
    "ueid": ueids,
    "ran_function_name": ran_function_names,
}
ie_values = st.sampled_from(sorted(IES)).flatmap(lambda name: st.tuples(st.just(name), STRATEGIES[name]))


def enc(name: str, v: Any) -> bytes:
    return encode_complete(IES[name][0], v)


def dec(name: str, data: bytes) -> Any:
    return decode_complete(IES[name][1], data, IES[name][2])


# -- round trips and cross-checks ------------------------------------------------------------------------


@given(ie_values)
def test_every_common_ie_round_trips(item: tuple[str, Any]) -> None:
    name, v = item
    assert dec(name, enc(name, v)) == v


@settings(max_examples=20)
@given(long_ran_function_names)
def test_names_past_their_root_size_round_trip_as_size_extensions(v: RanFunctionName) -> None:
    data = enc("ran_function_name", v)
    assert data[0] & 0x20  # the short name's size-extension bit, after the extension and presence bits
    assert dec("ran_function_name", data) == v


@given(ie_values)
def test_our_bytes_decode_to_the_same_value_with_asn1tools(item: tuple[str, Any]) -> None:
    name, v = item
    _, _, type_name, conv = IES[name]
    assert rc().decode(type_name, enc(name, v)) == conv(v)


@given(ie_values)
def test_asn1tools_bytes_decode_to_the_same_value_with_ours(item: tuple[str, Any]) -> None:
    name, v = item
    _, _, type_name, conv = IES[name]
    assert dec(name, rc().encode(type_name, conv(v))) == v


@given(ie_values)
def test_encodings_are_byte_identical_to_asn1tools(item: tuple[str, Any]) -> None:
    """Not only the same values: the same octets (asn1tools writes the same canonical APER)."""
    name, v = item
    _, _, type_name, conv = IES[name]
    assert enc(name, v) == rc().encode(type_name, conv(v))


@settings(max_examples=30)
@given(snssais, ueids)
def test_common_ies_match_the_kpm_oracles_too(s: Snssai, u: UeId) -> None:
    """The KPM modules import the same common IEs: our encodings decode there as well."""
    for spec in (kpm_v2(), kpm_v3()):
        assert spec.decode("S-NSSAI", encode_complete(common._enc_snssai, s)) == a_snssai(s)
        assert spec.decode("UEID", encode_complete(common._enc_ueid, u)) == a_ueid(u)


# -- pinned vectors (checked by hand against X.691) ------------------------------------------------------

PLMN_00101 = bytes.fromhex("00f110")


@pytest.mark.parametrize(
    ("name", "value", "hex_"),
    [
        # ext 0, sD present 1, sST 8 bits unaligned, pad, sD 3 aligned octets
        ("snssai", Snssai.of(1, 1), "4040000001"),
        ("snssai", Snssai.of(1), "0040"),
        # CGI alt 0, NR-CGI ext 0, pad, PLMN, 36-bit NCI aligned (last nibble padding)
        ("cgi", NrCgi(PLMN_00101, BitString(1, 36)), "0000f1100000000010"),
        # UEID alt 1 (gNB-DU-UEID), ext 0, ran-UEID absent, 2-bit F1AP id length (n-1), then the octets
        ("ueid", UeIdGnbDu(0), "1000"),
        ("ueid", UeIdGnbDu(0x01020304), "1301020304"),
        # UEID alt 0, UEID-GNB ext 0 + 5 absent optionals, AMF id (3-bit length 1), pad, 01, GUAMI
        (
            "ueid",
            UeIdGnb(1, Guami(PLMN_00101, BitString(2, 8), BitString(1, 10), BitString(1, 6))),
            "0000010000f110020041",
        ),
    ],
)
def test_pinned_encodings(name: str, value: Any, hex_: str) -> None:
    assert enc(name, value).hex() == hex_
    assert dec(name, bytes.fromhex(hex_)) == value


def test_plmn_bcd_helpers() -> None:
    assert plmn_from_mcc_mnc("001", "01") == PLMN_00101
    assert plmn_from_str("00101") == PLMN_00101
    assert plmn_from_str("001-01") == PLMN_00101
    assert plmn_from_str("310410") == bytes.fromhex("130014")  # 3-digit MNC
    assert plmn_to_mcc_mnc(bytes.fromhex("130014")) == ("310", "410")
    assert plmn_to_str(PLMN_00101) == "00101"
    assert plmn_to_str(b"\xab\xcd\xef") == "abcdef"  # not BCD: shown as hex


@given(st.text(alphabet=string.digits, min_size=3, max_size=3), st.text(alphabet=string.digits, min_size=2, max_size=3))
def test_plmn_round_trips_through_bcd(mcc: str, mnc: str) -> None:
    assert plmn_to_mcc_mnc(plmn_from_mcc_mnc(mcc, mnc)) == (mcc, mnc)
    assert plmn_to_str(plmn_from_str(mcc + mnc)) == mcc + mnc


@pytest.mark.parametrize("bad", ["0010", "0010100", "00a01", "", "001--01"])
def test_malformed_plmn_strings_are_refused(bad: str) -> None:
    with pytest.raises(E2ValueError):
        plmn_from_str(bad)


def test_snssai_keys() -> None:
    assert Snssai.of(1, 1).key == "1-000001"
    assert str(Snssai.of(128)) == "128"
    assert Snssai.parse("1-00ABcd") == Snssai(b"\x01", b"\x00\xab\xcd")
    assert Snssai.parse("255") == Snssai(b"\xff")


@given(snssais)
def test_snssai_key_round_trips(s: Snssai) -> None:
    assert Snssai.parse(s.key) == s


@pytest.mark.parametrize("bad", ["", "256", "1-", "1-12345", "1-1234567", "x-000001", "1_000001", "-1"])
def test_malformed_slice_keys_are_refused(bad: str) -> None:
    with pytest.raises(E2ValueError):
        Snssai.parse(bad)


# -- validation at construction --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Snssai(b""),
        lambda: Snssai(b"\x01", b"\x00\x01"),
        lambda: Snssai(1),  # type: ignore[arg-type]
        lambda: Snssai.of(256),
        lambda: Snssai.of(1, 1 << 24),
        lambda: NrCgi(PLMN_00101, BitString(1, 35)),
        lambda: NrCgi(b"\x00\xf1", BitString(1, 36)),
        lambda: EutraCgi(PLMN_00101, BitString(1, 36)),
        lambda: Guami(PLMN_00101, BitString(1, 8), BitString(1, 8), BitString(1, 6)),
        lambda: Gummei(PLMN_00101, b"\x00", b"\x00"),
        lambda: GlobalGnbId(PLMN_00101, BitString(1, 21)),
        lambda: GlobalGnbId(PLMN_00101, BitString(1, 33)),
        lambda: GlobalNgEnbId(PLMN_00101, BitString(1, 28)),
        lambda: GlobalEnbId(PLMN_00101, BitString(1, 22)),
        lambda: CellRnti(65536, NrCgi(PLMN_00101, BitString(1, 36))),
        lambda: CellRnti(1, PLMN_00101),  # type: ignore[arg-type]
        lambda: UeIdGnbDu(-1),
        lambda: UeIdGnbDu(2**32),
        lambda: UeIdGnbDu(True),
        lambda: UeIdGnbDu(1, ran_ue_id=b"\x00" * 7),
        lambda: UeIdGnb(2**40, Guami(PLMN_00101, BitString(1, 8), BitString(1, 10), BitString(1, 6))),
        lambda: UeIdGnb(
            1, Guami(PLMN_00101, BitString(1, 8), BitString(1, 10), BitString(1, 6)), gnb_cu_ue_f1ap_id_list=(1,) * 5
        ),
        lambda: UeIdGnb(1, None),  # type: ignore[arg-type]
        lambda: UeIdEnGnb(4096, GlobalEnbId(PLMN_00101, BitString(1, 20))),
        lambda: RanFunctionName("", "1.2", "x"),
        lambda: RanFunctionName("ORAN-E2SM-RC", "1.2", "caf\u00e9"),
        lambda: RanFunctionName("a", "b", "c", instance="1"),  # type: ignore[arg-type]
        lambda: BitString(4, 2),
        lambda: BitString(-1, 2),
    ],
)
def test_invalid_values_are_refused_at_construction(make: Callable[[], object]) -> None:
    with pytest.raises(E2ValueError):
        make()


def test_encoding_a_value_of_the_wrong_alternative_type_is_a_value_error() -> None:
    with pytest.raises(E2ValueError):
        encode_complete(common._enc_ueid, Snssai.of(1))  # type: ignore[arg-type]
    with pytest.raises(E2ValueError):
        encode_complete(common._enc_cgi, Snssai.of(1))  # type: ignore[arg-type]


# -- extensions ------------------------------------------------------------------------------------------


def test_unknown_ueid_extension_alternative_is_a_clear_decode_error() -> None:
    # extension bit 1, normally-small index 0, then an open type of one octet
    data = bytes([0b1000_0000, 0b0000_0001, 0x00])
    with pytest.raises(E2DecodeError, match="unknown UEID extension alternative 0"):
        decode_complete(common._dec_ueid, data, "UEID")


def test_unknown_extension_additions_are_skipped() -> None:
    """A later version's addition (here a third, unknown addition of UEID-GNB-DU) is skipped."""
    e = PerEncoder()
    e.put(1, 4)  # UEID alternative gNB-DU-UEID
    e.put(0b10, 2)  # extension bit set, ran-UEID absent
    e.constrained(7, 1 << 32)
    e.extensions([None, None, b"\x42\x42"])
    assert dec("ueid", e.to_bytes()) == UeIdGnbDu(7)


def test_decode_error_names_the_field_path() -> None:
    data = enc("ueid", UeIdGnb(1, Guami(PLMN_00101, BitString(2, 8), BitString(1, 10), BitString(1, 6))))
    with pytest.raises(E2DecodeError) as info:
        dec("ueid", data[:-1])
    assert info.value.path == "UEID.gNB-UEID.guami.aMFSetID"


# -- fuzzing ---------------------------------------------------------------------------------------------

_fuzz = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])


@_fuzz
@given(st.sampled_from(sorted(IES)), st.binary(max_size=64))
def test_random_bytes_raise_only_decode_errors(name: str, data: bytes) -> None:
    with contextlib.suppress(E2DecodeError):
        dec(name, data)


@_fuzz
@given(ie_values, st.data())
def test_truncations_and_bit_flips_raise_only_decode_errors(item: tuple[str, Any], data: st.DataObject) -> None:
    name, v = item
    raw = bytearray(enc(name, v))
    cut = data.draw(st.integers(0, len(raw) - 1))
    flips = data.draw(st.lists(st.integers(0, len(raw) * 8 - 1), max_size=4))
    for f in flips:
        raw[f >> 3] ^= 0x80 >> (f & 7)
    for candidate in (bytes(raw), bytes(raw[:cut])):
        with contextlib.suppress(E2DecodeError):
            dec(name, candidate)
