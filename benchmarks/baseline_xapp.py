"""The loop benchmarks' baseline: a straightforward Python xApp, as people write one today.

Generic codecs (pycrate's compiled E2AP, asn1tools-compiled E2SM-KPM and E2SM-RC), per-slice feature windows
in plain Python, one onnxruntime call per slice, the same quota mapping, bounds and capacity rule as the
flagship, and a RICcontrolRequest per indication. It reads and writes the same transport messages as the
ricsdk xApp, so both are timed over the same path.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from pycrate_asn1dir import E2AP  # noqa: E402

from ricsdk.runtime.manifest import Manifest  # noqa: E402
from ricsdk.transport.base import Message, Transport  # noqa: E402
from tests.reference import kpm_v2, rc  # noqa: E402

_PDU = E2AP.E2AP_PDU_Descriptions.E2AP_PDU


def _slope(v: list[float]) -> float:
    n = len(v)
    if n < 2:
        return 0.0
    t = list(range(n))
    mt, mv = sum(t) / n, sum(v) / n
    den = sum((x - mt) ** 2 for x in t)
    return sum((x - mt) * (y - mv) for x, y in zip(t, v, strict=True)) / den


def generic_quota_message(ids: Any, plmn: bytes, entries: Iterable[tuple[Any, Any, int, int, int]]) -> bytes:
    """An E2SM-RC control message (format 1, the slice PRB quota tree) built as a generic asn1tools value:
    ``entries`` are (SST, SD or None, min %, max %, dedicated %) with SST/SD as the OCTET STRING values."""

    def el(pid: int, value: Any) -> dict[str, Any]:
        return {
            "ranParameter-ID": pid,
            "ranParameter-valueType": ("ranP-Choice-ElementFalse", {"ranParameter-value": value}),
        }

    def struct(pid: int, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "ranParameter-ID": pid,
            "ranParameter-valueType": (
                "ranP-Choice-Structure",
                {"ranParameter-Structure": {"sequence-of-ranParameters": items}},
            ),
        }

    groups = []
    for sst, sd, mn, mx, ded in entries:
        snssai = [el(ids.sst, ("valueOctS", sst))] + ([el(ids.sd, ("valueOctS", sd))] if sd else [])
        member = [el(ids.plmn_identity, ("valueOctS", plmn)), struct(ids.s_nssai, snssai)]
        policy = [
            {
                "ranParameter-ID": ids.rrm_policy_member_list,
                "ranParameter-valueType": (
                    "ranP-Choice-List",
                    {
                        "ranParameter-List": {
                            "list-of-ranParameter": [
                                {"sequence-of-ranParameters": [struct(ids.rrm_policy_member, member)]}
                            ]
                        }
                    },
                ),
            }
        ]
        groups.append(
            {
                "sequence-of-ranParameters": [
                    struct(
                        ids.rrm_policy_ratio_group,
                        [
                            struct(ids.rrm_policy, policy),
                            el(ids.min_prb_policy_ratio, ("valueInt", mn)),
                            el(ids.max_prb_policy_ratio, ("valueInt", mx)),
                            el(ids.dedicated_prb_policy_ratio, ("valueInt", ded)),
                        ],
                    )
                ]
            }
        )
    value = {
        "ric-controlMessage-formats": (
            "controlMessage-Format1",
            {
                "ranP-List": [
                    {
                        "ranParameter-ID": ids.rrm_policy_ratio_list,
                        "ranParameter-valueType": (
                            "ranP-Choice-List",
                            {"ranParameter-List": {"list-of-ranParameter": groups}},
                        ),
                    }
                ]
            },
        )
    }
    out: bytes = rc().encode("E2SM-RC-ControlMessage", value)
    return out


class StraightforwardXApp:
    def __init__(self, transport: Transport, manifest: Manifest) -> None:
        self.transport = transport
        self.manifest = manifest
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(manifest.model.path), opts, providers=["CPUExecutionProvider"])
        self.input = manifest.model.input_name
        self.windows: dict[tuple[str, str], dict[str, deque[float]]] = {}
        self.last: dict[tuple[str, str], tuple[int, int, int]] = {}
        self.bounds = {(b.snssai.sst, b.snssai.sd): b for b in manifest.slices}
        self.decisions = 0
        self.cpid = 0

    async def run(self) -> None:
        async for msg in self.transport:
            if msg.mtype == 12050:
                await self.on_indication(msg)

    def _features(self, w: dict[str, deque[float]]) -> list[float]:
        def vals(m: str, over: int) -> list[float]:
            return [x for x in list(w[m])[-over:] if not math.isnan(x)]

        out = []
        for f in self.manifest.features:
            v = vals(f.measurement, f.over)
            fn = f.fn.name
            if not v:
                out.append(math.nan)
            elif fn == "MEAN":
                out.append(statistics.fmean(v))
            elif fn == "MAX":
                out.append(max(v))
            elif fn == "MIN":
                out.append(min(v))
            elif fn == "LAST":
                out.append(v[-1])
            elif fn == "SLOPE":
                out.append(_slope(v))
            else:  # EWMA
                a = f.alpha or 0.3
                weights = [(1 - a) ** i for i in range(len(v))][::-1]
                out.append(sum(x * wt for x, wt in zip(v, weights, strict=True)) / sum(weights))
        return out

    async def on_indication(self, msg: Message) -> None:
        _PDU.from_aper(msg.payload)
        pdu = _PDU.get_val()
        ies = {ie["id"]: ie["value"][1] for ie in pdu[1]["value"][1]["protocolIEs"]}
        rid = ies[29]
        spec = kpm_v2()
        spec.decode("E2SM-KPM-IndicationHeader", ies[25])
        f1 = spec.decode("E2SM-KPM-IndicationMessage", ies[26])["indicationMessage-formats"][1]
        records = f1["measData"][-1]["measRecord"]
        per: dict[tuple[bytes, bytes | None], dict[str, float]] = {}
        for item, (kind, value) in zip(f1["measInfoList"], records, strict=False):
            label = item["labelInfoList"][0]["measLabel"]
            if "sliceID" not in label:
                continue
            sl = (label["sliceID"]["sST"], label["sliceID"].get("sD"))
            per.setdefault(sl, {})[item["measType"][1]] = float(value) if kind in ("integer", "real") else math.nan
        quotas = []
        window = self.manifest.window
        mapping = self.manifest.control.mapping
        for sl, values in per.items():
            key = (msg.meid, repr(sl))
            w = self.windows.setdefault(key, {m: deque(maxlen=window) for m in self.manifest.measurements})
            for m in self.manifest.measurements:
                w[m].append(values.get(m, math.nan))
            feats = self._features(w)
            if len(w[self.manifest.measurements[0]]) < window or any(math.isnan(x) for x in feats):
                continue
            need = float(self.session.run(None, {self.input: np.asarray([feats], dtype=np.float32)})[0][0, 0])
            b = self.bounds[sl]
            mn = min(max(round(need * mapping.floor), b.min_ratio), b.max_ratio)
            mx = min(max(round(need * (1 + mapping.headroom)), mn), b.max_ratio)
            last = self.last.get(key)
            step = self.manifest.control.max_change_per_period
            if last is not None:
                mn = min(max(mn, last[0] - step), last[0] + step)
                mx = max(min(max(mx, last[1] - step), last[1] + step), mn)
            quotas.append([key, sl, mn, mx, min(b.dedicated_ratio, mn)])
        total = sum(q[2] for q in quotas)
        if total > 100:
            for q in quotas:
                q[2] = max(self.bounds[q[1]].min_ratio, q[2] * 100 // total)
                q[4] = min(q[4], q[2])
        if not quotas:
            return
        for q in quotas:
            self.last[q[0]] = (q[2], q[3], q[4])
        self.decisions += 1
        await self.send_control(msg, rid, quotas)

    async def send_control(self, msg: Message, rid: dict[str, int], quotas: list[list[Any]]) -> None:
        control = self.manifest.control
        body = generic_quota_message(
            control.param_ids, control.plmn, [(sst, sd, mn, mx, ded) for _, (sst, sd), mn, mx, ded in quotas]
        )
        header = rc().encode(
            "E2SM-RC-ControlHeader",
            {
                "ric-controlHeader-formats": (
                    "controlHeader-Format1",
                    {"ueID": ("gNB-DU-UEID", {"gNB-CU-UE-F1AP-ID": 0}), "ric-Style-Type": 2, "ric-ControlAction-ID": 6},
                )
            },
        )
        self.cpid += 1
        _PDU.set_val(
            (
                "initiatingMessage",
                {
                    "procedureCode": 4,
                    "criticality": "reject",
                    "value": (
                        "RICcontrolRequest",
                        {
                            "protocolIEs": [
                                {"id": 29, "criticality": "reject", "value": ("RICrequestID", rid)},
                                {
                                    "id": 5,
                                    "criticality": "reject",
                                    "value": ("RANfunctionID", self.manifest.control.ran_function_id),
                                },
                                {
                                    "id": 20,
                                    "criticality": "reject",
                                    "value": ("RICcallProcessID", self.cpid.to_bytes(4, "big")),
                                },
                                {"id": 22, "criticality": "reject", "value": ("RICcontrolHeader", header)},
                                {"id": 23, "criticality": "reject", "value": ("RICcontrolMessage", body)},
                                {"id": 21, "criticality": "reject", "value": ("RICcontrolAckRequest", "ack")},
                            ]
                        },
                    ),
                },
            )
        )
        await self.transport.send(Message(12040, _PDU.to_aper(), sub_id=rid["ricInstanceID"], meid=msg.meid))
