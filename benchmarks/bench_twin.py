"""Twin benchmarks: simulation speed in stepped (virtual-time) mode with full E2 encoding.

Case ``stepped_100cells_8slices_100ms``: a twin of 100 cells (one E2 node each) and 8 slices with a 100 ms tick,
every node holding one KPM subscription at 100 ms for the 7 twin measurements of its 8 slices (56 records per
indication). One sample is one ``Twin.step()``: the simulation tick (traffic, RAN model for DL and UL, SLA
account) and, for each of the 100 nodes, its RICindication encoded to E2AP bytes and sent over the in-memory
transport to an endpoint that is drained outside the timed region. The figure is the speed-up over real time,
``100 ms / step time``: ``p50`` is the median, ``p99`` the speed-up of the slow tail (the 99th percentile of the
step time). Target: ``p50 >= 50``.

Baseline, in the same run and interleaved: the same twin, the same subscriptions and the same values, with each
indication encoded through generic ASN.1 codecs instead of ricsdk's: the KPM header and format-1 message with
asn1tools over the reference modules in ``tests/asn1/`` (``tests.reference.kpm_v2``), the RICindication with
pycrate's compiled E2AP (``pycrate_asn1dir.E2AP``). Both sides are checked to produce byte-identical
indications before timing. The baseline is sampled every 10th candidate sample (its steps take far longer).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from typing import Any

from ricsdk.e2 import e2ap
from ricsdk.e2.kpm import MeasInfoItem, MeasRecord, Missing
from ricsdk.runtime.subscriptions import KpmSubscriptionSpec
from ricsdk.testing.e2node import NodeSubscription
from ricsdk.transport.base import Message, Transport
from ricsdk.transport.memory import MEID_ROUTE, MemoryHub, MemoryTransport
from ricsdk.twin.node import TickRecords, TwinConfig, TwinNode, ntp_timestamp
from ricsdk.twin.scenario import Scenario, scenario_from_dict
from ricsdk.twin.sim import MEASUREMENTS, Simulation
from ricsdk.twin.twin import Twin

GROUP = "twin"

CELLS = 100
SLICES = 8
TICK_MS = 100
TYPES = ("eMBB", "URLLC", "mMTC", "eMBB", "URLLC", "mMTC", "eMBB", "eMBB")


def scenario(cells: int = CELLS) -> Scenario:
    return scenario_from_dict(
        {
            "name": f"bench-{cells}x{SLICES}",
            "seed": 11,
            "tick_ms": TICK_MS,
            "cells": [
                {"name": "cell", "count": cells, "prbs": 273, "bandwidth_mhz": 100, "se_profile": "urban"},
            ],
            "slices": [
                {
                    "name": f"s{i}",
                    "sst": 1 + i % 3,
                    "sd": f"{i + 1:06x}",
                    "type": TYPES[i],
                    "sla": {"min_throughput_mbps": 5, "max_delay_ms": 50, "priority": 1 + i % 3},
                }
                for i in range(SLICES)
            ],
            "traffic": {f"s{i}": {"load_mbps": 25, "cv": 0.3, "ul_ratio": 0.2} for i in range(SLICES)},
        },
        "benchmarks/bench_twin.py",
    )


# -- the generic-codec baseline ---------------------------------------------------------------------------


def _generic_codecs() -> tuple[Any, Any]:
    from tests.e2.pycrate_e2ap import pycrate_encode
    from tests.reference import kpm_v2

    return kpm_v2(), pycrate_encode


def _asn1_record(r: MeasRecord) -> tuple[str, Any]:
    if isinstance(r, Missing):
        return (r.value, None)
    return ("real", r) if isinstance(r, float) else ("integer", r)


def _asn1_info(items: tuple[MeasInfoItem, ...]) -> list[dict[str, Any]]:
    out = []
    for it in items:
        labels = []
        for lab in it.labels:
            s = lab.slice_id
            if s is None:
                labels.append({"measLabel": {"noLabel": "true"}})
            else:
                snssai: dict[str, bytes] = {"sST": s.sst}
                if s.sd is not None:
                    snssai["sD"] = s.sd
                labels.append({"measLabel": {"sliceID": snssai}})
        mt = ("measName", it.meas_type) if isinstance(it.meas_type, str) else ("measID", it.meas_type)
        out.append({"measType": mt, "labelInfoList": labels})
    return out


class GenericCodecNode(TwinNode):
    """A twin node whose indications go through asn1tools (KPM) and pycrate (E2AP)."""

    batchable = False

    def __init__(
        self, sim: Simulation, records: TickRecords, cell: int, transport: Transport, config: TwinConfig
    ) -> None:
        super().__init__(sim, records, cell, transport, config)
        self._kpm, self._e2ap = _generic_codecs()
        self._info: dict[int, list[dict[str, Any]]] = {}

    def encode_indication(
        self, sub: NodeSubscription, records: tuple[MeasRecord, ...], header: bytes | None = None
    ) -> bytes:
        info = self._info.get(id(sub))
        if info is None:
            info = self._info[id(sub)] = _asn1_info(sub.meas_info)
        ts = self.book.start_ns
        hdr = self._kpm.encode(
            "E2SM-KPM-IndicationHeader",
            {"indicationHeader-formats": ("indicationHeader-Format1", {"colletStartTime": ntp_timestamp(ts, 4)})},
        )
        f1: dict[str, Any] = {"measData": [{"measRecord": [_asn1_record(r) for r in records]}], "measInfoList": info}
        f1["granulPeriod"] = sub.granul_ms
        msg = self._kpm.encode(
            "E2SM-KPM-IndicationMessage", {"indicationMessage-formats": ("indicationMessage-Format1", f1)}
        )
        sub.sn = (sub.sn + 1) & 0xFFFF
        pdu: bytes = self._e2ap(
            e2ap.RicIndication(
                sub.request_id, self.kpm_id, sub.action_id, e2ap.IndicationType.REPORT, bytes(hdr), bytes(msg), sub.sn
            )
        )
        return pdu


# -- set-up --------------------------------------------------------------------------------------------------


class _Rig:
    """A started twin whose 100 nodes each hold one subscription, and the drained endpoint that receives."""

    def __init__(self, twin: Twin, sink: MemoryTransport) -> None:
        self.twin = twin
        self.sink = sink
        self._it = sink.__aiter__()
        self.bytes = 0
        self.messages = 0

    async def drain(self) -> list[bytes]:
        out = []
        while self.sink.pending:
            msg = await self._it.__anext__()
            self.bytes += len(msg.payload)
            self.messages += 1
            out.append(msg.payload)
        return out


async def _rig(node_factory: Any, cells: int) -> _Rig:
    sc = scenario(cells)
    twin = Twin(sc, TwinConfig(), node_factory=node_factory)
    hub = MemoryHub(clock_ns=twin.clock)
    node_end = hub.endpoint("twin", meids=twin.node_ids, queue_size=1 << 16)
    sink = hub.endpoint("sink", queue_size=1 << 16)
    for mtype in (12010, 12020, 12040):
        hub.add_route(mtype, MEID_ROUTE)
    hub.add_route(12050, "sink")
    await sink.start()
    await twin.start(node_end)
    slices = tuple(s.snssai for s in sc.slices)
    for i, node in enumerate(twin.node_ids):
        spec = KpmSubscriptionSpec(f"kpm-{node}", node, MEASUREMENTS, slices, period_ms=TICK_MS)
        req = spec.request(e2ap.RicRequestId(123, i + 1))
        await sink.send(Message(12010, e2ap.encode_e2ap(req), meid=node))
    rig = _Rig(twin, sink)
    while sum(len(n.subscriptions) for n in twin.nodes.values()) < cells:
        await asyncio.sleep(0)
    await rig.drain()
    rig.bytes = rig.messages = 0
    return rig


async def _measure(quick: bool) -> dict[str, Any]:
    fast = await _rig(TwinNode, CELLS)
    slow = await _rig(GenericCodecNode, CELLS)
    try:
        # same values, same bytes: one step on each side, compared
        await fast.twin.step()
        await slow.twin.step()
        if await fast.drain() != await slow.drain():
            raise AssertionError("the generic-codec baseline does not produce the same indications")
        warm = 1 if quick else 20
        for _ in range(warm):
            await fast.twin.step()
            await fast.drain()
        samples = 1 if quick else 300
        every = 10
        cand: list[float] = []
        base: list[float] = []
        gc_was = gc.isenabled()
        gc.disable()
        try:
            for i in range(samples):
                if i % 50 == 0:
                    gc.collect()
                t0 = time.perf_counter_ns()
                await fast.twin.step()
                cand.append((time.perf_counter_ns() - t0) / 1e6)
                await fast.drain()
                if i % every == 0:
                    t0 = time.perf_counter_ns()
                    await slow.twin.step()
                    base.append((time.perf_counter_ns() - t0) / 1e6)
                    await slow.drain()
        finally:
            if gc_was:
                gc.enable()
        per_step = fast.messages / max(1, samples + warm)
        size = fast.bytes / max(1, fast.messages)
    finally:
        await fast.twin.aclose()
        await slow.twin.aclose()
    return _case(cand, base, per_step, size)


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _case(cand_ms: list[float], base_ms: list[float], per_step: float, size: float) -> dict[str, Any]:
    tick = float(TICK_MS)
    p50 = tick / statistics.median(cand_ms)
    p99 = tick / _pct(cand_ms, 0.99)
    b50 = tick / statistics.median(base_ms)
    b99 = tick / _pct(base_ms, 0.99)
    return {
        "unit": "x realtime",
        "samples": len(cand_ms),
        "p50": round(p50, 2),
        "p99": round(p99, 2),
        "baseline": {
            "name": "generic codecs: asn1tools E2SM-KPM (tests/asn1) + pycrate E2AP",
            "samples": len(base_ms),
            "p50": round(b50, 3),
            "p99": round(b99, 3),
            "step_ms_p50": round(statistics.median(base_ms), 3),
        },
        "ratio_p50": round(p50 / b50, 2),
        "target": {"p50_min": 50},
        "met": p50 >= 50,
        "step_ms_p50": round(statistics.median(cand_ms), 3),
        "step_ms_p99": round(_pct(cand_ms, 0.99), 3),
        "cells": CELLS,
        "slices": SLICES,
        "tick_ms": TICK_MS,
        "indications_per_step": round(per_step, 1),
        "indication_bytes": round(size, 1),
        "transport": "memory (drained outside the timed region)",
    }


def run(quick: bool) -> dict[str, Any]:
    return {"stepped_100cells_8slices_100ms": asyncio.run(_measure(quick))}
