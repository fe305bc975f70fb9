"""E2SM-KPM v2.0x and v3.00: measurements reported by E2 nodes, per cell, slice, QoS flow or UE.

Theory of operation
-------------------
KPM rides in the OCTET STRINGs of E2AP: the event trigger and action definition of a RICsubscriptionRequest,
the header and message of each RICindication, and the RAN function description of E2 setup. Which KPM version
a node speaks is announced by the RAN function OID (v2.0x ``1.3.6.1.4.1.53148.1.2.2.2``, v3.00
``1.3.6.1.4.1.53148.1.3.2.2``); some nodes announce v2 while sending v3-shaped headers (an 8-octet TimeStamp), so
a :class:`KpmCodec` is chosen per RAN function, can be overridden per node, and detects the TimeStamp size when
its configured size does not fit.

Where v2.0x and v3.00 differ on the wire (both are decoded, and the encoder refuses v3-only values for v2):

- TimeStamp is 4 octets in v2.0x and 8 in v3 (64-bit NTP);
- v3 adds the ``notSatisfied`` record, label extensions (ssbIndex, nonGoB-BFmode-Index, mIMO-mode-Index),
  the test condition types ul-rSRP/cQI/fiveQI/qCI/sNSSAI and ``valueReal``, indication message format 3,
  action definition formats 4 and 5, and ``matchingUEidPerGP``;
- a ``MatchingCondItem`` is a CHOICE in v2.0x and a SEQUENCE carrying a ``logicalOR`` flag in v3;
- ``TestCondInfo`` has mandatory ``testExpr``/``testValue`` in v2.0x and optional ones in v3.

Later additions (v4 ``cellGlobalID``/``beamID`` labels, bin ranges, ``matchCondReportList``) are skipped as
unknown extensions.

Indication message format 1 is the near-RT hot path: :func:`_dec_message_f1` reads measurement records and
information items with inlined bit arithmetic, and interns the immutable label and information objects that
repeat in every period (bounded caches; the decoded values are identical with or without them, see
``set_interning``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, Final, TypeAlias

from ricsdk.e2.common import (
    Cgi,
    RanFunctionName,
    Snssai,
    UeId,
    _dec_cgi,
    _dec_ran_function_name,
    _dec_ueid,
    _enc_cgi,
    _enc_ran_function_name,
    _enc_snssai,
    _enc_ueid,
)
from ricsdk.e2.per import BitString, PerDecoder, PerEncoder, decode_complete, encode_complete
from ricsdk.errors import E2DecodeError, E2ValueError

try:  # the octet-aligned INTEGER run of measurement records in C, when it was built (see _records.c)
    from ricsdk.e2._records import f1_records as _fast_f1
    from ricsdk.e2._records import int_records as _fast_records
except ImportError:  # pragma: no cover - exercised by installs without a C compiler
    _fast_records = None  # type: ignore[assignment]
    _fast_f1 = None  # type: ignore[assignment]

__all__ = [
    "KPM_OID_V2",
    "KPM_OID_V3",
    "KPM_SHORT_NAME",
    "ActionDefinition",
    "ActionDefinitionF1",
    "ActionDefinitionF2",
    "ActionDefinitionF3",
    "ActionDefinitionF4",
    "ActionDefinitionF5",
    "EventTrigger",
    "EventTriggerStyle",
    "F1Encoder",
    "IndicationHeader",
    "IndicationMessage",
    "IndicationMessageF1",
    "IndicationMessageF2",
    "IndicationMessageF3",
    "KpmCodec",
    "KpmVersion",
    "MatchingCondItem",
    "MatchingUeCond",
    "MeasCondItem",
    "MeasCondUeIdItem",
    "MeasDataItem",
    "MeasInfoActionItem",
    "MeasInfoItem",
    "MeasLabel",
    "MeasRecord",
    "Missing",
    "RanFunctionDescription",
    "ReportStyle",
    "StartEndInd",
    "TestCondEnum",
    "TestCondExpression",
    "TestCondInfo",
    "TestCondType",
    "TestCondValue",
    "UeMeasReport",
    "kpm_version_for_oid",
    "set_interning",
]

KPM_SHORT_NAME: Final = "ORAN-E2SM-KPM"
KPM_OID_V2: Final = "1.3.6.1.4.1.53148.1.2.2.2"
KPM_OID_V3: Final = "1.3.6.1.4.1.53148.1.3.2.2"

_U32: Final = 4294967296  # range of INTEGER (0..4294967295)
_MAX_NAME: Final = 150


class KpmVersion(IntEnum):
    V2 = 2
    V3 = 3


def kpm_version_for_oid(oid: str) -> KpmVersion:
    """The KPM version a RAN function OID announces (``...53148.1.<major>.2.2``); unknown OIDs raise."""
    if oid == KPM_OID_V2:
        return KpmVersion.V2
    if oid == KPM_OID_V3:
        return KpmVersion.V3
    parts = oid.split(".")
    if len(parts) == 11 and parts[:8] == ["1", "3", "6", "1", "4", "1", "53148", "1"] and parts[9:] == ["2", "2"]:
        major = parts[8]
        if major == "2":
            return KpmVersion.V2
        if major in ("3", "4"):
            return KpmVersion.V3
    raise E2ValueError(f"not an E2SM-KPM v2/v3 OID: {oid}", field="oid", value=oid)


class Missing(Enum):
    """A measurement record without a value. ``float()`` of either is NaN, so a tuple of records converts to a
    float array (``numpy.asarray(records, dtype=float)``) with NaN where there was no value."""

    NO_VALUE = "noValue"
    NOT_SATISFIED = "notSatisfied"

    def __float__(self) -> float:
        return math.nan


MeasRecord: TypeAlias = int | float | Missing


class StartEndInd(IntEnum):
    START = 0
    END = 1


def _opt_range(v: int | None, lb: int, ub: int, field: str) -> None:
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < lb or v > ub):
        raise E2ValueError(f"must be an integer in {lb}..{ub}", field=field, value=v)


def _range(v: int, lb: int, ub: int, field: str) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or v < lb or v > ub:
        raise E2ValueError(f"must be an integer in {lb}..{ub}", field=field, value=v)


def _meas_type_ok(v: str | int, field: str = "meas_type") -> None:
    if isinstance(v, str):
        if not 1 <= len(v) <= _MAX_NAME:
            raise E2ValueError("measurement name must have 1..150 characters", field=field, value=v)
    elif isinstance(v, int) and not isinstance(v, bool):
        if not 1 <= v <= 65536:
            raise E2ValueError("measurement id must be in 1..65536", field=field, value=v)
    else:
        raise E2ValueError("measurement type must be a name (str) or an id (int)", field=field, value=v)


# -- values ---------------------------------------------------------------------------------------------


_LABEL_INT_RANGES: Final = (
    ("five_qi", 0, 255),
    ("qfi", 0, 63),
    ("qci", 0, 255),
    ("qci_max", 0, 255),
    ("qci_min", 0, 255),
    ("arp_max", 1, 15),
    ("arp_min", 1, 15),
    ("bitrate_range", 1, 65535),
    ("layer_mu_mimo", 1, 65535),
    ("dist_bin_x", 1, 65535),
    ("dist_bin_y", 1, 65535),
    ("dist_bin_z", 1, 65535),
    ("ssb_index", 1, 65535),
    ("non_gob_bf_mode_index", 1, 65535),
    ("mimo_mode_index", 1, 2),
)


@dataclass(frozen=True, slots=True)
class MeasLabel:
    """MeasurementLabel. ``ENUMERATED {true}`` flags are booleans (True = present)."""

    no_label: bool = False
    plmn: bytes | None = None
    slice_id: Snssai | None = None
    five_qi: int | None = None
    qfi: int | None = None
    qci: int | None = None
    qci_max: int | None = None
    qci_min: int | None = None
    arp_max: int | None = None
    arp_min: int | None = None
    bitrate_range: int | None = None
    layer_mu_mimo: int | None = None
    sum: bool = False
    dist_bin_x: int | None = None
    dist_bin_y: int | None = None
    dist_bin_z: int | None = None
    pre_label_override: bool = False
    start_end_ind: StartEndInd | None = None
    min: bool = False
    max: bool = False
    avg: bool = False
    ssb_index: int | None = None
    non_gob_bf_mode_index: int | None = None
    mimo_mode_index: int | None = None

    def __post_init__(self) -> None:
        if self.plmn is not None and (not isinstance(self.plmn, bytes) or len(self.plmn) != 3):
            raise E2ValueError("PLMN identity must be 3 octets", field="plmn", value=self.plmn)
        if self.slice_id is not None and not isinstance(self.slice_id, Snssai):
            raise E2ValueError("must be an Snssai", field="slice_id", value=self.slice_id)
        for name, lb, ub in _LABEL_INT_RANGES:
            v = getattr(self, name)
            if v is not None and (type(v) is not int or v < lb or v > ub):
                raise E2ValueError(f"must be an integer in {lb}..{ub}", field=name, value=v)

    @property
    def is_v3(self) -> bool:
        return self.ssb_index is not None or self.non_gob_bf_mode_index is not None or self.mimo_mode_index is not None


@dataclass(frozen=True, slots=True)
class MeasInfoItem:
    """MeasurementInfoItem: a measurement (name or id) and its labels."""

    meas_type: str | int
    labels: tuple[MeasLabel, ...] = (MeasLabel(no_label=True),)

    def __post_init__(self) -> None:
        _meas_type_ok(self.meas_type)
        if not self.labels:
            raise E2ValueError("at least one label (use MeasLabel(no_label=True))", field="labels")


@dataclass(frozen=True, slots=True)
class MeasDataItem:
    """MeasurementDataItem: records in the order of the measurement information list."""

    records: tuple[MeasRecord, ...]
    incomplete: bool = False

    def __post_init__(self) -> None:
        if not self.records:
            raise E2ValueError("at least one record", field="records")
        for r in self.records:
            if isinstance(r, bool) or not isinstance(r, (int, float, Missing)):
                raise E2ValueError("record must be int, float or Missing", field="records", value=r)
            if isinstance(r, int) and not 0 <= r < _U32:
                raise E2ValueError("integer record outside 0..4294967295", field="records", value=r)


@dataclass(frozen=True, slots=True)
class IndicationHeader:
    """E2SM-KPM-IndicationHeader-Format1. ``collect_start_time`` is the raw TimeStamp (4 or 8 octets)."""

    collect_start_time: bytes
    file_format_version: str | None = None
    sender_name: str | None = None
    sender_type: str | None = None
    vendor_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.collect_start_time, bytes) or len(self.collect_start_time) not in (4, 8):
            raise E2ValueError("TimeStamp must be 4 (v2) or 8 (v3) octets", field="collect_start_time")

    @property
    def collect_start_unix(self) -> float:
        """The start time in seconds since 1970 (8 octets: 64-bit NTP; 4 octets: NTP seconds)."""
        ts = self.collect_start_time
        if len(ts) == 8:
            secs = int.from_bytes(ts[:4], "big") + int.from_bytes(ts[4:], "big") / 4294967296.0
        else:
            secs = float(int.from_bytes(ts, "big"))
        return secs - 2208988800.0


@dataclass(frozen=True, slots=True)
class IndicationMessageF1:
    meas_data: tuple[MeasDataItem, ...]
    meas_info: tuple[MeasInfoItem, ...] = ()
    granul_period: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.meas_data) <= 65535:
            raise E2ValueError("1..65535 measurement data items", field="meas_data")
        if len(self.meas_info) > 65535:
            raise E2ValueError("at most 65535 measurement information items", field="meas_info")
        _opt_range(self.granul_period, 1, _U32 - 1, "granul_period")


class TestCondType(IntEnum):
    GBR = 0
    AMBR = 1
    IS_STAT = 2
    IS_CAT_M = 3
    RSRP = 4
    RSRQ = 5
    UL_RSRP = 6
    CQI = 7
    FIVE_QI = 8
    QCI = 9
    SNSSAI = 10


class TestCondExpression(IntEnum):
    EQUAL = 0
    GREATER_THAN = 1
    LESS_THAN = 2
    CONTAINS = 3
    PRESENT = 4


@dataclass(frozen=True, slots=True)
class TestCondEnum:
    """TestCond-Value ``valueEnum`` (an INTEGER, distinguished from ``valueInt`` by this wrapper)."""

    value: int


TestCondValue: TypeAlias = int | TestCondEnum | bool | BitString | bytes | str | float


@dataclass(frozen=True, slots=True)
class TestCondInfo:
    test_type: TestCondType
    test_expr: TestCondExpression | None = None
    test_value: TestCondValue | None = None


@dataclass(frozen=True, slots=True)
class MatchingCondItem:
    """A matching condition: a label or a test. ``logical_or`` exists from v3 on."""

    cond: MeasLabel | TestCondInfo
    logical_or: bool = False


@dataclass(frozen=True, slots=True)
class MeasCondUeIdItem:
    meas_type: str | int
    matching_cond: tuple[MatchingCondItem, ...]
    matching_ueid: tuple[UeId, ...] = ()
    #: v3: per granularity period, the UEs matched (an empty tuple = noUEmatched).
    matching_ueid_per_gp: tuple[tuple[UeId, ...], ...] = ()

    def __post_init__(self) -> None:
        _meas_type_ok(self.meas_type)
        if not 1 <= len(self.matching_cond) <= 32768:
            raise E2ValueError("1..32768 matching conditions", field="matching_cond")


@dataclass(frozen=True, slots=True)
class IndicationMessageF2:
    meas_data: tuple[MeasDataItem, ...]
    meas_cond_ueid: tuple[MeasCondUeIdItem, ...]
    granul_period: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.meas_data) <= 65535:
            raise E2ValueError("1..65535 measurement data items", field="meas_data")
        if not 1 <= len(self.meas_cond_ueid) <= 65535:
            raise E2ValueError("1..65535 items", field="meas_cond_ueid")
        _opt_range(self.granul_period, 1, _U32 - 1, "granul_period")


@dataclass(frozen=True, slots=True)
class UeMeasReport:
    ue_id: UeId
    report: IndicationMessageF1


@dataclass(frozen=True, slots=True)
class IndicationMessageF3:
    """v3 only: one format-1 report per UE."""

    ue_reports: tuple[UeMeasReport, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.ue_reports) <= 65535:
            raise E2ValueError("1..65535 UE reports", field="ue_reports")


IndicationMessage: TypeAlias = IndicationMessageF1 | IndicationMessageF2 | IndicationMessageF3


@dataclass(frozen=True, slots=True)
class EventTrigger:
    """E2SM-KPM-EventTriggerDefinition-Format1: the reporting period in milliseconds."""

    reporting_period_ms: int

    def __post_init__(self) -> None:
        _range(self.reporting_period_ms, 1, _U32 - 1, "reporting_period_ms")


@dataclass(frozen=True, slots=True)
class ActionDefinitionF1:
    meas_info: tuple[MeasInfoItem, ...]
    granul_period: int
    cell_global_id: Cgi | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.meas_info) <= 65535:
            raise E2ValueError("1..65535 measurement information items", field="meas_info")
        _range(self.granul_period, 1, _U32 - 1, "granul_period")


@dataclass(frozen=True, slots=True)
class ActionDefinitionF2:
    ue_id: UeId
    subscript_info: ActionDefinitionF1


@dataclass(frozen=True, slots=True)
class MeasCondItem:
    meas_type: str | int
    matching_cond: tuple[MatchingCondItem, ...]

    def __post_init__(self) -> None:
        _meas_type_ok(self.meas_type)
        if not 1 <= len(self.matching_cond) <= 32768:
            raise E2ValueError("1..32768 matching conditions", field="matching_cond")


@dataclass(frozen=True, slots=True)
class ActionDefinitionF3:
    meas_cond: tuple[MeasCondItem, ...]
    granul_period: int
    cell_global_id: Cgi | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.meas_cond) <= 65535:
            raise E2ValueError("1..65535 items", field="meas_cond")
        _range(self.granul_period, 1, _U32 - 1, "granul_period")


@dataclass(frozen=True, slots=True)
class MatchingUeCond:
    test_cond: TestCondInfo
    logical_or: bool = False


@dataclass(frozen=True, slots=True)
class ActionDefinitionF4:
    """v3: UEs matching common conditions."""

    matching_ue_cond: tuple[MatchingUeCond, ...]
    subscription_info: ActionDefinitionF1

    def __post_init__(self) -> None:
        if not 1 <= len(self.matching_ue_cond) <= 32768:
            raise E2ValueError("1..32768 conditions", field="matching_ue_cond")


@dataclass(frozen=True, slots=True)
class ActionDefinitionF5:
    """v3: an explicit list of (at least two) UEs."""

    matching_ueid: tuple[UeId, ...]
    subscription_info: ActionDefinitionF1

    def __post_init__(self) -> None:
        if not 2 <= len(self.matching_ueid) <= 65535:
            raise E2ValueError("2..65535 UE ids", field="matching_ueid")


@dataclass(frozen=True, slots=True)
class ActionDefinition:
    """E2SM-KPM-ActionDefinition: the report style and the format that style uses."""

    style: int
    format: ActionDefinitionF1 | ActionDefinitionF2 | ActionDefinitionF3 | ActionDefinitionF4 | ActionDefinitionF5


@dataclass(frozen=True, slots=True)
class EventTriggerStyle:
    style_type: int
    style_name: str
    format_type: int


@dataclass(frozen=True, slots=True)
class MeasInfoActionItem:
    name: str
    id: int | None = None

    def __post_init__(self) -> None:
        _meas_type_ok(self.name, "name")
        _opt_range(self.id, 1, 65536, "id")


@dataclass(frozen=True, slots=True)
class ReportStyle:
    style_type: int
    style_name: str
    action_format_type: int
    meas_info_action: tuple[MeasInfoActionItem, ...]
    header_format_type: int
    message_format_type: int


@dataclass(frozen=True, slots=True)
class RanFunctionDescription:
    """E2SM-KPM-RANfunction-Description: what the node reports and how."""

    name: RanFunctionName
    event_trigger_styles: tuple[EventTriggerStyle, ...] = ()
    report_styles: tuple[ReportStyle, ...] = ()


# -- interning of repeated immutable values --------------------------------------------------------------

_INTERN_MAX: Final = 8192
_label_cache: dict[tuple[Any, ...], MeasLabel] = {}
_info_cache: dict[tuple[Any, ...], MeasInfoItem] = {}
_snssai_cache: dict[tuple[bytes, bytes | None], Snssai] = {}
_interning = True


def set_interning(enabled: bool) -> None:
    """Turn interning of decoded labels / information items on or off (and clear the caches)."""
    global _interning
    _interning = enabled
    _tail_cache.clear()
    _name_cache.clear()
    _label_cache.clear()
    _info_cache.clear()
    _snssai_cache.clear()


def _intern(cache: dict[Any, Any], key: Any, make: Callable[[], Any]) -> Any:
    if not _interning:
        return make()
    v = cache.get(key)
    if v is None:
        if len(cache) >= _INTERN_MAX:
            cache.clear()
        v = cache[key] = make()
    return v


def _snssai(sst: bytes, sd: bytes | None) -> Snssai:
    key = (sst, sd)
    v = _snssai_cache.get(key) if _interning else None
    if v is None:
        v = Snssai(sst, sd)
        if _interning:
            if len(_snssai_cache) >= _INTERN_MAX:
                _snssai_cache.clear()
            _snssai_cache[key] = v
    return v


# -- shared encoders/decoders ---------------------------------------------------------------------------


def _enc_meas_type(e: PerEncoder, v: str | int) -> None:
    if isinstance(v, str):
        e.put(0, 2)  # choice: no extension, measName
        e.printable_string(v, 1, _MAX_NAME, True, "measName")
    else:
        e.put(1, 2)  # measID
        e.integer(v, 1, 65536, True, "measID")


def _dec_meas_type(d: PerDecoder) -> str | int:
    idx = d.choice(2, True)
    if idx == 0:
        return d.printable_string(1, _MAX_NAME, True)
    if idx == 1:
        return d.integer(1, 65536, True)
    raise d.error(f"unknown MeasurementType alternative {idx}")


def _dec_snssai_p(d: PerDecoder) -> Snssai:
    ext, bm = d.preamble(True, 1)
    sst = d.octets_unaligned(1)
    sd = d.octets(3) if bm else None
    if ext:
        d.skip_extensions()
    return _snssai(sst, sd)


_LABEL_ROOT_FIELDS: Final = (
    "no_label",
    "plmn",
    "slice_id",
    "five_qi",
    "qfi",
    "qci",
    "qci_max",
    "qci_min",
    "arp_max",
    "arp_min",
    "bitrate_range",
    "layer_mu_mimo",
    "sum",
    "dist_bin_x",
    "dist_bin_y",
    "dist_bin_z",
    "pre_label_override",
    "start_end_ind",
    "min",
    "max",
    "avg",
)
_FLAG_FIELDS: Final = frozenset({"no_label", "sum", "pre_label_override", "min", "max", "avg"})
_BIT_SLICE_ONLY: Final = 1 << 18  # bitmap with only sliceID (third of 21 optional components)
_BIT_NO_LABEL_ONLY: Final = 1 << 20


def _enc_label(e: PerEncoder, lab: MeasLabel, version: KpmVersion, wrapped: bool = True) -> None:
    """A MeasurementLabel; ``wrapped`` adds the LabelInfoItem extension bit in front of it."""
    s = lab.slice_id
    if s is not None and lab == _slice_label(s.sst, s.sd):
        # Only a sliceID (the per-slice subscription shape): 1+1+21 preamble bits, then the S-NSSAI.
        e.put(_BIT_SLICE_ONLY, 23 if wrapped else 22)
        _enc_snssai(e, s)
        return
    bitmap = 0
    for name in _LABEL_ROOT_FIELDS:
        v = getattr(lab, name)
        bitmap = (bitmap << 1) | (bool(v) if name in _FLAG_FIELDS else v is not None)
    has_ext = lab.is_v3
    if has_ext and version < KpmVersion.V3:
        raise E2ValueError("ssbIndex/nonGoB-BFmode-Index/mIMO-mode-Index are KPM v3 labels", field="labels")
    if wrapped:
        e.put(0, 1)  # LabelInfoItem extension bit
    e.put(1 if has_ext else 0, 1)
    e.put(bitmap, 21)
    if lab.no_label:
        e.enumerated(0, 1, True)
    if lab.plmn is not None:
        e.octets(lab.plmn)
    if lab.slice_id is not None:
        _enc_snssai(e, lab.slice_id)
    if lab.five_qi is not None:
        e.integer(lab.five_qi, 0, 255, True)
    if lab.qfi is not None:
        e.integer(lab.qfi, 0, 63, True)
    for q in (lab.qci, lab.qci_max, lab.qci_min):
        if q is not None:
            e.integer(q, 0, 255)  # QCI comes from S1AP: INTEGER (0..255), not extensible
    for a in (lab.arp_max, lab.arp_min):
        if a is not None:
            e.integer(a, 1, 15, True)
    for b in (lab.bitrate_range, lab.layer_mu_mimo):
        if b is not None:
            e.integer(b, 1, 65535, True)
    if lab.sum:
        e.enumerated(0, 1, True)
    for b in (lab.dist_bin_x, lab.dist_bin_y, lab.dist_bin_z):
        if b is not None:
            e.integer(b, 1, 65535, True)
    if lab.pre_label_override:
        e.enumerated(0, 1, True)
    if lab.start_end_ind is not None:
        e.enumerated(int(lab.start_end_ind), 2, True)
    for flag in (lab.min, lab.max, lab.avg):
        if flag:
            e.enumerated(0, 1, True)
    if has_ext:
        adds: list[bytes | None] = []
        for v, ub in ((lab.ssb_index, 65535), (lab.non_gob_bf_mode_index, 65535), (lab.mimo_mode_index, 2)):
            if v is None:
                adds.append(None)
            else:
                sub = PerEncoder()
                sub.integer(v, 1, ub, True)
                adds.append(sub.to_bytes())
        e.extensions(adds)  # the bitmap covers every addition the type defines (X.691 19.7), present or not


def _dec_true(d: PerDecoder) -> bool:
    v = d.enumerated(1, True)
    if v != 0:
        raise d.error(f"unknown ENUMERATED {{true}} value {v}")
    return True


def _slice_label(sst: bytes, sd: bytes | None) -> MeasLabel:
    """The (interned) label carrying only a sliceID."""
    key = (_BIT_SLICE_ONLY, sst, sd)
    lab = _label_cache.get(key) if _interning else None
    if lab is None:
        lab = MeasLabel(slice_id=_snssai(sst, sd))
        if _interning:
            if len(_label_cache) >= _INTERN_MAX:
                _label_cache.clear()
            _label_cache[key] = lab
    return lab


def _dec_label(d: PerDecoder, wrapped: bool = True) -> MeasLabel:
    """A MeasurementLabel; ``wrapped``: inside a LabelInfoItem (whose extension bit comes first)."""
    iext = d.bit() if wrapped else 0
    ext, bitmap = d.preamble(True, 21)
    if bitmap == _BIT_SLICE_ONLY and not ext and not iext:
        s = _dec_snssai_p(d)
        return _slice_label(s.sst, s.sd)
    kw: dict[str, Any] = {}
    for i, name in enumerate(_LABEL_ROOT_FIELDS):
        if not (bitmap >> (20 - i)) & 1:
            continue
        if name in _FLAG_FIELDS:
            kw[name] = _dec_true(d)
        elif name == "plmn":
            kw[name] = d.octets(3)
        elif name == "slice_id":
            kw[name] = _dec_snssai_p(d)
        elif name == "five_qi":
            kw[name] = d.integer(0, 255, True)
        elif name.startswith("qci"):
            kw[name] = d.integer(0, 255)
        elif name == "qfi":
            kw[name] = d.integer(0, 63, True)
        elif name.startswith("arp"):
            kw[name] = d.integer(1, 15, True)
        elif name == "start_end_ind":
            v = d.enumerated(2, True)
            if v > 1:
                raise d.error(f"unknown startEndInd {v}")
            kw[name] = StartEndInd(v)
        else:
            kw[name] = d.integer(1, 65535, True)
    if ext:
        for item in d.extensions():
            if item is None:
                continue
            k, sub = item
            if k == 0:
                kw["ssb_index"] = sub.integer(1, 65535, True)
            elif k == 1:
                kw["non_gob_bf_mode_index"] = sub.integer(1, 65535, True)
            elif k == 2:
                kw["mimo_mode_index"] = sub.integer(1, 2, True)
    if iext:
        d.skip_extensions()
    key = (bitmap, *sorted(kw.items(), key=lambda kv: kv[0]))
    return _intern(_label_cache, key, lambda: MeasLabel(**kw))  # type: ignore[no-any-return]


def _enc_meas_info(e: PerEncoder, items: tuple[MeasInfoItem, ...], version: KpmVersion) -> None:
    e.count(len(items), 1, 65535, field="meas_info")
    for it in items:
        e.put(0, 1)
        _enc_meas_type(e, it.meas_type)
        e.count(len(it.labels), 1, 2147483647, field="labels")
        for lab in it.labels:
            _enc_label(e, lab, version)


def _dec_meas_info_general(d: PerDecoder) -> MeasInfoItem:
    ext = d.bit()
    mt = _dec_meas_type(d)
    n = d.count(1, 2147483647, min_bits_each=23)
    labels = tuple(_dec_label(d) for _ in range(n))
    if ext:
        d.skip_extensions()  # v4 matchCondReportList
    return _intern(_info_cache, (mt, *map(id, labels)), lambda: MeasInfoItem(mt, labels))  # type: ignore[no-any-return]


def _dec_meas_info(d: PerDecoder) -> tuple[MeasInfoItem, ...]:
    n = d.count(1, 65535, min_bits_each=27)
    return tuple(_dec_meas_info_fast(d) for _ in range(n))


def _dec_meas_info_fast(d: PerDecoder) -> MeasInfoItem:
    """MeasurementInfoItem with the common shape (a name and sliceID-only labels) read inline."""
    data = d.data
    pos = d.pos
    if pos + 12 <= d.end:
        i = pos >> 3
        w = int.from_bytes(data[i : i + 3], "big") if i + 3 <= len(data) else -1
        if w >= 0:
            head = (w >> (12 - (pos & 7))) & 0xFFF
            # item ext 0, choice ext 0, measName 0, name ext 0, length-1 (8 bits)
            if head >> 8 == 0:
                n = (head & 0xFF) + 1
                start = (pos + 12 + 7) >> 3
                stop = start + n
                lab_at = stop
                if n <= _MAX_NAME and lab_at < len(data) and (stop << 3) <= d.end and data[lab_at] < 0x80:
                    raw_name = data[start:stop]
                    nlab = data[lab_at]
                    p = (lab_at + 1) << 3
                    keys: list[tuple[bytes, bytes | None]] = []
                    ok = nlab > 0
                    for _ in range(nlab if ok else 0):
                        j = p >> 3
                        if j + 5 > len(data):
                            ok = False
                            break
                        v = (int.from_bytes(data[j : j + 5], "big") >> (40 - (p & 7) - 33)) & ((1 << 33) - 1)
                        # iext, lext, bitmap(21), snssai ext, sd bit, sst(8)
                        if (v >> 10) != _BIT_SLICE_ONLY:
                            ok = False
                            break
                        sst = bytes(((v & 0xFF),))
                        has_sd = (v >> 8) & 1
                        if (v >> 9) & 1:
                            ok = False
                            break
                        p += 33
                        if has_sd:
                            p = (p + 7) & ~7
                            k = p >> 3
                            if k + 3 > len(data):
                                ok = False
                                break
                            keys.append((sst, data[k : k + 3]))
                            p += 24
                        else:
                            keys.append((sst, None))
                    if ok and p <= d.end:
                        name = _check_printable(raw_name, d)
                        if _interning:
                            key = (name, *keys)
                            hit = _info_cache.get(key)
                            if hit is not None:
                                d.pos = p
                                return hit
                        labels = tuple(_slice_label(sst, sd) for sst, sd in keys)
                        item = MeasInfoItem(name, labels)
                        if _interning:
                            if len(_info_cache) >= _INTERN_MAX:
                                _info_cache.clear()
                            _info_cache[(name, *keys)] = item
                        d.pos = p
                        return item
    return _dec_meas_info_general(d)


_PRINTABLE_TABLE: Final = bytes(
    1 if c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?" else 0 for c in range(256)
)
_name_cache: dict[bytes, str] = {}


def _check_printable(raw: bytes, d: PerDecoder) -> str:
    s = _name_cache.get(raw)
    if s is not None:
        return s
    if raw.translate(None, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"):
        raise d.error(f"character outside the PrintableString alphabet in {raw!r}")
    s = raw.decode("ascii")
    if len(_name_cache) >= _INTERN_MAX:
        _name_cache.clear()
    _name_cache[raw] = s
    return s


def _enc_records(e: PerEncoder, items: tuple[MeasDataItem, ...], version: KpmVersion) -> None:
    e.count(len(items), 1, 65535, field="meas_data")
    for it in items:
        e.put(1 if it.incomplete else 0, 2)  # extension bit 0, incompleteFlag present
        e.count(len(it.records), 1, 2147483647, field="records")
        for r in it.records:
            if isinstance(r, int):
                n = max(1, (r.bit_length() + 7) >> 3)
                e.put(n - 1, 5)  # ext 0, index 00 (integer), length n-1 in 2 bits
                e.align()
                e.buf += r.to_bytes(n, "big")
            elif isinstance(r, float):
                e.put(0b001, 3)
                e.real(r)
            elif r is Missing.NO_VALUE:
                e.put(0b010, 3)
            else:
                if version < KpmVersion.V3:
                    raise E2ValueError("notSatisfied records are KPM v3", field="records", value=r)
                e.put(1, 1)
                e.normally_small(0)
                e.open_type(b"\x00")
        if it.incomplete:
            e.enumerated(0, 1, True)


def _dec_records(d: PerDecoder) -> tuple[MeasDataItem, ...]:
    n = d.count(1, 65535, min_bits_each=12)
    out = []
    data = d.data
    for _ in range(n):
        ext, flag = d.preamble(True, 1)
        m, more = d.length()
        if more:
            raise d.error("fragmented measurement record not supported")
        if m == 0:
            raise d.error("empty measurement record")
        if m * 3 > d.end - d.pos:
            raise d.error(f"{m} records exceed the data")
        recs: list[MeasRecord] = []
        append = recs.append
        pos = d.pos
        end = d.end
        from_bytes = int.from_bytes
        left = m
        if _fast_records is not None and type(data) is bytes:
            # The leading run of octet-aligned integers in C; whatever it stops at is read below.
            pos = _fast_records(data, pos, end, m, recs)
            left = m - len(recs)
        for _ in range(left):
            if not pos & 7 and pos < end:
                # Octet-aligned record (the usual layout: each integer record ends on an octet boundary).
                i = pos >> 3
                b = data[i]
                if b < 0x20:  # extension 0, alternative 00 = integer; bits 3-4 = octets - 1
                    j = i + 2 + (b >> 3)
                    if j << 3 > end:
                        raise E2DecodeError(
                            f"truncated measurement record: needs {j - i} octets, {(end >> 3) - i} left",
                            data=data,
                            bit_position=pos,
                        )
                    append(from_bytes(data[i + 1 : j], "big"))
                    pos = j << 3
                    continue
            d.pos = pos
            idx = d.choice(3, True)
            if idx == 0:
                append(d.integer(0, _U32 - 1))
            elif idx == 1:
                append(d.real())
            elif idx == 2:
                append(Missing.NO_VALUE)
            elif idx == 3:
                d.open_type()
                append(Missing.NOT_SATISFIED)
            else:
                raise d.error(f"unknown MeasurementRecordItem alternative {idx}")
            pos = d.pos
        if pos > end:
            raise E2DecodeError("truncated measurement record", data=data, bit_position=pos)
        d.pos = pos
        incomplete = _dec_true(d) if flag else False
        if ext:
            d.skip_extensions()
        out.append(_decoded_data_item(tuple(recs), incomplete))
    return tuple(out)


_new_object = object.__new__
_set_field = object.__setattr__


def _decoded_data_item(records: tuple[MeasRecord, ...], incomplete: bool) -> MeasDataItem:
    """A MeasDataItem from the decoder, whose records already meet the type's constraints (at least one;
    integers from at most four octets, REALs, or Missing), so ``__post_init__``'s per-record check is skipped."""
    item: MeasDataItem = _new_object(MeasDataItem)
    _set_field(item, "records", records)
    _set_field(item, "incomplete", incomplete)
    return item


def _decoded_f1(
    data: tuple[MeasDataItem, ...], info: tuple[MeasInfoItem, ...], granul: int | None
) -> IndicationMessageF1:
    """An IndicationMessageF1 from the fast path, whose parts were decoded (and checked) before."""
    m: IndicationMessageF1 = _new_object(IndicationMessageF1)
    _set_field(m, "meas_data", data)
    _set_field(m, "meas_info", info)
    _set_field(m, "granul_period", granul)
    return m


def _enc_granul(e: PerEncoder, v: int) -> None:
    e.constrained(v - 1, _U32 - 1)


def _dec_granul(d: PerDecoder) -> int:
    return 1 + d.constrained(_U32 - 1)


# -- indication message -------------------------------------------------------------------------------


class F1Encoder:
    """Encodes format-1 indication messages of one subscription: fixed measurement info, fresh records.

    The measurement information list and granularity period are encoded once (they follow octet-aligned
    integer records, so their bytes do not depend on the records). ``encode(records)`` writes one measurement
    data item; records that are not all integers in 0..2**32-1 go through the general encoder, with the same
    result. Output is byte-identical to :meth:`KpmCodec.encode_indication_message`.
    """

    __slots__ = ("_granul", "_head", "_info", "_tail", "_version")

    def __init__(
        self, meas_info: tuple[MeasInfoItem, ...], granul_period: int | None, version: KpmVersion = KpmVersion.V2
    ) -> None:
        self._info = meas_info
        self._granul = granul_period
        self._version = version
        tail = PerEncoder()
        if meas_info:
            _enc_meas_info(tail, meas_info, version)
        if granul_period is not None:
            _enc_granul(tail, granul_period)
        self._tail = tail.to_bytes() if (meas_info or granul_period is not None) else b""
        flags = (bool(meas_info) << 1) | (granul_period is not None)
        self._head = bytes((flags << 2,))  # 3 choice/extension bits, F1 extension bit, 2 presence bits, padding

    def encode(self, records: tuple[MeasRecord, ...]) -> bytes:
        n = len(records)
        out = bytearray(self._head)
        out += b"\x00\x00\x00"  # one measurement data item (count - 1), item extension/flag bits
        if n < 128:
            out.append(n)
        elif n < 16384:
            out += (0x8000 | n).to_bytes(2, "big")
        else:
            return self._general(records)
        for r in records:
            if type(r) is not int or not 0 <= r < _U32:
                return self._general(records)
            k = (r.bit_length() + 7) >> 3 or 1
            out.append((k - 1) << 3)
            out += r.to_bytes(k, "big")
        out += self._tail
        return bytes(out)

    def _general(self, records: tuple[MeasRecord, ...]) -> bytes:
        msg = IndicationMessageF1((MeasDataItem(records),), self._info, self._granul)
        v = self._version
        return encode_complete(lambda e, x: _enc_indication_message(e, x, v), msg)


def _enc_message_f1_body(e: PerEncoder, m: IndicationMessageF1, version: KpmVersion) -> None:
    e.put(0, 1)
    e.put(bool(m.meas_info) << 1 | (m.granul_period is not None), 2)
    _enc_records(e, m.meas_data, version)
    if m.meas_info:
        _enc_meas_info(e, m.meas_info, version)
    if m.granul_period is not None:
        _enc_granul(e, m.granul_period)


_tail_cache: dict[tuple[int, int, bytes], tuple[tuple[MeasInfoItem, ...], int | None, int]] = {}
_TAIL_MAX: Final = 512


def _dec_message_f1(d: PerDecoder) -> IndicationMessageF1:
    ext, bm = d.preamble(True, 2)
    try:
        data = _dec_records(d)
    except E2DecodeError as exc:
        exc.add_context("measData")
        raise
    # What follows the records (measInfoList, granulPeriod, extensions) is the same in every period of a
    # subscription: its decode is memoised by (flags, bit phase, exact bytes up to the end of this value).
    key = None
    if _interning and d.end & 7 == 0:
        key = (ext << 2 | bm, d.pos & 7, d.data[d.pos >> 3 : d.end >> 3])
        hit = _tail_cache.get(key)
        if hit is not None:
            d.pos = d.end - hit[2]
            return IndicationMessageF1(data, hit[0], hit[1])
    try:
        info = _dec_meas_info(d) if bm & 2 else ()
    except E2DecodeError as exc:
        exc.add_context("measInfoList")
        raise
    gp = _dec_granul(d) if bm & 1 else None
    if ext:
        d.skip_extensions()
    if key is not None:
        if len(_tail_cache) >= _TAIL_MAX:
            _tail_cache.clear()
        _tail_cache[key] = (info, gp, d.end - d.pos)
    return IndicationMessageF1(data, info, gp)


def _enc_test_cond_info(e: PerEncoder, t: TestCondInfo, version: KpmVersion) -> None:
    if version < KpmVersion.V3:
        if t.test_expr is None or t.test_value is None:
            raise E2ValueError("KPM v2 test conditions need an expression and a value", field="test_cond")
        e.put(0, 1)
    else:
        e.preamble(True, 2, (t.test_expr is not None) << 1 | (t.test_value is not None))
    tt = int(t.test_type)
    if tt < 6:
        e.choice(tt, 6, True)
        e.enumerated(0, 1, True)
    else:
        if version < KpmVersion.V3:
            raise E2ValueError(f"test condition type {t.test_type.name} is KPM v3", field="test_type")
        e.choice(tt, 6, True)
        sub = PerEncoder()
        sub.enumerated(0, 1, True)
        e.open_type(sub.to_bytes())
    if t.test_expr is not None:
        e.enumerated(int(t.test_expr), 5, True)
    if t.test_value is not None:
        _enc_test_value(e, t.test_value, version)


def _enc_test_value(e: PerEncoder, v: TestCondValue, version: KpmVersion) -> None:
    if isinstance(v, bool):
        e.choice(2, 6, True)
        e.boolean(v)
    elif isinstance(v, int):
        e.choice(0, 6, True)
        e.unconstrained_int(v)
    elif isinstance(v, TestCondEnum):
        e.choice(1, 6, True)
        e.unconstrained_int(v.value)
    elif isinstance(v, BitString):
        e.choice(3, 6, True)
        e.bit_string(v.value, v.length)
    elif isinstance(v, bytes):
        e.choice(4, 6, True)
        e.octet_string(v)
    elif isinstance(v, str):
        e.choice(5, 6, True)
        e.printable_string(v, field="valuePrtS")
    elif isinstance(v, float):
        if version < KpmVersion.V3:
            raise E2ValueError("valueReal is KPM v3", field="test_value", value=v)
        e.choice(6, 6, True)
        sub = PerEncoder()
        sub.real(v)
        e.open_type(sub.to_bytes())
    else:
        raise E2ValueError("unsupported test value", field="test_value", value=v)


def _dec_test_value(d: PerDecoder) -> TestCondValue:
    idx = d.choice(6, True)
    if idx == 0:
        return d.unconstrained_int()
    if idx == 1:
        return TestCondEnum(d.unconstrained_int())
    if idx == 2:
        return d.boolean()
    if idx == 3:
        v, n = d.bit_string()
        return BitString(v, n)
    if idx == 4:
        return d.octet_string()
    if idx == 5:
        return d.printable_string()
    if idx == 6:
        return d.open_type().real()
    raise d.error(f"unknown TestCond-Value alternative {idx}")


def _dec_test_cond_info(d: PerDecoder, version: KpmVersion) -> TestCondInfo:
    if version < KpmVersion.V3:
        ext = bool(d.bit())
        bm = 3
    else:
        ext, bm = d.preamble(True, 2)
    tt = d.choice(6, True)
    if tt < 6:
        _dec_true(d)
    elif tt <= 10:
        _dec_true(d.open_type())
    else:
        raise d.error(f"unknown TestCond-Type alternative {tt}")
    expr = None
    if bm & 2:
        x = d.enumerated(5, True)
        if x >= 5:
            raise d.error(f"unknown TestCond-Expression {x}")
        expr = TestCondExpression(x)
    value = _dec_test_value(d) if bm & 1 else None
    if ext:
        d.skip_extensions()
    return TestCondInfo(TestCondType(tt), expr, value)


def _enc_matching_cond(e: PerEncoder, items: tuple[MatchingCondItem, ...], version: KpmVersion) -> None:
    e.count(len(items), 1, 32768, field="matching_cond")
    for it in items:
        if version >= KpmVersion.V3:
            e.preamble(True, 1, it.logical_or)
        elif it.logical_or:
            raise E2ValueError("logicalOR is KPM v3", field="logical_or")
        if isinstance(it.cond, MeasLabel):
            e.choice(0, 2, True)
            _enc_label(e, it.cond, version, wrapped=False)
        elif isinstance(it.cond, TestCondInfo):
            e.choice(1, 2, True)
            _enc_test_cond_info(e, it.cond, version)
        else:
            raise E2ValueError("a matching condition is a MeasLabel or a TestCondInfo", field="cond", value=it.cond)
        if version >= KpmVersion.V3 and it.logical_or:
            e.enumerated(0, 1, True)


def _dec_matching_cond(d: PerDecoder, version: KpmVersion) -> tuple[MatchingCondItem, ...]:
    n = d.count(1, 32768, min_bits_each=3)
    out = []
    for _ in range(n):
        ext, bm = d.preamble(True, 1) if version >= KpmVersion.V3 else (False, 0)
        idx = d.choice(2, True)
        cond: MeasLabel | TestCondInfo
        if idx == 0:
            cond = _dec_label(d, wrapped=False)
        elif idx == 1:
            cond = _dec_test_cond_info(d, version)
        else:
            raise d.error(f"unknown MatchingCondItem alternative {idx}")
        lor = _dec_true(d) if bm else False
        if ext:
            d.skip_extensions()
        out.append(MatchingCondItem(cond, lor))
    return tuple(out)


def _enc_ueid_list(e: PerEncoder, ids: tuple[UeId, ...], lb: int) -> None:
    e.count(len(ids), lb, 65535, field="ue_ids")
    for u in ids:
        e.put(0, 1)  # MatchingUEidItem extension bit
        _enc_ueid(e, u)


def _dec_ueid_list(d: PerDecoder, lb: int) -> tuple[UeId, ...]:
    n = d.count(lb, 65535, min_bits_each=4)
    out = []
    for _ in range(n):
        ext = d.bit()
        out.append(_dec_ueid(d))
        if ext:
            d.skip_extensions()
    return tuple(out)


def _enc_message_f2_body(e: PerEncoder, m: IndicationMessageF2, version: KpmVersion) -> None:
    e.put(0, 1)
    e.put(m.granul_period is not None, 1)
    _enc_records(e, m.meas_data, version)
    e.count(len(m.meas_cond_ueid), 1, 65535, field="meas_cond_ueid")
    for it in m.meas_cond_ueid:
        has_ext = bool(it.matching_ueid_per_gp)
        if has_ext and version < KpmVersion.V3:
            raise E2ValueError("matchingUEidPerGP is KPM v3", field="matching_ueid_per_gp")
        e.preamble(True, 1, bool(it.matching_ueid), has_ext)
        _enc_meas_type(e, it.meas_type)
        _enc_matching_cond(e, it.matching_cond, version)
        if it.matching_ueid:
            _enc_ueid_list(e, it.matching_ueid, 1)
        if has_ext:
            sub = PerEncoder()
            sub.count(len(it.matching_ueid_per_gp), 1, 65535, field="matching_ueid_per_gp")
            for gp in it.matching_ueid_per_gp:
                sub.put(0, 1)
                if gp:
                    sub.choice(1, 2, True)
                    _enc_ueid_list(sub, gp, 1)
                else:
                    sub.choice(0, 2, True)
                    sub.enumerated(0, 1, True)
            e.extensions([sub.to_bytes()])
    if m.granul_period is not None:
        _enc_granul(e, m.granul_period)


def _dec_message_f2(d: PerDecoder, version: KpmVersion) -> IndicationMessageF2:
    ext, bm = d.preamble(True, 1)
    data = _dec_records(d)
    n = d.count(1, 65535, min_bits_each=6)
    items = []
    for _ in range(n):
        iext, ibm = d.preamble(True, 1)
        mt = _dec_meas_type(d)
        conds = _dec_matching_cond(d, version)
        ues = _dec_ueid_list(d, 1) if ibm else ()
        per_gp: tuple[tuple[UeId, ...], ...] = ()
        if iext:
            for add in d.extensions():
                if add is None or add[0] != 0:
                    continue
                sub = add[1]
                k = sub.count(1, 65535, min_bits_each=3)
                gps: list[tuple[UeId, ...]] = []
                for _ in range(k):
                    gext = sub.bit()
                    alt = sub.choice(2, True)
                    if alt == 0:
                        _dec_true(sub)
                        gps.append(())
                    elif alt == 1:
                        gps.append(_dec_ueid_list(sub, 1))
                    else:
                        raise sub.error(f"unknown matchedPerGP alternative {alt}")
                    if gext:
                        sub.skip_extensions()
                per_gp = tuple(gps)
        items.append(MeasCondUeIdItem(mt, conds, ues, per_gp))
    gp = _dec_granul(d) if bm else None
    if ext:
        d.skip_extensions()
    return IndicationMessageF2(data, tuple(items), gp)


def _enc_message_f3_body(e: PerEncoder, m: IndicationMessageF3, version: KpmVersion) -> None:
    e.put(0, 1)
    e.count(len(m.ue_reports), 1, 65535, field="ue_reports")
    for r in m.ue_reports:
        e.put(0, 1)
        _enc_ueid(e, r.ue_id)
        _enc_message_f1_body(e, r.report, version)


def _dec_message_f3(d: PerDecoder) -> IndicationMessageF3:
    ext = d.bit()
    n = d.count(1, 65535, min_bits_each=8)
    reps = []
    for _ in range(n):
        rext = d.bit()
        ue = _dec_ueid(d)
        rep = _dec_message_f1(d)
        if rext:
            d.skip_extensions()
        reps.append(UeMeasReport(ue, rep))
    if ext:
        d.skip_extensions()
    return IndicationMessageF3(tuple(reps))


def _enc_indication_message(e: PerEncoder, m: IndicationMessage, version: KpmVersion) -> None:
    e.put(0, 1)  # E2SM-KPM-IndicationMessage extension bit
    if isinstance(m, IndicationMessageF1):
        e.choice(0, 2, True)
        _enc_message_f1_body(e, m, version)
    elif isinstance(m, IndicationMessageF2):
        e.choice(1, 2, True)
        _enc_message_f2_body(e, m, version)
    elif isinstance(m, IndicationMessageF3):
        if version < KpmVersion.V3:
            raise E2ValueError("indication message format 3 is KPM v3", field="format")
        e.choice(2, 2, True)
        sub = PerEncoder()
        _enc_message_f3_body(sub, m, version)
        e.open_type(sub.to_bytes())
    else:
        raise E2ValueError("not a KPM indication message", value=m)


def _dec_indication_message(d: PerDecoder, version: KpmVersion) -> IndicationMessage:
    ext = d.bit()
    idx = d.choice(2, True)
    m: IndicationMessage
    if idx == 0:
        m = _dec_message_f1(d)
    elif idx == 1:
        m = _dec_message_f2(d, version)
    elif idx == 2:
        m = _dec_message_f3(d.open_type())
    else:
        raise d.error(f"unknown indication message format {idx + 1}")
    if ext:
        d.skip_extensions()
    return m


# -- indication header --------------------------------------------------------------------------------


def _enc_indication_header(e: PerEncoder, h: IndicationHeader, ts_octets: int) -> None:
    if len(h.collect_start_time) != ts_octets:
        raise E2ValueError(f"TimeStamp must be {ts_octets} octets for this codec", field="collect_start_time")
    e.put(0, 3)  # header ext, choice ext (format 1 is the only root alternative), F1 ext
    e.put(
        (h.file_format_version is not None) << 3
        | (h.sender_name is not None) << 2
        | (h.sender_type is not None) << 1
        | (h.vendor_name is not None),
        4,
    )
    e.octets(h.collect_start_time)
    for v, ub in ((h.file_format_version, 15), (h.sender_name, 400), (h.sender_type, 8), (h.vendor_name, 32)):
        if v is not None:
            e.printable_string(v, 0, ub, True)


def _dec_indication_header(d: PerDecoder, ts_octets: int) -> IndicationHeader:
    ext = d.bit()
    idx = d.choice(1, True)
    if idx != 0:
        raise d.error(f"unknown indication header format {idx + 1}")
    fext, bm = d.preamble(True, 4)
    ts = d.octets(ts_octets)
    vals: list[str | None] = []
    for bit, ub in ((8, 15), (4, 400), (2, 8), (1, 32)):
        vals.append(d.printable_string(0, ub, True) if bm & bit else None)
    if fext:
        d.skip_extensions()
    if ext:
        d.skip_extensions()
    return IndicationHeader(ts, vals[0], vals[1], vals[2], vals[3])


# -- event trigger, action definition, RAN function description ----------------------------------------


def _enc_event_trigger(e: PerEncoder, t: EventTrigger) -> None:
    e.put(0, 3)  # ext, choice ext, F1 ext
    e.constrained(t.reporting_period_ms - 1, _U32 - 1)


def _dec_event_trigger(d: PerDecoder) -> EventTrigger:
    ext = d.bit()
    idx = d.choice(1, True)
    if idx != 0:
        raise d.error(f"unknown event trigger format {idx + 1}")
    fext = d.bit()
    period = 1 + d.constrained(_U32 - 1)
    if fext:
        d.skip_extensions()
    if ext:
        d.skip_extensions()
    return EventTrigger(period)


def _enc_action_f1(e: PerEncoder, f: ActionDefinitionF1, version: KpmVersion) -> None:
    e.put(0, 1)
    e.put(f.cell_global_id is not None, 1)
    _enc_meas_info(e, f.meas_info, version)
    _enc_granul(e, f.granul_period)
    if f.cell_global_id is not None:
        _enc_cgi(e, f.cell_global_id)


def _dec_action_f1(d: PerDecoder) -> ActionDefinitionF1:
    ext, bm = d.preamble(True, 1)
    info = _dec_meas_info(d)
    gp = _dec_granul(d)
    cgi = _dec_cgi(d) if bm else None
    if ext:
        d.skip_extensions()  # distMeasBinRangeInfo (v4)
    return ActionDefinitionF1(info, gp, cgi)


def _enc_action_definition(e: PerEncoder, a: ActionDefinition, version: KpmVersion) -> None:
    e.put(0, 1)
    e.unconstrained_int(a.style)
    f = a.format
    if isinstance(f, ActionDefinitionF1):
        e.choice(0, 3, True)
        _enc_action_f1(e, f, version)
    elif isinstance(f, ActionDefinitionF2):
        e.choice(1, 3, True)
        e.put(0, 1)
        _enc_ueid(e, f.ue_id)
        _enc_action_f1(e, f.subscript_info, version)
    elif isinstance(f, ActionDefinitionF3):
        e.choice(2, 3, True)
        e.put(0, 1)
        e.put(f.cell_global_id is not None, 1)
        e.count(len(f.meas_cond), 1, 65535, field="meas_cond")
        for it in f.meas_cond:
            e.put(0, 1)
            _enc_meas_type(e, it.meas_type)
            _enc_matching_cond(e, it.matching_cond, version)
        _enc_granul(e, f.granul_period)
        if f.cell_global_id is not None:
            _enc_cgi(e, f.cell_global_id)
    elif isinstance(f, (ActionDefinitionF4, ActionDefinitionF5)):
        if version < KpmVersion.V3:
            raise E2ValueError("action definition formats 4 and 5 are KPM v3", field="format")
        sub = PerEncoder()
        sub.put(0, 1)
        if isinstance(f, ActionDefinitionF4):
            e.choice(3, 3, True)
            sub.count(len(f.matching_ue_cond), 1, 32768, field="matching_ue_cond")
            for c in f.matching_ue_cond:
                sub.put(1 if c.logical_or else 0, 1)
                _enc_test_cond_info(sub, c.test_cond, version)
                if c.logical_or:
                    sub.extensions([_true_bytes()])
        else:
            e.choice(4, 3, True)
            _enc_ueid_list(sub, f.matching_ueid, 2)
        _enc_action_f1(sub, f.subscription_info, version)
        e.open_type(sub.to_bytes())
    else:
        raise E2ValueError("unknown action definition format", field="format", value=f)


def _true_bytes() -> bytes:
    sub = PerEncoder()
    sub.enumerated(0, 1, True)
    return sub.to_bytes()


def _dec_action_definition(d: PerDecoder, version: KpmVersion) -> ActionDefinition:
    ext = d.bit()
    style = d.unconstrained_int()
    idx = d.choice(3, True)
    f: ActionDefinitionF1 | ActionDefinitionF2 | ActionDefinitionF3 | ActionDefinitionF4 | ActionDefinitionF5
    if idx == 0:
        f = _dec_action_f1(d)
    elif idx == 1:
        fext = d.bit()
        ue = _dec_ueid(d)
        f = ActionDefinitionF2(ue, _dec_action_f1(d))
        if fext:
            d.skip_extensions()
    elif idx == 2:
        fext, bm = d.preamble(True, 1)
        n = d.count(1, 65535, min_bits_each=6)
        conds = []
        for _ in range(n):
            cext = d.bit()
            mt = _dec_meas_type(d)
            conds.append(MeasCondItem(mt, _dec_matching_cond(d, version)))
            if cext:
                d.skip_extensions()  # binRangeDef (v4)
        gp = _dec_granul(d)
        cgi = _dec_cgi(d) if bm else None
        if fext:
            d.skip_extensions()
        f = ActionDefinitionF3(tuple(conds), gp, cgi)
    elif idx in (3, 4):
        sub = d.open_type()
        fext = sub.bit()
        if idx == 3:
            n = sub.count(1, 32768, min_bits_each=4)
            mconds = []
            for _ in range(n):
                cext = sub.bit()
                tc = _dec_test_cond_info(sub, KpmVersion.V3)
                lor = False
                if cext:
                    for add in sub.extensions():
                        if add is not None and add[0] == 0:
                            lor = _dec_true(add[1])
                mconds.append(MatchingUeCond(tc, lor))
            f = ActionDefinitionF4(tuple(mconds), _dec_action_f1(sub))
        else:
            ues = _dec_ueid_list(sub, 2)
            f = ActionDefinitionF5(ues, _dec_action_f1(sub))
        if fext:
            sub.skip_extensions()
    else:
        raise d.error(f"unknown action definition format {idx + 1}")
    if ext:
        d.skip_extensions()
    return ActionDefinition(style, f)


def _enc_ran_function_description(e: PerEncoder, r: RanFunctionDescription) -> None:
    e.put(0, 1)
    e.put(bool(r.event_trigger_styles) << 1 | bool(r.report_styles), 2)
    _enc_ran_function_name(e, r.name)
    if r.event_trigger_styles:
        e.count(len(r.event_trigger_styles), 1, 63, field="event_trigger_styles")
        for s in r.event_trigger_styles:
            e.put(0, 1)
            e.unconstrained_int(s.style_type)
            e.printable_string(s.style_name, 1, 150, True, "style_name")
            e.unconstrained_int(s.format_type)
    if r.report_styles:
        e.count(len(r.report_styles), 1, 63, field="report_styles")
        for rs in r.report_styles:
            e.put(0, 1)
            e.unconstrained_int(rs.style_type)
            e.printable_string(rs.style_name, 1, 150, True, "style_name")
            e.unconstrained_int(rs.action_format_type)
            e.count(len(rs.meas_info_action), 1, 65535, field="meas_info_action")
            for m in rs.meas_info_action:
                e.put(0, 1)
                e.put(m.id is not None, 1)
                e.printable_string(m.name, 1, _MAX_NAME, True, "name")
                if m.id is not None:
                    e.integer(m.id, 1, 65536, True)
            e.unconstrained_int(rs.header_format_type)
            e.unconstrained_int(rs.message_format_type)


def _dec_ran_function_description(d: PerDecoder) -> RanFunctionDescription:
    ext, bm = d.preamble(True, 2)
    name = _dec_ran_function_name(d)
    ets = []
    if bm & 2:
        for _ in range(d.count(1, 63)):
            sext = d.bit()
            st = d.unconstrained_int()
            sn = d.printable_string(1, 150, True)
            ft = d.unconstrained_int()
            if sext:
                d.skip_extensions()
            ets.append(EventTriggerStyle(st, sn, ft))
    rss = []
    if bm & 1:
        for _ in range(d.count(1, 63)):
            sext = d.bit()
            st = d.unconstrained_int()
            sn = d.printable_string(1, 150, True)
            aft = d.unconstrained_int()
            items = []
            for _ in range(d.count(1, 65535, min_bits_each=10)):
                mext, mbm = d.preamble(True, 1)
                mname = d.printable_string(1, _MAX_NAME, True)
                mid = d.integer(1, 65536, True) if mbm else None
                if mext:
                    d.skip_extensions()  # binRangeDef (v4)
                items.append(MeasInfoActionItem(mname, mid))
            hft = d.unconstrained_int()
            mft = d.unconstrained_int()
            if sext:
                d.skip_extensions()
            rss.append(ReportStyle(st, sn, aft, tuple(items), hft, mft))
    if ext:
        d.skip_extensions()
    return RanFunctionDescription(name, tuple(ets), tuple(rss))


# -- the codec ------------------------------------------------------------------------------------------


_RECENT_HEADERS: dict[tuple[KpmVersion, int | None, bytes], IndicationHeader] = {}


@dataclass(frozen=True, slots=True)
class KpmCodec:
    """E2SM-KPM encoder/decoder for one RAN function.

    ``timestamp_octets`` overrides the TimeStamp size of the version (4 for v2, 8 for v3); when a header does
    not decode with the configured size, the other size is tried (nodes that announce v2 but send v3 headers).
    """

    version: KpmVersion = KpmVersion.V2
    timestamp_octets: int | None = None

    def __post_init__(self) -> None:
        if self.timestamp_octets not in (None, 4, 8):
            raise E2ValueError("TimeStamp is 4 or 8 octets", field="timestamp_octets", value=self.timestamp_octets)

    @classmethod
    def for_oid(cls, oid: str, *, version: KpmVersion | None = None, timestamp_octets: int | None = None) -> KpmCodec:
        """The codec for a RAN function OID seen in E2 setup, with optional per-node overrides."""
        return cls(version if version is not None else kpm_version_for_oid(oid), timestamp_octets)

    @property
    def ts_octets(self) -> int:
        if self.timestamp_octets is not None:
            return self.timestamp_octets
        return 8 if self.version >= KpmVersion.V3 else 4

    # indication header
    def encode_indication_header(self, h: IndicationHeader) -> bytes:
        ts = len(h.collect_start_time) if self.timestamp_octets is None else self.ts_octets
        return encode_complete(lambda e, v: _enc_indication_header(e, v, ts), h)

    def decode_indication_header(self, data: bytes) -> IndicationHeader:
        # Every node's indications of one period usually carry the same header: the recent ones are kept.
        key = (self.version, self.timestamp_octets, data)
        header = _RECENT_HEADERS.get(key)
        if header is not None:
            return header
        first = self.ts_octets
        try:
            header = decode_complete(lambda d: _dec_indication_header(d, first), data, "E2SM-KPM-IndicationHeader")
        except E2DecodeError:
            other = 12 - first
            try:
                header = decode_complete(lambda d: _dec_indication_header(d, other), data, "E2SM-KPM-IndicationHeader")
            except E2DecodeError:
                pass
            else:
                return header
            raise
        if len(_RECENT_HEADERS) >= 256:
            _RECENT_HEADERS.clear()
        _RECENT_HEADERS[key] = header
        return header

    # indication message
    def encode_indication_message(self, m: IndicationMessage) -> bytes:
        v = self.version
        return encode_complete(lambda e, x: _enc_indication_message(e, x, v), m)

    def decode_indication_message(self, data: bytes) -> IndicationMessage:
        if _fast_f1 is not None and _interning and type(data) is bytes:
            # A usual format-1 message whose measurement information was seen before: the records from C and
            # the rest from the memo of _dec_message_f1 (the same key). Anything else takes the decoder below.
            got = _fast_f1(data, Missing.NO_VALUE)
            if got is not None:
                pos = got[2]
                hit = _tail_cache.get((got[0], pos & 7, data[pos >> 3 :]))
                if hit is not None and hit[2] < 8:
                    return _decoded_f1(tuple([_decoded_data_item(r, False) for r in got[1]]), hit[0], hit[1])
        v = self.version
        return decode_complete(lambda d: _dec_indication_message(d, v), data, "E2SM-KPM-IndicationMessage")

    # subscription parts
    def encode_event_trigger(self, t: EventTrigger) -> bytes:
        return encode_complete(_enc_event_trigger, t)

    def decode_event_trigger(self, data: bytes) -> EventTrigger:
        return decode_complete(_dec_event_trigger, data, "E2SM-KPM-EventTriggerDefinition")

    def encode_action_definition(self, a: ActionDefinition) -> bytes:
        v = self.version
        return encode_complete(lambda e, x: _enc_action_definition(e, x, v), a)

    def decode_action_definition(self, data: bytes) -> ActionDefinition:
        v = self.version
        return decode_complete(lambda d: _dec_action_definition(d, v), data, "E2SM-KPM-ActionDefinition")

    # E2 setup
    def encode_ran_function_description(self, r: RanFunctionDescription) -> bytes:
        return encode_complete(_enc_ran_function_description, r)

    def decode_ran_function_description(self, data: bytes) -> RanFunctionDescription:
        return decode_complete(_dec_ran_function_description, data, "E2SM-KPM-RANfunction-Description")
