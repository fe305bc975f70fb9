"""``ricsdk e2 decode`` / ``encode``: decode, edit the JSON, encode, decode again shows the edit, for every E2AP
message and every E2SM kind; captures; malformed input; argument and JSON errors; generated round trips."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ricsdk.cli import e2 as cli
from ricsdk.cli.main import main
from ricsdk.e2 import e2ap as m
from ricsdk.e2 import kpm as k
from ricsdk.e2 import rc
from ricsdk.e2.common import Guami, RanFunctionName, Snssai, UeIdGnb, plmn_from_str
from ricsdk.e2.per import BitString
from ricsdk.e2.slice_quota import SliceQuota, quota_control_header, quota_control_message
from ricsdk.trace.pcap import PcapngWriter, exported_pdu, pcap_file, read_capture
from tests.e2 import e2ap_strategies as es
from tests.e2 import kpm_strategies as ks
from tests.e2.test_rc import definitions as rc_definitions
from tests.e2.test_rc import headers as rc_headers
from tests.e2.test_rc import messages as rc_messages
from tests.e2.test_rc import outcomes as rc_outcomes

PLMN = plmn_from_str("00101")
KPM2 = k.KpmCodec(k.KpmVersion.V2)
KPM3 = k.KpmCodec(k.KpmVersion.V3)
RID = m.RicRequestId(1001, 7)


def run(args: Sequence[str], input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(main, ["e2", *args], input=input)


def decode_ok(args: Sequence[str], input: bytes | str | None = None) -> Any:
    result = run(["decode", *args], input)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def encode_hex(doc: object, *args: str) -> str:
    result = run(["encode", *args], json.dumps(doc))
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout.strip()


def at(doc: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def put(doc: Any, path: Sequence[str | int], value: object) -> None:
    at(doc, path[:-1])[path[-1]] = value


ABSENT = object()


def get(doc: Any, path: Sequence[str | int]) -> Any:
    """The member at ``path``, or ABSENT when its object has no such member (an omitted optional field)."""
    holder = at(doc, path[:-1])
    return holder.get(path[-1], ABSENT) if isinstance(holder, dict) else holder[path[-1]]


# -- sample values ------------------------------------------------------------------------------------------


def kpm_description(oid: str) -> bytes:
    return KPM3.encode_ran_function_description(
        k.RanFunctionDescription(
            RanFunctionName("ORAN-E2SM-KPM", oid, "KPM Monitor"),
            (k.EventTriggerStyle(1, "Periodic Report", 1),),
            (k.ReportStyle(1, "E2 Node Measurement", 1, (k.MeasInfoActionItem("DRB.UEThpDl", 1),), 1, 1),),
        )
    )


def rc_definition() -> bytes:
    action = rc.ControlAction(6, "Slice-level PRB quota", (rc.RanParameterInfo(1, "RRM Policy Ratio List"),))
    style = rc.ControlStyle(2, "Radio Resource Allocation Control", 1, 1, 1, (action,))
    return rc.encode_ran_function_definition(
        rc.RanFunctionDefinition(RanFunctionName("ORAN-E2SM-RC", rc.RC_OID, "RAN Control"), control=(style,))
    )


def slice_labels() -> tuple[k.MeasInfoItem, ...]:
    label = (k.MeasLabel(slice_id=Snssai.of(1, 1)),)
    return (k.MeasInfoItem("DRB.UEThpDl", label), k.MeasInfoItem("RRU.PrbUsedDl", label))


INDICATION = m.RicIndication(
    RID,
    2,
    1,
    m.IndicationType.REPORT,
    KPM2.encode_indication_header(k.IndicationHeader(bytes.fromhex("e9b3a2c0"), sender_name="gnb-1")),
    KPM2.encode_indication_message(
        k.IndicationMessageF1((k.MeasDataItem((1200, 35.5)), k.MeasDataItem((800, k.Missing.NO_VALUE))), slice_labels())
    ),
    sn=42,
)
CONTROL = m.RicControlRequest(
    RID,
    3,
    rc.encode_control_header(quota_control_header()),
    rc.encode_control_message(quota_control_message([SliceQuota(PLMN, Snssai.of(1, 1), 10, 80, 5)])),
    ack_request=m.ControlAckRequest.ACK,
)
OUTCOME = rc.encode_control_outcome(rc.ControlOutcomeFormat1((rc.ControlOutcomeItem(11, 10),)))
CAUSE = m.Cause.of("ricRequest", "control-message-invalid")
SUBSCRIPTION = m.RicSubscriptionRequest(
    RID,
    2,
    KPM2.encode_event_trigger(k.EventTrigger(1000)),
    (
        m.ActionToBeSetup(
            1,
            m.ActionType.REPORT,
            KPM2.encode_action_definition(k.ActionDefinition(1, k.ActionDefinitionF1(slice_labels(), 1000))),
        ),
        m.ActionToBeSetup(2, m.ActionType.POLICY),
    ),
)
SETUP = m.E2setupRequest(
    1,
    m.GnbE2NodeId(m.GlobalGnbId(PLMN, BitString(0xE00, 22)), gnb_du_id=1),
    (m.RanFunction(2, kpm_description(k.KPM_OID_V2), 1, k.KPM_OID_V2), m.RanFunction(3, rc_definition(), 1, rc.RC_OID)),
    (m.ComponentConfigAddition(m.E2nodeComponentInterfaceType.F1, m.E2nodeComponentF1(1), b"\x01", b"\x02"),),
)
COMPONENT_ACK = m.ComponentConfigAdditionAck(
    m.E2nodeComponentInterfaceType.F1, m.E2nodeComponentF1(1), m.UpdateOutcome.SUCCESS
)

# (message, path of the edited JSON member from the document root, new value)
E2AP_EDITS: dict[str, tuple[m.E2apMessage, tuple[str | int, ...], object]] = {
    "RicIndication record": (
        INDICATION,
        ("message", "RicIndication", "message_e2sm", "value", "IndicationMessageF1", "meas_data", 0, "records", 1),
        99.25,
    ),
    "RicIndication header": (
        INDICATION,
        ("message", "RicIndication", "header_e2sm", "value", "sender_name"),
        "gnb-2",
    ),
    "RicIndication sn": (INDICATION, ("message", "RicIndication", "sn"), 43),
    "RicControlRequest quota": (
        CONTROL,
        (
            "message",
            "RicControlRequest",
            "message_e2sm",
            "value",
            "params",
            0,
            "value",
            "StructureList",
            "items",
            0,
            "params",
            0,
            "value",
            "Structure",
            "params",
            1,
            "value",
            "ElementFalse",
            "value",
        ),
        20,
    ),
    "RicControlRequest action": (
        CONTROL,
        ("message", "RicControlRequest", "header_e2sm", "value", "ric_control_action_id"),
        5,
    ),
    "RicControlAcknowledge": (
        m.RicControlAcknowledge(RID, 3, outcome=OUTCOME),
        ("message", "RicControlAcknowledge", "outcome_e2sm", "value", "params", 0, "value"),
        12,
    ),
    "RicControlFailure": (
        m.RicControlFailure(RID, 3, CAUSE, outcome=OUTCOME),
        ("message", "RicControlFailure", "cause", "value"),
        9,
    ),
    "RicSubscriptionRequest trigger": (
        SUBSCRIPTION,
        ("message", "RicSubscriptionRequest", "event_trigger_e2sm", "value", "reporting_period_ms"),
        500,
    ),
    "RicSubscriptionRequest action": (
        SUBSCRIPTION,
        (
            "message",
            "RicSubscriptionRequest",
            "actions",
            0,
            "definition_e2sm",
            "value",
            "format",
            "ActionDefinitionF1",
            "meas_info",
            1,
            "meas_type",
        ),
        "RRU.PrbTotDl",
    ),
    "RicSubscriptionResponse": (
        m.RicSubscriptionResponse(RID, 2, (1,), (m.ActionNotAdmitted(2, CAUSE),)),
        ("message", "RicSubscriptionResponse", "admitted"),
        [1, 3],
    ),
    "RicSubscriptionFailure": (
        m.RicSubscriptionFailure(RID, 2, CAUSE),
        ("message", "RicSubscriptionFailure", "cause", "group"),
        "MISC",
    ),
    "RicSubscriptionDeleteRequest": (
        m.RicSubscriptionDeleteRequest(RID, 2),
        ("message", "RicSubscriptionDeleteRequest", "request_id", "instance_id"),
        8,
    ),
    "RicSubscriptionDeleteResponse": (
        m.RicSubscriptionDeleteResponse(RID, 2),
        ("message", "RicSubscriptionDeleteResponse", "ran_function_id"),
        4095,
    ),
    "RicSubscriptionDeleteFailure": (
        m.RicSubscriptionDeleteFailure(RID, 2, CAUSE, m.CriticalityDiagnostics(procedure_code=9)),
        ("message", "RicSubscriptionDeleteFailure", "criticality_diagnostics", "procedure_code"),
        8,
    ),
    "E2setupRequest kpm": (
        SETUP,
        ("message", "E2setupRequest", "ran_functions", 0, "definition_e2sm", "value", "name", "description"),
        "KPM Monitor 2",
    ),
    "E2setupRequest rc": (
        SETUP,
        (
            "message",
            "E2setupRequest",
            "ran_functions",
            1,
            "definition_e2sm",
            "value",
            "control",
            0,
            "actions",
            0,
            "name",
        ),
        "Slice PRB quota",
    ),
    "E2setupResponse": (
        m.E2setupResponse(
            1, m.GlobalRicId(PLMN, BitString(0xABCDE, 20)), (COMPONENT_ACK,), (m.RanFunctionIdItem(2, 1),)
        ),
        ("message", "E2setupResponse", "global_ric_id", "ric_id", "value"),
        0x12345,
    ),
    "E2setupFailure": (
        m.E2setupFailure(1, CAUSE, m.SetupTimeToWait.V5S),
        ("message", "E2setupFailure", "time_to_wait"),
        "V60S",
    ),
    "ErrorIndication": (
        m.ErrorIndication(request_id=RID, cause=CAUSE),
        ("message", "ErrorIndication", "ran_function_id"),
        17,
    ),
}


def test_every_e2ap_message_type_is_covered() -> None:
    covered = {type(msg) for msg, _, _ in E2AP_EDITS.values()}
    assert covered == set(m.MESSAGE_TYPES)


@pytest.mark.parametrize("name", sorted(E2AP_EDITS))
def test_decode_edit_encode_decode_shows_the_edit(name: str, tmp_path: Path) -> None:
    msg, path, new = E2AP_EDITS[name]
    data = m.encode_e2ap(msg)
    (tmp_path / "pdu.bin").write_bytes(data)
    doc = decode_ok([str(tmp_path / "pdu.bin")])
    assert encode_hex(doc) == data.hex(), "an unedited document encodes to the same bytes"
    before = get(doc, path)
    assert before != new
    put(doc, path, new)
    again = decode_ok(["--hex", encode_hex(doc)])
    assert at(again, path) == new
    if before is ABSENT:
        del at(again, path[:-1])[path[-1]]
    else:
        put(again, path, before)
    assert encode_hex(again) == data.hex(), "undoing the edit gives the original bytes back"


def test_decoded_payloads_sit_beside_their_hex() -> None:
    doc = decode_ok(["--hex", m.encode_e2ap(INDICATION).hex()])
    body = doc["message"]["RicIndication"]
    assert list(body)[4:8] == ["header", "header_e2sm", "message", "message_e2sm"]
    assert body["header_e2sm"] == {
        "sm": "kpm",
        "version": 2,
        "kind": "indication-header",
        "value": {"collect_start_time": "e9b3a2c0", "sender_name": "gnb-1"},
    }
    assert body["message_e2sm"]["value"]["IndicationMessageF1"]["meas_data"][1]["records"] == [800, "noValue"]
    assert doc["e2ap_version"] == 2


def test_sm_none_leaves_payloads_as_hex() -> None:
    doc = decode_ok(["--sm", "none", "--hex", m.encode_e2ap(INDICATION).hex()])
    assert not any(key.endswith("_e2sm") for key in doc["message"]["RicIndication"])


def test_a_forced_sm_that_does_not_define_a_payload_says_so() -> None:
    doc = decode_ok(["--sm", "rc", "--hex", m.encode_e2ap(INDICATION).hex()])
    section = doc["message"]["RicIndication"]["header_e2sm"]
    assert section == {"sm": "rc", "error": "E2SM-RC does not define the header of a RicIndication"}
    assert encode_hex(doc) == m.encode_e2ap(INDICATION).hex()


def test_a_payload_that_does_not_decode_keeps_its_hex_and_the_command_succeeds() -> None:
    broken = m.RicIndication(RID, 2, 1, m.IndicationType.REPORT, b"\xff", b"\x0c\x00")
    result = run(["decode", "--hex", m.encode_e2ap(broken).hex()])
    assert result.exit_code == 0
    body = json.loads(result.stdout)["message"]["RicIndication"]
    assert body["header"] == "ff"
    assert "value" not in body["header_e2sm"] and "E2SM-KPM-IndicationHeader" in body["header_e2sm"]["error"]
    assert "error" in body["message_e2sm"]
    assert encode_hex(json.loads(result.stdout)) == m.encode_e2ap(broken).hex()


def test_edited_raw_hex_is_used_once_the_decoded_member_is_removed() -> None:
    doc = decode_ok(["--hex", m.encode_e2ap(INDICATION).hex()])
    body = doc["message"]["RicIndication"]
    del body["header_e2sm"]
    body["header"] = KPM2.encode_indication_header(k.IndicationHeader(b"\x00\x00\x00\x01")).hex()
    again = decode_ok(["--hex", encode_hex(doc)])
    assert again["message"]["RicIndication"]["header_e2sm"]["value"] == {"collect_start_time": "00000001"}


# -- KPM versions --------------------------------------------------------------------------------------------


def v3_indication() -> m.RicIndication:
    msg = k.IndicationMessageF1((k.MeasDataItem((5, k.Missing.NOT_SATISFIED)),), slice_labels()[:1])
    header = k.IndicationHeader(bytes.fromhex("e9b3a2c080000000"))
    return m.RicIndication(
        RID, 2, 1, m.IndicationType.REPORT, KPM3.encode_indication_header(header), KPM3.encode_indication_message(msg)
    )


def test_the_kpm_version_is_the_lowest_that_holds_the_payload() -> None:
    body = decode_ok(["--hex", m.encode_e2ap(v3_indication()).hex()])["message"]["RicIndication"]
    assert body["message_e2sm"]["version"] == 3, "notSatisfied exists from v3 on"
    assert body["header_e2sm"]["version"] == 3, "one message, one version"
    body = decode_ok(["--hex", m.encode_e2ap(INDICATION).hex()])["message"]["RicIndication"]
    assert body["message_e2sm"]["version"] == body["header_e2sm"]["version"] == 2


def test_version_overrides_on_decode_and_encode() -> None:
    pdu = m.encode_e2ap(v3_indication()).hex()
    doc = decode_ok(["--version", "2", "--hex", pdu])
    section = doc["message"]["RicIndication"]["message_e2sm"]
    assert section["version"] == 2
    assert encode_hex(doc) == pdu, "unedited: the payload keeps its bytes"
    section["value"]["IndicationMessageF1"]["meas_data"][0]["records"][0] = 6
    result = run(["encode"], json.dumps(doc))
    assert result.exit_code == 2
    assert "$.message.RicIndication.message_e2sm.value" in result.stderr
    assert "notSatisfied records are KPM v3" in result.stderr
    again = decode_ok(["--hex", encode_hex(doc, "--version", "3")])
    assert again["message"]["RicIndication"]["message_e2sm"]["value"]["IndicationMessageF1"]["meas_data"] == [
        {"records": [6, "notSatisfied"], "incomplete": False}
    ]


def test_e2setup_oids_choose_the_service_model_and_version() -> None:
    kpm3 = m.RanFunction(4, kpm_description(k.KPM_OID_V3), 1, k.KPM_OID_V3)
    other = m.RanFunction(5, b"\x00\x01", 1, "1.2.3")
    setup = m.E2setupRequest(1, SETUP.global_e2node_id, (*SETUP.ran_functions, kpm3, other), SETUP.component_configs)
    funcs = decode_ok(["--hex", m.encode_e2ap(setup).hex()])["message"]["E2setupRequest"]["ran_functions"]
    sections = [f.get("definition_e2sm") for f in funcs]
    assert [(s["sm"], s.get("version"), s["kind"]) for s in sections[:3]] == [
        ("kpm", 2, "ran-function-description"),
        ("rc", None, "ran-function-definition"),
        ("kpm", 3, "ran-function-description"),
    ]
    assert sections[3] is None, "an unknown OID is left as hex"


def test_e2ap_v3_only_fields_record_version_3_and_refuse_v2() -> None:
    sub = m.RicSubscriptionRequest(RID, 2, b"\x00", (m.ActionToBeSetup(1, m.ActionType.REPORT),), b"\x01" * 8)
    doc = decode_ok(["--sm", "none", "--hex", m.encode_e2ap(sub, m.E2apVersion.V3).hex()])
    assert doc["e2ap_version"] == 3
    assert encode_hex(doc) == m.encode_e2ap(sub, m.E2apVersion.V3).hex()
    result = run(["encode", "--e2ap-version", "2"], json.dumps(doc))
    assert result.exit_code == 2
    assert "$.message.RicSubscriptionRequest.start_time" in result.stderr


# -- E2SM payloads on their own -------------------------------------------------------------------------------

UE = UeIdGnb(7, Guami(PLMN, BitString(1, 8), BitString(2, 10), BitString(3, 6)))


def kpm_samples(codec: k.KpmCodec) -> dict[str, tuple[bytes, tuple[str | int, ...], object]]:
    v3 = codec.version is k.KpmVersion.V3
    ts = bytes(8 if v3 else 4)
    records: tuple[k.MeasRecord, ...] = (1, 2.5, k.Missing.NOT_SATISFIED if v3 else k.Missing.NO_VALUE)
    f1 = k.IndicationMessageF1((k.MeasDataItem(records),), slice_labels()[:1], 100)
    message: k.IndicationMessage = k.IndicationMessageF3((k.UeMeasReport(UE, f1),)) if v3 else f1
    fmt = "IndicationMessageF3" if v3 else "IndicationMessageF1"
    record_path: tuple[str | int, ...] = ("value", fmt)
    record_path += ("ue_reports", 0, "report") if v3 else ()
    cond = k.MatchingCondItem(k.TestCondInfo(k.TestCondType.RSRP, k.TestCondExpression.LESS_THAN, -90))
    action = k.ActionDefinition(2, k.ActionDefinitionF3((k.MeasCondItem("RRU.PrbUsedDl", (cond,)),), 1000))
    return {
        "event-trigger": (codec.encode_event_trigger(k.EventTrigger(1000)), ("value", "reporting_period_ms"), 10),
        "action-definition": (
            codec.encode_action_definition(action),
            (
                "value",
                "format",
                "ActionDefinitionF3",
                "meas_cond",
                0,
                "matching_cond",
                0,
                "cond",
                "TestCondInfo",
                "test_value",
            ),
            -100,
        ),
        "indication-header": (
            codec.encode_indication_header(k.IndicationHeader(ts, vendor_name="acme")),
            ("value", "vendor_name"),
            "other",
        ),
        "indication-message": (
            codec.encode_indication_message(message),
            (*record_path, "meas_data", 0, "records", 1),
            "inf",
        ),
        "ran-function-description": (
            kpm_description(k.KPM_OID_V3 if v3 else k.KPM_OID_V2),
            ("value", "report_styles", 0, "meas_info_action", 0, "name"),
            "DRB.UEThpUl",
        ),
    }


def rc_samples() -> dict[str, tuple[bytes, tuple[str | int, ...], object]]:
    return {
        "control-header": (
            rc.encode_control_header(rc.ControlHeaderFormat1(UE, 2, 6, rc.ControlDecision.ACCEPT)),
            ("value", "ric_control_decision"),
            "REJECT",
        ),
        "control-message": (
            CONTROL.message,
            ("value", "params", 0, "id"),
            99,
        ),
        "control-outcome": (OUTCOME, ("value", "params", 0, "value"), {"hex": "0a"}),
        "ran-function-definition": (rc_definition(), ("value", "control", 0, "style_name"), "Quota Control"),
    }


E2SM_CASES = [(kind, "2") for kind in kpm_samples(KPM2)] + [(kind, "3") for kind in kpm_samples(KPM3)]
E2SM_CASES += [(kind, "") for kind in rc_samples()]


def test_every_e2sm_kind_is_covered() -> None:
    assert {kind for kind, _ in E2SM_CASES} == set(cli.KINDS)


@pytest.mark.parametrize(("kind", "version"), E2SM_CASES)
def test_e2sm_decode_edit_encode_decode_shows_the_edit(kind: str, version: str) -> None:
    if version:
        data, path, new = kpm_samples(k.KpmCodec(k.KpmVersion(int(version))))[kind]
        vargs = ["--version", version]
    else:
        data, path, new = rc_samples()[kind]
        vargs = []
    doc = decode_ok(["--kind", kind, *vargs, "--hex", data.hex()])
    assert doc["kind"] == kind and doc["sm"] == cli.KINDS[kind].sm
    if version:
        assert doc["version"] == int(version)
    assert encode_hex(doc) == data.hex()
    assert at(doc, path) != new
    put(doc, path, new)
    again = decode_ok(["--kind", kind, *vargs, "--hex", encode_hex(doc)])
    assert at(again, path) == new


def test_kind_without_version_finds_it() -> None:
    data = kpm_samples(KPM3)["indication-message"][0]
    assert decode_ok(["--kind", "indication-message", "--hex", data.hex()])["version"] == 3


# -- input forms and captures --------------------------------------------------------------------------------


def test_input_forms_are_detected(tmp_path: Path) -> None:
    data = m.encode_e2ap(INDICATION)
    (tmp_path / "a.bin").write_bytes(data)
    (tmp_path / "a.hex").write_text("0x" + data.hex().upper() + "\n")
    (tmp_path / "b.hex").write_text(" ".join(f"{b:02x}" for b in data))
    expected = decode_ok(["--hex", data.hex()])
    for name in ("a.bin", "a.hex", "b.hex"):
        assert decode_ok([str(tmp_path / name)]) == expected
    assert decode_ok([], input=data) == expected
    assert decode_ok(["-"], input=data.hex()) == expected
    assert decode_ok(["--format", "hex", str(tmp_path / "a.hex")]) == expected


def capture(pdus: list[bytes]) -> bytes:
    w = PcapngWriter()
    packets = (w.packet(1_700_000_000_000_000_000 + i, exported_pdu(p), comment=f"n={i}") for i, p in enumerate(pdus))
    return w.header() + b"".join(packets)


def test_a_capture_gives_one_entry_per_pdu_and_encodes_back(tmp_path: Path) -> None:
    # function 2 announced as KPM v3: the indication's notSatisfied-free payloads still read as v3
    kpm3 = m.RanFunction(2, kpm_description(k.KPM_OID_V3), 1, k.KPM_OID_V3)
    setup = m.E2setupRequest(1, SETUP.global_e2node_id, (kpm3,), SETUP.component_configs)
    pdus = [m.encode_e2ap(x) for x in (setup, SUBSCRIPTION, INDICATION, CONTROL)]
    (tmp_path / "t.pcapng").write_bytes(capture(pdus))
    entries = decode_ok([str(tmp_path / "t.pcapng")])
    assert [(e["packet"], e["timestamp_ns"] % 10, e["comment"]) for e in entries] == [
        (i + 1, i, f"n={i}") for i in range(4)
    ]
    assert [next(iter(e["message"])) for e in entries] == [
        "E2setupRequest",
        "RicSubscriptionRequest",
        "RicIndication",
        "RicControlRequest",
    ]
    assert entries[2]["message"]["RicIndication"]["message_e2sm"]["version"] == 3
    assert entries[3]["message"]["RicControlRequest"]["message_e2sm"]["sm"] == "rc"

    put(entries, (2, "message", "RicIndication", "sn"), 44)
    out = tmp_path / "out.pcapng"
    result = run(["encode", "--out", str(out)], json.dumps(entries))
    assert result.exit_code == 0, result.stderr
    packets = list(read_capture(out.read_bytes()))
    assert [(p.timestamp_ns, p.comment) for p in packets] == [(e["timestamp_ns"], e["comment"]) for e in entries]
    again = decode_ok([str(out)])
    assert again[2]["message"]["RicIndication"]["sn"] == 44
    assert [e["message"] for e in again[:2]] == [e["message"] for e in entries[:2]]
    lines = encode_hex(entries).splitlines()
    assert lines[0] == pdus[0].hex() and len(lines) == 4


def test_a_classic_pcap_is_read_too(tmp_path: Path) -> None:
    data = pcap_file([(5_000_000_000, exported_pdu(m.encode_e2ap(INDICATION)))])
    (tmp_path / "t.pcap").write_bytes(data)
    (entry,) = decode_ok([str(tmp_path / "t.pcap")])
    assert entry["timestamp_ns"] == 5_000_000_000 and "comment" not in entry
    assert decode_ok(["--hex", data.hex()]) == [entry]


def test_a_malformed_pdu_in_a_capture_fails_the_command_but_is_printed(tmp_path: Path) -> None:
    good = m.encode_e2ap(INDICATION)
    (tmp_path / "t.pcapng").write_bytes(capture([good, good[:30]]))
    result = run(["decode", str(tmp_path / "t.pcapng")])
    assert result.exit_code == 1
    entries = json.loads(result.stdout)
    assert entries[1]["hex"] == good[:30].hex()
    assert entries[1]["error"]["bit_position"] == 24
    assert "packet 2" in result.stderr and "exceeds the data at bit 24" in result.stderr
    out = tmp_path / "out.pcapng"
    assert run(["encode", "--out", str(out)], json.dumps(entries)).exit_code == 0
    assert [p.data for p in read_capture(out.read_bytes())] == [exported_pdu(good), exported_pdu(good[:30])]


def test_a_capture_of_another_link_type_is_refused(tmp_path: Path) -> None:
    w = PcapngWriter()
    (tmp_path / "t.pcapng").write_bytes(w.header() + w.packet(1, b"\x00" * 40, linktype=1))
    result = run(["decode", str(tmp_path / "t.pcapng")])
    assert result.exit_code == 1
    assert "link type 1 is not supported" in result.stderr
    assert json.loads(result.stdout) == []


# -- malformed input and bad arguments -------------------------------------------------------------------------


def test_a_malformed_pdu_exits_1_naming_the_path_and_bit() -> None:
    data = bytearray(m.encode_e2ap(INDICATION))
    data[20] = 0xFF  # RANfunctionID 0xff02
    result = run(["decode", "--hex", data.hex()])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "malformed E2AP PDU" in result.stderr
    assert "in RicIndication.RANfunctionID" in result.stderr
    inner = bytes(data[:11]) + b"\xff" + bytes(data[12:])
    result = run(["decode", "--hex", inner.hex()])
    assert result.exit_code == 1
    assert "in RicIndication.RICrequestID at bit 40 of the embedded value" in result.stderr


def test_a_malformed_e2sm_payload_exits_1() -> None:
    result = run(["decode", "--kind", "indication-message", "--version", "2", "--hex", "0c0001"])
    assert result.exit_code == 1
    assert "malformed E2SM-KPM indication-message" in result.stderr
    assert "E2SM-KPM-IndicationMessage" in result.stderr and "at bit" in result.stderr


def test_a_truncated_kpm_record_list_is_reported_with_its_field_path() -> None:
    result = run(["decode", "--kind", "indication-message", "--version", "2", "--hex", "0c0000000208"])
    assert result.exit_code == 1
    assert "measData" in result.stderr
    assert "IndexError" not in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["decode", "x.bin", "--hex", "00"], "either INPUT or --hex"),
        (["decode", "--hex", "0g"], "--hex"),
        (["decode", "--hex", "000"], "odd number of hex digits"),
        (["decode", "--kind", "control-header", "--sm", "kpm", "--hex", "00"], "--sm"),
        (["decode", "--kind", "control-header", "--sm", "none", "--hex", "00"], "--sm"),
        (["decode", "--kind", "nope", "--hex", "00"], "--kind"),
        (["decode", "--version", "4", "--hex", "00"], "--version"),
        (["decode", "missing-file.bin"], "does not exist"),
        (["decode", "--format", "pcap", "--kind", "event-trigger", "--hex", "0a0d0d0a"], "--kind"),
    ],
)
def test_bad_arguments_are_usage_errors(args: list[str], words: str, tmp_path: Path) -> None:
    if "x.bin" in args:
        (tmp_path / "x.bin").write_bytes(b"\x00")
        args = [str(tmp_path / "x.bin") if a == "x.bin" else a for a in args]
    result = CliRunner().invoke(main, ["e2", *args])
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_empty_input_is_a_usage_error() -> None:
    result = run(["decode"], b"")
    assert result.exit_code == 2 and "empty input" in result.stderr


def indication_doc() -> Any:
    return decode_ok(["--hex", m.encode_e2ap(INDICATION).hex()])


def with_edit(path: tuple[str | int, ...], value: object) -> Any:
    doc = indication_doc()
    put(doc, path, value)
    return doc


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"hello": 1}), '$: expected an E2AP document ("message")'),
        (json.dumps(with_edit(("message", "RicIndication", "request_id", "instance_id"), 70000)), "instance_id"),
        (json.dumps(with_edit(("e2ap_version",), 4)), "$.e2ap_version: expected one of 2, 3"),
        (json.dumps(with_edit(("extra",), 1)), "$.extra: unknown member"),
        (
            json.dumps(with_edit(("message", "RicIndication", "header_e2sm", "kind"), "header")),
            "$.message.RicIndication.header_e2sm.kind",
        ),
        (
            json.dumps(with_edit(("message", "RicIndication", "header_e2sm", "version"), "2")),
            "$.message.RicIndication.header_e2sm.version",
        ),
        (
            json.dumps(
                with_edit(
                    (
                        "message",
                        "RicIndication",
                        "message_e2sm",
                        "value",
                        "IndicationMessageF1",
                        "meas_data",
                        0,
                        "records",
                        0,
                    ),
                    -1,
                )
            ),
            "$.message.RicIndication.message_e2sm.value.IndicationMessageF1.meas_data[0].records",
        ),
        (json.dumps([{"hex": "00", "timestamp_ns": -1}]), "$[0].timestamp_ns"),
        (json.dumps({"kind": "event-trigger", "sm": "rc", "value": {}}), "$.sm"),
        (json.dumps({"kind": "event-trigger"}), "$.value: missing"),
        (json.dumps({"hex": "0"}), "$.hex"),
    ],
)
def test_bad_json_is_a_usage_error_naming_the_path(doc: str, words: str) -> None:
    result = run(["encode"], doc)
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_out_writes_binary_and_hex_on_request(tmp_path: Path) -> None:
    doc = json.dumps(indication_doc())
    (tmp_path / "doc.json").write_text(doc)
    out = tmp_path / "pdu.bin"
    assert run(["encode", str(tmp_path / "doc.json"), "--out", str(out)]).exit_code == 0
    assert out.read_bytes() == m.encode_e2ap(INDICATION)
    assert run(["encode", "--out", str(out), "--hex"], doc).exit_code == 0
    assert out.read_text() == m.encode_e2ap(INDICATION).hex() + "\n"
    result = CliRunner().invoke(main, ["e2", "encode", "--out", "-"], input=doc)
    assert result.stdout_bytes == m.encode_e2ap(INDICATION)


# -- generated round trips through the CLI functions ------------------------------------------------------------

_few = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def through_text(doc: object) -> Any:
    return json.loads(cli.format_json(doc))  # type: ignore[arg-type]


@_few
@given(es.messages(True))
def test_generated_e2ap_messages_round_trip_byte_for_byte(msg: m.E2apMessage) -> None:
    data = m.encode_e2ap(msg, m.E2apVersion.V3)
    doc = through_text(cli.e2ap_document(data))
    assert cli.encode_document(doc, e2ap_version=m.E2apVersion.V3) == data
    assert m.decode_e2ap(cli.encode_document(doc)) == msg


def blank_raw_hex(doc: Any) -> None:
    """Empty every payload's hex that has a decoded value beside it, so encoding must use the value."""
    if isinstance(doc, dict):
        for key in list(doc):
            if key.endswith("_e2sm") and "value" in doc[key]:
                doc[key.removesuffix("_e2sm")] = ""
            blank_raw_hex(doc[key])
    elif isinstance(doc, list):
        for x in doc:
            blank_raw_hex(x)


@_few
@given(st.booleans(), st.data())
def test_generated_kpm_payloads_are_encoded_from_their_json(v3: bool, data: st.DataObject) -> None:
    codec = KPM3 if v3 else KPM2
    header = data.draw(ks.header(8 if v3 else 4))
    message = data.draw(ks.indication_message(v3))
    ind = m.RicIndication(
        RID,
        2,
        1,
        m.IndicationType.REPORT,
        codec.encode_indication_header(header),
        codec.encode_indication_message(message),
    )
    options = cli.DecodeOptions(kpm_version=codec.version)
    doc = through_text(cli.e2ap_document(m.encode_e2ap(ind), options))
    body = doc["message"]["RicIndication"]
    assert "value" in body["header_e2sm"] and "value" in body["message_e2sm"]
    blank_raw_hex(doc)
    assert m.decode_e2ap(cli.encode_document(doc)) == ind


@_few
@given(rc_headers, rc_messages, st.none() | rc_outcomes)
def test_generated_rc_payloads_are_encoded_from_their_json(
    header: rc.ControlHeaderFormat1, message: rc.ControlMessageFormat1, outcome: rc.ControlOutcomeFormat1 | None
) -> None:
    msgs: list[m.E2apMessage] = [
        m.RicControlRequest(RID, 3, rc.encode_control_header(header), rc.encode_control_message(message))
    ]
    if outcome is not None:
        msgs.append(m.RicControlAcknowledge(RID, 3, outcome=rc.encode_control_outcome(outcome)))
    for msg in msgs:
        doc = through_text(cli.e2ap_document(m.encode_e2ap(msg)))
        body = doc["message"][type(msg).__name__]
        assert all("value" in v for key, v in body.items() if key.endswith("_e2sm"))
        blank_raw_hex(doc)
        assert m.decode_e2ap(cli.encode_document(doc)) == msg


@_few
@given(rc_definitions, ks.action_definition(True))
def test_generated_e2sm_documents_round_trip(definition: rc.RanFunctionDefinition, action: k.ActionDefinition) -> None:
    data = rc.encode_ran_function_definition(definition)
    doc = through_text(cli.e2sm_document("ran-function-definition", data))
    assert cli.encode_document(doc) == data
    data = KPM3.encode_action_definition(action)
    doc = through_text(cli.e2sm_document("action-definition", data, cli.DecodeOptions(kpm_version=k.KpmVersion.V3)))
    assert cli.encode_document(doc) == data
