"""Our E2AP dataclasses expressed as pycrate values (``pycrate_asn1dir.E2AP``), for independent cross-checks."""

from __future__ import annotations

from typing import Any

from pycrate_asn1dir import E2AP

from ricsdk.e2 import e2ap as m

PDU = E2AP.E2AP_PDU_Descriptions.E2AP_PDU

_CRIT = ("reject", "ignore", "notify")
_CAUSE_ENUMS = {
    m.CauseGroup.RIC_REQUEST: "ricRequest",
    m.CauseGroup.RIC_SERVICE: "ricService",
    m.CauseGroup.E2_NODE: "e2Node",
    m.CauseGroup.TRANSPORT: "transport",
    m.CauseGroup.PROTOCOL: "protocol",
    m.CauseGroup.MISC: "misc",
}
_TTW = [
    f"w{x}"
    for x in (
        "1ms",
        "2ms",
        "5ms",
        "10ms",
        "20ms",
        "30ms",
        "40ms",
        "50ms",
        "100ms",
        "200ms",
        "500ms",
        "1s",
        "2s",
        "5s",
        "10s",
        "20s",
        "60s",
    )
]
_IFACE = ("ng", "xn", "e1", "f1", "w1", "s1", "x2")
_COMPONENT = (
    "e2nodeComponentInterfaceTypeNG",
    "e2nodeComponentInterfaceTypeXn",
    "e2nodeComponentInterfaceTypeE1",
    "e2nodeComponentInterfaceTypeF1",
    "e2nodeComponentInterfaceTypeW1",
    "e2nodeComponentInterfaceTypeS1",
    "e2nodeComponentInterfaceTypeX2",
)
_PROC_NAMES = {
    m.RicIndication: ("initiatingMessage", "RICindication"),
    m.RicControlRequest: ("initiatingMessage", "RICcontrolRequest"),
    m.RicControlAcknowledge: ("successfulOutcome", "RICcontrolAcknowledge"),
    m.RicControlFailure: ("unsuccessfulOutcome", "RICcontrolFailure"),
    m.RicSubscriptionRequest: ("initiatingMessage", "RICsubscriptionRequest"),
    m.RicSubscriptionResponse: ("successfulOutcome", "RICsubscriptionResponse"),
    m.RicSubscriptionFailure: ("unsuccessfulOutcome", "RICsubscriptionFailure"),
    m.RicSubscriptionDeleteRequest: ("initiatingMessage", "RICsubscriptionDeleteRequest"),
    m.RicSubscriptionDeleteResponse: ("successfulOutcome", "RICsubscriptionDeleteResponse"),
    m.RicSubscriptionDeleteFailure: ("unsuccessfulOutcome", "RICsubscriptionDeleteFailure"),
    m.E2setupRequest: ("initiatingMessage", "E2setupRequest"),
    m.E2setupResponse: ("successfulOutcome", "E2setupResponse"),
    m.E2setupFailure: ("unsuccessfulOutcome", "E2setupFailure"),
    m.ErrorIndication: ("initiatingMessage", "ErrorIndication"),
}


def cause(c: m.Cause) -> tuple[str, str]:
    return (_CAUSE_ENUMS[c.group], c.name)


def bits(b: Any) -> tuple[int, int]:
    return (b.value, b.length)


def rid(r: m.RicRequestId) -> dict[str, int]:
    return {"ricRequestorID": r.requestor_id, "ricInstanceID": r.instance_id}


def crit_diag(d: m.CriticalityDiagnostics) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if d.procedure_code is not None:
        out["procedureCode"] = d.procedure_code
    if d.triggering_message is not None:
        out["triggeringMessage"] = ("initiating-message", "successful-outcome", "unsuccessfull-outcome")[
            d.triggering_message
        ]
    if d.procedure_criticality is not None:
        out["procedureCriticality"] = _CRIT[d.procedure_criticality]
    if d.request_id is not None:
        out["ricRequestorID"] = rid(d.request_id)
    if d.ie_diagnostics:
        out["iEsCriticalityDiagnostics"] = [
            {
                "iECriticality": _CRIT[i.ie_criticality],
                "iE-ID": i.ie_id,
                "typeOfError": ("not-understood", "missing")[i.type_of_error],
            }
            for i in d.ie_diagnostics
        ]
    return out


def global_gnb(g: m.GlobalGnbId) -> dict[str, Any]:
    return {"plmn-id": g.plmn, "gnb-id": ("gnb-ID", bits(g.gnb_id))}


def global_en_gnb(g: m.GlobalEnGnbId) -> dict[str, Any]:
    return {"pLMN-Identity": g.plmn, "gNB-ID": ("gNB-ID", bits(g.gnb_id))}


def global_ng_enb(g: m.GlobalNgEnbId) -> dict[str, Any]:
    alt = {20: "enb-ID-macro", 18: "enb-ID-shortmacro", 21: "enb-ID-longmacro"}[g.enb_id.length]
    return {"plmn-id": g.plmn, "enb-id": (alt, bits(g.enb_id))}


def global_enb(g: m.GlobalEnbId) -> dict[str, Any]:
    alt = {20: "macro-eNB-ID", 28: "home-eNB-ID", 18: "short-Macro-eNB-ID", 21: "long-Macro-eNB-ID"}[g.enb_id.length]
    return {"pLMN-Identity": g.plmn, "eNB-ID": (alt, bits(g.enb_id))}


def e2node(n: m.GlobalE2NodeId) -> tuple[str, dict[str, Any]]:
    if isinstance(n, m.GnbE2NodeId):
        v: dict[str, Any] = {"global-gNB-ID": global_gnb(n.global_gnb)}
        if n.global_en_gnb is not None:
            v["global-en-gNB-ID"] = global_en_gnb(n.global_en_gnb)
        if n.gnb_cu_up_id is not None:
            v["gNB-CU-UP-ID"] = n.gnb_cu_up_id
        if n.gnb_du_id is not None:
            v["gNB-DU-ID"] = n.gnb_du_id
        return ("gNB", v)
    if isinstance(n, m.EnGnbE2NodeId):
        v = {"global-en-gNB-ID": global_en_gnb(n.global_en_gnb)}
        if n.en_gnb_cu_up_id is not None:
            v["en-gNB-CU-UP-ID"] = n.en_gnb_cu_up_id
        if n.en_gnb_du_id is not None:
            v["en-gNB-DU-ID"] = n.en_gnb_du_id
        return ("en-gNB", v)
    if isinstance(n, m.NgEnbE2NodeId):
        v = {"global-ng-eNB-ID": global_ng_enb(n.global_ng_enb)}
        if n.global_enb is not None:
            v["global-eNB-ID"] = global_enb(n.global_enb)
        if n.ng_enb_du_id is not None:
            v["ngENB-DU-ID"] = n.ng_enb_du_id
        return ("ng-eNB", v)
    return ("eNB", {"global-eNB-ID": global_enb(n.global_enb)})


def component(c: m.E2nodeComponentId) -> tuple[str, dict[str, Any]]:
    name = _COMPONENT[m._COMPONENT_TYPES.index(type(c))]
    if isinstance(c, m.E2nodeComponentNg):
        return (name, {"amf-name": c.amf_name})
    if isinstance(c, m.E2nodeComponentXn):
        node = ("gNB", global_gnb(c.node)) if isinstance(c.node, m.GlobalGnbId) else ("ng-eNB", global_ng_enb(c.node))
        return (name, {"global-NG-RAN-Node-ID": node})
    if isinstance(c, m.E2nodeComponentE1):
        return (name, {"gNB-CU-UP-ID": c.gnb_cu_up_id})
    if isinstance(c, m.E2nodeComponentF1):
        return (name, {"gNB-DU-ID": c.gnb_du_id})
    if isinstance(c, m.E2nodeComponentW1):
        return (name, {"ng-eNB-DU-ID": c.ng_enb_du_id})
    if isinstance(c, m.E2nodeComponentS1):
        return (name, {"mme-name": c.mme_name})
    v: dict[str, Any] = {}
    if c.global_enb is not None:
        v["global-eNB-ID"] = global_enb(c.global_enb)
    if c.global_en_gnb is not None:
        v["global-en-gNB-ID"] = global_en_gnb(c.global_en_gnb)
    return (name, v)


def _ie(ie_id: int, crit: str, name: str, value: Any) -> dict[str, Any]:
    return {"id": ie_id, "criticality": crit, "value": (name, value)}


def _single_list(item_id: int, crit: str, name: str, values: list[Any]) -> list[dict[str, Any]]:
    return [_ie(item_id, crit, name, v) for v in values]


def to_pycrate(msg: m.E2apMessage) -> tuple[str, dict[str, Any]]:
    kind, name = _PROC_NAMES[type(msg)]
    ies: list[dict[str, Any]] = []
    add = ies.append
    r = "reject"
    ig = "ignore"
    if isinstance(msg, m.ErrorIndication):
        if msg.transaction_id is not None:
            add(_ie(49, r, "TransactionID", msg.transaction_id))
        if msg.request_id is not None:
            add(_ie(29, r, "RICrequestID", rid(msg.request_id)))
        if msg.ran_function_id is not None:
            add(_ie(5, r, "RANfunctionID", msg.ran_function_id))
        if msg.cause is not None:
            add(_ie(1, ig, "Cause", cause(msg.cause)))
        if msg.criticality_diagnostics is not None:
            add(_ie(2, ig, "CriticalityDiagnostics", crit_diag(msg.criticality_diagnostics)))
    elif isinstance(msg, (m.E2setupRequest, m.E2setupResponse, m.E2setupFailure)):
        add(_ie(49, r, "TransactionID", msg.transaction_id))
        if isinstance(msg, m.E2setupRequest):
            add(_ie(3, r, "GlobalE2node-ID", e2node(msg.global_e2node_id)))
            funcs = [
                {
                    "ranFunctionID": f.id,
                    "ranFunctionDefinition": f.definition,
                    "ranFunctionRevision": f.revision,
                    "ranFunctionOID": f.oid,
                }
                for f in msg.ran_functions
            ]
            add(_ie(10, r, "RANfunctions-List", _single_list(8, ig, "RANfunction-Item", funcs)))
            comps = [
                {
                    "e2nodeComponentInterfaceType": _IFACE[c.interface_type],
                    "e2nodeComponentID": component(c.component_id),
                    "e2nodeComponentConfiguration": {
                        "e2nodeComponentRequestPart": c.request_part,
                        "e2nodeComponentResponsePart": c.response_part,
                    },
                }
                for c in msg.component_configs
            ]
            add(
                _ie(
                    50,
                    r,
                    "E2nodeComponentConfigAddition-List",
                    _single_list(51, r, "E2nodeComponentConfigAddition-Item", comps),
                )
            )
        elif isinstance(msg, m.E2setupResponse):
            add(
                _ie(
                    4,
                    r,
                    "GlobalRIC-ID",
                    {"pLMN-Identity": msg.global_ric_id.plmn, "ric-ID": bits(msg.global_ric_id.ric_id)},
                )
            )
            if msg.accepted:
                add(
                    _ie(
                        9,
                        r,
                        "RANfunctionsID-List",
                        _single_list(
                            6,
                            ig,
                            "RANfunctionID-Item",
                            [{"ranFunctionID": f.id, "ranFunctionRevision": f.revision} for f in msg.accepted],
                        ),
                    )
                )
            if msg.rejected:
                add(
                    _ie(
                        13,
                        r,
                        "RANfunctionsIDcause-List",
                        _single_list(
                            7,
                            ig,
                            "RANfunctionIDcause-Item",
                            [{"ranFunctionID": f.id, "cause": cause(f.cause)} for f in msg.rejected],
                        ),
                    )
                )
            acks = []
            for c in msg.component_config_acks:
                ack: dict[str, Any] = {"updateOutcome": ("success", "failure")[c.outcome]}
                if c.failure_cause is not None:
                    ack["failureCause"] = cause(c.failure_cause)
                acks.append(
                    {
                        "e2nodeComponentInterfaceType": _IFACE[c.interface_type],
                        "e2nodeComponentID": component(c.component_id),
                        "e2nodeComponentConfigurationAck": ack,
                    }
                )
            add(
                _ie(
                    52,
                    r,
                    "E2nodeComponentConfigAdditionAck-List",
                    _single_list(53, r, "E2nodeComponentConfigAdditionAck-Item", acks),
                )
            )
        else:
            add(_ie(1, ig, "Cause", cause(msg.cause)))
            if msg.time_to_wait is not None:
                add(_ie(31, ig, "TimeToWait", ("v1s", "v2s", "v5s", "v10s", "v20s", "v60s")[msg.time_to_wait]))
            if msg.criticality_diagnostics is not None:
                add(_ie(2, ig, "CriticalityDiagnostics", crit_diag(msg.criticality_diagnostics)))
            if msg.tnl_information is not None:
                tnl: dict[str, Any] = {"tnlAddress": bits(msg.tnl_information.address)}
                if msg.tnl_information.port is not None:
                    tnl["tnlPort"] = bits(msg.tnl_information.port)
                add(_ie(48, ig, "TNLinformation", tnl))
    else:
        add(_ie(29, r, "RICrequestID", rid(msg.request_id)))
        add(_ie(5, r, "RANfunctionID", msg.ran_function_id))
        if isinstance(msg, m.RicIndication):
            add(_ie(15, r, "RICactionID", msg.action_id))
            if msg.sn is not None:
                add(_ie(27, r, "RICindicationSN", msg.sn))
            add(_ie(28, r, "RICindicationType", ("report", "insert")[msg.indication_type]))
            add(_ie(25, r, "RICindicationHeader", msg.header))
            add(_ie(26, r, "RICindicationMessage", msg.message))
            if msg.call_process_id is not None:
                add(_ie(20, r, "RICcallProcessID", msg.call_process_id))
        elif isinstance(msg, m.RicControlRequest):
            if msg.call_process_id is not None:
                add(_ie(20, r, "RICcallProcessID", msg.call_process_id))
            add(_ie(22, r, "RICcontrolHeader", msg.header))
            add(_ie(23, r, "RICcontrolMessage", msg.message))
            if msg.ack_request is not None:
                add(_ie(21, r, "RICcontrolAckRequest", ("noAck", "ack")[msg.ack_request]))
        elif isinstance(msg, m.RicControlAcknowledge):
            if msg.call_process_id is not None:
                add(_ie(20, r, "RICcallProcessID", msg.call_process_id))
            if msg.outcome is not None:
                add(_ie(32, r, "RICcontrolOutcome", msg.outcome))
        elif isinstance(msg, m.RicControlFailure):
            if msg.call_process_id is not None:
                add(_ie(20, r, "RICcallProcessID", msg.call_process_id))
            add(_ie(1, ig, "Cause", cause(msg.cause)))
            if msg.outcome is not None:
                add(_ie(32, r, "RICcontrolOutcome", msg.outcome))
            if msg.criticality_diagnostics is not None:
                add(_ie(2, ig, "CriticalityDiagnostics", crit_diag(msg.criticality_diagnostics)))
        elif isinstance(msg, m.RicSubscriptionRequest):
            actions = []
            for a in msg.actions:
                item: dict[str, Any] = {
                    "ricActionID": a.action_id,
                    "ricActionType": ("report", "insert", "policy")[a.action_type],
                }
                if a.definition is not None:
                    item["ricActionDefinition"] = a.definition
                if a.subsequent_action is not None:
                    item["ricSubsequentAction"] = {
                        "ricSubsequentActionType": ("continue", "wait")[a.subsequent_action.type],
                        "ricTimeToWait": _TTW[a.subsequent_action.time_to_wait],
                    }
                if a.execution_order is not None:
                    item["ricActionExecutionOrder"] = a.execution_order
                actions.append(item)
            add(
                _ie(
                    30,
                    r,
                    "RICsubscriptionDetails",
                    {
                        "ricEventTriggerDefinition": msg.event_trigger,
                        "ricAction-ToBeSetup-List": _single_list(19, ig, "RICaction-ToBeSetup-Item", actions),
                    },
                )
            )
            if msg.start_time is not None:
                add(_ie(62, r, "RICsubscriptionTime", msg.start_time))
            if msg.end_time is not None:
                add(_ie(63, r, "RICsubscriptionTime", msg.end_time))
        elif isinstance(msg, m.RicSubscriptionResponse):
            add(
                _ie(
                    17,
                    r,
                    "RICaction-Admitted-List",
                    _single_list(14, ig, "RICaction-Admitted-Item", [{"ricActionID": a} for a in msg.admitted]),
                )
            )
            if msg.not_admitted:
                add(
                    _ie(
                        18,
                        r,
                        "RICaction-NotAdmitted-List",
                        _single_list(
                            16,
                            ig,
                            "RICaction-NotAdmitted-Item",
                            [{"ricActionID": a.action_id, "cause": cause(a.cause)} for a in msg.not_admitted],
                        ),
                    )
                )
        elif isinstance(msg, (m.RicSubscriptionFailure, m.RicSubscriptionDeleteFailure)):
            crit = r if isinstance(msg, m.RicSubscriptionFailure) else ig
            add(_ie(1, crit, "Cause", cause(msg.cause)))
            if msg.criticality_diagnostics is not None:
                add(_ie(2, ig, "CriticalityDiagnostics", crit_diag(msg.criticality_diagnostics)))
    proc_crit = _CRIT[m._PROC_CRITICALITY[msg.PROCEDURE]]
    return (kind, {"procedureCode": msg.PROCEDURE, "criticality": proc_crit, "value": (name, {"protocolIEs": ies})})


def pycrate_encode(msg: m.E2apMessage) -> bytes:
    PDU.set_val(to_pycrate(msg))
    out: bytes = PDU.to_aper()
    return out


def pycrate_decode(data: bytes) -> Any:
    PDU.from_aper(data)
    return PDU.get_val()
