"""E2AP (O-RAN.WG3.E2AP v2.0x, and v3 where it differs): the messages an xApp and an E2 node exchange.

Theory of operation
-------------------
An E2AP PDU is ``CHOICE { initiatingMessage, successfulOutcome, unsuccessfulOutcome, ... }``; each alternative
is ``SEQUENCE { procedureCode, criticality, value }`` where ``value`` is an open type holding the message. Every
message is ``SEQUENCE { protocolIEs ProtocolIE-Container, ... }``: a 16-bit count, then per IE a 16-bit id, a
2-bit criticality and an open type holding the IE value. All of that is octet-aligned, so this module reads and
writes the PDU frame and the IE container directly on bytes, and hands each IE value to a typed decoder.

Messages are frozen dataclasses validated at construction. ``decode_e2ap`` returns one of them;
``encode_e2ap`` takes one and an :class:`E2apVersion`. Decoding accepts v2.0x and v3 encodings alike (the v3
additions are optional IEs and extension additions); encoding for v2 refuses v3-only fields with
:class:`~ricsdk.errors.E2ValueError` so that an OSC E2 Termination (v2.0x) never sees them.

IE handling follows E2AP's criticality rules on decode: an unknown IE marked ``reject`` fails the message,
one marked ``ignore``/``notify`` is skipped; a missing mandatory IE or a repeated IE fails it. Every failure is
an :class:`~ricsdk.errors.E2DecodeError` carrying the bytes, the bit position and the IE path.

Procedure codes and IE ids are the O-RAN values (E2AP-Constants); the IE sets, presences and criticalities of
each message follow E2AP-PDU-Contents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Final, TypeAlias

from ricsdk.e2.per import BitString, PerDecoder, PerEncoder
from ricsdk.errors import E2DecodeError, E2ValueError

try:  # the optional C reader of RICindication / RICcontrolAcknowledge (ricsdk/e2/_e2ap.c); None: Python only
    from ricsdk.e2._e2ap import control_ack as _fast_control_ack
    from ricsdk.e2._e2ap import control_ack_pdu as _fast_control_ack_pdu
    from ricsdk.e2._e2ap import control_request as _fast_control_request
    from ricsdk.e2._e2ap import indication as _fast_indication
except ImportError:  # pragma: no cover - built wherever a C compiler is
    _fast_indication = None  # type: ignore[assignment]
    _fast_control_ack = None  # type: ignore[assignment]
    _fast_control_request = None  # type: ignore[assignment]
    _fast_control_ack_pdu = None  # type: ignore[assignment]

__all__ = [
    "ActionNotAdmitted",
    "ActionToBeSetup",
    "ActionType",
    "Cause",
    "CauseGroup",
    "ComponentConfigAddition",
    "ComponentConfigAdditionAck",
    "ControlAckRequest",
    "Criticality",
    "CriticalityDiagnostics",
    "CriticalityDiagnosticsItem",
    "E2apMessage",
    "E2apVersion",
    "E2nodeComponentE1",
    "E2nodeComponentF1",
    "E2nodeComponentId",
    "E2nodeComponentInterfaceType",
    "E2nodeComponentNg",
    "E2nodeComponentS1",
    "E2nodeComponentW1",
    "E2nodeComponentX2",
    "E2nodeComponentXn",
    "E2setupFailure",
    "E2setupRequest",
    "E2setupResponse",
    "EnbE2NodeId",
    "EnGnbE2NodeId",
    "ErrorIndication",
    "GlobalE2NodeId",
    "GlobalEnGnbId",
    "GlobalEnbId",
    "GlobalGnbId",
    "GlobalNgEnbId",
    "GlobalRicId",
    "GnbE2NodeId",
    "IndicationType",
    "MESSAGE_TYPES",
    "NgEnbE2NodeId",
    "PduKind",
    "RanFunction",
    "RanFunctionIdCause",
    "RanFunctionIdItem",
    "RicControlAcknowledge",
    "RicControlFailure",
    "RicControlRequest",
    "RicIndication",
    "RicRequestId",
    "RicSubscriptionDeleteFailure",
    "RicSubscriptionDeleteRequest",
    "RicSubscriptionDeleteResponse",
    "RicSubscriptionFailure",
    "RicSubscriptionRequest",
    "RicSubscriptionResponse",
    "SetupTimeToWait",
    "SubsequentAction",
    "SubsequentActionType",
    "TimeToWait",
    "TnlInformation",
    "TriggeringMessage",
    "TypeOfError",
    "UpdateOutcome",
    "decode_e2ap",
    "encode_control_ack",
    "encode_control_request",
    "encode_e2ap",
    "peek_procedure",
]


class E2apVersion(IntEnum):
    """The E2AP major version to encode for (decoding accepts both)."""

    V2 = 2
    V3 = 3


class PduKind(IntEnum):
    INITIATING = 0
    SUCCESSFUL = 1
    UNSUCCESSFUL = 2


class Criticality(IntEnum):
    REJECT = 0
    IGNORE = 1
    NOTIFY = 2


class TriggeringMessage(IntEnum):
    INITIATING_MESSAGE = 0
    SUCCESSFUL_OUTCOME = 1
    UNSUCCESSFUL_OUTCOME = 2


class TypeOfError(IntEnum):
    NOT_UNDERSTOOD = 0
    MISSING = 1


class IndicationType(IntEnum):
    REPORT = 0
    INSERT = 1


class ActionType(IntEnum):
    REPORT = 0
    INSERT = 1
    POLICY = 2


class SubsequentActionType(IntEnum):
    CONTINUE = 0
    WAIT = 1


class TimeToWait(IntEnum):
    """RICtimeToWait."""

    W1MS = 0
    W2MS = 1
    W5MS = 2
    W10MS = 3
    W20MS = 4
    W30MS = 5
    W40MS = 6
    W50MS = 7
    W100MS = 8
    W200MS = 9
    W500MS = 10
    W1S = 11
    W2S = 12
    W5S = 13
    W10S = 14
    W20S = 15
    W60S = 16


class SetupTimeToWait(IntEnum):
    """TimeToWait of E2setupFailure (copied from NGAP)."""

    V1S = 0
    V2S = 1
    V5S = 2
    V10S = 3
    V20S = 4
    V60S = 5


class ControlAckRequest(IntEnum):
    NO_ACK = 0
    ACK = 1


class E2nodeComponentInterfaceType(IntEnum):
    NG = 0
    XN = 1
    E1 = 2
    F1 = 3
    W1 = 4
    S1 = 5
    X2 = 6


class UpdateOutcome(IntEnum):
    SUCCESS = 0
    FAILURE = 1


class CauseGroup(IntEnum):
    RIC_REQUEST = 0
    RIC_SERVICE = 1
    E2_NODE = 2
    TRANSPORT = 3
    PROTOCOL = 4
    MISC = 5


# (root values, extension values) per cause group; extension values of ricRequest are E2AP v3 additions.
_CAUSE_NAMES: Final[dict[CauseGroup, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    CauseGroup.RIC_REQUEST: (
        (
            "ran-function-id-invalid",
            "action-not-supported",
            "excessive-actions",
            "duplicate-action",
            "duplicate-event-trigger",
            "function-resource-limit",
            "request-id-unknown",
            "inconsistent-action-subsequent-action-sequence",
            "control-message-invalid",
            "ric-call-process-id-invalid",
            "control-timer-expired",
            "control-failed-to-execute",
            "system-not-ready",
            "unspecified",
        ),
        (
            "ric-subscription-end-time-expired",
            "ric-subscription-end-time-invalid",
            "duplicate-ric-request-id",
            "eventTriggerNotSupported",
            "requested-information-unavailable",
            "invalid-information-request",
        ),
    ),
    CauseGroup.RIC_SERVICE: (("ran-function-not-supported", "excessive-functions", "ric-resource-limit"), ()),
    CauseGroup.E2_NODE: (("e2node-component-unknown",), ()),
    CauseGroup.TRANSPORT: (("unspecified", "transport-resource-unavailable"), ()),
    CauseGroup.PROTOCOL: (
        (
            "transfer-syntax-error",
            "abstract-syntax-error-reject",
            "abstract-syntax-error-ignore-and-notify",
            "message-not-compatible-with-receiver-state",
            "semantic-error",
            "abstract-syntax-error-falsely-constructed-message",
            "unspecified",
        ),
        (),
    ),
    CauseGroup.MISC: (("control-processing-overload", "hardware-failure", "om-intervention", "unspecified"), ()),
}
_CAUSE_GROUP_NAMES: Final = ("ricRequest", "ricService", "e2Node", "transport", "protocol", "misc")


def _check(cond: bool, field: str, value: object, message: str) -> None:
    if not cond:
        raise E2ValueError(message, field=field, value=value)


def _check_range(v: int, lb: int, ub: int, field: str) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or v < lb or v > ub:
        raise E2ValueError(f"must be an integer in {lb}..{ub}", field=field, value=v)


def _check_bytes(v: object, field: str, size: int | None = None) -> None:
    if not isinstance(v, bytes):
        raise E2ValueError("must be bytes", field=field, value=v)
    if size is not None and len(v) != size:
        raise E2ValueError(f"must be {size} octets", field=field, value=v)


def _check_bits(v: object, field: str, lengths: tuple[int, ...] | range) -> None:
    if not isinstance(v, BitString) or v.length not in lengths:
        raise E2ValueError(f"must be a BitString of length in {lengths}", field=field, value=v)


# -- value types ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RicRequestId:
    requestor_id: int
    instance_id: int

    def __post_init__(self) -> None:
        _check_range(self.requestor_id, 0, 65535, "requestor_id")
        _check_range(self.instance_id, 0, 65535, "instance_id")


@dataclass(frozen=True, slots=True)
class Cause:
    """A Cause CHOICE: the group and the enumerated index inside it (``name`` gives the spec name)."""

    group: CauseGroup
    value: int

    def __post_init__(self) -> None:
        _check(isinstance(self.group, CauseGroup), "group", self.group, "must be a CauseGroup")
        root, ext = _CAUSE_NAMES[self.group]
        _check_range(self.value, 0, len(root) + max(len(ext), 64) - 1, "value")

    @property
    def name(self) -> str:
        root, ext = _CAUSE_NAMES[self.group]
        if self.value < len(root):
            return root[self.value]
        k = self.value - len(root)
        return ext[k] if k < len(ext) else f"extension-{k}"

    @property
    def group_name(self) -> str:
        return _CAUSE_GROUP_NAMES[self.group]

    @classmethod
    def of(cls, group: CauseGroup | str, name: str) -> Cause:
        """Build a cause from its group and spec name, e.g. ``Cause.of("ricRequest", "control-message-invalid")``."""
        g = group if isinstance(group, CauseGroup) else CauseGroup(_CAUSE_GROUP_NAMES.index(group))
        root, ext = _CAUSE_NAMES[g]
        names = root + ext
        if name not in names:
            raise E2ValueError(f"unknown cause {name!r} in group {_CAUSE_GROUP_NAMES[g]}", field="cause", value=name)
        return cls(g, names.index(name))

    def __str__(self) -> str:
        return f"{self.group_name}:{self.name}"


@dataclass(frozen=True, slots=True)
class CriticalityDiagnosticsItem:
    ie_criticality: Criticality
    ie_id: int
    type_of_error: TypeOfError

    def __post_init__(self) -> None:
        _check_range(self.ie_id, 0, 65535, "ie_id")


@dataclass(frozen=True, slots=True)
class CriticalityDiagnostics:
    procedure_code: int | None = None
    triggering_message: TriggeringMessage | None = None
    procedure_criticality: Criticality | None = None
    request_id: RicRequestId | None = None
    ie_diagnostics: tuple[CriticalityDiagnosticsItem, ...] = ()

    def __post_init__(self) -> None:
        if self.procedure_code is not None:
            _check_range(self.procedure_code, 0, 255, "procedure_code")
        _check(len(self.ie_diagnostics) <= 256, "ie_diagnostics", len(self.ie_diagnostics), "at most 256 items")


@dataclass(frozen=True, slots=True)
class SubsequentAction:
    type: SubsequentActionType
    time_to_wait: TimeToWait


@dataclass(frozen=True, slots=True)
class ActionToBeSetup:
    """RICaction-ToBeSetup-Item. ``execution_order`` is an E2AP v3 addition."""

    action_id: int
    action_type: ActionType
    definition: bytes | None = None
    subsequent_action: SubsequentAction | None = None
    execution_order: int | None = None

    def __post_init__(self) -> None:
        _check_range(self.action_id, 0, 255, "action_id")
        _check(isinstance(self.action_type, ActionType), "action_type", self.action_type, "must be an ActionType")
        if self.definition is not None:
            _check_bytes(self.definition, "definition")
        if self.execution_order is not None:
            _check(self.execution_order >= 0, "execution_order", self.execution_order, "must be >= 0")


@dataclass(frozen=True, slots=True)
class ActionNotAdmitted:
    action_id: int
    cause: Cause

    def __post_init__(self) -> None:
        _check_range(self.action_id, 0, 255, "action_id")


@dataclass(frozen=True, slots=True)
class RanFunction:
    """RANfunction-Item: id, the E2SM RAN function definition (opaque bytes here), revision, OID."""

    id: int
    definition: bytes
    revision: int
    oid: str

    def __post_init__(self) -> None:
        _check_range(self.id, 0, 4095, "id")
        _check_bytes(self.definition, "definition")
        _check_range(self.revision, 0, 4095, "revision")
        _check(isinstance(self.oid, str) and len(self.oid) >= 1, "oid", self.oid, "must be a non-empty string")


@dataclass(frozen=True, slots=True)
class RanFunctionIdItem:
    id: int
    revision: int

    def __post_init__(self) -> None:
        _check_range(self.id, 0, 4095, "id")
        _check_range(self.revision, 0, 4095, "revision")


@dataclass(frozen=True, slots=True)
class RanFunctionIdCause:
    id: int
    cause: Cause

    def __post_init__(self) -> None:
        _check_range(self.id, 0, 4095, "id")


@dataclass(frozen=True, slots=True)
class GlobalRicId:
    plmn: bytes
    ric_id: BitString

    def __post_init__(self) -> None:
        _check_bytes(self.plmn, "plmn", 3)
        _check_bits(self.ric_id, "ric_id", (20,))


@dataclass(frozen=True, slots=True)
class GlobalGnbId:
    """GlobalgNB-ID (XnAP shape): PLMN and a 22..32-bit gNB id."""

    plmn: bytes
    gnb_id: BitString

    def __post_init__(self) -> None:
        _check_bytes(self.plmn, "plmn", 3)
        _check_bits(self.gnb_id, "gnb_id", range(22, 33))


@dataclass(frozen=True, slots=True)
class GlobalEnGnbId:
    """GlobalenGNB-ID (X2AP shape)."""

    plmn: bytes
    gnb_id: BitString

    def __post_init__(self) -> None:
        _check_bytes(self.plmn, "plmn", 3)
        _check_bits(self.gnb_id, "gnb_id", range(22, 33))


@dataclass(frozen=True, slots=True)
class GlobalNgEnbId:
    """GlobalngeNB-ID: the ENB-ID-Choice alternative follows from the bit length (macro 20, short 18, long 21)."""

    plmn: bytes
    enb_id: BitString

    def __post_init__(self) -> None:
        _check_bytes(self.plmn, "plmn", 3)
        _check_bits(self.enb_id, "enb_id", (20, 18, 21))


@dataclass(frozen=True, slots=True)
class GlobalEnbId:
    """GlobalENB-ID: macro 20, home 28, short-macro 18, long-macro 21 bits."""

    plmn: bytes
    enb_id: BitString

    def __post_init__(self) -> None:
        _check_bytes(self.plmn, "plmn", 3)
        _check_bits(self.enb_id, "enb_id", (20, 28, 18, 21))


_MAX_NODE_PART: Final = 68719476735  # GNB-CU-UP-ID, GNB-DU-ID, NGENB-DU-ID: 0..2^36-1


def _check_opt_part(v: int | None, field: str) -> None:
    if v is not None:
        _check_range(v, 0, _MAX_NODE_PART, field)


@dataclass(frozen=True, slots=True)
class GnbE2NodeId:
    global_gnb: GlobalGnbId
    global_en_gnb: GlobalEnGnbId | None = None
    gnb_cu_up_id: int | None = None
    gnb_du_id: int | None = None

    def __post_init__(self) -> None:
        _check_opt_part(self.gnb_cu_up_id, "gnb_cu_up_id")
        _check_opt_part(self.gnb_du_id, "gnb_du_id")


@dataclass(frozen=True, slots=True)
class EnGnbE2NodeId:
    global_en_gnb: GlobalEnGnbId
    en_gnb_cu_up_id: int | None = None
    en_gnb_du_id: int | None = None

    def __post_init__(self) -> None:
        _check_opt_part(self.en_gnb_cu_up_id, "en_gnb_cu_up_id")
        _check_opt_part(self.en_gnb_du_id, "en_gnb_du_id")


@dataclass(frozen=True, slots=True)
class NgEnbE2NodeId:
    global_ng_enb: GlobalNgEnbId
    global_enb: GlobalEnbId | None = None
    ng_enb_du_id: int | None = None

    def __post_init__(self) -> None:
        _check_opt_part(self.ng_enb_du_id, "ng_enb_du_id")


@dataclass(frozen=True, slots=True)
class EnbE2NodeId:
    global_enb: GlobalEnbId


GlobalE2NodeId: TypeAlias = GnbE2NodeId | EnGnbE2NodeId | NgEnbE2NodeId | EnbE2NodeId


@dataclass(frozen=True, slots=True)
class E2nodeComponentNg:
    amf_name: str


@dataclass(frozen=True, slots=True)
class E2nodeComponentXn:
    node: GlobalGnbId | GlobalNgEnbId


@dataclass(frozen=True, slots=True)
class E2nodeComponentE1:
    gnb_cu_up_id: int

    def __post_init__(self) -> None:
        _check_range(self.gnb_cu_up_id, 0, _MAX_NODE_PART, "gnb_cu_up_id")


@dataclass(frozen=True, slots=True)
class E2nodeComponentF1:
    gnb_du_id: int

    def __post_init__(self) -> None:
        _check_range(self.gnb_du_id, 0, _MAX_NODE_PART, "gnb_du_id")


@dataclass(frozen=True, slots=True)
class E2nodeComponentW1:
    ng_enb_du_id: int

    def __post_init__(self) -> None:
        _check_range(self.ng_enb_du_id, 0, _MAX_NODE_PART, "ng_enb_du_id")


@dataclass(frozen=True, slots=True)
class E2nodeComponentS1:
    mme_name: str


@dataclass(frozen=True, slots=True)
class E2nodeComponentX2:
    global_enb: GlobalEnbId | None = None
    global_en_gnb: GlobalEnGnbId | None = None


E2nodeComponentId: TypeAlias = (
    E2nodeComponentNg
    | E2nodeComponentXn
    | E2nodeComponentE1
    | E2nodeComponentF1
    | E2nodeComponentW1
    | E2nodeComponentS1
    | E2nodeComponentX2
)
_COMPONENT_TYPES: Final = (
    E2nodeComponentNg,
    E2nodeComponentXn,
    E2nodeComponentE1,
    E2nodeComponentF1,
    E2nodeComponentW1,
    E2nodeComponentS1,
    E2nodeComponentX2,
)


@dataclass(frozen=True, slots=True)
class ComponentConfigAddition:
    """E2nodeComponentConfigAddition-Item: which component, and its setup request/response (opaque)."""

    interface_type: E2nodeComponentInterfaceType
    component_id: E2nodeComponentId
    request_part: bytes
    response_part: bytes

    def __post_init__(self) -> None:
        _check_bytes(self.request_part, "request_part")
        _check_bytes(self.response_part, "response_part")
        _check(isinstance(self.component_id, _COMPONENT_TYPES), "component_id", self.component_id, "unknown component")


@dataclass(frozen=True, slots=True)
class ComponentConfigAdditionAck:
    interface_type: E2nodeComponentInterfaceType
    component_id: E2nodeComponentId
    outcome: UpdateOutcome
    failure_cause: Cause | None = None


@dataclass(frozen=True, slots=True)
class TnlInformation:
    address: BitString
    port: BitString | None = None

    def __post_init__(self) -> None:
        _check(isinstance(self.address, BitString) and self.address.length >= 1, "address", self.address, "bits")
        if self.port is not None:
            _check_bits(self.port, "port", (16,))


# -- messages -------------------------------------------------------------------------------------------


def _check_call_process(v: bytes | None) -> None:
    if v is not None:
        _check_bytes(v, "call_process_id")


@dataclass(frozen=True, slots=True)
class RicIndication:
    PROCEDURE: ClassVar[int] = 5
    KIND: ClassVar[PduKind] = PduKind.INITIATING

    request_id: RicRequestId
    ran_function_id: int
    action_id: int
    indication_type: IndicationType
    header: bytes
    message: bytes
    sn: int | None = None
    call_process_id: bytes | None = None

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")
        _check_range(self.action_id, 0, 255, "action_id")
        if self.sn is not None:
            _check_range(self.sn, 0, 65535, "sn")
        _check_bytes(self.header, "header")
        _check_bytes(self.message, "message")
        _check_call_process(self.call_process_id)


@dataclass(frozen=True, slots=True)
class RicControlRequest:
    PROCEDURE: ClassVar[int] = 4
    KIND: ClassVar[PduKind] = PduKind.INITIATING

    request_id: RicRequestId
    ran_function_id: int
    header: bytes
    message: bytes
    call_process_id: bytes | None = None
    ack_request: ControlAckRequest | None = None

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")
        _check_bytes(self.header, "header")
        _check_bytes(self.message, "message")
        _check_call_process(self.call_process_id)


@dataclass(frozen=True, slots=True)
class RicControlAcknowledge:
    PROCEDURE: ClassVar[int] = 4
    KIND: ClassVar[PduKind] = PduKind.SUCCESSFUL

    request_id: RicRequestId
    ran_function_id: int
    call_process_id: bytes | None = None
    outcome: bytes | None = None

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")
        _check_call_process(self.call_process_id)
        if self.outcome is not None:
            _check_bytes(self.outcome, "outcome")


@dataclass(frozen=True, slots=True)
class RicControlFailure:
    PROCEDURE: ClassVar[int] = 4
    KIND: ClassVar[PduKind] = PduKind.UNSUCCESSFUL

    request_id: RicRequestId
    ran_function_id: int
    cause: Cause
    call_process_id: bytes | None = None
    outcome: bytes | None = None
    criticality_diagnostics: CriticalityDiagnostics | None = None

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")
        _check_call_process(self.call_process_id)
        if self.outcome is not None:
            _check_bytes(self.outcome, "outcome")


@dataclass(frozen=True, slots=True)
class RicSubscriptionRequest:
    """RICsubscriptionRequest. ``start_time``/``end_time`` (8 octets each) are E2AP v3 additions."""

    PROCEDURE: ClassVar[int] = 8
    KIND: ClassVar[PduKind] = PduKind.INITIATING

    request_id: RicRequestId
    ran_function_id: int
    event_trigger: bytes
    actions: tuple[ActionToBeSetup, ...]
    start_time: bytes | None = None
    end_time: bytes | None = None

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")
        _check_bytes(self.event_trigger, "event_trigger")
        _check(1 <= len(self.actions) <= 16, "actions", len(self.actions), "1..16 actions")
        ids = [a.action_id for a in self.actions]
        _check(len(set(ids)) == len(ids), "actions", ids, "duplicate action ids")
        if self.start_time is not None:
            _check_bytes(self.start_time, "start_time", 8)
        if self.end_time is not None:
            _check_bytes(self.end_time, "end_time", 8)


@dataclass(frozen=True, slots=True)
class RicSubscriptionResponse:
    PROCEDURE: ClassVar[int] = 8
    KIND: ClassVar[PduKind] = PduKind.SUCCESSFUL

    request_id: RicRequestId
    ran_function_id: int
    admitted: tuple[int, ...]
    not_admitted: tuple[ActionNotAdmitted, ...] = ()

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")
        _check(1 <= len(self.admitted) <= 16, "admitted", len(self.admitted), "1..16 admitted actions")
        for a in self.admitted:
            _check_range(a, 0, 255, "admitted")
        _check(len(self.not_admitted) <= 16, "not_admitted", len(self.not_admitted), "at most 16")


@dataclass(frozen=True, slots=True)
class RicSubscriptionFailure:
    PROCEDURE: ClassVar[int] = 8
    KIND: ClassVar[PduKind] = PduKind.UNSUCCESSFUL

    request_id: RicRequestId
    ran_function_id: int
    cause: Cause
    criticality_diagnostics: CriticalityDiagnostics | None = None

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")


@dataclass(frozen=True, slots=True)
class RicSubscriptionDeleteRequest:
    PROCEDURE: ClassVar[int] = 9
    KIND: ClassVar[PduKind] = PduKind.INITIATING

    request_id: RicRequestId
    ran_function_id: int

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")


@dataclass(frozen=True, slots=True)
class RicSubscriptionDeleteResponse:
    PROCEDURE: ClassVar[int] = 9
    KIND: ClassVar[PduKind] = PduKind.SUCCESSFUL

    request_id: RicRequestId
    ran_function_id: int

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")


@dataclass(frozen=True, slots=True)
class RicSubscriptionDeleteFailure:
    PROCEDURE: ClassVar[int] = 9
    KIND: ClassVar[PduKind] = PduKind.UNSUCCESSFUL

    request_id: RicRequestId
    ran_function_id: int
    cause: Cause
    criticality_diagnostics: CriticalityDiagnostics | None = None

    def __post_init__(self) -> None:
        _check_range(self.ran_function_id, 0, 4095, "ran_function_id")


@dataclass(frozen=True, slots=True)
class E2setupRequest:
    PROCEDURE: ClassVar[int] = 1
    KIND: ClassVar[PduKind] = PduKind.INITIATING

    transaction_id: int
    global_e2node_id: GlobalE2NodeId
    ran_functions: tuple[RanFunction, ...]
    component_configs: tuple[ComponentConfigAddition, ...]

    def __post_init__(self) -> None:
        _check(self.transaction_id >= 0, "transaction_id", self.transaction_id, "must be >= 0")
        _check(1 <= len(self.ran_functions) <= 256, "ran_functions", len(self.ran_functions), "1..256 functions")
        n = len(self.component_configs)
        _check(1 <= n <= 1024, "component_configs", n, "1..1024 component configurations")


@dataclass(frozen=True, slots=True)
class E2setupResponse:
    PROCEDURE: ClassVar[int] = 1
    KIND: ClassVar[PduKind] = PduKind.SUCCESSFUL

    transaction_id: int
    global_ric_id: GlobalRicId
    component_config_acks: tuple[ComponentConfigAdditionAck, ...]
    accepted: tuple[RanFunctionIdItem, ...] = ()
    rejected: tuple[RanFunctionIdCause, ...] = ()

    def __post_init__(self) -> None:
        _check(self.transaction_id >= 0, "transaction_id", self.transaction_id, "must be >= 0")
        _check(len(self.accepted) <= 256, "accepted", len(self.accepted), "at most 256")
        _check(len(self.rejected) <= 256, "rejected", len(self.rejected), "at most 256")
        n = len(self.component_config_acks)
        _check(1 <= n <= 1024, "component_config_acks", n, "1..1024 acknowledgements")


@dataclass(frozen=True, slots=True)
class E2setupFailure:
    PROCEDURE: ClassVar[int] = 1
    KIND: ClassVar[PduKind] = PduKind.UNSUCCESSFUL

    transaction_id: int
    cause: Cause
    time_to_wait: SetupTimeToWait | None = None
    criticality_diagnostics: CriticalityDiagnostics | None = None
    tnl_information: TnlInformation | None = None

    def __post_init__(self) -> None:
        _check(self.transaction_id >= 0, "transaction_id", self.transaction_id, "must be >= 0")


@dataclass(frozen=True, slots=True)
class ErrorIndication:
    PROCEDURE: ClassVar[int] = 2
    KIND: ClassVar[PduKind] = PduKind.INITIATING

    transaction_id: int | None = None
    request_id: RicRequestId | None = None
    ran_function_id: int | None = None
    cause: Cause | None = None
    criticality_diagnostics: CriticalityDiagnostics | None = None

    def __post_init__(self) -> None:
        if self.ran_function_id is not None:
            _check_range(self.ran_function_id, 0, 4095, "ran_function_id")
        if self.transaction_id is not None:
            _check(self.transaction_id >= 0, "transaction_id", self.transaction_id, "must be >= 0")


E2apMessage: TypeAlias = (
    RicIndication
    | RicControlRequest
    | RicControlAcknowledge
    | RicControlFailure
    | RicSubscriptionRequest
    | RicSubscriptionResponse
    | RicSubscriptionFailure
    | RicSubscriptionDeleteRequest
    | RicSubscriptionDeleteResponse
    | RicSubscriptionDeleteFailure
    | E2setupRequest
    | E2setupResponse
    | E2setupFailure
    | ErrorIndication
)

MESSAGE_TYPES: Final[tuple[type[Any], ...]] = (
    RicIndication,
    RicControlRequest,
    RicControlAcknowledge,
    RicControlFailure,
    RicSubscriptionRequest,
    RicSubscriptionResponse,
    RicSubscriptionFailure,
    RicSubscriptionDeleteRequest,
    RicSubscriptionDeleteResponse,
    RicSubscriptionDeleteFailure,
    E2setupRequest,
    E2setupResponse,
    E2setupFailure,
    ErrorIndication,
)

# Procedure criticality (E2AP-PDU-Descriptions).
_PROC_CRITICALITY: Final = {1: 0, 2: 1, 4: 0, 5: 1, 8: 0, 9: 0}

# -- length determinants on bytes -------------------------------------------------------------------------

_16K: Final = 16384


def _len_prefixed(raw: bytes) -> bytes:
    """An unconstrained length determinant followed by the octets (fragmented from 16K)."""
    n = len(raw)
    if n < 128:
        return bytes((n,)) + raw
    if n < _16K:
        return (0x8000 | n).to_bytes(2, "big") + raw
    out = bytearray()
    i = 0
    while n - i >= _16K:
        m = min(4, (n - i) // _16K)
        out.append(0xC0 | m)
        out += raw[i : i + m * _16K]
        i += m * _16K
    rest = n - i
    out += bytes((rest,)) if rest < 128 else (0x8000 | rest).to_bytes(2, "big")
    out += raw[i:]
    return bytes(out)


def _read_len_prefixed(data: bytes, off: int, end: int) -> tuple[bytes, int]:
    """Read a length determinant + octets at byte ``off``; returns (octets, next offset)."""
    if off >= end:
        raise E2DecodeError("truncated length determinant", data=data, bit_position=off * 8)
    b = data[off]
    if b < 0x80:
        e = off + 1 + b
        if e > end:
            raise E2DecodeError(f"length {b} exceeds the data", data=data, bit_position=off * 8)
        return data[off + 1 : e], e
    if b < 0xC0:
        if off + 2 > end:
            raise E2DecodeError("truncated length determinant", data=data, bit_position=off * 8)
        n = ((b & 0x3F) << 8) | data[off + 1]
        e = off + 2 + n
        if e > end:
            raise E2DecodeError(f"length {n} exceeds the data", data=data, bit_position=off * 8)
        return data[off + 2 : e], e
    out = bytearray()
    while True:
        if off >= end:
            raise E2DecodeError("truncated fragmented length", data=data, bit_position=off * 8)
        b = data[off]
        if b >= 0xC0:
            m = b & 0x3F
            if m < 1 or m > 4:
                raise E2DecodeError(f"invalid fragment size {m}", data=data, bit_position=off * 8)
            e = off + 1 + m * _16K
            if e > end:
                raise E2DecodeError("fragment exceeds the data", data=data, bit_position=off * 8)
            out += data[off + 1 : e]
            off = e
            continue
        chunk, off = _read_len_prefixed(data, off, end)
        out += chunk
        return bytes(out), off


# -- IE value codecs -----------------------------------------------------------------------------------
# Each IE value is a complete encoding inside an open type; encoders return its bytes, decoders take them.


def _enc_request_id(v: RicRequestId) -> bytes:
    return b"\x00" + v.requestor_id.to_bytes(2, "big") + v.instance_id.to_bytes(2, "big")


def _dec_request_id(raw: bytes) -> RicRequestId:
    if len(raw) < 5:
        raise E2DecodeError("RICrequestID needs 5 octets", data=raw)
    if raw[0] & 0x80:
        d = PerDecoder(raw)
        d.bit()
        d.align()
        req = int.from_bytes(d.octets(2), "big")
        inst = int.from_bytes(d.octets(2), "big")
        d.skip_extensions()
        return RicRequestId(req, inst)
    # The ids of an xApp's subscriptions recur in every indication and control answer: decoded once.
    rid = _REQUEST_IDS.get(raw)
    if rid is None:
        rid = RicRequestId(int.from_bytes(raw[1:3], "big"), int.from_bytes(raw[3:5], "big"))
        if len(_REQUEST_IDS) >= 4096:
            _REQUEST_IDS.clear()
        _REQUEST_IDS[raw] = rid
    return rid


_REQUEST_IDS: dict[bytes, RicRequestId] = {}


def _enc_u16(v: int) -> bytes:
    return v.to_bytes(2, "big")


def _dec_ran_function_id(raw: bytes) -> int:
    if len(raw) < 2:
        raise E2DecodeError("RANfunctionID needs 2 octets", data=raw)
    v = (raw[0] << 8) | raw[1]
    if v > 4095:
        raise E2DecodeError(f"RANfunctionID {v} outside 0..4095", data=raw)
    return v


def _dec_u16(raw: bytes) -> int:
    if len(raw) < 2:
        raise E2DecodeError("value needs 2 octets", data=raw)
    return (raw[0] << 8) | raw[1]


def _enc_u8(v: int) -> bytes:
    return bytes((v,))


def _dec_u8(raw: bytes) -> int:
    if not raw:
        raise E2DecodeError("value needs 1 octet", data=raw)
    return raw[0]


def _enc_octets(v: bytes) -> bytes:
    return _len_prefixed(v)


def _dec_octets(raw: bytes) -> bytes:
    value, _ = _read_len_prefixed(raw, 0, len(raw))
    return value


def _enc_enum_ext(index: int, n_root: int) -> bytes:
    e = PerEncoder()
    e.enumerated(index, n_root, True)
    return e.to_bytes()


def _dec_enum_ext(raw: bytes, n_root: int, kind: Callable[[int], Any]) -> Any:
    d = PerDecoder(raw)
    idx = d.enumerated(n_root, True)
    try:
        return kind(idx)
    except ValueError as exc:
        raise E2DecodeError(f"unknown enumerated value {idx}", data=raw) from exc


def _enc_transaction_id(v: int) -> bytes:
    e = PerEncoder()
    e.integer(v, 0, 255, True, "transaction_id")
    return e.to_bytes()


def _dec_transaction_id(raw: bytes) -> int:
    return PerDecoder(raw).integer(0, 255, True)


# Cause


def _enc_cause_into(e: PerEncoder, c: Cause) -> None:
    e.choice(int(c.group), 6, True)
    root, _ = _CAUSE_NAMES[c.group]
    e.enumerated(c.value, len(root), True)


def _dec_cause_from(d: PerDecoder) -> Cause:
    g = d.choice(6, True)
    if g >= 6:
        raise d.error(f"unknown Cause alternative {g}")
    group = CauseGroup(g)
    root, _ = _CAUSE_NAMES[group]
    v = d.enumerated(len(root), True)
    if v >= len(root) + 64:
        raise d.error(f"Cause value {v} too large")
    return Cause(group, v)


def _enc_cause(c: Cause) -> bytes:
    e = PerEncoder()
    _enc_cause_into(e, c)
    return e.to_bytes()


def _dec_cause(raw: bytes) -> Cause:
    return _dec_cause_from(PerDecoder(raw))


# CriticalityDiagnostics


def _enc_request_id_into(e: PerEncoder, v: RicRequestId) -> None:
    e.put(0, 1)
    e.constrained(v.requestor_id, 65536)
    e.constrained(v.instance_id, 65536)


def _dec_request_id_from(d: PerDecoder) -> RicRequestId:
    ext = d.bit()
    req = d.constrained(65536)
    inst = d.constrained(65536)
    if ext:
        d.skip_extensions()
    return RicRequestId(req, inst)


def _enc_crit_diag(v: CriticalityDiagnostics) -> bytes:
    e = PerEncoder()
    bitmap = (
        (v.procedure_code is not None) << 4
        | (v.triggering_message is not None) << 3
        | (v.procedure_criticality is not None) << 2
        | (v.request_id is not None) << 1
        | bool(v.ie_diagnostics)
    )
    e.preamble(True, 5, bitmap)
    if v.procedure_code is not None:
        e.constrained(v.procedure_code, 256)
    if v.triggering_message is not None:
        e.enumerated(int(v.triggering_message), 3)
    if v.procedure_criticality is not None:
        e.enumerated(int(v.procedure_criticality), 3)
    if v.request_id is not None:
        _enc_request_id_into(e, v.request_id)
    if v.ie_diagnostics:
        e.count(len(v.ie_diagnostics), 1, 256)
        for item in v.ie_diagnostics:
            e.put(0, 1)
            e.enumerated(int(item.ie_criticality), 3)
            e.constrained(item.ie_id, 65536)
            e.enumerated(int(item.type_of_error), 2, True)
    return e.to_bytes()


def _dec_crit_diag(raw: bytes) -> CriticalityDiagnostics:
    d = PerDecoder(raw)
    ext, bitmap = d.preamble(True, 5)
    pc = d.constrained(256) if bitmap & 16 else None
    tm = TriggeringMessage(_enum_root(d, 3)) if bitmap & 8 else None
    pcrit = Criticality(_enum_root(d, 3)) if bitmap & 4 else None
    rid = _dec_request_id_from(d) if bitmap & 2 else None
    items: list[CriticalityDiagnosticsItem] = []
    if bitmap & 1:
        n = d.count(1, 256, min_bits_each=19)
        for _ in range(n):
            iext = d.bit()
            crit = Criticality(_enum_root(d, 3))
            ie_id = d.constrained(65536)
            toe = d.enumerated(2, True)
            if toe > 1:
                raise d.error(f"unknown TypeOfError {toe}")
            if iext:
                d.skip_extensions()
            items.append(CriticalityDiagnosticsItem(crit, ie_id, TypeOfError(toe)))
    if ext:
        d.skip_extensions()
    return CriticalityDiagnostics(pc, tm, pcrit, rid, tuple(items))


def _enum_root(d: PerDecoder, n: int) -> int:
    v = d.constrained(n)
    if v >= n:
        raise d.error(f"enumerated index {v} outside 0..{n - 1}")
    return v


# Node identities


def _enc_plmn(e: PerEncoder, plmn: bytes) -> None:
    e.octets(plmn)


def _enc_gnb_id_choice(e: PerEncoder, bits: BitString) -> None:
    e.choice(0, 1, True)
    e.bit_string(bits.value, bits.length, 22, 32)


def _dec_gnb_id_choice(d: PerDecoder) -> BitString:
    idx = d.choice(1, True)
    if idx != 0:
        raise d.error(f"unknown gNB-ID alternative {idx}")
    v, n = d.bit_string(22, 32)
    return BitString(v, n)


def _enc_global_gnb(e: PerEncoder, v: GlobalGnbId) -> None:
    e.put(0, 1)
    e.octets(v.plmn)
    _enc_gnb_id_choice(e, v.gnb_id)


def _dec_global_gnb(d: PerDecoder) -> GlobalGnbId:
    ext = d.bit()
    plmn = d.octets(3)
    gid = _dec_gnb_id_choice(d)
    if ext:
        d.skip_extensions()
    return GlobalGnbId(plmn, gid)


def _enc_global_en_gnb(e: PerEncoder, v: GlobalEnGnbId) -> None:
    e.put(0, 1)
    e.octets(v.plmn)
    _enc_gnb_id_choice(e, v.gnb_id)


def _dec_global_en_gnb(d: PerDecoder) -> GlobalEnGnbId:
    ext = d.bit()
    plmn = d.octets(3)
    gid = _dec_gnb_id_choice(d)
    if ext:
        d.skip_extensions()
    return GlobalEnGnbId(plmn, gid)


# ENB-ID-Choice (XnAP): macro 20, short-macro 18, long-macro 21; all root alternatives.
_NG_ENB_LENGTHS: Final = (20, 18, 21)


def _enc_global_ng_enb(e: PerEncoder, v: GlobalNgEnbId) -> None:
    e.put(0, 1)
    e.octets(v.plmn)
    idx = _NG_ENB_LENGTHS.index(v.enb_id.length)
    e.choice(idx, 3, True)
    e.bit_string(v.enb_id.value, v.enb_id.length, v.enb_id.length, v.enb_id.length)


def _dec_global_ng_enb(d: PerDecoder) -> GlobalNgEnbId:
    ext = d.bit()
    plmn = d.octets(3)
    idx = d.choice(3, True)
    if idx >= 3:
        raise d.error(f"unknown ENB-ID-Choice alternative {idx}")
    n = _NG_ENB_LENGTHS[idx]
    v, _ = d.bit_string(n, n)
    if ext:
        d.skip_extensions()
    return GlobalNgEnbId(plmn, BitString(v, n))


# ENB-ID (X2AP): root macro 20, home 28; extension alternatives short-macro 18, long-macro 21.
_ENB_LENGTHS: Final = (20, 28, 18, 21)


def _enc_global_enb(e: PerEncoder, v: GlobalEnbId) -> None:
    e.put(0, 1)
    e.octets(v.plmn)
    idx = _ENB_LENGTHS.index(v.enb_id.length)
    e.choice(idx, 2, True)
    if idx < 2:
        e.bit_string(v.enb_id.value, v.enb_id.length, v.enb_id.length, v.enb_id.length)
    else:
        sub = PerEncoder()
        sub.bit_string(v.enb_id.value, v.enb_id.length, v.enb_id.length, v.enb_id.length)
        e.open_type(sub.to_bytes())


def _dec_global_enb(d: PerDecoder) -> GlobalEnbId:
    ext = d.bit()
    plmn = d.octets(3)
    idx = d.choice(2, True)
    if idx >= 4:
        raise d.error(f"unknown ENB-ID alternative {idx}")
    n = _ENB_LENGTHS[idx]
    if idx < 2:
        v, _ = d.bit_string(n, n)
    else:
        v, _ = d.open_type().bit_string(n, n)
    if ext:
        d.skip_extensions()
    return GlobalEnbId(plmn, BitString(v, n))


def _enc_node_part(e: PerEncoder, v: int) -> None:
    e.constrained(v, _MAX_NODE_PART + 1)


def _dec_node_part(d: PerDecoder) -> int:
    return d.constrained(_MAX_NODE_PART + 1)


def _enc_global_e2node(v: GlobalE2NodeId) -> bytes:
    e = PerEncoder()
    if isinstance(v, GnbE2NodeId):
        e.choice(0, 4, True)
        bitmap = (v.global_en_gnb is not None) << 2 | (v.gnb_cu_up_id is not None) << 1 | (v.gnb_du_id is not None)
        e.preamble(True, 3, bitmap)
        _enc_global_gnb(e, v.global_gnb)
        if v.global_en_gnb is not None:
            _enc_global_en_gnb(e, v.global_en_gnb)
        if v.gnb_cu_up_id is not None:
            _enc_node_part(e, v.gnb_cu_up_id)
        if v.gnb_du_id is not None:
            _enc_node_part(e, v.gnb_du_id)
    elif isinstance(v, EnGnbE2NodeId):
        e.choice(1, 4, True)
        e.preamble(True, 2, (v.en_gnb_cu_up_id is not None) << 1 | (v.en_gnb_du_id is not None))
        _enc_global_en_gnb(e, v.global_en_gnb)
        if v.en_gnb_cu_up_id is not None:
            _enc_node_part(e, v.en_gnb_cu_up_id)
        if v.en_gnb_du_id is not None:
            _enc_node_part(e, v.en_gnb_du_id)
    elif isinstance(v, NgEnbE2NodeId):
        e.choice(2, 4, True)
        e.preamble(True, 2, (v.global_enb is not None) << 1 | (v.ng_enb_du_id is not None))
        _enc_global_ng_enb(e, v.global_ng_enb)
        if v.global_enb is not None:
            _enc_global_enb(e, v.global_enb)
        if v.ng_enb_du_id is not None:
            _enc_node_part(e, v.ng_enb_du_id)
    elif isinstance(v, EnbE2NodeId):
        e.choice(3, 4, True)
        e.put(0, 1)
        _enc_global_enb(e, v.global_enb)
    else:
        raise E2ValueError("not a GlobalE2node-ID", field="global_e2node_id", value=v)
    return e.to_bytes()


def _dec_global_e2node(raw: bytes) -> GlobalE2NodeId:
    d = PerDecoder(raw)
    idx = d.choice(4, True)
    out: GlobalE2NodeId
    if idx == 0:
        ext, bm = d.preamble(True, 3)
        g = _dec_global_gnb(d)
        en = _dec_global_en_gnb(d) if bm & 4 else None
        cu = _dec_node_part(d) if bm & 2 else None
        du = _dec_node_part(d) if bm & 1 else None
        out = GnbE2NodeId(g, en, cu, du)
    elif idx == 1:
        ext, bm = d.preamble(True, 2)
        en2 = _dec_global_en_gnb(d)
        cu = _dec_node_part(d) if bm & 2 else None
        du = _dec_node_part(d) if bm & 1 else None
        out = EnGnbE2NodeId(en2, cu, du)
    elif idx == 2:
        ext, bm = d.preamble(True, 2)
        ng = _dec_global_ng_enb(d)
        enb = _dec_global_enb(d) if bm & 2 else None
        du = _dec_node_part(d) if bm & 1 else None
        out = NgEnbE2NodeId(ng, enb, du)
    elif idx == 3:
        ext, _ = d.preamble(True, 0)
        out = EnbE2NodeId(_dec_global_enb(d))
    else:
        raise d.error(f"unknown GlobalE2node-ID alternative {idx}")
    if ext:
        d.skip_extensions()
    return out


def _enc_global_ric(v: GlobalRicId) -> bytes:
    e = PerEncoder()
    e.put(0, 1)
    e.octets(v.plmn)
    e.bit_string(v.ric_id.value, 20, 20, 20)
    return e.to_bytes()


def _dec_global_ric(raw: bytes) -> GlobalRicId:
    d = PerDecoder(raw)
    ext = d.bit()
    plmn = d.octets(3)
    v, _ = d.bit_string(20, 20)
    if ext:
        d.skip_extensions()
    return GlobalRicId(plmn, BitString(v, 20))


# E2nodeComponentID


def _enc_component_id(e: PerEncoder, v: E2nodeComponentId) -> None:
    idx = _COMPONENT_TYPES.index(type(v))
    e.choice(idx, 7, True)
    if isinstance(v, E2nodeComponentNg):
        e.put(0, 1)
        e.printable_string(v.amf_name, 1, 150, True, "amf_name")
    elif isinstance(v, E2nodeComponentXn):
        e.put(0, 1)
        if isinstance(v.node, GlobalGnbId):
            e.choice(0, 2, True)
            _enc_global_gnb(e, v.node)
        else:
            e.choice(1, 2, True)
            _enc_global_ng_enb(e, v.node)
    elif isinstance(v, E2nodeComponentE1):
        e.put(0, 1)
        _enc_node_part(e, v.gnb_cu_up_id)
    elif isinstance(v, E2nodeComponentF1):
        e.put(0, 1)
        _enc_node_part(e, v.gnb_du_id)
    elif isinstance(v, E2nodeComponentW1):
        e.put(0, 1)
        _enc_node_part(e, v.ng_enb_du_id)
    elif isinstance(v, E2nodeComponentS1):
        e.put(0, 1)
        e.printable_string(v.mme_name, 1, 150, True, "mme_name")
    else:
        e.preamble(True, 2, (v.global_enb is not None) << 1 | (v.global_en_gnb is not None))
        if v.global_enb is not None:
            _enc_global_enb(e, v.global_enb)
        if v.global_en_gnb is not None:
            _enc_global_en_gnb(e, v.global_en_gnb)


def _dec_component_id(d: PerDecoder) -> E2nodeComponentId:
    idx = d.choice(7, True)
    out: E2nodeComponentId
    if idx == 0:
        ext = d.bit()
        out = E2nodeComponentNg(d.printable_string(1, 150, True))
    elif idx == 1:
        ext = d.bit()
        alt = d.choice(2, True)
        if alt == 0:
            out = E2nodeComponentXn(_dec_global_gnb(d))
        elif alt == 1:
            out = E2nodeComponentXn(_dec_global_ng_enb(d))
        else:
            raise d.error(f"unknown GlobalNG-RANNode-ID alternative {alt}")
    elif idx == 2:
        ext = d.bit()
        out = E2nodeComponentE1(_dec_node_part(d))
    elif idx == 3:
        ext = d.bit()
        out = E2nodeComponentF1(_dec_node_part(d))
    elif idx == 4:
        ext = d.bit()
        out = E2nodeComponentW1(_dec_node_part(d))
    elif idx == 5:
        ext = d.bit()
        out = E2nodeComponentS1(d.printable_string(1, 150, True))
    elif idx == 6:
        ext_b, bm = d.preamble(True, 2)
        ext = int(ext_b)
        enb = _dec_global_enb(d) if bm & 2 else None
        en = _dec_global_en_gnb(d) if bm & 1 else None
        out = E2nodeComponentX2(enb, en)
    else:
        raise d.error(f"unknown E2nodeComponentID alternative {idx}")
    if ext:
        d.skip_extensions()
    return out


def _enc_interface_type(e: PerEncoder, v: E2nodeComponentInterfaceType) -> None:
    e.enumerated(int(v), 7, True)


def _dec_interface_type(d: PerDecoder) -> E2nodeComponentInterfaceType:
    v = d.enumerated(7, True)
    if v >= 7:
        raise d.error(f"unknown E2nodeComponentInterfaceType {v}")
    return E2nodeComponentInterfaceType(v)


# -- single-container list items (ProtocolIE-SingleContainer) ---------------------------------------------


def _single(ie_id: int, crit: int, value: bytes) -> bytes:
    return ie_id.to_bytes(2, "big") + bytes((crit << 6,)) + _len_prefixed(value)


def _enc_list(items: list[bytes], lb: int, ub: int, field: str) -> bytes:
    """A SEQUENCE (SIZE(lb..ub)) OF ProtocolIE-SingleContainer, items already wrapped with _single."""
    e = PerEncoder()
    e.count(len(items), lb, ub, field=field)
    for it in items:
        e.octets(it)
    return e.to_bytes()


def _dec_list(raw: bytes, lb: int, ub: int, item_id: int) -> list[bytes]:
    """Decode a list of single containers of IE ``item_id``; returns each item's value bytes."""
    d = PerDecoder(raw)
    n = d.count(lb, ub, min_bits_each=24)
    d.align()
    off = d.pos >> 3
    end = len(raw)
    out = []
    for i in range(n):
        if off + 3 > end:
            raise E2DecodeError(f"truncated list item {i}", data=raw, bit_position=off * 8)
        ie = (raw[off] << 8) | raw[off + 1]
        if ie != item_id:
            raise E2DecodeError(f"list item {i} has IE id {ie}, expected {item_id}", data=raw, bit_position=off * 8)
        value, off = _read_len_prefixed(raw, off + 3, end)
        out.append(value)
    return out


def _enc_action_item(a: ActionToBeSetup, version: E2apVersion) -> bytes:
    e = PerEncoder()
    has_ext = a.execution_order is not None
    if has_ext and version < E2apVersion.V3:
        raise E2ValueError("execution_order is an E2AP v3 field", field="execution_order", value=a.execution_order)
    e.preamble(True, 2, (a.definition is not None) << 1 | (a.subsequent_action is not None), has_ext)
    e.constrained(a.action_id, 256)
    e.enumerated(int(a.action_type), 3, True)
    if a.definition is not None:
        e.octets(_len_prefixed(a.definition))
    if a.subsequent_action is not None:
        e.put(0, 1)
        e.enumerated(int(a.subsequent_action.type), 2, True)
        e.enumerated(int(a.subsequent_action.time_to_wait), 17, True)
    if has_ext:
        sub = PerEncoder()
        sub.integer(a.execution_order or 0, 0, 255, True, "execution_order")
        e.extensions([sub.to_bytes()])
    return e.to_bytes()


def _dec_action_item(raw: bytes) -> ActionToBeSetup:
    d = PerDecoder(raw)
    ext, bm = d.preamble(True, 2)
    aid = d.constrained(256)
    at = d.enumerated(3, True)
    if at >= 3:
        raise d.error(f"unknown RICactionType {at}")
    definition = _dec_octets_per(d) if bm & 2 else None
    sub = None
    if bm & 1:
        sext = d.bit()
        st = d.enumerated(2, True)
        ttw = d.enumerated(17, True)
        if st >= 2 or ttw >= 17:
            raise d.error("unknown RICsubsequentAction value")
        if sext:
            d.skip_extensions()
        sub = SubsequentAction(SubsequentActionType(st), TimeToWait(ttw))
    order = None
    if ext:
        for item in d.extensions():
            if item is not None and item[0] == 0:
                order = item[1].integer(0, 255, True)
    return ActionToBeSetup(aid, ActionType(at), definition, sub, order)


def _dec_octets_per(d: PerDecoder) -> bytes:
    return d.octet_string()


def _enc_subscription_details(v: RicSubscriptionRequest, version: E2apVersion) -> bytes:
    e = PerEncoder()
    e.put(0, 1)
    e.octets(_len_prefixed(v.event_trigger))
    items = [_single(19, 1, _enc_action_item(a, version)) for a in v.actions]
    e.octets(_enc_list(items, 1, 16, "actions"))
    return e.to_bytes()


def _dec_subscription_details(raw: bytes) -> tuple[bytes, tuple[ActionToBeSetup, ...]]:
    d = PerDecoder(raw)
    ext = d.bit()
    trigger = d.octet_string()
    start = d.pos >> 3
    actions = []
    for i, item in enumerate(_dec_list(raw[start:], 1, 16, 19)):
        try:
            actions.append(_dec_action_item(item))
        except E2DecodeError as exc:
            exc.add_context(f"ricAction-ToBeSetup-List[{i}]")
            raise
    if ext:
        # Extension additions after the list are not defined in v2/v3; the list consumed the rest.
        pass
    return trigger, tuple(actions)


def _enc_admitted(ids: tuple[int, ...]) -> bytes:
    return _enc_list([_single(14, 1, b"\x00" + bytes((a,))) for a in ids], 1, 16, "admitted")


def _dec_admitted(raw: bytes) -> tuple[int, ...]:
    out = []
    for item in _dec_list(raw, 1, 16, 14):
        d = PerDecoder(item)
        ext = d.bit()
        out.append(d.constrained(256))
        if ext:
            d.skip_extensions()
    return tuple(out)


def _enc_id_causes(ids: list[int], causes: list[Cause], id_range: int, ie: int, lo: int, hi: int, name: str) -> bytes:
    """A list of (id, Cause) item IEs: an extensible SEQUENCE of a constrained id and a Cause per item."""
    wrapped = []
    for ident, cause in zip(ids, causes, strict=True):
        e = PerEncoder()
        e.put(0, 1)
        e.constrained(ident, id_range)
        _enc_cause_into(e, cause)
        wrapped.append(_single(ie, 1, e.to_bytes()))
    return _enc_list(wrapped, lo, hi, name)


def _dec_id_causes(raw: bytes, id_range: int, ie: int, lo: int, hi: int) -> list[tuple[int, Cause]]:
    out = []
    for item in _dec_list(raw, lo, hi, ie):
        d = PerDecoder(item)
        ext = d.bit()
        ident = d.constrained(id_range)
        cause = _dec_cause_from(d)
        if ext:
            d.skip_extensions()
        out.append((ident, cause))
    return out


def _enc_not_admitted(items: tuple[ActionNotAdmitted, ...]) -> bytes:
    return _enc_id_causes([i.action_id for i in items], [i.cause for i in items], 256, 16, 0, 16, "not_admitted")


def _dec_not_admitted(raw: bytes) -> tuple[ActionNotAdmitted, ...]:
    return tuple(ActionNotAdmitted(a, c) for a, c in _dec_id_causes(raw, 256, 16, 0, 16))


def _enc_ran_function_causes(items: tuple[RanFunctionIdCause, ...]) -> bytes:
    return _enc_id_causes([f.id for f in items], [f.cause for f in items], 4096, 7, 1, 256, "rejected")


def _dec_ran_function_causes(raw: bytes) -> tuple[RanFunctionIdCause, ...]:
    return tuple(RanFunctionIdCause(f, c) for f, c in _dec_id_causes(raw, 4096, 7, 1, 256))


def _enc_ran_functions(items: tuple[RanFunction, ...]) -> bytes:
    wrapped = []
    for f in items:
        e = PerEncoder()
        e.put(0, 1)
        e.constrained(f.id, 4096)
        e.octets(_len_prefixed(f.definition))
        e.constrained(f.revision, 4096)
        e.printable_string(f.oid, 1, 1000, True, "oid")
        wrapped.append(_single(8, 1, e.to_bytes()))
    return _enc_list(wrapped, 1, 256, "ran_functions")


def _dec_ran_functions(raw: bytes) -> tuple[RanFunction, ...]:
    out = []
    for i, item in enumerate(_dec_list(raw, 1, 256, 8)):
        try:
            d = PerDecoder(item)
            ext = d.bit()
            fid = d.constrained(4096)
            definition = d.octet_string()
            rev = d.constrained(4096)
            oid = d.printable_string(1, 1000, True)
            if ext:
                d.skip_extensions()
        except E2DecodeError as exc:
            exc.add_context(f"RANfunctions-List[{i}]")
            raise
        out.append(RanFunction(fid, definition, rev, oid))
    return tuple(out)


def _enc_ran_function_ids(items: tuple[RanFunctionIdItem, ...]) -> bytes:
    wrapped = []
    for f in items:
        e = PerEncoder()
        e.put(0, 1)
        e.constrained(f.id, 4096)
        e.constrained(f.revision, 4096)
        wrapped.append(_single(6, 1, e.to_bytes()))
    return _enc_list(wrapped, 1, 256, "accepted")


def _dec_ran_function_ids(raw: bytes) -> tuple[RanFunctionIdItem, ...]:
    out = []
    for item in _dec_list(raw, 1, 256, 6):
        d = PerDecoder(item)
        ext = d.bit()
        fid = d.constrained(4096)
        rev = d.constrained(4096)
        if ext:
            d.skip_extensions()
        out.append(RanFunctionIdItem(fid, rev))
    return tuple(out)


def _enc_component_additions(items: tuple[ComponentConfigAddition, ...]) -> bytes:
    wrapped = []
    for c in items:
        e = PerEncoder()
        e.put(0, 1)
        _enc_interface_type(e, c.interface_type)
        _enc_component_id(e, c.component_id)
        e.put(0, 1)
        e.octets(_len_prefixed(c.request_part))
        e.octets(_len_prefixed(c.response_part))
        wrapped.append(_single(51, 0, e.to_bytes()))
    return _enc_list(wrapped, 1, 1024, "component_configs")


def _dec_component_additions(raw: bytes) -> tuple[ComponentConfigAddition, ...]:
    out = []
    for i, item in enumerate(_dec_list(raw, 1, 1024, 51)):
        try:
            d = PerDecoder(item)
            ext = d.bit()
            it = _dec_interface_type(d)
            cid = _dec_component_id(d)
            cext = d.bit()
            req = d.octet_string()
            resp = d.octet_string()
            if cext:
                d.skip_extensions()
            if ext:
                d.skip_extensions()
        except E2DecodeError as exc:
            exc.add_context(f"E2nodeComponentConfigAddition-List[{i}]")
            raise
        out.append(ComponentConfigAddition(it, cid, req, resp))
    return tuple(out)


def _enc_component_acks(items: tuple[ComponentConfigAdditionAck, ...]) -> bytes:
    wrapped = []
    for c in items:
        e = PerEncoder()
        e.put(0, 1)
        _enc_interface_type(e, c.interface_type)
        _enc_component_id(e, c.component_id)
        e.preamble(True, 1, c.failure_cause is not None)
        e.enumerated(int(c.outcome), 2, True)
        if c.failure_cause is not None:
            _enc_cause_into(e, c.failure_cause)
        wrapped.append(_single(53, 0, e.to_bytes()))
    return _enc_list(wrapped, 1, 1024, "component_config_acks")


def _dec_component_acks(raw: bytes) -> tuple[ComponentConfigAdditionAck, ...]:
    out = []
    for i, item in enumerate(_dec_list(raw, 1, 1024, 53)):
        try:
            d = PerDecoder(item)
            ext = d.bit()
            it = _dec_interface_type(d)
            cid = _dec_component_id(d)
            aext, bm = d.preamble(True, 1)
            oc = d.enumerated(2, True)
            if oc >= 2:
                raise d.error(f"unknown updateOutcome {oc}")
            cause = _dec_cause_from(d) if bm else None
            if aext:
                d.skip_extensions()
            if ext:
                d.skip_extensions()
        except E2DecodeError as exc:
            exc.add_context(f"E2nodeComponentConfigAdditionAck-List[{i}]")
            raise
        out.append(ComponentConfigAdditionAck(it, cid, UpdateOutcome(oc), cause))
    return tuple(out)


def _enc_tnl(v: TnlInformation) -> bytes:
    e = PerEncoder()
    e.preamble(True, 1, v.port is not None)
    e.bit_string(v.address.value, v.address.length, 1, 160, True, "address")
    if v.port is not None:
        e.bit_string(v.port.value, 16, 16, 16)
    return e.to_bytes()


def _dec_tnl(raw: bytes) -> TnlInformation:
    d = PerDecoder(raw)
    ext, bm = d.preamble(True, 1)
    av, an = d.bit_string(1, 160, True)
    port = None
    if bm:
        pv, _ = d.bit_string(16, 16)
        port = BitString(pv, 16)
    if ext:
        d.skip_extensions()
    return TnlInformation(BitString(av, an), port)


def _enc_subscription_time(v: bytes) -> bytes:
    return v


def _dec_subscription_time(raw: bytes) -> bytes:
    if len(raw) < 8:
        raise E2DecodeError("RICsubscriptionTime needs 8 octets", data=raw)
    return raw[:8]


# -- IE tables ------------------------------------------------------------------------------------------
# (ie id, criticality, attribute, encoder, decoder, mandatory, ASN.1 name)

_IeSpec: TypeAlias = tuple[int, int, str, Callable[[Any], bytes], Callable[[bytes], Any], bool, str]


def _ie(
    ie_id: int, crit: int, attr: str, enc: Callable[[Any], bytes], dec: Callable[[bytes], Any], mand: bool, name: str
) -> _IeSpec:
    return (ie_id, crit, attr, enc, dec, mand, name)


_REQ_ID = _ie(29, 0, "request_id", _enc_request_id, _dec_request_id, True, "RICrequestID")
_FUNC_ID = _ie(5, 0, "ran_function_id", _enc_u16, _dec_ran_function_id, True, "RANfunctionID")
_CALL_PROC = _ie(20, 0, "call_process_id", _enc_octets, _dec_octets, False, "RICcallProcessID")
_CRIT_DIAG = _ie(2, 1, "criticality_diagnostics", _enc_crit_diag, _dec_crit_diag, False, "CriticalityDiagnostics")
_TRANS_ID = _ie(49, 0, "transaction_id", _enc_transaction_id, _dec_transaction_id, True, "TransactionID")
_CONTROL_OUTCOME = _ie(32, 0, "outcome", _enc_octets, _dec_octets, False, "RICcontrolOutcome")


def _dec_indication_type(raw: bytes) -> IndicationType:
    return _dec_enum_ext(raw, 2, IndicationType)  # type: ignore[no-any-return]


def _dec_ack_request(raw: bytes) -> ControlAckRequest:
    return _dec_enum_ext(raw, 2, ControlAckRequest)  # type: ignore[no-any-return]


def _dec_setup_ttw(raw: bytes) -> SetupTimeToWait:
    return _dec_enum_ext(raw, 6, SetupTimeToWait)  # type: ignore[no-any-return]


_IE_TABLES: Final[dict[type[Any], tuple[_IeSpec, ...]]] = {
    RicIndication: (
        _REQ_ID,
        _FUNC_ID,
        _ie(15, 0, "action_id", _enc_u8, _dec_u8, True, "RICactionID"),
        _ie(27, 0, "sn", _enc_u16, _dec_u16, False, "RICindicationSN"),
        _ie(
            28,
            0,
            "indication_type",
            lambda v: _enc_enum_ext(int(v), 2),
            _dec_indication_type,
            True,
            "RICindicationType",
        ),
        _ie(25, 0, "header", _enc_octets, _dec_octets, True, "RICindicationHeader"),
        _ie(26, 0, "message", _enc_octets, _dec_octets, True, "RICindicationMessage"),
        _CALL_PROC,
    ),
    RicControlRequest: (
        _REQ_ID,
        _FUNC_ID,
        _CALL_PROC,
        _ie(22, 0, "header", _enc_octets, _dec_octets, True, "RICcontrolHeader"),
        _ie(23, 0, "message", _enc_octets, _dec_octets, True, "RICcontrolMessage"),
        _ie(21, 0, "ack_request", lambda v: _enc_enum_ext(int(v), 2), _dec_ack_request, False, "RICcontrolAckRequest"),
    ),
    RicControlAcknowledge: (_REQ_ID, _FUNC_ID, _CALL_PROC, _CONTROL_OUTCOME),
    RicControlFailure: (
        _REQ_ID,
        _FUNC_ID,
        _CALL_PROC,
        _ie(1, 1, "cause", _enc_cause, _dec_cause, True, "Cause"),
        _CONTROL_OUTCOME,
        _CRIT_DIAG,
    ),
    RicSubscriptionRequest: (
        _REQ_ID,
        _FUNC_ID,
        _ie(30, 0, "_details", lambda v: v, lambda raw: raw, True, "RICsubscriptionDetails"),
        _ie(62, 0, "start_time", _enc_subscription_time, _dec_subscription_time, False, "RICsubscriptionStartTime"),
        _ie(63, 0, "end_time", _enc_subscription_time, _dec_subscription_time, False, "RICsubscriptionEndTime"),
    ),
    RicSubscriptionResponse: (
        _REQ_ID,
        _FUNC_ID,
        _ie(17, 0, "admitted", _enc_admitted, _dec_admitted, True, "RICactions-Admitted"),
        _ie(18, 0, "not_admitted", _enc_not_admitted, _dec_not_admitted, False, "RICactions-NotAdmitted"),
    ),
    RicSubscriptionFailure: (
        _REQ_ID,
        _FUNC_ID,
        _ie(1, 0, "cause", _enc_cause, _dec_cause, True, "Cause"),
        _CRIT_DIAG,
    ),
    RicSubscriptionDeleteRequest: (_REQ_ID, _FUNC_ID),
    RicSubscriptionDeleteResponse: (_REQ_ID, _FUNC_ID),
    RicSubscriptionDeleteFailure: (
        _REQ_ID,
        _FUNC_ID,
        _ie(1, 1, "cause", _enc_cause, _dec_cause, True, "Cause"),
        _CRIT_DIAG,
    ),
    E2setupRequest: (
        _TRANS_ID,
        _ie(3, 0, "global_e2node_id", _enc_global_e2node, _dec_global_e2node, True, "GlobalE2node-ID"),
        _ie(10, 0, "ran_functions", _enc_ran_functions, _dec_ran_functions, True, "RANfunctionsAdded"),
        _ie(
            50,
            0,
            "component_configs",
            _enc_component_additions,
            _dec_component_additions,
            True,
            "E2nodeComponentConfigAddition",
        ),
    ),
    E2setupResponse: (
        _TRANS_ID,
        _ie(4, 0, "global_ric_id", _enc_global_ric, _dec_global_ric, True, "GlobalRIC-ID"),
        _ie(9, 0, "accepted", _enc_ran_function_ids, _dec_ran_function_ids, False, "RANfunctionsAccepted"),
        _ie(13, 0, "rejected", _enc_ran_function_causes, _dec_ran_function_causes, False, "RANfunctionsRejected"),
        _ie(
            52,
            0,
            "component_config_acks",
            _enc_component_acks,
            _dec_component_acks,
            True,
            "E2nodeComponentConfigAdditionAck",
        ),
    ),
    E2setupFailure: (
        _TRANS_ID,
        _ie(1, 1, "cause", _enc_cause, _dec_cause, True, "Cause"),
        _ie(31, 1, "time_to_wait", lambda v: _enc_enum_ext(int(v), 6), _dec_setup_ttw, False, "TimeToWait"),
        _CRIT_DIAG,
        _ie(48, 1, "tnl_information", _enc_tnl, _dec_tnl, False, "TNLinformation"),
    ),
    ErrorIndication: (
        _ie(49, 0, "transaction_id", _enc_transaction_id, _dec_transaction_id, False, "TransactionID"),
        _ie(29, 0, "request_id", _enc_request_id, _dec_request_id, False, "RICrequestID"),
        _ie(5, 0, "ran_function_id", _enc_u16, _dec_ran_function_id, False, "RANfunctionID"),
        _ie(1, 1, "cause", _enc_cause, _dec_cause, False, "Cause"),
        _CRIT_DIAG,
    ),
}

_BY_PROCEDURE: Final[dict[tuple[int, int], type[Any]]] = {(int(cls.KIND), cls.PROCEDURE): cls for cls in MESSAGE_TYPES}
_EMPTY_TUPLE_ATTRS: Final = frozenset({"not_admitted", "accepted", "rejected"})

# -- the PDU frame --------------------------------------------------------------------------------------


def peek_procedure(data: bytes) -> tuple[PduKind, int]:
    """The PDU kind and procedure code of an E2AP PDU, read from its first two octets without decoding."""
    if len(data) < 3:
        raise E2DecodeError("E2AP PDU shorter than 3 octets", data=data, bit_position=0)
    b0 = data[0]
    if b0 & 0x80:
        raise E2DecodeError("E2AP-PDU extension alternative not supported", data=data, bit_position=0)
    kind = (b0 >> 5) & 3
    if kind > 2:
        raise E2DecodeError(f"invalid E2AP-PDU alternative {kind}", data=data, bit_position=1)
    return PduKind(kind), data[1]


def _parse_container(data: bytes, off: int, end: int) -> tuple[list[tuple[int, int, bytes]], int]:
    """Parse a message SEQUENCE { ProtocolIE-Container, ... } at byte ``off``; returns IEs (id, crit, value)."""
    if off + 3 > end:
        raise E2DecodeError("truncated IE container", data=data, bit_position=off * 8)
    if data[off] & 0x80:
        raise E2DecodeError("message extension additions not supported", data=data, bit_position=off * 8)
    n = (data[off + 1] << 8) | data[off + 2]
    off += 3
    if n * 4 > end - off:
        raise E2DecodeError(f"IE count {n} exceeds the data", data=data, bit_position=(off - 2) * 8)
    ies = []
    for _ in range(n):
        if off + 4 > end:
            raise E2DecodeError("truncated IE", data=data, bit_position=off * 8)
        ie_id = (data[off] << 8) | data[off + 1]
        crit = data[off + 2] >> 6
        if crit > 2:
            raise E2DecodeError(f"invalid criticality of IE {ie_id}", data=data, bit_position=off * 8 + 16)
        value, off = _read_len_prefixed(data, off + 3, end)
        ies.append((ie_id, crit, value))
    return ies, off


def decode_e2ap(data: bytes) -> E2apMessage:
    """Decode one E2AP PDU into its message dataclass."""
    if type(data) is bytes and _fast_indication is not None and len(data) > 2:
        # The hot path's two PDUs through the C reader; None from it: the Python decoder below decides.
        proc = data[1]
        if proc == 5:
            t = _fast_indication(data)
            if t is not None:
                return _trusted_indication(t)
        elif proc == 4:
            t = _fast_control_ack(data)
            if t is not None:
                return _trusted_control_ack(t)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise E2DecodeError(f"E2AP-PDU: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    kind, proc = peek_procedure(data)
    cls = _BY_PROCEDURE.get((int(kind), proc))
    if cls is None:
        raise E2DecodeError(f"unsupported E2AP procedure {proc} ({kind.name})", data=data, bit_position=8)
    body, end = _read_len_prefixed(data, 3, len(data))
    if end != len(data):
        raise E2DecodeError(f"{len(data) - end} octets after the E2AP PDU", data=data, bit_position=end * 8)
    try:
        if cls is RicIndication:
            return _decode_indication(body)
        if cls is RicControlAcknowledge:
            return _decode_control_ack(body)
        decoded: E2apMessage = _decode_generic(cls, body)
        return decoded
    except E2DecodeError as exc:
        exc.within(data)
        exc.add_context(cls.__name__)
        raise
    except (E2ValueError, ValueError, IndexError, OverflowError, UnicodeDecodeError, RecursionError) as exc:
        raise E2DecodeError(f"{cls.__name__}: {type(exc).__name__}: {exc}", data=data) from exc


def _decode_generic(cls: type[Any], body: bytes) -> Any:
    ies, _ = _parse_container(body, 0, len(body))
    table = _IE_TABLES[cls]
    by_id = {spec[0]: spec for spec in table}
    values: dict[str, Any] = {}
    for ie_id, crit, raw in ies:
        spec = by_id.get(ie_id)
        if spec is None:
            if crit == 0:
                raise E2DecodeError(f"unknown IE {ie_id} with criticality reject", data=body)
            continue
        attr = spec[2]
        if attr in values:
            raise E2DecodeError(f"IE {spec[6]} ({ie_id}) repeated", data=body)
        try:
            values[attr] = spec[4](raw)
        except E2DecodeError as exc:
            exc.add_context(spec[6])
            raise
    for spec in table:
        if spec[5] and spec[2] not in values:
            raise E2DecodeError(f"mandatory IE {spec[6]} ({spec[0]}) missing", data=body)
    if cls is RicSubscriptionRequest:
        try:
            trigger, actions = _dec_subscription_details(values.pop("_details"))
        except E2DecodeError as exc:
            exc.add_context("RICsubscriptionDetails")
            raise
        values["event_trigger"] = trigger
        values["actions"] = actions
    return cls(**values)


# RICindication is on the near-RT hot path: decode it straight from the bytes.
_IND_ATTR: Final = {29: 0, 5: 1, 15: 2, 27: 3, 28: 4, 25: 5, 26: 6, 20: 7}
_IND_NAMES: Final = (
    "RICrequestID",
    "RANfunctionID",
    "RICactionID",
    "RICindicationSN",
    "RICindicationType",
    "RICindicationHeader",
    "RICindicationMessage",
    "RICcallProcessID",
)


def _decode_indication(body: bytes) -> RicIndication:
    ies, _ = _parse_container(body, 0, len(body))
    slots: list[Any] = [None] * 8
    for ie_id, crit, raw in ies:
        k = _IND_ATTR.get(ie_id)
        if k is None:
            if crit == 0:
                raise E2DecodeError(f"unknown IE {ie_id} with criticality reject", data=body)
            continue
        if slots[k] is not None:
            raise E2DecodeError(f"IE {_IND_NAMES[k]} ({ie_id}) repeated", data=body)
        try:
            if k == 5 or k == 6 or k == 7:
                slots[k] = _dec_octets(raw)
            elif k == 0:
                slots[0] = _dec_request_id(raw)
            elif k == 1:
                slots[1] = _dec_ran_function_id(raw)
            elif k == 2:
                slots[2] = _dec_u8(raw)
            elif k == 3:
                slots[3] = _dec_u16(raw)
            else:
                if not raw:
                    raise E2DecodeError("empty RICindicationType", data=raw)
                b = raw[0]
                if b & 0x80:
                    raise E2DecodeError("unknown RICindicationType extension value", data=raw)
                slots[4] = IndicationType.INSERT if b & 0x40 else IndicationType.REPORT
        except E2DecodeError as exc:
            exc.add_context(_IND_NAMES[k])
            raise
    for k in (0, 1, 2, 4, 5, 6):
        if slots[k] is None:
            raise E2DecodeError(f"mandatory IE {_IND_NAMES[k]} missing", data=body)
    return RicIndication(slots[0], slots[1], slots[2], slots[4], slots[5], slots[6], slots[3], slots[7])


_ACK_ATTR: Final = {29: 0, 5: 1, 20: 2, 32: 3}
_ACK_NAMES: Final = ("RICrequestID", "RANfunctionID", "RICcallProcessID", "RICcontrolOutcome")


def _decode_control_ack(body: bytes) -> RicControlAcknowledge:
    """RICcontrolAcknowledge straight from the bytes (it follows every control on the hot path)."""
    ies, _ = _parse_container(body, 0, len(body))
    slots: list[Any] = [None] * 4
    for ie_id, crit, raw in ies:
        k = _ACK_ATTR.get(ie_id)
        if k is None:
            if crit == 0:
                raise E2DecodeError(f"unknown IE {ie_id} with criticality reject", data=body)
            continue
        if slots[k] is not None:
            raise E2DecodeError(f"IE {_ACK_NAMES[k]} ({ie_id}) repeated", data=body)
        try:
            slots[k] = (_dec_request_id, _dec_ran_function_id, _dec_octets, _dec_octets)[k](raw)
        except E2DecodeError as exc:
            exc.add_context(_ACK_NAMES[k])
            raise
    for k in (0, 1):
        if slots[k] is None:
            raise E2DecodeError(f"mandatory IE {_ACK_NAMES[k]} missing", data=body)
    return RicControlAcknowledge(slots[0], slots[1], slots[2], slots[3])


_new_object = object.__new__
_set_field = object.__setattr__


def _trusted_indication(t: tuple[Any, ...]) -> RicIndication:
    """A RicIndication from the C reader's IEs, which already meet its constraints (``__post_init__`` skipped)."""
    m: RicIndication = _new_object(RicIndication)
    _set_field(m, "request_id", _dec_request_id(t[0]))
    _set_field(m, "ran_function_id", t[1])
    _set_field(m, "action_id", t[2])
    _set_field(m, "indication_type", IndicationType.INSERT if t[4] else IndicationType.REPORT)
    _set_field(m, "header", t[5])
    _set_field(m, "message", t[6])
    _set_field(m, "sn", t[3])
    _set_field(m, "call_process_id", t[7])
    return m


def _trusted_control_ack(t: tuple[Any, ...]) -> RicControlAcknowledge:
    """A RicControlAcknowledge from the C reader's IEs (see :func:`_trusted_indication`)."""
    m: RicControlAcknowledge = _new_object(RicControlAcknowledge)
    _set_field(m, "request_id", _dec_request_id(t[0]))
    _set_field(m, "ran_function_id", t[1])
    _set_field(m, "call_process_id", t[2])
    _set_field(m, "outcome", t[3])
    return m


def encode_e2ap(msg: E2apMessage, version: E2apVersion = E2apVersion.V2) -> bytes:
    """Encode a message dataclass into an E2AP PDU for the given E2AP version."""
    cls = type(msg)
    table = _IE_TABLES.get(cls)
    if table is None:
        raise E2ValueError(f"not an E2AP message: {cls.__name__}", value=msg)
    if cls is RicControlRequest:
        if _fast_control_request is not None:
            m: RicControlRequest = msg  # type: ignore[assignment]
            rid = m.request_id
            ack = -1 if m.ack_request is None else int(m.ack_request)
            pdu = _fast_control_request(
                rid.requestor_id, rid.instance_id, m.ran_function_id, m.header, m.message, m.call_process_id, ack
            )
            if pdu is not None:
                return pdu
        body = _encode_control_request(msg)  # type: ignore[arg-type]
    elif cls is RicIndication:
        body = _encode_indication(msg)  # type: ignore[arg-type]
    elif cls is RicControlAcknowledge:
        a: RicControlAcknowledge = msg  # type: ignore[assignment]
        if _fast_control_ack_pdu is not None:
            rid = a.request_id
            pdu = _fast_control_ack_pdu(
                rid.requestor_id, rid.instance_id, a.ran_function_id, a.call_process_id, a.outcome
            )
            if pdu is not None:
                return pdu
        body = _encode_control_ack(a)
    else:
        if (
            isinstance(msg, RicSubscriptionRequest)
            and version < E2apVersion.V3
            and (msg.start_time is not None or msg.end_time is not None)
        ):
            raise E2ValueError("subscription start/end times are E2AP v3 IEs", field="start_time")
        ies = []
        for ie_id, crit, attr, enc, _dec, mand, _name in table:
            if attr == "_details":
                assert isinstance(msg, RicSubscriptionRequest)
                ies.append(_single(ie_id, crit, _enc_subscription_details(msg, version)))
                continue
            v = getattr(msg, attr)
            if v is None or (attr in _EMPTY_TUPLE_ATTRS and not v):
                if mand:
                    raise E2ValueError("mandatory IE missing", field=attr)
                continue
            ies.append(_single(ie_id, crit, enc(v)))
        body = b"\x00" + len(ies).to_bytes(2, "big") + b"".join(ies)
    return _pdu(cls.KIND, cls.PROCEDURE, body)


def encode_control_request(
    request_id: RicRequestId,
    ran_function_id: int,
    header: bytes,
    message: bytes,
    call_process_id: bytes | None = None,
    ack_request: ControlAckRequest | None = None,
) -> bytes:
    """``encode_e2ap(RicControlRequest(...))`` without building the dataclass when its fields are plainly valid
    (the near-RT loop sends one control per decision); anything else goes through the dataclass, its checks and
    errors included. The PDU is the same in every E2AP version."""
    if _fast_control_request is not None and type(request_id) is RicRequestId:
        pdu = _fast_control_request(
            request_id.requestor_id,
            request_id.instance_id,
            ran_function_id,
            header,
            message,
            call_process_id,
            -1 if ack_request is None else int(ack_request),
        )
        if pdu is not None:
            return pdu
    return encode_e2ap(RicControlRequest(request_id, ran_function_id, header, message, call_process_id, ack_request))


def encode_control_ack(
    request_id: RicRequestId,
    ran_function_id: int,
    call_process_id: bytes | None = None,
    outcome: bytes | None = None,
) -> bytes:
    """``encode_e2ap(RicControlAcknowledge(...))`` without building the dataclass when its fields are plainly
    valid (see :func:`encode_control_request`)."""
    if _fast_control_ack_pdu is not None and type(request_id) is RicRequestId:
        pdu = _fast_control_ack_pdu(
            request_id.requestor_id, request_id.instance_id, ran_function_id, call_process_id, outcome
        )
        if pdu is not None:
            return pdu
    return encode_e2ap(RicControlAcknowledge(request_id, ran_function_id, call_process_id, outcome))


def _pdu(kind: PduKind, proc: int, body: bytes) -> bytes:
    return bytes((int(kind) << 5, proc, _PROC_CRITICALITY[proc] << 6)) + _len_prefixed(body)


_CTRL_ACK: Final = (b"\x00\x15\x00\x01\x00", b"\x00\x15\x00\x01\x40")  # RICcontrolAckRequest noAck / ack


def _id_ies(rid: RicRequestId, ran_function_id: int) -> list[bytes]:
    """The RICrequestID and RANfunctionID IEs that open the hot-path messages' containers."""
    return [
        b"\x00\x1d\x00\x05\x00" + rid.requestor_id.to_bytes(2, "big") + rid.instance_id.to_bytes(2, "big"),
        b"\x00\x05\x00\x02" + ran_function_id.to_bytes(2, "big"),
    ]


def _encode_control_request(m: RicControlRequest) -> bytes:
    parts = _id_ies(m.request_id, m.ran_function_id)
    if m.call_process_id is not None:
        parts.append(b"\x00\x14\x00" + _len_prefixed(_len_prefixed(m.call_process_id)))
    parts.append(b"\x00\x16\x00" + _len_prefixed(_len_prefixed(m.header)))
    parts.append(b"\x00\x17\x00" + _len_prefixed(_len_prefixed(m.message)))
    if m.ack_request is not None:
        parts.append(_CTRL_ACK[int(m.ack_request)])
    return b"\x00\x00" + bytes((len(parts),)) + b"".join(parts)


def _encode_control_ack(m: RicControlAcknowledge) -> bytes:
    parts = _id_ies(m.request_id, m.ran_function_id)
    if m.call_process_id is not None:
        parts.append(b"\x00\x14\x00" + _len_prefixed(_len_prefixed(m.call_process_id)))
    if m.outcome is not None:
        parts.append(b"\x00\x20\x00" + _len_prefixed(_len_prefixed(m.outcome)))
    return b"\x00\x00" + bytes((len(parts),)) + b"".join(parts)


_IND_TYPE: Final = (b"\x00\x1c\x00\x01\x00", b"\x00\x1c\x00\x01\x40")  # RICindicationType report / insert


def _encode_indication(m: RicIndication) -> bytes:
    parts = _id_ies(m.request_id, m.ran_function_id)
    parts.append(b"\x00\x0f\x00\x01" + bytes((m.action_id,)))
    if m.sn is not None:
        parts.append(b"\x00\x1b\x00\x02" + m.sn.to_bytes(2, "big"))
    parts.append(_IND_TYPE[int(m.indication_type)])
    parts.append(b"\x00\x19\x00" + _len_prefixed(_len_prefixed(m.header)))
    parts.append(b"\x00\x1a\x00" + _len_prefixed(_len_prefixed(m.message)))
    if m.call_process_id is not None:
        parts.append(b"\x00\x14\x00" + _len_prefixed(_len_prefixed(m.call_process_id)))
    return b"\x00\x00" + bytes((len(parts),)) + b"".join(parts)
