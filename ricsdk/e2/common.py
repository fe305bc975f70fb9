"""E2SM common IEs (the ``E2SM-COMMON-IEs`` module): the identities E2SM-KPM and E2SM-RC share.

Theory of operation
-------------------
Every E2 service model imports the same small vocabulary: who a UE is (``UEID``), which cell (``CGI``),
which network and slice (``PLMNIdentity``, ``S-NSSAI``), which node (``GlobalGNB-ID`` and its relatives),
and how a RAN function names itself (``RANfunction-Name``). This module holds those types as frozen,
validated dataclasses and their APER encoders/decoders (``_enc_<type>`` / ``_dec_<type>``), which the KPM and
RC codecs call while walking their own messages.

Value model (spec name -> Python):

- ``PLMNIdentity`` (OCTET STRING, 3 octets, BCD digits as in TS 24.008) -> ``bytes``; :func:`plmn_from_str`,
  :func:`plmn_from_mcc_mnc`, :func:`plmn_to_str` and :func:`plmn_to_mcc_mnc` convert from/to digits;
- ``S-NSSAI {sST, sD OPTIONAL}`` -> :class:`Snssai` (``sst`` 1 octet, ``sd`` 3 octets or None); its ``key``
  ``"<sst>"`` or ``"<sst>-<sd as 6 hex digits>"`` (``"1-000001"``) names a slice everywhere in ricsdk;
- ``NR-CGI`` / ``EUTRA-CGI`` -> :class:`NrCgi` / :class:`EutraCgi`; the ``CGI`` CHOICE is their union :data:`Cgi`;
- ``GUAMI``, ``GUMMEI``, ``GlobalGNB-ID``, ``GlobalNgENB-ID``, ``GlobalENB-ID``, ``GlobalenGNB-ID`` -> one
  dataclass each; the node-id CHOICEs inside them (``GNB-ID``, ``NgENB-ID``, ``ENB-ID``, ``EN-GNB-ID``) are
  all BIT STRINGs whose alternative is fixed by the length, so they are a :class:`BitString` whose length
  selects the alternative (eNB: 20 macro, 28 home, 18 short macro, 21 long macro; ng-eNB: 20 macro, 18 short
  macro, 21 long macro; gNB and en-gNB: 22..32 bits);
- ``UEID`` -> the union :data:`UeId` of :class:`UeIdGnb`, :class:`UeIdGnbDu`, :class:`UeIdGnbCuUp`,
  :class:`UeIdNgEnb`, :class:`UeIdNgEnbDu`, :class:`UeIdEnGnb` and :class:`UeIdEnb`; their F1AP/E1AP id lists
  (``SEQUENCE (SIZE(1..n)) OF SEQUENCE {id, ...}``) are tuples of ints, the empty tuple meaning "absent";
- ``RANfunction-Name`` -> :class:`RanFunctionName`; ``RIC-Style-Type`` / ``RIC-Format-Type`` are plain ints and
  ``RIC-Style-Name`` a str.

Versions. The shapes are those of E2SM common IEs v2/v3 (OSC kpimon-go ``e2sm2_0.asn``), plus the extension
additions later versions appended to the UEID alternatives (``globalNG-RANNode-ID``, ``cell-RNTI``), which
are decoded and encoded. Other additions (``Beam-ID`` users and the like) are skipped as unknown extensions;
an unknown extension *alternative* of a CHOICE cannot be skipped and raises :class:`E2DecodeError` naming it.

Decoders add the field they were reading to an :class:`E2DecodeError` on the way out, so a failure deep in a
message reads ``...ueID.gNB-UEID.guami.aMFSetID``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias, TypeVar

from ricsdk.e2.per import PRINTABLE, BitString, PerDecoder, PerEncoder, encode_complete
from ricsdk.errors import E2DecodeError, E2ValueError

__all__ = [
    "BitString",
    "CellRnti",
    "Cgi",
    "EutraCgi",
    "GlobalEnGnbId",
    "GlobalEnbId",
    "GlobalGnbId",
    "GlobalNgEnbId",
    "GlobalNgRanNodeId",
    "Guami",
    "Gummei",
    "NrCgi",
    "RanFunctionName",
    "Snssai",
    "UeId",
    "UeIdEnGnb",
    "UeIdEnb",
    "UeIdGnb",
    "UeIdGnbCuUp",
    "UeIdGnbDu",
    "UeIdNgEnb",
    "UeIdNgEnbDu",
    "plmn_from_mcc_mnc",
    "plmn_from_str",
    "plmn_to_mcc_mnc",
    "plmn_to_str",
]

T = TypeVar("T")

_R32: Final = 1 << 32  # range of INTEGER (0..4294967295)
_R40: Final = 1 << 40  # range of AMF-UE-NGAP-ID (0..1099511627775)
_MAX_U32: Final = _R32 - 1
_MAX_AMF_UE_NGAP_ID: Final = _R40 - 1
_MAX_F1AP_IDS: Final = 4  # maxF1APid
_MAX_E1AP_IDS: Final = 65535  # maxE1APid
_ENB_ID_LENGTHS: Final = (20, 28, 18, 21)  # macro, home | ext: short macro, long macro
_NG_ENB_ID_LENGTHS: Final = (20, 18, 21)  # macro, short macro, long macro


# -- validation helpers ----------------------------------------------------------------------------------


def _check_octets(v: object, n: int, field: str) -> None:
    if type(v) is not bytes or len(v) != n:
        raise E2ValueError(f"must be {n} octet{'s' if n > 1 else ''} (bytes)", field=field, value=v)


def _check_uint(v: object, hi: int, field: str) -> None:
    if type(v) is not int or v < 0 or v > hi:
        raise E2ValueError(f"must be an int in 0..{hi}", field=field, value=v)


def _check_bits(v: object, lengths: tuple[int, ...], field: str) -> None:
    if type(v) is not BitString or v.length not in lengths:
        want = "/".join(str(n) for n in lengths)
        raise E2ValueError(f"must be a BitString of {want} bits", field=field, value=v)


def _check_printable(v: object, field: str, lb: int = 1) -> None:
    if type(v) is not str or len(v) < lb or not v.isascii() or not PRINTABLE.issuperset(v.encode("ascii")):
        raise E2ValueError(f"must be a PrintableString of at least {lb} characters", field=field, value=v)


def _check_id_list(v: object, ub: int, field: str) -> None:
    if type(v) is not tuple or len(v) > ub:
        raise E2ValueError(f"must be a tuple of at most {ub} ids", field=field, value=v)
    for x in v:
        _check_uint(x, _MAX_U32, field)


def _check_type(v: object, types: tuple[type, ...], field: str, optional: bool = False) -> None:
    if (v is not None or not optional) and type(v) not in types:
        names = " | ".join(t.__name__ for t in types)
        raise E2ValueError(f"must be {names}{' or None' if optional else ''}", field=field, value=v)


# -- PLMN identity -----------------------------------------------------------------------------------------

_DIGITS: Final = re.compile(r"[0-9]+")


def plmn_from_mcc_mnc(mcc: str, mnc: str) -> bytes:
    """Encode MCC (3 digits) and MNC (2 or 3 digits) as a 3-octet BCD PLMN identity (TS 24.008 10.5.1.13).

    ``plmn_from_mcc_mnc("001", "01") == bytes.fromhex("00f110")``
    """
    if type(mcc) is not str or len(mcc) != 3 or not _DIGITS.fullmatch(mcc):
        raise E2ValueError("MCC must be 3 decimal digits", field="mcc", value=mcc)
    if type(mnc) is not str or len(mnc) not in (2, 3) or not _DIGITS.fullmatch(mnc):
        raise E2ValueError("MNC must be 2 or 3 decimal digits", field="mnc", value=mnc)
    d = [int(c) for c in mcc]
    m = [int(c) for c in mnc]
    mnc3 = m[2] if len(m) == 3 else 0xF
    return bytes(((d[1] << 4) | d[0], (mnc3 << 4) | d[2], (m[1] << 4) | m[0]))


def plmn_to_mcc_mnc(plmn: bytes) -> tuple[str, str]:
    """Decode a 3-octet BCD PLMN identity into ``(mcc, mnc)`` strings; E2ValueError if it is not BCD."""
    _check_octets(plmn, 3, "plmn")
    n = [plmn[0] & 0xF, plmn[0] >> 4, plmn[1] & 0xF, plmn[1] >> 4, plmn[2] & 0xF, plmn[2] >> 4]
    mcc = n[0:3]
    mnc = [n[4], n[5]] + ([] if n[3] == 0xF else [n[3]])
    if any(x > 9 for x in mcc + mnc):
        raise E2ValueError("not a BCD PLMN identity", field="plmn", value=plmn)
    return "".join(map(str, mcc)), "".join(map(str, mnc))


def plmn_from_str(text: str) -> bytes:
    """``"00101"`` (MCC then a 2-digit MNC) or ``"001001"`` (3-digit MNC) -> 3-octet PLMN identity.

    A dash between MCC and MNC is accepted: ``"001-01"``.
    """
    if type(text) is not str:
        raise E2ValueError("PLMN must be a string of digits", field="plmn", value=text)
    digits = text.replace("-", "", 1) if len(text) > 3 and text[3] == "-" else text
    if len(digits) not in (5, 6) or not _DIGITS.fullmatch(digits):
        raise E2ValueError("PLMN must be MCC+MNC, 5 or 6 digits", field="plmn", value=text)
    return plmn_from_mcc_mnc(digits[:3], digits[3:])


def plmn_to_str(plmn: bytes) -> str:
    """3-octet PLMN identity -> ``"00101"``; a non-BCD identity is rendered as its hex."""
    _check_octets(plmn, 3, "plmn")
    try:
        mcc, mnc = plmn_to_mcc_mnc(plmn)
    except E2ValueError:
        return plmn.hex()
    return mcc + mnc


# -- values ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snssai:
    """``S-NSSAI``: slice/service type ``sst`` (1 octet) and optional slice differentiator ``sd`` (3 octets).

    ``Snssai.of(1, 1).key == "1-000001"``, ``Snssai.parse("1") == Snssai(b"\\x01")``.
    """

    sst: bytes
    sd: bytes | None = None

    def __post_init__(self) -> None:
        _check_octets(self.sst, 1, "sST")
        if self.sd is not None:
            _check_octets(self.sd, 3, "sD")

    @classmethod
    def of(cls, sst: int, sd: int | None = None) -> Snssai:
        """From integers: ``sst`` 0..255, ``sd`` 0..0xFFFFFF or None."""
        _check_uint(sst, 0xFF, "sST")
        if sd is not None:
            _check_uint(sd, 0xFFFFFF, "sD")
        return cls(bytes((sst,)), None if sd is None else sd.to_bytes(3, "big"))

    @classmethod
    def parse(cls, key: str) -> Snssai:
        """From a slice key: ``"1"`` (SST only) or ``"1-000001"`` (SST decimal, SD as 6 hex digits)."""
        m = _SNSSAI_KEY.fullmatch(key) if type(key) is str else None
        if m is None:
            raise E2ValueError("slice key must be '<sst>' or '<sst>-<sd: 6 hex digits>'", field="snssai", value=key)
        sst = int(m.group(1))
        if sst > 0xFF:
            raise E2ValueError("SST must be 0..255", field="snssai", value=key)
        sd = m.group(2)
        return cls(bytes((sst,)), None if sd is None else bytes.fromhex(sd))

    @property
    def key(self) -> str:
        """The slice key: ``"<sst>"`` or ``"<sst>-<sd>"``, SD as 6 lower-case hex digits."""
        return str(self.sst[0]) if self.sd is None else f"{self.sst[0]}-{self.sd.hex()}"

    def __str__(self) -> str:
        return self.key


_SNSSAI_KEY: Final = re.compile(r"([0-9]{1,3})(?:-([0-9A-Fa-f]{6}))?")


@dataclass(frozen=True, slots=True)
class NrCgi:
    """``NR-CGI``: PLMN identity and the 36-bit NR cell identity."""

    plmn_identity: bytes
    nr_cell_identity: BitString

    def __post_init__(self) -> None:
        _check_octets(self.plmn_identity, 3, "pLMNIdentity")
        _check_bits(self.nr_cell_identity, (36,), "nRCellIdentity")


@dataclass(frozen=True, slots=True)
class EutraCgi:
    """``EUTRA-CGI``: PLMN identity and the 28-bit E-UTRA cell identity."""

    plmn_identity: bytes
    eutra_cell_identity: BitString

    def __post_init__(self) -> None:
        _check_octets(self.plmn_identity, 3, "pLMNIdentity")
        _check_bits(self.eutra_cell_identity, (28,), "eUTRACellIdentity")


#: ``CGI ::= CHOICE {nR-CGI, eUTRA-CGI, ...}``
Cgi: TypeAlias = NrCgi | EutraCgi


@dataclass(frozen=True, slots=True)
class Guami:
    """``GUAMI``: PLMN identity, AMF region (8 bits), AMF set (10 bits) and AMF pointer (6 bits)."""

    plmn_identity: bytes
    amf_region_id: BitString
    amf_set_id: BitString
    amf_pointer: BitString

    def __post_init__(self) -> None:
        _check_octets(self.plmn_identity, 3, "pLMNIdentity")
        _check_bits(self.amf_region_id, (8,), "aMFRegionID")
        _check_bits(self.amf_set_id, (10,), "aMFSetID")
        _check_bits(self.amf_pointer, (6,), "aMFPointer")


@dataclass(frozen=True, slots=True)
class Gummei:
    """``GUMMEI``: PLMN identity, MME group id (2 octets) and MME code (1 octet)."""

    plmn_identity: bytes
    mme_group_id: bytes
    mme_code: bytes

    def __post_init__(self) -> None:
        _check_octets(self.plmn_identity, 3, "pLMN-Identity")
        _check_octets(self.mme_group_id, 2, "mME-Group-ID")
        _check_octets(self.mme_code, 1, "mME-Code")


@dataclass(frozen=True, slots=True)
class GlobalGnbId:
    """``GlobalGNB-ID``: PLMN identity and the gNB id (22..32 bits)."""

    plmn_identity: bytes
    gnb_id: BitString

    def __post_init__(self) -> None:
        _check_octets(self.plmn_identity, 3, "pLMNIdentity")
        _check_bits(self.gnb_id, tuple(range(22, 33)), "gNB-ID")


@dataclass(frozen=True, slots=True)
class GlobalNgEnbId:
    """``GlobalNgENB-ID``: PLMN identity and the ng-eNB id (20 bits macro, 18 short macro, 21 long macro)."""

    plmn_identity: bytes
    ng_enb_id: BitString

    def __post_init__(self) -> None:
        _check_octets(self.plmn_identity, 3, "pLMNIdentity")
        _check_bits(self.ng_enb_id, _NG_ENB_ID_LENGTHS, "ngENB-ID")


@dataclass(frozen=True, slots=True)
class GlobalEnbId:
    """``GlobalENB-ID``: PLMN identity and the eNB id (20 bits macro, 28 home, 18 short macro, 21 long macro)."""

    plmn_identity: bytes
    enb_id: BitString

    def __post_init__(self) -> None:
        _check_octets(self.plmn_identity, 3, "pLMNIdentity")
        _check_bits(self.enb_id, _ENB_ID_LENGTHS, "eNB-ID")


@dataclass(frozen=True, slots=True)
class GlobalEnGnbId:
    """``GlobalenGNB-ID``: PLMN identity and the en-gNB id (22..32 bits)."""

    plmn_identity: bytes
    en_gnb_id: BitString

    def __post_init__(self) -> None:
        _check_octets(self.plmn_identity, 3, "pLMN-Identity")
        _check_bits(self.en_gnb_id, tuple(range(22, 33)), "en-gNB-ID")


#: ``GlobalNGRANNodeID ::= CHOICE {gNB, ng-eNB, ...}``
GlobalNgRanNodeId: TypeAlias = GlobalGnbId | GlobalNgEnbId


@dataclass(frozen=True, slots=True)
class CellRnti:
    """``Cell-RNTI``: a C-RNTI (0..65535) in the cell ``cell_global_id``."""

    c_rnti: int
    cell_global_id: Cgi

    def __post_init__(self) -> None:
        _check_uint(self.c_rnti, 0xFFFF, "c-RNTI")
        _check_type(self.cell_global_id, (NrCgi, EutraCgi), "cell-Global-ID")


@dataclass(frozen=True, slots=True)
class UeIdGnb:
    """``UEID-GNB``: a UE of a gNB, identified by its NGAP id and GUAMI.

    ``gnb_cu_ue_f1ap_id_list`` (1..4 ids) and ``gnb_cu_cp_ue_e1ap_id_list`` (1..65535 ids) are absent when empty.
    """

    amf_ue_ngap_id: int
    guami: Guami
    gnb_cu_ue_f1ap_id_list: tuple[int, ...] = ()
    gnb_cu_cp_ue_e1ap_id_list: tuple[int, ...] = ()
    ran_ue_id: bytes | None = None
    m_ng_ran_ue_xnap_id: int | None = None
    global_gnb_id: GlobalGnbId | None = None
    global_ng_ran_node_id: GlobalNgRanNodeId | None = None
    cell_rnti: CellRnti | None = None

    def __post_init__(self) -> None:
        _check_uint(self.amf_ue_ngap_id, _MAX_AMF_UE_NGAP_ID, "amf-UE-NGAP-ID")
        _check_type(self.guami, (Guami,), "guami")
        _check_id_list(self.gnb_cu_ue_f1ap_id_list, _MAX_F1AP_IDS, "gNB-CU-UE-F1AP-ID-List")
        _check_id_list(self.gnb_cu_cp_ue_e1ap_id_list, _MAX_E1AP_IDS, "gNB-CU-CP-UE-E1AP-ID-List")
        if self.ran_ue_id is not None:
            _check_octets(self.ran_ue_id, 8, "ran-UEID")
        if self.m_ng_ran_ue_xnap_id is not None:
            _check_uint(self.m_ng_ran_ue_xnap_id, _MAX_U32, "m-NG-RAN-UE-XnAP-ID")
        _check_type(self.global_gnb_id, (GlobalGnbId,), "globalGNB-ID", True)
        _check_type(self.global_ng_ran_node_id, (GlobalGnbId, GlobalNgEnbId), "globalNG-RANNode-ID", True)
        _check_type(self.cell_rnti, (CellRnti,), "cell-RNTI", True)


@dataclass(frozen=True, slots=True)
class UeIdGnbDu:
    """``UEID-GNB-DU``: a UE of a gNB-DU, identified by its gNB-CU UE F1AP id (what srsRAN uses for RC)."""

    gnb_cu_ue_f1ap_id: int
    ran_ue_id: bytes | None = None
    cell_rnti: CellRnti | None = None

    def __post_init__(self) -> None:
        _check_uint(self.gnb_cu_ue_f1ap_id, _MAX_U32, "gNB-CU-UE-F1AP-ID")
        if self.ran_ue_id is not None:
            _check_octets(self.ran_ue_id, 8, "ran-UEID")
        _check_type(self.cell_rnti, (CellRnti,), "cell-RNTI", True)


@dataclass(frozen=True, slots=True)
class UeIdGnbCuUp:
    """``UEID-GNB-CU-UP``: a UE of a gNB-CU-UP, identified by its gNB-CU-CP UE E1AP id."""

    gnb_cu_cp_ue_e1ap_id: int
    ran_ue_id: bytes | None = None

    def __post_init__(self) -> None:
        _check_uint(self.gnb_cu_cp_ue_e1ap_id, _MAX_U32, "gNB-CU-CP-UE-E1AP-ID")
        if self.ran_ue_id is not None:
            _check_octets(self.ran_ue_id, 8, "ran-UEID")


@dataclass(frozen=True, slots=True)
class UeIdNgEnb:
    """``UEID-NG-ENB``: a UE of an ng-eNB, identified by its NGAP id and GUAMI."""

    amf_ue_ngap_id: int
    guami: Guami
    ng_enb_cu_ue_w1ap_id: int | None = None
    m_ng_ran_ue_xnap_id: int | None = None
    global_ng_enb_id: GlobalNgEnbId | None = None
    global_ng_ran_node_id: GlobalNgRanNodeId | None = None
    cell_rnti: CellRnti | None = None

    def __post_init__(self) -> None:
        _check_uint(self.amf_ue_ngap_id, _MAX_AMF_UE_NGAP_ID, "amf-UE-NGAP-ID")
        _check_type(self.guami, (Guami,), "guami")
        if self.ng_enb_cu_ue_w1ap_id is not None:
            _check_uint(self.ng_enb_cu_ue_w1ap_id, _MAX_U32, "ng-eNB-CU-UE-W1AP-ID")
        if self.m_ng_ran_ue_xnap_id is not None:
            _check_uint(self.m_ng_ran_ue_xnap_id, _MAX_U32, "m-NG-RAN-UE-XnAP-ID")
        _check_type(self.global_ng_enb_id, (GlobalNgEnbId,), "globalNgENB-ID", True)
        _check_type(self.global_ng_ran_node_id, (GlobalGnbId, GlobalNgEnbId), "globalNG-RANNode-ID", True)
        _check_type(self.cell_rnti, (CellRnti,), "cell-RNTI", True)


@dataclass(frozen=True, slots=True)
class UeIdNgEnbDu:
    """``UEID-NG-ENB-DU``: a UE of an ng-eNB-DU, identified by its ng-eNB-CU UE W1AP id."""

    ng_enb_cu_ue_w1ap_id: int
    cell_rnti: CellRnti | None = None

    def __post_init__(self) -> None:
        _check_uint(self.ng_enb_cu_ue_w1ap_id, _MAX_U32, "ng-eNB-CU-UE-W1AP-ID")
        _check_type(self.cell_rnti, (CellRnti,), "cell-RNTI", True)


@dataclass(frozen=True, slots=True)
class UeIdEnGnb:
    """``UEID-EN-GNB``: a UE of an en-gNB, identified by the MeNB's X2AP id and the MeNB's global id.

    The mandatory fields come first here; the wire order is the spec's (``m-eNB-UE-X2AP-ID``,
    ``m-eNB-UE-X2AP-ID-Extension``, ``globalENB-ID``, ...).
    """

    m_enb_ue_x2ap_id: int
    global_enb_id: GlobalEnbId
    m_enb_ue_x2ap_id_extension: int | None = None
    gnb_cu_ue_f1ap_id: int | None = None
    gnb_cu_cp_ue_e1ap_id_list: tuple[int, ...] = ()
    ran_ue_id: bytes | None = None
    cell_rnti: CellRnti | None = None

    def __post_init__(self) -> None:
        _check_uint(self.m_enb_ue_x2ap_id, 4095, "m-eNB-UE-X2AP-ID")
        _check_type(self.global_enb_id, (GlobalEnbId,), "globalENB-ID")
        if self.m_enb_ue_x2ap_id_extension is not None:
            _check_uint(self.m_enb_ue_x2ap_id_extension, _MAX_U32, "m-eNB-UE-X2AP-ID-Extension")
        if self.gnb_cu_ue_f1ap_id is not None:
            _check_uint(self.gnb_cu_ue_f1ap_id, _MAX_U32, "gNB-CU-UE-F1AP-ID")
        _check_id_list(self.gnb_cu_cp_ue_e1ap_id_list, _MAX_E1AP_IDS, "gNB-CU-CP-UE-E1AP-ID-List")
        if self.ran_ue_id is not None:
            _check_octets(self.ran_ue_id, 8, "ran-UEID")
        _check_type(self.cell_rnti, (CellRnti,), "cell-RNTI", True)


@dataclass(frozen=True, slots=True)
class UeIdEnb:
    """``UEID-ENB``: a UE of an eNB, identified by its S1AP id and GUMMEI."""

    mme_ue_s1ap_id: int
    gummei: Gummei
    m_enb_ue_x2ap_id: int | None = None
    m_enb_ue_x2ap_id_extension: int | None = None
    global_enb_id: GlobalEnbId | None = None
    cell_rnti: CellRnti | None = None

    def __post_init__(self) -> None:
        _check_uint(self.mme_ue_s1ap_id, _MAX_U32, "mME-UE-S1AP-ID")
        _check_type(self.gummei, (Gummei,), "gUMMEI")
        if self.m_enb_ue_x2ap_id is not None:
            _check_uint(self.m_enb_ue_x2ap_id, 4095, "m-eNB-UE-X2AP-ID")
        if self.m_enb_ue_x2ap_id_extension is not None:
            _check_uint(self.m_enb_ue_x2ap_id_extension, _MAX_U32, "m-eNB-UE-X2AP-ID-Extension")
        _check_type(self.global_enb_id, (GlobalEnbId,), "globalENB-ID", True)
        _check_type(self.cell_rnti, (CellRnti,), "cell-RNTI", True)


#: ``UEID ::= CHOICE {gNB-UEID, gNB-DU-UEID, gNB-CU-UP-UEID, ng-eNB-UEID, ng-eNB-DU-UEID, en-gNB-UEID, eNB-UEID, ...}``
UeId: TypeAlias = UeIdGnb | UeIdGnbDu | UeIdGnbCuUp | UeIdNgEnb | UeIdNgEnbDu | UeIdEnGnb | UeIdEnb


@dataclass(frozen=True, slots=True)
class RanFunctionName:
    """``RANfunction-Name``: short name (e.g. ``ORAN-E2SM-RC``), service model OID, description, instance."""

    short_name: str
    e2sm_oid: str
    description: str
    instance: int | None = None

    def __post_init__(self) -> None:
        _check_printable(self.short_name, "ranFunction-ShortName")
        _check_printable(self.e2sm_oid, "ranFunction-E2SM-OID")
        _check_printable(self.description, "ranFunction-Description")
        if self.instance is not None and type(self.instance) is not int:
            raise E2ValueError("must be an int or None", field="ranFunction-Instance", value=self.instance)


# -- encoders / decoders -----------------------------------------------------------------------------------
# Each decoder keeps the name of the component it is reading in ``f`` and adds it to an E2DecodeError on the
# way out; try blocks cost nothing in 3.11 until something is raised.


def _read_extensions(dec: PerDecoder, n_known: int) -> list[PerDecoder | None]:
    """The open types of the first ``n_known`` extension additions (None where absent); the rest is skipped."""
    out: list[PerDecoder | None] = [None] * n_known
    for add in dec.extensions():
        if add is not None and add[0] < n_known:
            out[add[0]] = add[1]
    return out


def _enc_plmn(enc: PerEncoder, v: bytes) -> None:
    enc.octets(v)


def _dec_plmn(dec: PerDecoder) -> bytes:
    return dec.octets(3)


def _enc_snssai(enc: PerEncoder, v: Snssai) -> None:
    sd = v.sd
    enc.put(0 if sd is None else 1, 2)  # extension bit, sD present
    enc.octets_unaligned(v.sst)
    if sd is not None:
        enc.octets(sd)


def _dec_snssai(dec: PerDecoder) -> Snssai:
    ext, opt = dec.preamble(True, 1)
    f = "sST"
    try:
        sst = dec.octets_unaligned(1)
        f = "sD"
        sd = dec.octets(3) if opt else None
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return Snssai(sst, sd)


def _enc_nr_cgi(enc: PerEncoder, v: NrCgi) -> None:
    enc.put(0, 1)
    enc.octets(v.plmn_identity)
    enc.bit_string(v.nr_cell_identity.value, 36, 36, 36)


def _dec_nr_cgi(dec: PerDecoder) -> NrCgi:
    ext = dec.bit()
    f = "pLMNIdentity"
    try:
        plmn = dec.octets(3)
        f = "nRCellIdentity"
        cid, _ = dec.bit_string(36, 36)
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return NrCgi(plmn, BitString(cid, 36))


def _enc_eutra_cgi(enc: PerEncoder, v: EutraCgi) -> None:
    enc.put(0, 1)
    enc.octets(v.plmn_identity)
    enc.bit_string(v.eutra_cell_identity.value, 28, 28, 28)


def _dec_eutra_cgi(dec: PerDecoder) -> EutraCgi:
    ext = dec.bit()
    f = "pLMNIdentity"
    try:
        plmn = dec.octets(3)
        f = "eUTRACellIdentity"
        cid, _ = dec.bit_string(28, 28)
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return EutraCgi(plmn, BitString(cid, 28))


def _enc_cgi(enc: PerEncoder, v: Cgi) -> None:
    if type(v) is NrCgi:
        enc.put(0b00, 2)  # extension bit, alternative 0
        _enc_nr_cgi(enc, v)
    elif type(v) is EutraCgi:
        enc.put(0b01, 2)
        _enc_eutra_cgi(enc, v)
    else:
        raise E2ValueError("must be NrCgi or EutraCgi", field="CGI", value=v)


def _dec_cgi(dec: PerDecoder) -> Cgi:
    i = dec.choice(2, True)
    if i == 0:
        f = "nR-CGI"
        try:
            return _dec_nr_cgi(dec)
        except E2DecodeError as e:
            e.add_context(f)
            raise
    if i == 1:
        f = "eUTRA-CGI"
        try:
            return _dec_eutra_cgi(dec)
        except E2DecodeError as e:
            e.add_context(f)
            raise
    raise dec.error(f"unknown CGI extension alternative {i - 2}")


def _enc_guami(enc: PerEncoder, v: Guami) -> None:
    enc.put(0, 1)
    enc.octets(v.plmn_identity)
    enc.put(v.amf_region_id.value, 8)
    enc.put(v.amf_set_id.value, 10)
    enc.put(v.amf_pointer.value, 6)


def _dec_guami(dec: PerDecoder) -> Guami:
    ext = dec.bit()
    f = "pLMNIdentity"
    try:
        plmn = dec.octets(3)
        f = "aMFRegionID"
        region = dec.bits(8)
        f = "aMFSetID"
        aset = dec.bits(10)
        f = "aMFPointer"
        pointer = dec.bits(6)
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return Guami(plmn, BitString(region, 8), BitString(aset, 10), BitString(pointer, 6))


def _enc_gummei(enc: PerEncoder, v: Gummei) -> None:
    enc.put(0, 1)
    enc.octets(v.plmn_identity)
    enc.octets_unaligned(v.mme_group_id)
    enc.octets_unaligned(v.mme_code)


def _dec_gummei(dec: PerDecoder) -> Gummei:
    ext = dec.bit()
    f = "pLMN-Identity"
    try:
        plmn = dec.octets(3)
        f = "mME-Group-ID"
        group = dec.octets_unaligned(2)
        f = "mME-Code"
        code = dec.octets_unaligned(1)
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return Gummei(plmn, group, code)


def _enc_gnb_id_choice(enc: PerEncoder, v: BitString) -> None:
    """``GNB-ID`` / ``EN-GNB-ID``: CHOICE {BIT STRING (SIZE(22..32)), ...}."""
    enc.put(0, 1)
    enc.bit_string(v.value, v.length, 22, 32)


def _dec_gnb_id_choice(dec: PerDecoder, what: str) -> BitString:
    i = dec.choice(1, True)
    if i != 0:
        raise dec.error(f"unknown {what} extension alternative {i - 1}")
    value, n = dec.bit_string(22, 32)
    return BitString(value, n)


def _enc_plmn_gnb_id(enc: PerEncoder, plmn: bytes, gnb_id: BitString) -> None:
    enc.put(0, 1)
    enc.octets(plmn)
    _enc_gnb_id_choice(enc, gnb_id)


def _dec_plmn_gnb_id(dec: PerDecoder, plmn_field: str, id_field: str, choice: str) -> tuple[bytes, BitString]:
    """SEQUENCE { PLMN identity, a gNB-ID CHOICE, ... } (GlobalgNB-ID and GlobalenGNB-ID share this shape)."""
    ext = dec.bit()
    f = plmn_field
    try:
        plmn = dec.octets(3)
        f = id_field
        gnb = _dec_gnb_id_choice(dec, choice)
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return plmn, gnb


def _enc_global_gnb_id(enc: PerEncoder, v: GlobalGnbId) -> None:
    _enc_plmn_gnb_id(enc, v.plmn_identity, v.gnb_id)


def _dec_global_gnb_id(dec: PerDecoder) -> GlobalGnbId:
    return GlobalGnbId(*_dec_plmn_gnb_id(dec, "pLMNIdentity", "gNB-ID", "GNB-ID"))


def _enc_global_en_gnb_id(enc: PerEncoder, v: GlobalEnGnbId) -> None:
    _enc_plmn_gnb_id(enc, v.plmn_identity, v.en_gnb_id)


def _dec_global_en_gnb_id(dec: PerDecoder) -> GlobalEnGnbId:
    return GlobalEnGnbId(*_dec_plmn_gnb_id(dec, "pLMN-Identity", "en-gNB-ID", "EN-GNB-ID"))


def _enc_global_ng_enb_id(enc: PerEncoder, v: GlobalNgEnbId) -> None:
    enc.put(0, 1)
    enc.octets(v.plmn_identity)
    bits = v.ng_enb_id
    enc.put(_NG_ENB_ID_LENGTHS.index(bits.length), 3)  # extension bit, 2-bit alternative
    enc.align()
    enc.put(bits.value, bits.length)


def _dec_global_ng_enb_id(dec: PerDecoder) -> GlobalNgEnbId:
    ext = dec.bit()
    f = "pLMNIdentity"
    try:
        plmn = dec.octets(3)
        f = "ngENB-ID"
        i = dec.choice(3, True)
        if i >= 3:
            raise dec.error(f"unknown NgENB-ID extension alternative {i - 3}")
        n = _NG_ENB_ID_LENGTHS[i]
        value, _ = dec.bit_string(n, n)
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return GlobalNgEnbId(plmn, BitString(value, n))


def _enc_global_enb_id(enc: PerEncoder, v: GlobalEnbId) -> None:
    enc.put(0, 1)
    enc.octets(v.plmn_identity)
    bits = v.enb_id
    i = _ENB_ID_LENGTHS.index(bits.length)
    enc.choice(i, 2, True)
    if i < 2:
        enc.align()
        enc.put(bits.value, bits.length)
        return
    sub = PerEncoder()
    sub.put(bits.value, bits.length)
    enc.open_type(sub.to_bytes())


def _dec_global_enb_id(dec: PerDecoder) -> GlobalEnbId:
    ext = dec.bit()
    f = "pLMNIdentity"
    try:
        plmn = dec.octets(3)
        f = "eNB-ID"
        i = dec.choice(2, True)
        if i >= len(_ENB_ID_LENGTHS):
            raise dec.error(f"unknown ENB-ID extension alternative {i - 2}")
        n = _ENB_ID_LENGTHS[i]
        value, _ = (dec if i < 2 else dec.open_type()).bit_string(n, n)
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return GlobalEnbId(plmn, BitString(value, n))


def _enc_global_ng_ran_node_id(enc: PerEncoder, v: GlobalNgRanNodeId) -> None:
    if type(v) is GlobalGnbId:
        enc.put(0b00, 2)
        _enc_global_gnb_id(enc, v)
    elif type(v) is GlobalNgEnbId:
        enc.put(0b01, 2)
        _enc_global_ng_enb_id(enc, v)
    else:
        raise E2ValueError("must be GlobalGnbId or GlobalNgEnbId", field="GlobalNGRANNodeID", value=v)


def _dec_global_ng_ran_node_id(dec: PerDecoder) -> GlobalNgRanNodeId:
    i = dec.choice(2, True)
    f = "gNB" if i == 0 else "ng-eNB"
    try:
        if i == 0:
            return _dec_global_gnb_id(dec)
        if i == 1:
            return _dec_global_ng_enb_id(dec)
    except E2DecodeError as e:
        e.add_context(f)
        raise
    raise dec.error(f"unknown GlobalNGRANNodeID extension alternative {i - 2}")


def _enc_cell_rnti(enc: PerEncoder, v: CellRnti) -> None:
    enc.put(0, 1)
    enc.constrained(v.c_rnti, 65536)
    _enc_cgi(enc, v.cell_global_id)


def _dec_cell_rnti(dec: PerDecoder) -> CellRnti:
    ext = dec.bit()
    f = "c-RNTI"
    try:
        rnti = dec.constrained(65536)
        f = "cell-Global-ID"
        cgi = _dec_cgi(dec)
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return CellRnti(rnti, cgi)


def _enc_id_items(enc: PerEncoder, ids: tuple[int, ...], ub: int) -> None:
    """``SEQUENCE (SIZE(1..ub)) OF SEQUENCE {id INTEGER (0..4294967295), ...}``."""
    enc.constrained(len(ids) - 1, ub)
    for x in ids:
        enc.put(0, 1)
        enc.constrained(x, _R32)


def _dec_id_items(dec: PerDecoder, ub: int) -> tuple[int, ...]:
    n = 1 + dec.constrained(ub)
    if n * 9 > dec.remaining():
        raise dec.error(f"{n} ids exceed the data")
    out = []
    for _ in range(n):
        if dec.bit():
            v = dec.constrained(_R32)
            dec.skip_extensions()
        else:
            v = dec.constrained(_R32)
        out.append(v)
    return tuple(out)


def _ext_bytes(fn: Callable[[PerEncoder, T], None], v: T | None) -> bytes | None:
    """The complete encoding of an extension addition, or None when it is absent."""
    return None if v is None else encode_complete(fn, v)


def _enc_ueid_gnb(enc: PerEncoder, v: UeIdGnb) -> None:
    node = v.global_ng_ran_node_id
    adds = [
        None if node is None else encode_complete(_enc_global_ng_ran_node_id, node),
        _ext_bytes(_enc_cell_rnti, v.cell_rnti),
    ]
    has_ext = adds[0] is not None or adds[1] is not None
    bitmap = (
        (bool(v.gnb_cu_ue_f1ap_id_list) << 4)
        | (bool(v.gnb_cu_cp_ue_e1ap_id_list) << 3)
        | ((v.ran_ue_id is not None) << 2)
        | ((v.m_ng_ran_ue_xnap_id is not None) << 1)
        | (v.global_gnb_id is not None)
    )
    enc.put((has_ext << 5) | bitmap, 6)
    enc.constrained(v.amf_ue_ngap_id, _R40)
    _enc_guami(enc, v.guami)
    if v.gnb_cu_ue_f1ap_id_list:
        _enc_id_items(enc, v.gnb_cu_ue_f1ap_id_list, _MAX_F1AP_IDS)
    if v.gnb_cu_cp_ue_e1ap_id_list:
        _enc_id_items(enc, v.gnb_cu_cp_ue_e1ap_id_list, _MAX_E1AP_IDS)
    if v.ran_ue_id is not None:
        enc.octets(v.ran_ue_id)
    if v.m_ng_ran_ue_xnap_id is not None:
        enc.constrained(v.m_ng_ran_ue_xnap_id, _R32)
    if v.global_gnb_id is not None:
        _enc_global_gnb_id(enc, v.global_gnb_id)
    if has_ext:
        enc.extensions(adds)


def _dec_ueid_gnb(dec: PerDecoder) -> UeIdGnb:
    ext, opt = dec.preamble(True, 5)
    f = "amf-UE-NGAP-ID"
    try:
        amf = dec.constrained(_R40)
        f = "guami"
        guami = _dec_guami(dec)
        f = "gNB-CU-UE-F1AP-ID-List"
        f1 = _dec_id_items(dec, _MAX_F1AP_IDS) if opt & 16 else ()
        f = "gNB-CU-CP-UE-E1AP-ID-List"
        e1 = _dec_id_items(dec, _MAX_E1AP_IDS) if opt & 8 else ()
        f = "ran-UEID"
        ran = dec.octets(8) if opt & 4 else None
        f = "m-NG-RAN-UE-XnAP-ID"
        xn = dec.constrained(_R32) if opt & 2 else None
        f = "globalGNB-ID"
        gnb = _dec_global_gnb_id(dec) if opt & 1 else None
        node: GlobalNgRanNodeId | None = None
        cell = None
        if ext:
            f = "extensions"
            node_d, cell_d = _read_extensions(dec, 2)
            f = "globalNG-RANNode-ID"
            node = None if node_d is None else _dec_global_ng_ran_node_id(node_d)
            f = "cell-RNTI"
            cell = None if cell_d is None else _dec_cell_rnti(cell_d)
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return UeIdGnb(amf, guami, f1, e1, ran, xn, gnb, node, cell)


def _enc_ueid_gnb_du(enc: PerEncoder, v: UeIdGnbDu) -> None:
    cell = v.cell_rnti
    enc.put(((cell is not None) << 1) | (v.ran_ue_id is not None), 2)
    enc.constrained(v.gnb_cu_ue_f1ap_id, _R32)
    if v.ran_ue_id is not None:
        enc.octets(v.ran_ue_id)
    if cell is not None:
        enc.extensions([encode_complete(_enc_cell_rnti, cell)])


def _dec_ueid_gnb_du(dec: PerDecoder) -> UeIdGnbDu:
    ext, opt = dec.preamble(True, 1)
    f = "gNB-CU-UE-F1AP-ID"
    try:
        f1 = dec.constrained(_R32)
        f = "ran-UEID"
        ran = dec.octets(8) if opt else None
        cell = None
        if ext:
            f = "extensions"
            (cell_d,) = _read_extensions(dec, 1)
            f = "cell-RNTI"
            cell = None if cell_d is None else _dec_cell_rnti(cell_d)
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return UeIdGnbDu(f1, ran, cell)


def _enc_ueid_gnb_cu_up(enc: PerEncoder, v: UeIdGnbCuUp) -> None:
    enc.put(v.ran_ue_id is not None, 2)
    enc.constrained(v.gnb_cu_cp_ue_e1ap_id, _R32)
    if v.ran_ue_id is not None:
        enc.octets(v.ran_ue_id)


def _dec_ueid_gnb_cu_up(dec: PerDecoder) -> UeIdGnbCuUp:
    ext, opt = dec.preamble(True, 1)
    f = "gNB-CU-CP-UE-E1AP-ID"
    try:
        e1 = dec.constrained(_R32)
        f = "ran-UEID"
        ran = dec.octets(8) if opt else None
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return UeIdGnbCuUp(e1, ran)


def _enc_ueid_ng_enb(enc: PerEncoder, v: UeIdNgEnb) -> None:
    node = v.global_ng_ran_node_id
    adds = [
        None if node is None else encode_complete(_enc_global_ng_ran_node_id, node),
        _ext_bytes(_enc_cell_rnti, v.cell_rnti),
    ]
    has_ext = adds[0] is not None or adds[1] is not None
    bitmap = (
        ((v.ng_enb_cu_ue_w1ap_id is not None) << 2)
        | ((v.m_ng_ran_ue_xnap_id is not None) << 1)
        | (v.global_ng_enb_id is not None)
    )
    enc.put((has_ext << 3) | bitmap, 4)
    enc.constrained(v.amf_ue_ngap_id, _R40)
    _enc_guami(enc, v.guami)
    if v.ng_enb_cu_ue_w1ap_id is not None:
        enc.constrained(v.ng_enb_cu_ue_w1ap_id, _R32)
    if v.m_ng_ran_ue_xnap_id is not None:
        enc.constrained(v.m_ng_ran_ue_xnap_id, _R32)
    if v.global_ng_enb_id is not None:
        _enc_global_ng_enb_id(enc, v.global_ng_enb_id)
    if has_ext:
        enc.extensions(adds)


def _dec_ueid_ng_enb(dec: PerDecoder) -> UeIdNgEnb:
    ext, opt = dec.preamble(True, 3)
    f = "amf-UE-NGAP-ID"
    try:
        amf = dec.constrained(_R40)
        f = "guami"
        guami = _dec_guami(dec)
        f = "ng-eNB-CU-UE-W1AP-ID"
        w1 = dec.constrained(_R32) if opt & 4 else None
        f = "m-NG-RAN-UE-XnAP-ID"
        xn = dec.constrained(_R32) if opt & 2 else None
        f = "globalNgENB-ID"
        ng = _dec_global_ng_enb_id(dec) if opt & 1 else None
        node: GlobalNgRanNodeId | None = None
        cell = None
        if ext:
            f = "extensions"
            node_d, cell_d = _read_extensions(dec, 2)
            f = "globalNG-RANNode-ID"
            node = None if node_d is None else _dec_global_ng_ran_node_id(node_d)
            f = "cell-RNTI"
            cell = None if cell_d is None else _dec_cell_rnti(cell_d)
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return UeIdNgEnb(amf, guami, w1, xn, ng, node, cell)


def _enc_ueid_ng_enb_du(enc: PerEncoder, v: UeIdNgEnbDu) -> None:
    cell = v.cell_rnti
    enc.put(cell is not None, 1)
    enc.constrained(v.ng_enb_cu_ue_w1ap_id, _R32)
    if cell is not None:
        enc.extensions([encode_complete(_enc_cell_rnti, cell)])


def _dec_ueid_ng_enb_du(dec: PerDecoder) -> UeIdNgEnbDu:
    ext = dec.bit()
    f = "ng-eNB-CU-UE-W1AP-ID"
    try:
        w1 = dec.constrained(_R32)
        cell = None
        if ext:
            f = "extensions"
            (cell_d,) = _read_extensions(dec, 1)
            f = "cell-RNTI"
            cell = None if cell_d is None else _dec_cell_rnti(cell_d)
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return UeIdNgEnbDu(w1, cell)


def _enc_ueid_en_gnb(enc: PerEncoder, v: UeIdEnGnb) -> None:
    cell = v.cell_rnti
    bitmap = (
        ((v.m_enb_ue_x2ap_id_extension is not None) << 3)
        | ((v.gnb_cu_ue_f1ap_id is not None) << 2)
        | (bool(v.gnb_cu_cp_ue_e1ap_id_list) << 1)
        | (v.ran_ue_id is not None)
    )
    enc.put(((cell is not None) << 4) | bitmap, 5)
    enc.constrained(v.m_enb_ue_x2ap_id, 4096)
    if v.m_enb_ue_x2ap_id_extension is not None:
        enc.integer(v.m_enb_ue_x2ap_id_extension, 0, 4095, True)
    _enc_global_enb_id(enc, v.global_enb_id)
    if v.gnb_cu_ue_f1ap_id is not None:
        enc.constrained(v.gnb_cu_ue_f1ap_id, _R32)
    if v.gnb_cu_cp_ue_e1ap_id_list:
        _enc_id_items(enc, v.gnb_cu_cp_ue_e1ap_id_list, _MAX_E1AP_IDS)
    if v.ran_ue_id is not None:
        enc.octets(v.ran_ue_id)
    if cell is not None:
        enc.extensions([encode_complete(_enc_cell_rnti, cell)])


def _dec_ueid_en_gnb(dec: PerDecoder) -> UeIdEnGnb:
    ext, opt = dec.preamble(True, 4)
    f = "m-eNB-UE-X2AP-ID"
    try:
        x2 = dec.constrained(4096)
        f = "m-eNB-UE-X2AP-ID-Extension"
        x2_ext = dec.integer(0, 4095, True) if opt & 8 else None
        f = "globalENB-ID"
        enb = _dec_global_enb_id(dec)
        f = "gNB-CU-UE-F1AP-ID"
        f1 = dec.constrained(_R32) if opt & 4 else None
        f = "gNB-CU-CP-UE-E1AP-ID-List"
        e1 = _dec_id_items(dec, _MAX_E1AP_IDS) if opt & 2 else ()
        f = "ran-UEID"
        ran = dec.octets(8) if opt & 1 else None
        cell = None
        if ext:
            f = "extensions"
            (cell_d,) = _read_extensions(dec, 1)
            f = "cell-RNTI"
            cell = None if cell_d is None else _dec_cell_rnti(cell_d)
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return UeIdEnGnb(x2, enb, x2_ext, f1, e1, ran, cell)


def _enc_ueid_enb(enc: PerEncoder, v: UeIdEnb) -> None:
    cell = v.cell_rnti
    bitmap = (
        ((v.m_enb_ue_x2ap_id is not None) << 2)
        | ((v.m_enb_ue_x2ap_id_extension is not None) << 1)
        | (v.global_enb_id is not None)
    )
    enc.put(((cell is not None) << 3) | bitmap, 4)
    enc.constrained(v.mme_ue_s1ap_id, _R32)
    _enc_gummei(enc, v.gummei)
    if v.m_enb_ue_x2ap_id is not None:
        enc.constrained(v.m_enb_ue_x2ap_id, 4096)
    if v.m_enb_ue_x2ap_id_extension is not None:
        enc.integer(v.m_enb_ue_x2ap_id_extension, 0, 4095, True)
    if v.global_enb_id is not None:
        _enc_global_enb_id(enc, v.global_enb_id)
    if cell is not None:
        enc.extensions([encode_complete(_enc_cell_rnti, cell)])


def _dec_ueid_enb(dec: PerDecoder) -> UeIdEnb:
    ext, opt = dec.preamble(True, 3)
    f = "mME-UE-S1AP-ID"
    try:
        s1 = dec.constrained(_R32)
        f = "gUMMEI"
        gummei = _dec_gummei(dec)
        f = "m-eNB-UE-X2AP-ID"
        x2 = dec.constrained(4096) if opt & 4 else None
        f = "m-eNB-UE-X2AP-ID-Extension"
        x2_ext = dec.integer(0, 4095, True) if opt & 2 else None
        f = "globalENB-ID"
        enb = _dec_global_enb_id(dec) if opt & 1 else None
        cell = None
        if ext:
            f = "extensions"
            (cell_d,) = _read_extensions(dec, 1)
            f = "cell-RNTI"
            cell = None if cell_d is None else _dec_cell_rnti(cell_d)
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return UeIdEnb(s1, gummei, x2, x2_ext, enb, cell)


_UEID_DEC: Final = (
    ("gNB-UEID", _dec_ueid_gnb),
    ("gNB-DU-UEID", _dec_ueid_gnb_du),
    ("gNB-CU-UP-UEID", _dec_ueid_gnb_cu_up),
    ("ng-eNB-UEID", _dec_ueid_ng_enb),
    ("ng-eNB-DU-UEID", _dec_ueid_ng_enb_du),
    ("en-gNB-UEID", _dec_ueid_en_gnb),
    ("eNB-UEID", _dec_ueid_enb),
)


def _enc_ueid(enc: PerEncoder, v: UeId) -> None:
    # extension bit 0, then the 3-bit alternative index
    if type(v) is UeIdGnbDu:
        enc.put(1, 4)
        _enc_ueid_gnb_du(enc, v)
    elif type(v) is UeIdGnb:
        enc.put(0, 4)
        _enc_ueid_gnb(enc, v)
    elif type(v) is UeIdGnbCuUp:
        enc.put(2, 4)
        _enc_ueid_gnb_cu_up(enc, v)
    elif type(v) is UeIdNgEnb:
        enc.put(3, 4)
        _enc_ueid_ng_enb(enc, v)
    elif type(v) is UeIdNgEnbDu:
        enc.put(4, 4)
        _enc_ueid_ng_enb_du(enc, v)
    elif type(v) is UeIdEnGnb:
        enc.put(5, 4)
        _enc_ueid_en_gnb(enc, v)
    elif type(v) is UeIdEnb:
        enc.put(6, 4)
        _enc_ueid_enb(enc, v)
    else:
        raise E2ValueError("must be one of the UeId* alternatives", field="UEID", value=v)


def _dec_ueid(dec: PerDecoder) -> UeId:
    i = dec.choice(7, True)
    if i >= 7:
        raise dec.error(f"unknown UEID extension alternative {i - 7}")
    name, fn = _UEID_DEC[i]
    try:
        return fn(dec)
    except E2DecodeError as e:
        e.add_context(name)
        raise


def _enc_ran_function_name(enc: PerEncoder, v: RanFunctionName) -> None:
    enc.put(v.instance is not None, 2)  # extension bit, ranFunction-Instance present
    enc.printable_string(v.short_name, 1, 150, True)
    enc.printable_string(v.e2sm_oid, 1, 1000, True)
    enc.printable_string(v.description, 1, 150, True)
    if v.instance is not None:
        enc.unconstrained_int(v.instance)


def _dec_ran_function_name(dec: PerDecoder) -> RanFunctionName:
    ext, opt = dec.preamble(True, 1)
    f = "ranFunction-ShortName"
    try:
        short = dec.printable_string(1, 150, True)
        f = "ranFunction-E2SM-OID"
        oid = dec.printable_string(1, 1000, True)
        f = "ranFunction-Description"
        desc = dec.printable_string(1, 150, True)
        f = "ranFunction-Instance"
        inst = dec.unconstrained_int() if opt else None
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return RanFunctionName(short, oid, desc, inst)


def _enc_ric_style_name(enc: PerEncoder, v: str) -> None:
    """``RIC-Style-Name`` (and every other ``PrintableString (SIZE(1..150, ...))`` name)."""
    enc.printable_string(v, 1, 150, True)


def _dec_ric_style_name(dec: PerDecoder) -> str:
    return dec.printable_string(1, 150, True)
