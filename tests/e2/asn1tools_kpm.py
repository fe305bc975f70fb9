"""Our E2SM-KPM dataclasses as asn1tools values of the reference modules in tests/asn1/ (cross-check oracle)."""

from __future__ import annotations

from typing import Any

from ricsdk.e2 import kpm as k
from ricsdk.e2.per import BitString
from tests.e2.test_common import a_cgi, a_ran_function_name, a_snssai, a_ueid

_LABEL_FIELDS = (
    ("no_label", "noLabel"),
    ("plmn", "plmnID"),
    ("slice_id", "sliceID"),
    ("five_qi", "fiveQI"),
    ("qfi", "qFI"),
    ("qci", "qCI"),
    ("qci_max", "qCImax"),
    ("qci_min", "qCImin"),
    ("arp_max", "aRPmax"),
    ("arp_min", "aRPmin"),
    ("bitrate_range", "bitrateRange"),
    ("layer_mu_mimo", "layerMU-MIMO"),
    ("sum", "sUM"),
    ("dist_bin_x", "distBinX"),
    ("dist_bin_y", "distBinY"),
    ("dist_bin_z", "distBinZ"),
    ("pre_label_override", "preLabelOverride"),
    ("start_end_ind", "startEndInd"),
    ("min", "min"),
    ("max", "max"),
    ("avg", "avg"),
    ("ssb_index", "ssbIndex"),
    ("non_gob_bf_mode_index", "nonGoB-BFmode-Index"),
    ("mimo_mode_index", "mIMO-mode-Index"),
)
_FLAGS = {"no_label", "sum", "pre_label_override", "min", "max", "avg"}
_TEST_TYPES = ("gBR", "aMBR", "isStat", "isCatM", "rSRP", "rSRQ", "ul-rSRP", "cQI", "fiveQI", "qCI", "sNSSAI")
_EXPR = ("equal", "greaterthan", "lessthan", "contains", "present")


def bits(b: BitString) -> tuple[bytes, int]:
    n = (b.length + 7) // 8
    return ((b.value << (n * 8 - b.length)).to_bytes(n, "big"), b.length)


def label(lab: k.MeasLabel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, name in _LABEL_FIELDS:
        v = getattr(lab, attr)
        if attr in _FLAGS:
            if v:
                out[name] = "true"
        elif v is None:
            continue
        elif attr == "slice_id":
            out[name] = a_snssai(v)
        elif attr == "start_end_ind":
            out[name] = ("start", "end")[v]
        else:
            out[name] = v
    return out


def meas_type(t: str | int) -> tuple[str, Any]:
    return ("measName", t) if isinstance(t, str) else ("measID", t)


def record(r: k.MeasRecord) -> tuple[str, Any]:
    if isinstance(r, k.Missing):
        return (r.value, None)
    if isinstance(r, float):
        return ("real", r)
    return ("integer", r)


def meas_info(items: tuple[k.MeasInfoItem, ...]) -> list[dict[str, Any]]:
    return [
        {"measType": meas_type(i.meas_type), "labelInfoList": [{"measLabel": label(lab)} for lab in i.labels]}
        for i in items
    ]


def meas_data(items: tuple[k.MeasDataItem, ...]) -> list[dict[str, Any]]:
    out = []
    for d in items:
        v: dict[str, Any] = {"measRecord": [record(r) for r in d.records]}
        if d.incomplete:
            v["incompleteFlag"] = "true"
        out.append(v)
    return out


def message_f1(m: k.IndicationMessageF1) -> dict[str, Any]:
    v: dict[str, Any] = {"measData": meas_data(m.meas_data)}
    if m.meas_info:
        v["measInfoList"] = meas_info(m.meas_info)
    if m.granul_period is not None:
        v["granulPeriod"] = m.granul_period
    return v


def test_value(t: k.TestCondValue) -> tuple[str, Any]:
    if isinstance(t, bool):
        return ("valueBool", t)
    if isinstance(t, int):
        return ("valueInt", t)
    if isinstance(t, k.TestCondEnum):
        return ("valueEnum", t.value)
    if isinstance(t, BitString):
        return ("valueBitS", bits(t))
    if isinstance(t, bytes):
        return ("valueOctS", t)
    if isinstance(t, str):
        return ("valuePrtS", t)
    return ("valueReal", t)


def test_cond(t: k.TestCondInfo) -> dict[str, Any]:
    v: dict[str, Any] = {"testType": (_TEST_TYPES[t.test_type], "true")}
    if t.test_expr is not None:
        v["testExpr"] = _EXPR[t.test_expr]
    if t.test_value is not None:
        v["testValue"] = test_value(t.test_value)
    return v


def matching_cond(items: tuple[k.MatchingCondItem, ...], v3: bool) -> list[Any]:
    out: list[Any] = []
    for it in items:
        choice = (
            ("measLabel", label(it.cond)) if isinstance(it.cond, k.MeasLabel) else ("testCondInfo", test_cond(it.cond))
        )
        if v3:
            d: dict[str, Any] = {"matchingCondChoice": choice}
            if it.logical_or:
                d["logicalOR"] = "true"
            out.append(d)
        else:
            out.append(choice)
    return out


def message(m: k.IndicationMessage, v3: bool) -> dict[str, Any]:
    if isinstance(m, k.IndicationMessageF1):
        return {"indicationMessage-formats": ("indicationMessage-Format1", message_f1(m))}
    if isinstance(m, k.IndicationMessageF2):
        items = []
        for it in m.meas_cond_ueid:
            d: dict[str, Any] = {
                "measType": meas_type(it.meas_type),
                "matchingCond": matching_cond(it.matching_cond, v3),
            }
            if it.matching_ueid:
                d["matchingUEidList"] = [{"ueID": a_ueid(u)} for u in it.matching_ueid]
            if it.matching_ueid_per_gp:
                d["matchingUEidPerGP"] = [
                    {
                        "matchedPerGP": ("oneOrMoreUEmatched", [{"ueID": a_ueid(u)} for u in gp])
                        if gp
                        else ("noUEmatched", "true")
                    }
                    for gp in it.matching_ueid_per_gp
                ]
            items.append(d)
        v: dict[str, Any] = {"measData": meas_data(m.meas_data), "measCondUEidList": items}
        if m.granul_period is not None:
            v["granulPeriod"] = m.granul_period
        return {"indicationMessage-formats": ("indicationMessage-Format2", v)}
    reports = [{"ueID": a_ueid(r.ue_id), "measReport": message_f1(r.report)} for r in m.ue_reports]
    return {"indicationMessage-formats": ("indicationMessage-Format3", {"ueMeasReportList": reports})}


def header(h: k.IndicationHeader) -> dict[str, Any]:
    v: dict[str, Any] = {"colletStartTime": h.collect_start_time}
    for attr, name in (
        ("file_format_version", "fileFormatversion"),
        ("sender_name", "senderName"),
        ("sender_type", "senderType"),
        ("vendor_name", "vendorName"),
    ):
        if getattr(h, attr) is not None:
            v[name] = getattr(h, attr)
    return {"indicationHeader-formats": ("indicationHeader-Format1", v)}


def action_f1(f: k.ActionDefinitionF1) -> dict[str, Any]:
    v: dict[str, Any] = {"measInfoList": meas_info(f.meas_info), "granulPeriod": f.granul_period}
    if f.cell_global_id is not None:
        v["cellGlobalID"] = a_cgi(f.cell_global_id)
    return v


def action_definition(a: k.ActionDefinition, v3: bool) -> dict[str, Any]:
    f = a.format
    fmt: tuple[str, Any]
    if isinstance(f, k.ActionDefinitionF1):
        fmt = ("actionDefinition-Format1", action_f1(f))
    elif isinstance(f, k.ActionDefinitionF2):
        fmt = ("actionDefinition-Format2", {"ueID": a_ueid(f.ue_id), "subscriptInfo": action_f1(f.subscript_info)})
    elif isinstance(f, k.ActionDefinitionF3):
        v: dict[str, Any] = {
            "measCondList": [
                {"measType": meas_type(c.meas_type), "matchingCond": matching_cond(c.matching_cond, v3)}
                for c in f.meas_cond
            ],
            "granulPeriod": f.granul_period,
        }
        if f.cell_global_id is not None:
            v["cellGlobalID"] = a_cgi(f.cell_global_id)
        fmt = ("actionDefinition-Format3", v)
    elif isinstance(f, k.ActionDefinitionF4):
        conds = []
        for c in f.matching_ue_cond:
            d: dict[str, Any] = {"testCondInfo": test_cond(c.test_cond)}
            if c.logical_or:
                d["logicalOR"] = "true"
            conds.append(d)
        fmt = (
            "actionDefinition-Format4",
            {"matchingUeCondList": conds, "subscriptionInfo": action_f1(f.subscription_info)},
        )
    else:
        fmt = (
            "actionDefinition-Format5",
            {
                "matchingUEidList": [{"ueID": a_ueid(u)} for u in f.matching_ueid],
                "subscriptionInfo": action_f1(f.subscription_info),
            },
        )
    return {"ric-Style-Type": a.style, "actionDefinition-formats": fmt}


def event_trigger(t: k.EventTrigger) -> dict[str, Any]:
    return {"eventDefinition-formats": ("eventDefinition-Format1", {"reportingPeriod": t.reporting_period_ms})}


def ran_function_description(r: k.RanFunctionDescription) -> dict[str, Any]:
    v: dict[str, Any] = {"ranFunction-Name": a_ran_function_name(r.name)}
    if r.event_trigger_styles:
        v["ric-EventTriggerStyle-List"] = [
            {
                "ric-EventTriggerStyle-Type": s.style_type,
                "ric-EventTriggerStyle-Name": s.style_name,
                "ric-EventTriggerFormat-Type": s.format_type,
            }
            for s in r.event_trigger_styles
        ]
    if r.report_styles:
        items = []
        for s in r.report_styles:
            acts = []
            for a in s.meas_info_action:
                d: dict[str, Any] = {"measName": a.name}
                if a.id is not None:
                    d["measID"] = a.id
                acts.append(d)
            items.append(
                {
                    "ric-ReportStyle-Type": s.style_type,
                    "ric-ReportStyle-Name": s.style_name,
                    "ric-ActionFormat-Type": s.action_format_type,
                    "measInfo-Action-List": acts,
                    "ric-IndicationHeaderFormat-Type": s.header_format_type,
                    "ric-IndicationMessageFormat-Type": s.message_format_type,
                }
            )
        v["ric-ReportStyle-List"] = items
    return v
