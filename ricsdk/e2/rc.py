"""E2SM-RC, RAN Control (``ORAN-E2SM-RC``, OID 1.3.6.1.4.1.53148.1.1.2.3): control requests and what a node offers.

Theory of operation
-------------------
An xApp changes RAN behaviour with a RICcontrolRequest whose two OCTET STRINGs carry an E2SM-RC control
*header* (which UE, which control style and action, e.g. Style 2 "Radio Resource Allocation Control" /
Action 6 "Slice-level PRB quota") and a control *message* (the action's RAN parameters). The node answers with
an optional control *outcome*. What styles, actions and parameters a node supports, it announces in the RC
*RAN function definition* of E2 Setup.

RAN parameters form a tree. Every node of the tree is a :class:`RanParameter` ``(id, value)`` whose value is one
of (``RANParameter-ValueType``)::

    ElementTrue(value)          an element that is a key of its list entry
    ElementFalse(value | None)  an ordinary element (the value is mandatory in control requests)
    Structure(params)           a structure: a sequence of RanParameters (``()`` means none)
    StructureList(items)        a list: a sequence of Structures

and an element's value (``RANParameter-Value``) is a plain Python value chosen by type: ``bool`` (valueBoolean),
``int`` (valueInt), ``float`` (valueReal), :class:`BitString` (valueBitS), ``bytes`` (valueOctS) or ``str``
(valuePrintableString). Trees are bounded: at most :data:`MAX_RAN_PARAMETER_DEPTH` nested structures/lists, on
encode (E2ValueError) and on decode (E2DecodeError), so hostile input cannot exhaust the stack.

Supported formats: control header format 1, control message format 1, control outcome format 1, and the RAN
function definition with its event trigger, report, insert, control and policy parts (the control part is
what :mod:`ricsdk.e2.slice_quota` reads parameter ids from). Later extension alternatives (header formats
2-4, message formats 2-5, outcome formats 2-3) are refused with an :class:`E2DecodeError` naming them; later
extension additions (query styles, additional control formats, UE-group control support) are skipped.

The shapes follow E2SM-RC v1.0x as published by OSC (``ric-app-rc``) and srsRAN's ``e2sm-rc-v5.00.asn``; both
agree on everything modelled here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final, TypeAlias

from ricsdk.e2.common import (
    RanFunctionName,
    UeId,
    UeIdEnb,
    UeIdEnGnb,
    UeIdGnb,
    UeIdGnbCuUp,
    UeIdGnbDu,
    UeIdNgEnb,
    UeIdNgEnbDu,
    _dec_ran_function_name,
    _dec_ric_style_name,
    _dec_ueid,
    _enc_ran_function_name,
    _enc_ric_style_name,
    _enc_ueid,
    _read_extensions,
)
from ricsdk.e2.per import PRINTABLE, BitString, PerDecoder, PerEncoder, decode_complete, encode_complete
from ricsdk.errors import E2DecodeError, E2ValueError

__all__ = [
    "MAX_RAN_PARAMETER_DEPTH",
    "RC_DESCRIPTION",
    "RC_OID",
    "RC_SHORT_NAME",
    "CallProcessBreakpoint",
    "CallProcessType",
    "ControlAction",
    "ControlDecision",
    "ControlHeaderFormat1",
    "ControlMessageFormat1",
    "ControlOutcomeFormat1",
    "ControlOutcomeItem",
    "ControlStyle",
    "ElementFalse",
    "ElementTrue",
    "EventTriggerDefinition",
    "EventTriggerStyle",
    "InsertIndication",
    "InsertStyle",
    "ListDefinition",
    "PolicyAction",
    "PolicyStyle",
    "RanFunctionDefinition",
    "RanParameter",
    "RanParameterDefinition",
    "RanParameterInfo",
    "RanParameterValue",
    "RanParameterValueType",
    "ReportStyle",
    "Structure",
    "StructureDefinition",
    "StructureList",
    "decode_control_header",
    "decode_control_message",
    "decode_control_outcome",
    "decode_ran_function_definition",
    "encode_control_header",
    "encode_control_message",
    "encode_control_outcome",
    "encode_ran_function_definition",
]

RC_OID: Final = "1.3.6.1.4.1.53148.1.1.2.3"
RC_SHORT_NAME: Final = "ORAN-E2SM-RC"
RC_DESCRIPTION: Final = "RAN Control"

#: Deepest nesting of structures/lists (RAN parameter values and definitions) accepted on encode and decode.
MAX_RAN_PARAMETER_DEPTH: Final = 32

_MAX_U32: Final = (1 << 32) - 1
_R_PARAM_ID: Final = _MAX_U32  # range of RANParameter-ID (1..4294967295)
_MAX_ITEMS: Final = 65535  # maxnoofParametersinStructure, maxnoofItemsinList, maxnoofAssociatedRANParameters, ...
_MAX_OUTCOME: Final = 255  # maxnoofRANOutcomeParameters
_MAX_STYLES: Final = 63  # maxnoofRICStyles
_UEID_TYPES: Final = (UeIdGnb, UeIdGnbDu, UeIdGnbCuUp, UeIdNgEnb, UeIdNgEnbDu, UeIdEnGnb, UeIdEnb)


class ControlDecision(IntEnum):
    """``ric-ControlDecision ENUMERATED {accept, reject, ...}``."""

    ACCEPT = 0
    REJECT = 1


# -- validation helpers ----------------------------------------------------------------------------------


def _check_int(v: object, lo: int, field: str, hi: int | None = None) -> None:
    if type(v) is not int or v < lo or (hi is not None and v > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise E2ValueError(f"must be an int {rng}", field=field, value=v)


def _check_style(v: object, field: str) -> None:
    if type(v) is not int:
        raise E2ValueError("must be an int", field=field, value=v)


def _check_name(v: object, field: str) -> None:
    if type(v) is not str or not v or not v.isascii() or not PRINTABLE.issuperset(v.encode("ascii")):
        raise E2ValueError("must be a non-empty PrintableString", field=field, value=v)


def _as_tuple(obj: object, name: str, item_type: type | tuple[type, ...], lb: int, ub: int, field: str) -> None:
    """Turn a list given for a tuple field into a tuple, then check its size and item types."""
    v = getattr(obj, name)
    if type(v) is list:
        v = tuple(v)
        object.__setattr__(obj, name, v)
    if type(v) is not tuple:
        raise E2ValueError("must be a tuple", field=field, value=v)
    n = len(v)
    if n and (n < lb or n > ub):
        raise E2ValueError(f"size {n} outside {lb}..{ub}", field=field, value=n)
    types = item_type if isinstance(item_type, tuple) else (item_type,)
    for x in v:
        if type(x) not in types:
            names = " | ".join(t.__name__ for t in types)
            raise E2ValueError(f"items must be {names}", field=field, value=x)


# -- RAN parameter values --------------------------------------------------------------------------------

#: ``RANParameter-Value``: valueBoolean | valueInt | valueReal | valueBitS | valueOctS | valuePrintableString.
RanParameterValue: TypeAlias = bool | int | float | BitString | bytes | str

_VALUE_INDEX: Final[dict[type, int]] = {bool: 0, int: 1, float: 2, BitString: 3, bytes: 4, str: 5}


def _check_value(v: object, field: str) -> None:
    if type(v) not in _VALUE_INDEX:
        raise E2ValueError("must be bool, int, float, BitString, bytes or str", field=field, value=v)
    if type(v) is str and (not v.isascii() or not PRINTABLE.issuperset(v.encode("ascii"))):
        raise E2ValueError("character outside the PrintableString alphabet", field=field, value=v)


@dataclass(frozen=True, slots=True)
class ElementTrue:
    """``ranP-Choice-ElementTrue``: an element whose value is a key of the list entry it belongs to."""

    value: RanParameterValue

    def __post_init__(self) -> None:
        _check_value(self.value, "ranParameter-value")


@dataclass(frozen=True, slots=True)
class ElementFalse:
    """``ranP-Choice-ElementFalse``: an ordinary element (``value`` is mandatory in control requests)."""

    value: RanParameterValue | None = None

    def __post_init__(self) -> None:
        if self.value is not None:
            _check_value(self.value, "ranParameter-value")


@dataclass(frozen=True, slots=True)
class Structure:
    """``ranP-Choice-Structure`` / ``RANParameter-STRUCTURE``: 1..65535 parameters (``()`` when absent)."""

    params: tuple[RanParameter, ...] = ()

    def __post_init__(self) -> None:
        _as_tuple(self, "params", RanParameter, 1, _MAX_ITEMS, "sequence-of-ranParameters")


@dataclass(frozen=True, slots=True)
class StructureList:
    """``ranP-Choice-List`` / ``RANParameter-LIST``: a list of 1..65535 structures."""

    items: tuple[Structure, ...]

    def __post_init__(self) -> None:
        _as_tuple(self, "items", Structure, 1, _MAX_ITEMS, "list-of-ranParameter")
        if not self.items:
            raise E2ValueError("a list holds at least one structure", field="list-of-ranParameter", value=0)


#: ``RANParameter-ValueType``.
RanParameterValueType: TypeAlias = ElementTrue | ElementFalse | Structure | StructureList

_VALUE_TYPES: Final = (ElementTrue, ElementFalse, Structure, StructureList)


@dataclass(frozen=True, slots=True)
class RanParameter:
    """One RAN parameter of a control message or structure: ``ranParameter-ID`` (>= 1) and its value type."""

    id: int
    value: RanParameterValueType

    def __post_init__(self) -> None:
        _check_int(self.id, 1, "ranParameter-ID")
        if type(self.value) not in _VALUE_TYPES:
            raise E2ValueError(
                "must be ElementTrue, ElementFalse, Structure or StructureList", field="ranParameter-valueType"
            )


# -- control header, message, outcome --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlHeaderFormat1:
    """``E2SM-RC-ControlHeader-Format1``: the UE (mandatory, even for cell- or slice-level actions), the control
    style and action (``ric_control_action_id`` >= 1; 1..65535 in the root, larger as an extension), and an
    optional decision."""

    ue_id: UeId
    ric_style_type: int
    ric_control_action_id: int
    ric_control_decision: ControlDecision | None = None

    def __post_init__(self) -> None:
        if type(self.ue_id) not in _UEID_TYPES:
            raise E2ValueError("must be one of the UeId* alternatives", field="ueID", value=self.ue_id)
        _check_style(self.ric_style_type, "ric-Style-Type")
        _check_int(self.ric_control_action_id, 1, "ric-ControlAction-ID")
        d = self.ric_control_decision
        if d is not None and type(d) is not ControlDecision:
            raise E2ValueError("must be a ControlDecision or None", field="ric-ControlDecision", value=d)


@dataclass(frozen=True, slots=True)
class ControlMessageFormat1:
    """``E2SM-RC-ControlMessage-Format1``: the action's RAN parameters (``ranP-List``, 0..65535)."""

    params: tuple[RanParameter, ...] = ()

    def __post_init__(self) -> None:
        _as_tuple(self, "params", RanParameter, 0, _MAX_ITEMS, "ranP-List")


@dataclass(frozen=True, slots=True)
class ControlOutcomeItem:
    """``E2SM-RC-ControlOutcome-Format1-Item``: a RAN parameter id and the value the node applied."""

    id: int
    value: RanParameterValue

    def __post_init__(self) -> None:
        _check_int(self.id, 1, "ranParameter-ID")
        _check_value(self.value, "ranParameter-value")


@dataclass(frozen=True, slots=True)
class ControlOutcomeFormat1:
    """``E2SM-RC-ControlOutcome-Format1``: 0..255 RAN parameter values."""

    params: tuple[ControlOutcomeItem, ...] = ()

    def __post_init__(self) -> None:
        _as_tuple(self, "params", ControlOutcomeItem, 0, _MAX_OUTCOME, "ranP-List")


# -- RAN function definition -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListDefinition:
    """``choiceLIST``: the parameters of each entry of a LIST parameter."""

    params: tuple[RanParameterInfo, ...]

    def __post_init__(self) -> None:
        _as_tuple(self, "params", RanParameterInfo, 1, _MAX_ITEMS, "ranParameter-List")
        if not self.params:
            raise E2ValueError("a definition holds at least one parameter", field="ranParameter-List", value=0)


@dataclass(frozen=True, slots=True)
class StructureDefinition:
    """``choiceSTRUCTURE``: the parameters of a STRUCTURE parameter."""

    params: tuple[RanParameterInfo, ...]

    def __post_init__(self) -> None:
        _as_tuple(self, "params", RanParameterInfo, 1, _MAX_ITEMS, "ranParameter-STRUCTURE")
        if not self.params:
            raise E2ValueError("a definition holds at least one parameter", field="ranParameter-STRUCTURE", value=0)


#: ``RANParameter-Definition``: what a LIST or STRUCTURE parameter contains.
RanParameterDefinition: TypeAlias = ListDefinition | StructureDefinition


@dataclass(frozen=True, slots=True)
class RanParameterInfo:
    """An announced RAN parameter: id, name (e.g. ``"RRM Policy Ratio List"``) and, for a LIST or STRUCTURE,
    optionally what it contains (every ``*-RANParameter-Item`` of the RAN function definition)."""

    id: int
    name: str
    definition: RanParameterDefinition | None = None

    def __post_init__(self) -> None:
        _check_int(self.id, 1, "ranParameter-ID")
        _check_name(self.name, "ranParameter-name")
        if self.definition is not None and type(self.definition) not in (ListDefinition, StructureDefinition):
            raise E2ValueError(
                "must be ListDefinition, StructureDefinition or None",
                field="ranParameter-Definition",
                value=self.definition,
            )


_INFO: Final = RanParameterInfo


@dataclass(frozen=True, slots=True)
class EventTriggerStyle:
    """``RANFunctionDefinition-EventTrigger-Style-Item``."""

    style_type: int
    style_name: str
    format_type: int

    def __post_init__(self) -> None:
        _check_style(self.style_type, "ric-EventTriggerStyle-Type")
        _check_name(self.style_name, "ric-EventTriggerStyle-Name")
        _check_style(self.format_type, "ric-EventTriggerFormat-Type")


@dataclass(frozen=True, slots=True)
class CallProcessBreakpoint:
    """``RANFunctionDefinition-EventTrigger-Breakpoint-Item``."""

    breakpoint_id: int
    name: str
    params: tuple[RanParameterInfo, ...] = ()

    def __post_init__(self) -> None:
        _check_int(self.breakpoint_id, 1, "callProcessBreakpoint-ID")
        _check_name(self.name, "callProcessBreakpoint-Name")
        _as_tuple(self, "params", _INFO, 1, _MAX_ITEMS, "ran-CallProcessBreakpointParameters-List")


@dataclass(frozen=True, slots=True)
class CallProcessType:
    """``RANFunctionDefinition-EventTrigger-CallProcess-Item``."""

    type_id: int
    name: str
    breakpoints: tuple[CallProcessBreakpoint, ...]

    def __post_init__(self) -> None:
        _check_int(self.type_id, 1, "callProcessType-ID")
        _check_name(self.name, "callProcessType-Name")
        _as_tuple(self, "breakpoints", CallProcessBreakpoint, 1, _MAX_ITEMS, "callProcessBreakpoints-List")
        if not self.breakpoints:
            raise E2ValueError("at least one breakpoint", field="callProcessBreakpoints-List", value=0)


@dataclass(frozen=True, slots=True)
class EventTriggerDefinition:
    """``RANFunctionDefinition-EventTrigger``: trigger styles and the parameters triggers may refer to."""

    styles: tuple[EventTriggerStyle, ...]
    l2_params: tuple[RanParameterInfo, ...] = ()
    call_process_types: tuple[CallProcessType, ...] = ()
    ue_identification_params: tuple[RanParameterInfo, ...] = ()
    cell_identification_params: tuple[RanParameterInfo, ...] = ()

    def __post_init__(self) -> None:
        _as_tuple(self, "styles", EventTriggerStyle, 1, _MAX_STYLES, "ric-EventTriggerStyle-List")
        if not self.styles:
            raise E2ValueError("at least one style", field="ric-EventTriggerStyle-List", value=0)
        _as_tuple(self, "l2_params", _INFO, 1, _MAX_ITEMS, "ran-L2Parameters-List")
        _as_tuple(self, "call_process_types", CallProcessType, 1, _MAX_ITEMS, "ran-CallProcessTypes-List")
        _as_tuple(self, "ue_identification_params", _INFO, 1, _MAX_ITEMS, "ran-UEIdentificationParameters-List")
        _as_tuple(self, "cell_identification_params", _INFO, 1, _MAX_ITEMS, "ran-CellIdentificationParameters-List")


@dataclass(frozen=True, slots=True)
class ReportStyle:
    """``RANFunctionDefinition-Report-Item``."""

    style_type: int
    style_name: str
    supported_event_trigger_style_type: int
    action_format_type: int
    indication_header_format_type: int
    indication_message_format_type: int
    params: tuple[RanParameterInfo, ...] = ()

    def __post_init__(self) -> None:
        _check_style(self.style_type, "ric-ReportStyle-Type")
        _check_name(self.style_name, "ric-ReportStyle-Name")
        _check_style(self.supported_event_trigger_style_type, "ric-SupportedEventTriggerStyle-Type")
        _check_style(self.action_format_type, "ric-ReportActionFormat-Type")
        _check_style(self.indication_header_format_type, "ric-IndicationHeaderFormat-Type")
        _check_style(self.indication_message_format_type, "ric-IndicationMessageFormat-Type")
        _as_tuple(self, "params", _INFO, 1, _MAX_ITEMS, "ran-ReportParameters-List")


@dataclass(frozen=True, slots=True)
class InsertIndication:
    """``RANFunctionDefinition-Insert-Indication-Item``."""

    indication_id: int
    name: str
    params: tuple[RanParameterInfo, ...] = ()

    def __post_init__(self) -> None:
        _check_int(self.indication_id, 1, "ric-InsertIndication-ID")
        _check_name(self.name, "ric-InsertIndication-Name")
        _as_tuple(self, "params", _INFO, 1, _MAX_ITEMS, "ran-InsertIndicationParameters-List")


@dataclass(frozen=True, slots=True)
class InsertStyle:
    """``RANFunctionDefinition-Insert-Item``."""

    style_type: int
    style_name: str
    supported_event_trigger_style_type: int
    action_definition_format_type: int
    indication_header_format_type: int
    indication_message_format_type: int
    call_process_id_format_type: int
    indications: tuple[InsertIndication, ...] = ()

    def __post_init__(self) -> None:
        _check_style(self.style_type, "ric-InsertStyle-Type")
        _check_name(self.style_name, "ric-InsertStyle-Name")
        _check_style(self.supported_event_trigger_style_type, "ric-SupportedEventTriggerStyle-Type")
        _check_style(self.action_definition_format_type, "ric-ActionDefinitionFormat-Type")
        _check_style(self.indication_header_format_type, "ric-IndicationHeaderFormat-Type")
        _check_style(self.indication_message_format_type, "ric-IndicationMessageFormat-Type")
        _check_style(self.call_process_id_format_type, "ric-CallProcessIDFormat-Type")
        _as_tuple(self, "indications", InsertIndication, 1, _MAX_ITEMS, "ric-InsertIndication-List")


@dataclass(frozen=True, slots=True)
class ControlAction:
    """``RANFunctionDefinition-Control-Action-Item``: an action (e.g. 6 "Slice-level PRB quota") and its parameters.

    ``params`` is ``ran-ControlActionParameters-List``; nodes list the whole tree there flat (srsRAN) or give the
    top-level parameters with nested ``definition`` s.
    """

    action_id: int
    name: str
    params: tuple[RanParameterInfo, ...] = ()

    def __post_init__(self) -> None:
        _check_int(self.action_id, 1, "ric-ControlAction-ID")
        _check_name(self.name, "ric-ControlAction-Name")
        _as_tuple(self, "params", _INFO, 1, _MAX_ITEMS, "ran-ControlActionParameters-List")


@dataclass(frozen=True, slots=True)
class ControlStyle:
    """``RANFunctionDefinition-Control-Item``: a control style (e.g. 2 "Radio Resource Allocation Control")."""

    style_type: int
    style_name: str
    header_format_type: int
    message_format_type: int
    outcome_format_type: int
    actions: tuple[ControlAction, ...] = ()
    call_process_id_format_type: int | None = None
    outcome_params: tuple[RanParameterInfo, ...] = ()

    def __post_init__(self) -> None:
        _check_style(self.style_type, "ric-ControlStyle-Type")
        _check_name(self.style_name, "ric-ControlStyle-Name")
        _check_style(self.header_format_type, "ric-ControlHeaderFormat-Type")
        _check_style(self.message_format_type, "ric-ControlMessageFormat-Type")
        _check_style(self.outcome_format_type, "ric-ControlOutcomeFormat-Type")
        _as_tuple(self, "actions", ControlAction, 1, _MAX_ITEMS, "ric-ControlAction-List")
        if self.call_process_id_format_type is not None:
            _check_style(self.call_process_id_format_type, "ric-CallProcessIDFormat-Type")
        _as_tuple(self, "outcome_params", _INFO, 1, _MAX_OUTCOME, "ran-ControlOutcomeParameters-List")

    def action(self, action_id: int) -> ControlAction | None:
        """The action with ``action_id``, or None."""
        for a in self.actions:
            if a.action_id == action_id:
                return a
        return None


@dataclass(frozen=True, slots=True)
class PolicyAction:
    """``RANFunctionDefinition-Policy-Action-Item``."""

    action_id: int
    name: str
    action_definition_format_type: int
    action_params: tuple[RanParameterInfo, ...] = ()
    condition_params: tuple[RanParameterInfo, ...] = ()

    def __post_init__(self) -> None:
        _check_int(self.action_id, 1, "ric-PolicyAction-ID")
        _check_name(self.name, "ric-PolicyAction-Name")
        _check_style(self.action_definition_format_type, "ric-ActionDefinitionFormat-Type")
        _as_tuple(self, "action_params", _INFO, 1, _MAX_ITEMS, "ran-PolicyActionParameters-List")
        _as_tuple(self, "condition_params", _INFO, 1, _MAX_ITEMS, "ran-PolicyConditionParameters-List")


@dataclass(frozen=True, slots=True)
class PolicyStyle:
    """``RANFunctionDefinition-Policy-Item``."""

    style_type: int
    style_name: str
    supported_event_trigger_style_type: int
    actions: tuple[PolicyAction, ...] = ()

    def __post_init__(self) -> None:
        _check_style(self.style_type, "ric-PolicyStyle-Type")
        _check_name(self.style_name, "ric-PolicyStyle-Name")
        _check_style(self.supported_event_trigger_style_type, "ric-SupportedEventTriggerStyle-Type")
        _as_tuple(self, "actions", PolicyAction, 1, _MAX_ITEMS, "ric-PolicyAction-List")


@dataclass(frozen=True, slots=True)
class RanFunctionDefinition:
    """``E2SM-RC-RANFunctionDefinition``: the node's RC offer. Empty tuples / None mean the part is absent."""

    name: RanFunctionName
    event_trigger: EventTriggerDefinition | None = None
    report: tuple[ReportStyle, ...] = ()
    insert: tuple[InsertStyle, ...] = ()
    control: tuple[ControlStyle, ...] = ()
    policy: tuple[PolicyStyle, ...] = ()

    def __post_init__(self) -> None:
        if type(self.name) is not RanFunctionName:
            raise E2ValueError("must be a RanFunctionName", field="ranFunction-Name", value=self.name)
        if self.event_trigger is not None and type(self.event_trigger) is not EventTriggerDefinition:
            raise E2ValueError(
                "must be an EventTriggerDefinition or None",
                field="ranFunctionDefinition-EventTrigger",
                value=self.event_trigger,
            )
        _as_tuple(self, "report", ReportStyle, 1, _MAX_STYLES, "ric-ReportStyle-List")
        _as_tuple(self, "insert", InsertStyle, 1, _MAX_STYLES, "ric-InsertStyle-List")
        _as_tuple(self, "control", ControlStyle, 1, _MAX_STYLES, "ric-ControlStyle-List")
        _as_tuple(self, "policy", PolicyStyle, 1, _MAX_STYLES, "ric-PolicyStyle-List")

    def control_style(self, style_type: int) -> ControlStyle | None:
        """The control style with ``style_type``, or None."""
        for s in self.control:
            if s.style_type == style_type:
                return s
        return None

    def control_action(self, style_type: int, action_id: int) -> ControlAction | None:
        """The control action ``action_id`` of style ``style_type``, or None."""
        style = self.control_style(style_type)
        return None if style is None else style.action(action_id)


# -- encoders / decoders: RAN parameter values -----------------------------------------------------------
# Each decoder keeps the name of the component it is reading in ``f`` and adds it to an E2DecodeError on the
# way out; try blocks cost nothing in 3.11 until something is raised.


def _enc_param_id(enc: PerEncoder, pid: int) -> None:
    """``RANParameter-ID ::= INTEGER (1..4294967295, ...)``."""
    if pid <= _MAX_U32:
        enc.put(0, 1)
        enc.constrained(pid - 1, _R_PARAM_ID)
    else:
        enc.put(1, 1)
        enc.unconstrained_int(pid)


def _dec_param_id(dec: PerDecoder) -> int:
    if dec.bit():
        return dec.unconstrained_int()
    return 1 + dec.constrained(_R_PARAM_ID)


def _enc_value(enc: PerEncoder, v: RanParameterValue) -> None:
    """``RANParameter-Value``: extension bit, 3-bit alternative, then the value."""
    if type(v) is int:
        enc.put(1, 4)
        enc.unconstrained_int(v)
    elif type(v) is bytes:
        enc.put(4, 4)
        enc.octet_string(v)
    elif type(v) is bool:
        enc.put(1 if v else 0, 5)  # alternative 0, then the boolean bit
    elif type(v) is float:
        enc.put(2, 4)
        enc.real(v)
    elif type(v) is str:
        enc.put(5, 4)
        enc.printable_string(v, field="valuePrintableString")
    elif type(v) is BitString:
        enc.put(3, 4)
        enc.bit_string(v.value, v.length, field="valueBitS")
    else:
        raise E2ValueError("must be bool, int, float, BitString, bytes or str", field="ranParameter-value", value=v)


def _dec_value(dec: PerDecoder) -> RanParameterValue:
    i = dec.choice(6, True)
    if i == 1:
        return dec.unconstrained_int()
    if i == 4:
        return dec.octet_string()
    if i == 0:
        return dec.boolean()
    if i == 2:
        return dec.real()
    if i == 5:
        return dec.printable_string()
    if i == 3:
        value, n = dec.bit_string()
        return BitString(value, n)
    raise dec.error(f"unknown RANParameter-Value extension alternative {i - 6}")


def _enc_structure(enc: PerEncoder, params: tuple[RanParameter, ...], depth: int) -> None:
    """``RANParameter-STRUCTURE``: extension bit, presence bit, then 1..65535 items."""
    if params:
        enc.put(0b01, 2)
        enc.constrained(len(params) - 1, _MAX_ITEMS)
        for p in params:
            _enc_param(enc, p, depth)
    else:
        enc.put(0b00, 2)


def _enc_value_type(enc: PerEncoder, v: RanParameterValueType, depth: int) -> None:
    """``RANParameter-ValueType``: extension bit, 2-bit alternative, then the alternative's SEQUENCE."""
    if type(v) is ElementFalse:
        if v.value is None:
            enc.put(0b001_00, 5)  # alternative 1, its extension bit, value absent
        else:
            enc.put(0b001_01, 5)
            _enc_value(enc, v.value)
    elif type(v) is Structure:
        if depth >= MAX_RAN_PARAMETER_DEPTH:
            raise E2ValueError(f"RAN parameter tree deeper than {MAX_RAN_PARAMETER_DEPTH}", field="ranParameter")
        enc.put(0b010_0, 4)  # alternative 2, Choice-Structure extension bit
        _enc_structure(enc, v.params, depth + 1)
    elif type(v) is StructureList:
        if depth >= MAX_RAN_PARAMETER_DEPTH:
            raise E2ValueError(f"RAN parameter tree deeper than {MAX_RAN_PARAMETER_DEPTH}", field="ranParameter")
        items = v.items
        enc.put(0b011_00, 5)  # alternative 3, Choice-List and RANParameter-LIST extension bits
        enc.constrained(len(items) - 1, _MAX_ITEMS)
        for st in items:
            _enc_structure(enc, st.params, depth + 1)
    elif type(v) is ElementTrue:
        enc.put(0b000_0, 4)
        _enc_value(enc, v.value)
    else:
        raise E2ValueError(
            "must be ElementTrue, ElementFalse, Structure or StructureList", field="ranParameter-valueType", value=v
        )


def _enc_param(enc: PerEncoder, p: RanParameter, depth: int) -> None:
    """``E2SM-RC-ControlMessage-Format1-Item`` / ``RANParameter-STRUCTURE-Item``: {id, valueType, ...}."""
    if type(p) is not RanParameter:
        raise E2ValueError("must be a RanParameter", field="ranParameter", value=p)
    enc.put(0, 1)
    _enc_param_id(enc, p.id)
    _enc_value_type(enc, p.value, depth)


def _dec_structure(dec: PerDecoder, depth: int) -> Structure:
    ext, opt = dec.preamble(True, 1)
    params: tuple[RanParameter, ...] = ()
    if opt:
        n = 1 + dec.constrained(_MAX_ITEMS)
        if n * 8 > dec.remaining():
            raise dec.error(f"{n} parameters exceed the data")
        out = []
        for i in range(n):
            try:
                out.append(_dec_param(dec, depth))
            except E2DecodeError as e:
                e.add_context(f"sequence-of-ranParameters[{i}]")
                raise
        params = tuple(out)
    if ext:
        dec.skip_extensions()
    return Structure(params)


def _dec_value_type(dec: PerDecoder, depth: int) -> RanParameterValueType:
    i = dec.choice(4, True)
    if i == 1:
        f = "ranP-Choice-ElementFalse"
        try:
            ext, opt = dec.preamble(True, 1)
            value = _dec_value(dec) if opt else None
            if ext:
                dec.skip_extensions()
        except E2DecodeError as e:
            e.add_context(f)
            raise
        return ElementFalse(value)
    if i == 2 or i == 3:
        f = "ranP-Choice-Structure" if i == 2 else "ranP-Choice-List"
        if depth >= MAX_RAN_PARAMETER_DEPTH:
            raise dec.error(f"RAN parameter tree nested deeper than {MAX_RAN_PARAMETER_DEPTH} levels")
        try:
            choice_ext = dec.bit()
            if i == 2:
                result: RanParameterValueType = _dec_structure(dec, depth + 1)
            else:
                list_ext = dec.bit()
                n = 1 + dec.constrained(_MAX_ITEMS)
                if n * 2 > dec.remaining():
                    raise dec.error(f"{n} list entries exceed the data")
                items = []
                for k in range(n):
                    try:
                        items.append(_dec_structure(dec, depth + 1))
                    except E2DecodeError as e:
                        e.add_context(f"list-of-ranParameter[{k}]")
                        raise
                if list_ext:
                    dec.skip_extensions()
                result = StructureList(tuple(items))
            if choice_ext:
                dec.skip_extensions()
        except E2DecodeError as e:
            e.add_context(f)
            raise
        return result
    if i == 0:
        f = "ranP-Choice-ElementTrue"
        try:
            true_ext = dec.bit()
            v = _dec_value(dec)
            if true_ext:
                dec.skip_extensions()
        except E2DecodeError as e:
            e.add_context(f)
            raise
        return ElementTrue(v)
    raise dec.error(f"unknown RANParameter-ValueType extension alternative {i - 4}")


def _dec_param(dec: PerDecoder, depth: int) -> RanParameter:
    p = dec.pos
    data = dec.data
    if not p & 7 and p + 16 <= dec.end and data[p >> 3] < 0x40:
        # the common case, read inline: item and ID extension bits 0 at an octet boundary, a 2-bit ID length
        # n - 1, padding, then n octets of ID - 1
        ext = 0
        n = (data[p >> 3] >> 4) + 1
        e = p + 8 + (n << 3)
        pid = 1 + int.from_bytes(data[(p >> 3) + 1 : e >> 3], "big")
        if e > dec.end or pid > _R_PARAM_ID:
            err = dec.error(f"truncated or out-of-range RANParameter-ID ({n} octets)")
            err.add_context("ranParameter-ID")
            raise err
        dec.pos = e
    else:
        ext = dec.bit()
        try:
            pid = _dec_param_id(dec)
        except E2DecodeError as exc:
            exc.add_context("ranParameter-ID")
            raise
    f = "ranParameter-valueType"
    try:
        vt = _dec_value_type(dec, depth)
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return RanParameter(pid, vt)


def _dec_params(dec: PerDecoder, n: int, what: str) -> tuple[RanParameter, ...]:
    if n * 8 > dec.remaining():
        raise dec.error(f"{n} parameters exceed the data")
    out = []
    for i in range(n):
        try:
            out.append(_dec_param(dec, 0))
        except E2DecodeError as e:
            e.add_context(f"{what}[{i}]")
            raise
    return tuple(out)


# -- encoders / decoders: header, message, outcome -------------------------------------------------------

_HEADER_EXT_NAMES: Final = ("controlHeader-Format2", "controlHeader-Format3", "controlHeader-Format4")
_MESSAGE_EXT_NAMES: Final = (
    "controlMessage-Format2",
    "controlMessage-Format3",
    "controlMessage-Format4",
    "controlMessage-Format5",
)
_OUTCOME_EXT_NAMES: Final = ("controlOutcome-Format2", "controlOutcome-Format3")


def _unsupported(dec: PerDecoder, i: int, names: tuple[str, ...], what: str) -> E2DecodeError:
    """The error for extension alternative ``i`` (0-based) of a format CHOICE that ricsdk does not model."""
    name = names[i] if i < len(names) else f"extension alternative {i}"
    return dec.error(f"{what}: {name} is not supported")


def _enc_control_header(enc: PerEncoder, v: ControlHeaderFormat1) -> None:
    if type(v) is not ControlHeaderFormat1:
        raise E2ValueError("must be a ControlHeaderFormat1", field="E2SM-RC-ControlHeader", value=v)
    d = v.ric_control_decision
    # header extension bit, format CHOICE extension bit (one root alternative: no index), format 1 extension
    # bit, ric-ControlDecision presence
    enc.put(0 if d is None else 1, 4)
    _enc_ueid(enc, v.ue_id)
    enc.unconstrained_int(v.ric_style_type)
    enc.integer(v.ric_control_action_id, 1, 65535, True)
    if d is not None:
        enc.enumerated(int(d), 2, True)


def _dec_control_header(dec: PerDecoder) -> ControlHeaderFormat1:
    ext = dec.bit()
    i = dec.choice(1, True)
    if i != 0:
        raise _unsupported(dec, i - 1, _HEADER_EXT_NAMES, "ric-controlHeader-formats")
    f = "ueID"
    try:
        f1_ext, opt = dec.preamble(True, 1)
        ue = _dec_ueid(dec)
        f = "ric-Style-Type"
        style = dec.unconstrained_int()
        f = "ric-ControlAction-ID"
        action = dec.integer(1, 65535, True)
        decision = None
        if opt:
            f = "ric-ControlDecision"
            k = dec.enumerated(2, True)
            if k >= 2:
                raise dec.error(f"unknown ric-ControlDecision extension value {k - 2}")
            decision = ControlDecision(k)
        if f1_ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        e.add_context("controlHeader-Format1")
        raise
    if ext:
        dec.skip_extensions()
    return ControlHeaderFormat1(ue, style, action, decision)


def _enc_control_message(enc: PerEncoder, v: ControlMessageFormat1) -> None:
    if type(v) is not ControlMessageFormat1:
        raise E2ValueError("must be a ControlMessageFormat1", field="E2SM-RC-ControlMessage", value=v)
    params = v.params
    enc.put(0, 3)  # message extension bit, format CHOICE extension bit, format 1 extension bit
    enc.constrained(len(params), _MAX_ITEMS + 1)
    for p in params:
        _enc_param(enc, p, 0)


def _dec_control_message(dec: PerDecoder) -> ControlMessageFormat1:
    ext = dec.bit()
    i = dec.choice(1, True)
    if i != 0:
        raise _unsupported(dec, i - 1, _MESSAGE_EXT_NAMES, "ric-controlMessage-formats")
    try:
        f1_ext = dec.bit()
        params = _dec_params(dec, dec.constrained(_MAX_ITEMS + 1), "ranP-List")
        if f1_ext:
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context("controlMessage-Format1")
        raise
    if ext:
        dec.skip_extensions()
    return ControlMessageFormat1(params)


def _enc_control_outcome(enc: PerEncoder, v: ControlOutcomeFormat1) -> None:
    if type(v) is not ControlOutcomeFormat1:
        raise E2ValueError("must be a ControlOutcomeFormat1", field="E2SM-RC-ControlOutcome", value=v)
    enc.put(0, 3)
    enc.constrained(len(v.params), _MAX_OUTCOME + 1)
    for p in v.params:
        enc.put(0, 1)
        _enc_param_id(enc, p.id)
        _enc_value(enc, p.value)


def _dec_control_outcome(dec: PerDecoder) -> ControlOutcomeFormat1:
    ext = dec.bit()
    i = dec.choice(1, True)
    if i != 0:
        raise _unsupported(dec, i - 1, _OUTCOME_EXT_NAMES, "ric-controlOutcome-formats")
    try:
        f1_ext = dec.bit()
        n = dec.constrained(_MAX_OUTCOME + 1)
        out = []
        for k in range(n):
            f = "ranParameter-ID"
            try:
                item_ext = dec.bit()
                pid = _dec_param_id(dec)
                f = "ranParameter-value"
                value = _dec_value(dec)
                if item_ext:
                    f = "extensions"
                    dec.skip_extensions()
            except E2DecodeError as e:
                e.add_context(f)
                e.add_context(f"ranP-List[{k}]")
                raise
            out.append(ControlOutcomeItem(pid, value))
        if f1_ext:
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context("controlOutcome-Format1")
        raise
    if ext:
        dec.skip_extensions()
    return ControlOutcomeFormat1(tuple(out))


# -- encoders / decoders: RAN function definition --------------------------------------------------------


def _enc_definition(enc: PerEncoder, d: RanParameterDefinition, depth: int) -> None:
    """``RANParameter-Definition``: extension bit, then the LIST / STRUCTURE choice of root-defined items."""
    if depth >= MAX_RAN_PARAMETER_DEPTH:
        raise E2ValueError(f"RAN parameter definitions deeper than {MAX_RAN_PARAMETER_DEPTH}", field="definition")
    if type(d) is ListDefinition:
        enc.put(0b0_0_0_0, 4)  # Definition ext, choice ext, alternative 0, Choice-LIST ext
    elif type(d) is StructureDefinition:
        enc.put(0b0_0_1_0, 4)
    else:
        raise E2ValueError("must be ListDefinition or StructureDefinition", field="ranParameter-Definition", value=d)
    enc.constrained(len(d.params) - 1, _MAX_ITEMS)
    for p in d.params:
        # RANParameter-Definition-Choice-LIST-Item / -STRUCTURE-Item: the definition is a root component
        enc.put(0 if p.definition is None else 1, 2)
        _enc_param_id(enc, p.id)
        _enc_ric_style_name(enc, p.name)
        if p.definition is not None:
            _enc_definition(enc, p.definition, depth + 1)


def _dec_definition(dec: PerDecoder, depth: int) -> RanParameterDefinition:
    if depth >= MAX_RAN_PARAMETER_DEPTH:
        raise dec.error(f"RAN parameter definitions nested deeper than {MAX_RAN_PARAMETER_DEPTH} levels")
    ext = dec.bit()
    i = dec.choice(2, True)
    if i >= 2:
        raise dec.error(f"unknown RANParameter-Definition-Choice extension alternative {i - 2}")
    what = "choiceLIST" if i == 0 else "choiceSTRUCTURE"
    try:
        choice_ext = dec.bit()
        n = 1 + dec.constrained(_MAX_ITEMS)
        if n * 8 > dec.remaining():
            raise dec.error(f"{n} parameters exceed the data")
        out = []
        for k in range(n):
            f = "ranParameter-ID"
            try:
                item_ext, opt = dec.preamble(True, 1)
                pid = _dec_param_id(dec)
                f = "ranParameter-name"
                name = _dec_ric_style_name(dec)
                f = "ranParameter-Definition"
                sub = _dec_definition(dec, depth + 1) if opt else None
                if item_ext:
                    f = "extensions"
                    dec.skip_extensions()
            except E2DecodeError as e:
                e.add_context(f)
                e.add_context(f"[{k}]")
                raise
            out.append(RanParameterInfo(pid, name, sub))
        if choice_ext:
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(what)
        raise
    if ext:
        dec.skip_extensions()
    return ListDefinition(tuple(out)) if i == 0 else StructureDefinition(tuple(out))


def _enc_info(enc: PerEncoder, p: RanParameterInfo) -> None:
    """A ``*-RANParameter-Item`` of the RAN function definition: {id, name, ..., definition (an extension)}."""
    d = p.definition
    enc.put(0 if d is None else 1, 1)
    _enc_param_id(enc, p.id)
    _enc_ric_style_name(enc, p.name)
    if d is not None:
        sub = PerEncoder()
        _enc_definition(sub, d, 1)
        enc.extensions([sub.to_bytes()])


def _dec_info(dec: PerDecoder) -> RanParameterInfo:
    ext = dec.bit()
    f = "ranParameter-ID"
    try:
        pid = _dec_param_id(dec)
        f = "ranParameter-name"
        name = _dec_ric_style_name(dec)
        d = None
        if ext:
            f = "extensions"
            (sub,) = _read_extensions(dec, 1)
            f = "ranParameter-Definition"
            d = None if sub is None else _dec_definition(sub, 1)
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return RanParameterInfo(pid, name, d)


def _enc_infos(enc: PerEncoder, items: tuple[RanParameterInfo, ...], ub: int = _MAX_ITEMS) -> None:
    enc.constrained(len(items) - 1, ub)
    for p in items:
        _enc_info(enc, p)


def _dec_infos(dec: PerDecoder, what: str, ub: int = _MAX_ITEMS) -> tuple[RanParameterInfo, ...]:
    n = 1 + dec.constrained(ub)
    if n * 16 > dec.remaining():
        raise dec.error(f"{n} parameters exceed the data")
    out = []
    for k in range(n):
        try:
            out.append(_dec_info(dec))
        except E2DecodeError as e:
            e.add_context(f"{what}[{k}]")
            raise
    return tuple(out)


def _enc_short_id(enc: PerEncoder, v: int) -> None:
    """``INTEGER (1..65535, ...)`` ids: control actions, insert indications, call process types/breakpoints."""
    enc.integer(v, 1, 65535, True)


def _dec_short_id(dec: PerDecoder) -> int:
    return dec.integer(1, 65535, True)


def _enc_event_trigger(enc: PerEncoder, v: EventTriggerDefinition) -> None:
    enc.put(
        (bool(v.l2_params) << 3)
        | (bool(v.call_process_types) << 2)
        | (bool(v.ue_identification_params) << 1)
        | bool(v.cell_identification_params),
        5,
    )
    enc.constrained(len(v.styles) - 1, _MAX_STYLES)
    for s in v.styles:
        enc.put(0, 1)
        enc.unconstrained_int(s.style_type)
        _enc_ric_style_name(enc, s.style_name)
        enc.unconstrained_int(s.format_type)
    if v.l2_params:
        _enc_infos(enc, v.l2_params)
    if v.call_process_types:
        enc.constrained(len(v.call_process_types) - 1, _MAX_ITEMS)
        for cp in v.call_process_types:
            enc.put(0, 1)
            _enc_short_id(enc, cp.type_id)
            _enc_ric_style_name(enc, cp.name)
            enc.constrained(len(cp.breakpoints) - 1, _MAX_ITEMS)
            for bp in cp.breakpoints:
                enc.put(1 if bp.params else 0, 2)
                _enc_short_id(enc, bp.breakpoint_id)
                _enc_ric_style_name(enc, bp.name)
                if bp.params:
                    _enc_infos(enc, bp.params)
    if v.ue_identification_params:
        _enc_infos(enc, v.ue_identification_params)
    if v.cell_identification_params:
        _enc_infos(enc, v.cell_identification_params)


def _dec_event_trigger(dec: PerDecoder) -> EventTriggerDefinition:
    ext, opt = dec.preamble(True, 4)
    f = "ric-EventTriggerStyle-List"
    try:
        styles = []
        for _ in range(1 + dec.constrained(_MAX_STYLES)):
            s_ext = dec.bit()
            st = dec.unconstrained_int()
            name = _dec_ric_style_name(dec)
            fmt = dec.unconstrained_int()
            if s_ext:
                dec.skip_extensions()
            styles.append(EventTriggerStyle(st, name, fmt))
        f = "ran-L2Parameters-List"
        l2 = _dec_infos(dec, f) if opt & 8 else ()
        f = "ran-CallProcessTypes-List"
        cps = []
        if opt & 4:
            n = 1 + dec.constrained(_MAX_ITEMS)
            if n * 16 > dec.remaining():
                raise dec.error(f"{n} call process types exceed the data")
            for _ in range(n):
                cp_ext = dec.bit()
                tid = _dec_short_id(dec)
                cname = _dec_ric_style_name(dec)
                m = 1 + dec.constrained(_MAX_ITEMS)
                if m * 16 > dec.remaining():
                    raise dec.error(f"{m} breakpoints exceed the data")
                bps = []
                for _ in range(m):
                    bp_ext, bp_opt = dec.preamble(True, 1)
                    bid = _dec_short_id(dec)
                    bname = _dec_ric_style_name(dec)
                    params = _dec_infos(dec, "ran-CallProcessBreakpointParameters-List") if bp_opt else ()
                    if bp_ext:
                        dec.skip_extensions()
                    bps.append(CallProcessBreakpoint(bid, bname, params))
                if cp_ext:
                    dec.skip_extensions()
                cps.append(CallProcessType(tid, cname, tuple(bps)))
        f = "ran-UEIdentificationParameters-List"
        ue = _dec_infos(dec, f) if opt & 2 else ()
        f = "ran-CellIdentificationParameters-List"
        cell = _dec_infos(dec, f) if opt & 1 else ()
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return EventTriggerDefinition(tuple(styles), l2, tuple(cps), ue, cell)


def _enc_report(enc: PerEncoder, styles: tuple[ReportStyle, ...]) -> None:
    enc.put(0, 1)
    enc.constrained(len(styles) - 1, _MAX_STYLES)
    for s in styles:
        enc.put(1 if s.params else 0, 2)
        enc.unconstrained_int(s.style_type)
        _enc_ric_style_name(enc, s.style_name)
        enc.unconstrained_int(s.supported_event_trigger_style_type)
        enc.unconstrained_int(s.action_format_type)
        enc.unconstrained_int(s.indication_header_format_type)
        enc.unconstrained_int(s.indication_message_format_type)
        if s.params:
            _enc_infos(enc, s.params)


def _dec_report(dec: PerDecoder) -> tuple[ReportStyle, ...]:
    ext = dec.bit()
    out = []
    for k in range(1 + dec.constrained(_MAX_STYLES)):
        try:
            s_ext, opt = dec.preamble(True, 1)
            st = dec.unconstrained_int()
            name = _dec_ric_style_name(dec)
            et = dec.unconstrained_int()
            af = dec.unconstrained_int()
            hf = dec.unconstrained_int()
            mf = dec.unconstrained_int()
            params = _dec_infos(dec, "ran-ReportParameters-List") if opt else ()
            if s_ext:
                dec.skip_extensions()
        except E2DecodeError as e:
            e.add_context(f"ric-ReportStyle-List[{k}]")
            raise
        out.append(ReportStyle(st, name, et, af, hf, mf, params))
    if ext:
        dec.skip_extensions()
    return tuple(out)


def _enc_insert(enc: PerEncoder, styles: tuple[InsertStyle, ...]) -> None:
    enc.put(0, 1)
    enc.constrained(len(styles) - 1, _MAX_STYLES)
    for s in styles:
        enc.put(1 if s.indications else 0, 2)
        enc.unconstrained_int(s.style_type)
        _enc_ric_style_name(enc, s.style_name)
        enc.unconstrained_int(s.supported_event_trigger_style_type)
        enc.unconstrained_int(s.action_definition_format_type)
        if s.indications:
            enc.constrained(len(s.indications) - 1, _MAX_ITEMS)
            for ind in s.indications:
                enc.put(1 if ind.params else 0, 2)
                _enc_short_id(enc, ind.indication_id)
                _enc_ric_style_name(enc, ind.name)
                if ind.params:
                    _enc_infos(enc, ind.params)
        enc.unconstrained_int(s.indication_header_format_type)
        enc.unconstrained_int(s.indication_message_format_type)
        enc.unconstrained_int(s.call_process_id_format_type)


def _dec_insert(dec: PerDecoder) -> tuple[InsertStyle, ...]:
    ext = dec.bit()
    out = []
    for k in range(1 + dec.constrained(_MAX_STYLES)):
        try:
            s_ext, opt = dec.preamble(True, 1)
            st = dec.unconstrained_int()
            name = _dec_ric_style_name(dec)
            et = dec.unconstrained_int()
            adf = dec.unconstrained_int()
            inds = []
            if opt:
                n = 1 + dec.constrained(_MAX_ITEMS)
                if n * 16 > dec.remaining():
                    raise dec.error(f"{n} insert indications exceed the data")
                for _ in range(n):
                    i_ext, i_opt = dec.preamble(True, 1)
                    iid = _dec_short_id(dec)
                    iname = _dec_ric_style_name(dec)
                    params = _dec_infos(dec, "ran-InsertIndicationParameters-List") if i_opt else ()
                    if i_ext:
                        dec.skip_extensions()
                    inds.append(InsertIndication(iid, iname, params))
            hf = dec.unconstrained_int()
            mf = dec.unconstrained_int()
            cf = dec.unconstrained_int()
            if s_ext:
                dec.skip_extensions()
        except E2DecodeError as e:
            e.add_context(f"ric-InsertStyle-List[{k}]")
            raise
        out.append(InsertStyle(st, name, et, adf, hf, mf, cf, tuple(inds)))
    if ext:
        dec.skip_extensions()
    return tuple(out)


def _enc_control(enc: PerEncoder, styles: tuple[ControlStyle, ...]) -> None:
    enc.put(0, 1)
    enc.constrained(len(styles) - 1, _MAX_STYLES)
    for s in styles:
        enc.put((bool(s.actions) << 2) | ((s.call_process_id_format_type is not None) << 1) | bool(s.outcome_params), 4)
        enc.unconstrained_int(s.style_type)
        _enc_ric_style_name(enc, s.style_name)
        if s.actions:
            enc.constrained(len(s.actions) - 1, _MAX_ITEMS)
            for a in s.actions:
                enc.put(1 if a.params else 0, 2)
                _enc_short_id(enc, a.action_id)
                _enc_ric_style_name(enc, a.name)
                if a.params:
                    _enc_infos(enc, a.params)
        enc.unconstrained_int(s.header_format_type)
        enc.unconstrained_int(s.message_format_type)
        if s.call_process_id_format_type is not None:
            enc.unconstrained_int(s.call_process_id_format_type)
        enc.unconstrained_int(s.outcome_format_type)
        if s.outcome_params:
            _enc_infos(enc, s.outcome_params, _MAX_OUTCOME)


def _dec_control_action(dec: PerDecoder) -> ControlAction:
    a_ext, opt = dec.preamble(True, 1)
    f = "ric-ControlAction-ID"
    try:
        aid = _dec_short_id(dec)
        f = "ric-ControlAction-Name"
        name = _dec_ric_style_name(dec)
        f = "ran-ControlActionParameters-List"
        params = _dec_infos(dec, f) if opt else ()
        if a_ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return ControlAction(aid, name, params)


def _dec_control(dec: PerDecoder) -> tuple[ControlStyle, ...]:
    ext = dec.bit()
    out = []
    for k in range(1 + dec.constrained(_MAX_STYLES)):
        f = "ric-ControlStyle-Type"
        try:
            s_ext, opt = dec.preamble(True, 3)
            st = dec.unconstrained_int()
            f = "ric-ControlStyle-Name"
            name = _dec_ric_style_name(dec)
            f = "ric-ControlAction-List"
            actions = []
            if opt & 4:
                n = 1 + dec.constrained(_MAX_ITEMS)
                if n * 16 > dec.remaining():
                    raise dec.error(f"{n} control actions exceed the data")
                for j in range(n):
                    try:
                        actions.append(_dec_control_action(dec))
                    except E2DecodeError as e:
                        e.add_context(f"[{j}]")
                        raise
            f = "ric-ControlHeaderFormat-Type"
            hf = dec.unconstrained_int()
            f = "ric-ControlMessageFormat-Type"
            mf = dec.unconstrained_int()
            f = "ric-CallProcessIDFormat-Type"
            cf = dec.unconstrained_int() if opt & 2 else None
            f = "ric-ControlOutcomeFormat-Type"
            of = dec.unconstrained_int()
            f = "ran-ControlOutcomeParameters-List"
            outcome = _dec_infos(dec, f, _MAX_OUTCOME) if opt & 1 else ()
            if s_ext:
                f = "extensions"
                dec.skip_extensions()
        except E2DecodeError as e:
            e.add_context(f)
            e.add_context(f"ric-ControlStyle-List[{k}]")
            raise
        out.append(ControlStyle(st, name, hf, mf, of, tuple(actions), cf, outcome))
    if ext:
        dec.skip_extensions()
    return tuple(out)


def _enc_policy(enc: PerEncoder, styles: tuple[PolicyStyle, ...]) -> None:
    enc.put(0, 1)
    enc.constrained(len(styles) - 1, _MAX_STYLES)
    for s in styles:
        enc.put(1 if s.actions else 0, 2)
        enc.unconstrained_int(s.style_type)
        _enc_ric_style_name(enc, s.style_name)
        enc.unconstrained_int(s.supported_event_trigger_style_type)
        if s.actions:
            enc.constrained(len(s.actions) - 1, _MAX_ITEMS)
            for a in s.actions:
                enc.put((bool(a.action_params) << 1) | bool(a.condition_params), 3)
                _enc_short_id(enc, a.action_id)
                _enc_ric_style_name(enc, a.name)
                enc.unconstrained_int(a.action_definition_format_type)
                if a.action_params:
                    _enc_infos(enc, a.action_params)
                if a.condition_params:
                    _enc_infos(enc, a.condition_params)


def _dec_policy(dec: PerDecoder) -> tuple[PolicyStyle, ...]:
    ext = dec.bit()
    out = []
    for k in range(1 + dec.constrained(_MAX_STYLES)):
        try:
            s_ext, opt = dec.preamble(True, 1)
            st = dec.unconstrained_int()
            name = _dec_ric_style_name(dec)
            et = dec.unconstrained_int()
            actions = []
            if opt:
                n = 1 + dec.constrained(_MAX_ITEMS)
                if n * 16 > dec.remaining():
                    raise dec.error(f"{n} policy actions exceed the data")
                for _ in range(n):
                    a_ext, a_opt = dec.preamble(True, 2)
                    aid = _dec_short_id(dec)
                    aname = _dec_ric_style_name(dec)
                    adf = dec.unconstrained_int()
                    ap = _dec_infos(dec, "ran-PolicyActionParameters-List") if a_opt & 2 else ()
                    cp = _dec_infos(dec, "ran-PolicyConditionParameters-List") if a_opt & 1 else ()
                    if a_ext:
                        dec.skip_extensions()
                    actions.append(PolicyAction(aid, aname, adf, ap, cp))
            if s_ext:
                dec.skip_extensions()
        except E2DecodeError as e:
            e.add_context(f"ric-PolicyStyle-List[{k}]")
            raise
        out.append(PolicyStyle(st, name, et, tuple(actions)))
    if ext:
        dec.skip_extensions()
    return tuple(out)


def _enc_ran_function_definition(enc: PerEncoder, v: RanFunctionDefinition) -> None:
    if type(v) is not RanFunctionDefinition:
        raise E2ValueError("must be a RanFunctionDefinition", field="E2SM-RC-RANFunctionDefinition", value=v)
    enc.put(
        ((v.event_trigger is not None) << 4)
        | (bool(v.report) << 3)
        | (bool(v.insert) << 2)
        | (bool(v.control) << 1)
        | bool(v.policy),
        6,
    )
    _enc_ran_function_name(enc, v.name)
    if v.event_trigger is not None:
        _enc_event_trigger(enc, v.event_trigger)
    if v.report:
        _enc_report(enc, v.report)
    if v.insert:
        _enc_insert(enc, v.insert)
    if v.control:
        _enc_control(enc, v.control)
    if v.policy:
        _enc_policy(enc, v.policy)


def _dec_ran_function_definition(dec: PerDecoder) -> RanFunctionDefinition:
    ext, opt = dec.preamble(True, 5)
    f = "ranFunction-Name"
    try:
        name = _dec_ran_function_name(dec)
        f = "ranFunctionDefinition-EventTrigger"
        trigger = _dec_event_trigger(dec) if opt & 16 else None
        f = "ranFunctionDefinition-Report"
        report = _dec_report(dec) if opt & 8 else ()
        f = "ranFunctionDefinition-Insert"
        insert = _dec_insert(dec) if opt & 4 else ()
        f = "ranFunctionDefinition-Control"
        control = _dec_control(dec) if opt & 2 else ()
        f = "ranFunctionDefinition-Policy"
        policy = _dec_policy(dec) if opt & 1 else ()
        if ext:
            f = "extensions"
            dec.skip_extensions()
    except E2DecodeError as e:
        e.add_context(f)
        raise
    return RanFunctionDefinition(name, trigger, report, insert, control, policy)


# -- public entry points ---------------------------------------------------------------------------------


def encode_control_header(value: ControlHeaderFormat1) -> bytes:
    """``E2SM-RC-ControlHeader`` (format 1) -> APER bytes for RICcontrolRequest's RICcontrolHeader."""
    return encode_complete(_enc_control_header, value)


def decode_control_header(data: bytes) -> ControlHeaderFormat1:
    """APER bytes -> ``E2SM-RC-ControlHeader`` format 1; other formats raise :class:`E2DecodeError`."""
    return decode_complete(_dec_control_header, data, "E2SM-RC-ControlHeader")


def encode_control_message(value: ControlMessageFormat1) -> bytes:
    """``E2SM-RC-ControlMessage`` (format 1) -> APER bytes for RICcontrolRequest's RICcontrolMessage."""
    return encode_complete(_enc_control_message, value)


def decode_control_message(data: bytes) -> ControlMessageFormat1:
    """APER bytes -> ``E2SM-RC-ControlMessage`` format 1; other formats raise :class:`E2DecodeError`."""
    return decode_complete(_dec_control_message, data, "E2SM-RC-ControlMessage")


def encode_control_outcome(value: ControlOutcomeFormat1) -> bytes:
    """``E2SM-RC-ControlOutcome`` (format 1) -> APER bytes (RICcontrolAcknowledge / Failure outcome)."""
    return encode_complete(_enc_control_outcome, value)


def decode_control_outcome(data: bytes) -> ControlOutcomeFormat1:
    """APER bytes -> ``E2SM-RC-ControlOutcome`` format 1; other formats raise :class:`E2DecodeError`."""
    return decode_complete(_dec_control_outcome, data, "E2SM-RC-ControlOutcome")


def encode_ran_function_definition(value: RanFunctionDefinition) -> bytes:
    """``E2SM-RC-RANFunctionDefinition`` -> APER bytes (the RANfunctionDefinition of E2 Setup)."""
    return encode_complete(_enc_ran_function_definition, value)


def decode_ran_function_definition(data: bytes) -> RanFunctionDefinition:
    """APER bytes -> ``E2SM-RC-RANFunctionDefinition`` (later extensions such as query styles are skipped)."""
    return decode_complete(_dec_ran_function_definition, data, "E2SM-RC-RANFunctionDefinition")
