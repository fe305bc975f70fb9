"""Wireshark's tshark, an independent decoder, reads our E2AP PDUs with the same IE values.

tshark 4.0 (Debian 12) decodes E2AP; its E2SM dissectors are older than KPM v2/v3, so only E2AP-level fields
are compared. Two known differences on tshark's side are avoided rather than hidden:

- a payload its E2SM dissector cannot parse stops the walk of the remaining IEs, so the indication carries a
  real KPM header and message;
- it decodes ``RICcontrolAckRequest`` with E2AP v1's three values (noAck, ack, nAck), so a v2 ``ack`` reads as
  its ``nAck``; ``noAck`` encodes identically in both versions and is what is compared here (the v2 ``ack``
  encoding is pinned against pycrate's E2AP in test_e2ap.py);
- its ``RICtimeToWait`` names are v1's, which began with ``zero``: the index on the wire agrees (3), the name
  differs (tshark ``w5ms``, v2 ``w10ms``), so indices are compared.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ricsdk.e2 import e2ap as m
from ricsdk.e2 import kpm as k
from ricsdk.e2.common import Snssai
from ricsdk.trace.pcap import PcapngWriter, exported_pdu, pcap_file

TSHARK = shutil.which("tshark")


def _tshark_fields(path: Path) -> list[dict[str, list[str]]]:
    assert TSHARK, "tshark is missing: `make test` installs it (Debian package tshark)"
    out = subprocess.run([TSHARK, "-r", str(path), "-T", "json"], capture_output=True, text=True, check=True)
    packets = json.loads(out.stdout)
    result = []
    for pkt in packets:
        acc: dict[str, list[str]] = {}
        _walk(pkt["_source"]["layers"].get("e2ap"), acc)
        result.append(acc)
    return result


def _walk(o: Any, acc: dict[str, list[str]]) -> None:
    if isinstance(o, dict):
        for key, v in o.items():
            if key.startswith("e2ap.") and isinstance(v, str):
                acc.setdefault(key, []).append(v)
            _walk(v, acc)
    elif isinstance(o, list):
        for v in o:
            _walk(v, acc)


def _hex(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _kpm_payloads() -> tuple[bytes, bytes]:
    codec = k.KpmCodec(k.KpmVersion.V2)
    labels = (k.MeasLabel(slice_id=Snssai.of(1, 1)),)
    msg = k.IndicationMessageF1(
        (k.MeasDataItem((1200, 37)),),
        (k.MeasInfoItem("DRB.UEThpDl", labels), k.MeasInfoItem("RRU.PrbUsedDl", labels)),
        100,
    )
    return codec.encode_indication_header(k.IndicationHeader(b"\xe9\x1c\x40\x00")), codec.encode_indication_message(msg)


def _messages() -> list[tuple[m.E2apMessage, dict[str, list[str]]]]:
    hdr, body = _kpm_payloads()
    ind = m.RicIndication(m.RicRequestId(123, 7), 2, 1, m.IndicationType.REPORT, hdr, body, sn=41)
    ctrl = m.RicControlRequest(
        m.RicRequestId(123, 8), 3, b"\x01\x02", b"\x03\x04\x05", ack_request=m.ControlAckRequest.NO_ACK
    )
    codec = k.KpmCodec()
    trigger = codec.encode_event_trigger(k.EventTrigger(1000))
    action_def = codec.encode_action_definition(
        k.ActionDefinition(
            1, k.ActionDefinitionF1((k.MeasInfoItem("DRB.UEThpDl", (k.MeasLabel(slice_id=Snssai.of(1, 1)),)),), 100)
        )
    )
    sub = m.RicSubscriptionRequest(
        m.RicRequestId(123, 9),
        2,
        trigger,
        (
            m.ActionToBeSetup(
                4, m.ActionType.REPORT, action_def, m.SubsequentAction(m.SubsequentActionType.WAIT, m.TimeToWait.W10MS)
            ),
        ),
    )
    return [
        (
            ind,
            {
                "e2ap.procedureCode": ["5"],
                "e2ap.ricRequestorID": ["123"],
                "e2ap.ricInstanceID": ["7"],
                "e2ap.RANfunctionID": ["2"],
                "e2ap.RICactionID": ["1"],
                "e2ap.RICindicationSN": ["41"],
                "e2ap.RICindicationType": ["0"],
                "e2ap.RICindicationHeader": [_hex(hdr)],
                "e2ap.RICindicationMessage": [_hex(body)],
            },
        ),
        (
            ctrl,
            {
                "e2ap.procedureCode": ["4"],
                "e2ap.ricRequestorID": ["123"],
                "e2ap.ricInstanceID": ["8"],
                "e2ap.RANfunctionID": ["3"],
                "e2ap.RICcontrolHeader": [_hex(ctrl.header)],
                "e2ap.RICcontrolMessage": [_hex(ctrl.message)],
                "e2ap.RICcontrolAckRequest": ["0"],
            },
        ),
        (
            sub,
            {
                "e2ap.procedureCode": ["8"],
                "e2ap.ricRequestorID": ["123"],
                "e2ap.ricInstanceID": ["9"],
                "e2ap.RANfunctionID": ["2"],
                "e2ap.ricEventTriggerDefinition": [_hex(trigger)],
                "e2ap.ricActionID": ["4"],
                "e2ap.ricActionType": ["0"],
                "e2ap.ricActionDefinition": [_hex(action_def)],
                "e2ap.ricSubsequentActionType": ["1"],
                "e2ap.ricTimeToWait": ["3"],
            },
        ),
    ]


def _check(path: Path, cases: list[tuple[m.E2apMessage, dict[str, list[str]]]]) -> None:
    decoded = _tshark_fields(path)
    assert len(decoded) == len(cases)
    for fields, (msg, expected) in zip(decoded, cases, strict=True):
        for key, values in expected.items():
            assert fields.get(key, [])[: len(values)] == values, f"{type(msg).__name__}: {key}"


def test_tshark_decodes_our_pdus_in_exported_pdu_pcap(tmp_path: Path) -> None:
    cases = _messages()
    path = tmp_path / "e2.pcap"
    path.write_bytes(
        pcap_file(
            [(1_700_000_000_000_000_000 + i, exported_pdu(m.encode_e2ap(msg))) for i, (msg, _) in enumerate(cases)]
        )
    )
    _check(path, cases)


def test_tshark_decodes_our_pdus_in_pcapng_with_comments(tmp_path: Path) -> None:
    cases = _messages()
    w = PcapngWriter()
    blob = w.header() + b"".join(
        w.packet(i * 1000, exported_pdu(m.encode_e2ap(msg)), comment=json.dumps({"dir": "out", "mtype": 12050}))
        for i, (msg, _) in enumerate(cases)
    )
    path = tmp_path / "e2.pcapng"
    path.write_bytes(blob)
    _check(path, cases)
    out = subprocess.run(
        [TSHARK or "tshark", "-r", str(path), "-T", "fields", "-e", "frame.comment"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"mtype": 12050' in out.stdout


@pytest.mark.parametrize("ack", [m.ControlAckRequest.NO_ACK])
def test_tshark_reads_control_ack_request(tmp_path: Path, ack: m.ControlAckRequest) -> None:
    msg = m.RicControlRequest(m.RicRequestId(1, 2), 3, b"h", b"m", ack_request=ack)
    path = tmp_path / "c.pcap"
    path.write_bytes(pcap_file([(0, exported_pdu(m.encode_e2ap(msg)))]))
    assert _tshark_fields(path)[0]["e2ap.RICcontrolAckRequest"] == [str(int(ack))]
