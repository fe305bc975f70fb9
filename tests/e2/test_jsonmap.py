"""JSON mapping of the E2 value types: exact round trips for every codec value, the documented rules, and errors
that name the JSON path."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ricsdk.e2 import e2ap as m
from ricsdk.e2 import kpm as k
from ricsdk.e2 import rc
from ricsdk.e2.common import RanFunctionName, Snssai, UeId, UeIdGnbDu
from ricsdk.e2.jsonmap import from_json, to_json
from ricsdk.e2.per import BitString
from ricsdk.errors import ConfigError, E2ValueError
from tests.e2 import e2ap_strategies as es
from tests.e2 import kpm_strategies as ks
from tests.e2.test_common import ueids
from tests.e2.test_rc import definitions as rc_definitions
from tests.e2.test_rc import headers as rc_headers
from tests.e2.test_rc import messages as rc_messages
from tests.e2.test_rc import outcomes as rc_outcomes

PRINTABLE = ks.PRINTABLE


def through_json(value: object, tp: object) -> Any:
    """to_json -> JSON text (strict: no NaN/Infinity literals) -> from_json."""
    text = json.dumps(to_json(value, tp), allow_nan=False)
    return from_json(tp, json.loads(text))


# -- round trips over generated values ----------------------------------------------------------------------

names = st.text(PRINTABLE, min_size=1, max_size=20)
kpm_descriptions = st.builds(
    k.RanFunctionDescription,
    st.builds(RanFunctionName, names, names, names, st.none() | st.integers(0, 5)),
    st.lists(st.builds(k.EventTriggerStyle, st.integers(0, 255), names, st.integers(0, 255)), max_size=2).map(tuple),
    st.lists(
        st.builds(
            k.ReportStyle,
            st.integers(0, 255),
            names,
            st.integers(0, 255),
            st.lists(st.builds(k.MeasInfoActionItem, names, st.none() | st.integers(1, 65536)), max_size=3).map(tuple),
            st.integers(0, 255),
            st.integers(0, 255),
        ),
        max_size=2,
    ).map(tuple),
)

VALUES: dict[str, tuple[st.SearchStrategy[Any], object]] = {
    "e2ap v3": (es.messages(True), m.E2apMessage),
    "e2ap v2": (es.messages(False), m.E2apMessage),
    "kpm indication message v2": (ks.indication_message(False), k.IndicationMessage),
    "kpm indication message v3": (ks.indication_message(True), k.IndicationMessage),
    "kpm header 4": (ks.header(4), k.IndicationHeader),
    "kpm header 8": (ks.header(8), k.IndicationHeader),
    "kpm action definition v2": (ks.action_definition(False), k.ActionDefinition),
    "kpm action definition v3": (ks.action_definition(True), k.ActionDefinition),
    "kpm event trigger": (st.builds(k.EventTrigger, st.integers(1, 2**32 - 1)), k.EventTrigger),
    "kpm ran function description": (kpm_descriptions, k.RanFunctionDescription),
    "ue id": (ueids, UeId),
    "rc control header": (rc_headers, rc.ControlHeaderFormat1),
    "rc control message": (rc_messages, rc.ControlMessageFormat1),
    "rc control outcome": (rc_outcomes, rc.ControlOutcomeFormat1),
    "rc ran function definition": (rc_definitions, rc.RanFunctionDefinition),
}


@pytest.mark.parametrize("name", sorted(VALUES))
@settings(max_examples=60)
@given(data=st.data())
def test_every_codec_value_round_trips_through_json(name: str, data: st.DataObject) -> None:
    strategy, tp = VALUES[name]
    value = data.draw(strategy)
    assert through_json(value, tp) == value


@settings(max_examples=60)
@given(ks.indication_message(True))
def test_a_class_is_its_own_default_type(msg: k.IndicationMessage) -> None:
    assert from_json(type(msg), to_json(msg)) == msg


# -- the rules ------------------------------------------------------------------------------------------------


def test_bytes_are_lower_case_hex_and_upper_case_is_accepted() -> None:
    h = k.IndicationHeader(b"\xe9\xb3\xa2\xc0", sender_name="gnb")
    assert to_json(h) == {"collect_start_time": "e9b3a2c0", "sender_name": "gnb"}
    assert from_json(k.IndicationHeader, {"collect_start_time": "E9B3A2C0", "sender_name": "gnb"}) == h


def test_none_fields_are_omitted_and_missing_fields_take_their_defaults() -> None:
    v = m.ErrorIndication(transaction_id=3)
    assert to_json(v) == {"transaction_id": 3}
    assert from_json(m.ErrorIndication, {"transaction_id": 3}) == v
    assert from_json(m.ErrorIndication, {"transaction_id": 3, "cause": None}) == v
    assert from_json(k.MeasLabel, {}) == k.MeasLabel()


def test_int_enums_are_member_names() -> None:
    ind = m.RicIndication(m.RicRequestId(1, 2), 3, 4, m.IndicationType.INSERT, b"", b"")
    out = to_json(ind)
    assert isinstance(out, dict)
    assert out["indication_type"] == "INSERT"
    assert from_json(m.Cause, {"group": "MISC", "value": 2}) == m.Cause(m.CauseGroup.MISC, 2)


def test_missing_records_are_their_spec_names_and_floats_keep_their_type() -> None:
    item = k.MeasDataItem((1, 1.0, k.Missing.NO_VALUE, k.Missing.NOT_SATISFIED, math.inf, -math.inf, 2.5e300))
    out = to_json(item)
    assert out == {"records": [1, 1.0, "noValue", "notSatisfied", "inf", "-inf", 2.5e300], "incomplete": False}
    assert json.dumps(out).startswith('{"records": [1, 1.0, "noValue"')
    back = through_json(item, k.MeasDataItem)
    assert back == item
    assert [type(r) for r in back.records] == [type(r) for r in item.records]


def test_nan_and_negative_zero_survive() -> None:
    item = k.MeasDataItem((math.nan, -0.0))
    assert to_json(item) == {"records": ["nan", -0.0], "incomplete": False}
    nan, zero = through_json(item, k.MeasDataItem).records
    assert math.isnan(nan)
    assert math.copysign(1.0, zero) == -1.0


def test_a_union_admitting_str_wraps_bytes_and_non_finite_floats() -> None:
    values: list[rc.RanParameterValue] = [b"\x01\xff", "01ff", math.inf, 1.5, 2, True, BitString(5, 3)]
    params = tuple(rc.RanParameter(i + 1, rc.ElementTrue(v)) for i, v in enumerate(values))
    out = to_json(rc.ControlMessageFormat1(params))
    assert isinstance(out, dict) and isinstance(out["params"], list)
    got = [p["value"]["ElementTrue"]["value"] for p in out["params"]]  # type: ignore[index, call-overload]
    assert got == [{"hex": "01ff"}, "01ff", {"float": "inf"}, 1.5, 2, True, {"value": 5, "length": 3}]
    back = through_json(rc.ControlMessageFormat1(params), rc.ControlMessageFormat1)
    assert [type(p.value.value) for p in back.params] == [type(v) for v in values]
    assert back == rc.ControlMessageFormat1(params)


def test_a_union_of_dataclasses_names_the_alternative() -> None:
    hdr = rc.ControlHeaderFormat1(UeIdGnbDu(5), 2, 6)
    assert to_json(hdr) == {
        "ue_id": {"UeIdGnbDu": {"gnb_cu_ue_f1ap_id": 5}},
        "ric_style_type": 2,
        "ric_control_action_id": 6,
    }
    assert to_json(m.RicSubscriptionDeleteRequest(m.RicRequestId(1, 2), 3), m.E2apMessage) == {
        "RicSubscriptionDeleteRequest": {"request_id": {"requestor_id": 1, "instance_id": 2}, "ran_function_id": 3}
    }
    tc = k.TestCondInfo(k.TestCondType.CQI, k.TestCondExpression.EQUAL, k.TestCondEnum(4))
    assert to_json(tc) == {"test_type": "CQI", "test_expr": "EQUAL", "test_value": {"TestCondEnum": {"value": 4}}}
    assert through_json(tc, k.TestCondInfo) == tc


def test_bit_strings_are_value_and_length() -> None:
    ric = m.GlobalRicId(b"\x00\xf1\x10", BitString(0xABCDE, 20))
    assert to_json(ric) == {"plmn": "00f110", "ric_id": {"value": 0xABCDE, "length": 20}}


def test_plans_are_cached_per_type() -> None:
    from ricsdk.e2 import jsonmap

    assert jsonmap._plan_for(m.E2apMessage) is jsonmap._plan_for(m.E2apMessage)
    assert jsonmap._plan_for(rc.Structure) is jsonmap._plan_for(rc.Structure)


# -- errors name the JSON path -----------------------------------------------------------------------------------


def ind_json(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": {"requestor_id": 1, "instance_id": 2},
        "ran_function_id": 3,
        "action_id": 4,
        "indication_type": "REPORT",
        "header": "00",
        "message": "01",
    }
    body.update(changes)
    return {"RicIndication": body}


def load_error(tp: object, data: object, path: str = "$") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        from_json(tp, data, path)
    return info.value


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (ind_json(request_id={"requestor_id": 1, "instance_id": 70000}), ".request_id.instance_id", "0..65535"),
        (ind_json(request_id={"requestor_id": 1, "instance_id": "2"}), ".request_id.instance_id", "integer"),
        (ind_json(request_id={"requestor_id": 1}), ".request_id.instance_id", "missing"),
        (ind_json(request_id={"requestor_id": 1, "instance_id": 2, "x": 1}), ".request_id.x", "unknown member"),
        (ind_json(indication_type="REPORTS"), ".indication_type", "'REPORT', 'INSERT'"),
        (ind_json(indication_type=0), ".indication_type", "got an integer"),
        (ind_json(header="0g"), ".header", "hex"),
        (ind_json(header="012"), ".header", "hex"),
        (ind_json(sn=True), ".sn", "got a boolean"),
        (ind_json(action_id=1.0), ".action_id", "got a number"),
        (ind_json(ran_function_id=5000), ".ran_function_id", "0..4095"),
    ],
)
def test_errors_name_the_json_path(data: dict[str, Any], path: str, words: str) -> None:
    err = load_error(m.E2apMessage, data, "$.message")
    assert err.field == "$.message.RicIndication" + path
    assert words in str(err)


def test_constructor_refusals_are_chained() -> None:
    err = load_error(m.RicRequestId, {"requestor_id": 1, "instance_id": -1})
    assert err.field == "$.instance_id"
    assert isinstance(err.__cause__, E2ValueError)


def test_list_items_are_indexed() -> None:
    data = {"meas_data": [{"records": [1]}, {"records": [1, "noVal"]}]}
    err = load_error(k.IndicationMessageF1, data)
    assert err.field == "$.meas_data[1].records[1]"
    assert "'noValue'" in str(err)
    assert load_error(k.IndicationMessageF1, {"meas_data": [{"records": []}]}).field == "$.meas_data[0].records"


def test_union_errors_say_what_was_expected() -> None:
    err = load_error(m.E2apMessage, {"RicIndicationX": {}})
    assert err.field == "$"
    assert "RicIndication" in str(err)
    err = load_error(m.E2apMessage, [])
    assert "got an array" in str(err)
    err = load_error(rc.ElementTrue, {"value": {"hex": "zz"}})
    assert err.field == "$.value.hex"
    err = load_error(rc.ElementTrue, {"value": {"float": "infinity"}})
    assert err.field == "$.value.float"
    err = load_error(rc.ElementTrue, {"value": None})
    assert err.field == "$.value"


def test_a_float_field_accepts_an_integer_but_an_int_field_refuses_a_float() -> None:
    assert from_json(k.MeasDataItem, {"records": [2, 2.0]}).records == (2, 2.0)
    assert type(from_json(rc.ElementTrue, {"value": 2.0}).value) is float
    assert load_error(m.RicRequestId, {"requestor_id": 1.0, "instance_id": 2}).field == "$.requestor_id"


def test_only_json_values_are_accepted() -> None:
    assert "got tuple" in str(load_error(k.MeasDataItem, {"records": (1,)}))
    assert "got bytes" in str(load_error(k.IndicationHeader, {"collect_start_time": b"\x00\x00\x00\x00"}))


# -- plan-time refusals: types the rules cannot map --------------------------------------------------------------


class _A(IntEnum):
    X = 0


class _B(IntEnum):
    X = 1


class _Hexish(Enum):
    ABBA = "abba"


@dataclass(frozen=True)
class _TwoEnums:
    v: _A | _B


@dataclass(frozen=True)
class _EnumOrBytes:
    v: _Hexish | bytes


@dataclass(frozen=True)
class _FixedTuple:
    v: tuple[int, int]


@dataclass(frozen=True)
class _ListField:
    v: list[int]


@dataclass(frozen=True)
class _Hex:
    hex: str


@dataclass(frozen=True)
class _HexClash:
    v: _Hex | bytes | str


@pytest.mark.parametrize("tp", [_TwoEnums, _EnumOrBytes, _FixedTuple, _ListField, _HexClash])
def test_ambiguous_or_unsupported_types_are_refused_when_planned(tp: type) -> None:
    with pytest.raises(TypeError):
        to_json(object.__new__(tp), tp)


def test_a_value_outside_its_union_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        to_json(Snssai(b"\x01"), m.E2apMessage)
