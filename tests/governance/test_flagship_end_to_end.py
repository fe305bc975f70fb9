"""The flagship's decisions end to end: xApp -> spool -> reporter (gRPC) -> governance -> queries.

The real flagship (its shipped manifest and ONNX model) closes the loop with a fake E2 node over the in-memory
transport; every slice decision is spooled, shipped by the reporter over gRPC with a bearer token, verified on
ingest and answered by governance's REST API: which model version governed a slice at a time, and one decision
with its full provenance.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import httpx

from rapps.governance.config import GovernanceConfig
from rapps.governance.server import GovernanceServer
from ricsdk.lineage import LineageRecorder, Spool, SpoolConfig, verify_spool
from ricsdk.lineage.reporter import GrpcLineageClient, LineageReporter
from ricsdk.runtime.manifest import load_manifest
from ricsdk.runtime.runner import XAppRunner
from ricsdk.testing.e2node import E2NodeEmulator
from ricsdk.transport.memory import MEID_ROUTE, MemoryHub
from xapps.slice_prb_allocator.app import MANIFEST, SlicePrbAllocator
from xapps.slice_prb_allocator.source import DemandSource

INGEST = "ingest-token-0123456789"
READER = "reader-token-0123456789"
NODE = "gnb-001"


async def test_flagship_lineage_reaches_governance_and_answers_who_governed(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"audit read {READER}\nxapp ingest {INGEST}\n")
    gov = GovernanceServer(
        GovernanceConfig(
            database=str(tmp_path / "g.db"),
            grpc_listen=("127.0.0.1", 0),
            http_listen=("127.0.0.1", 0),
            tokens_file=tokens,
        )
    )
    await gov.start()
    manifest = load_manifest(MANIFEST)
    manifest = dataclasses.replace(manifest, subscription=dataclasses.replace(manifest.subscription, period_ms=20))
    spool = Spool(tmp_path / "spool", SpoolConfig())
    recorder = LineageRecorder(spool, instance="flagship-e2e")
    recorder.open()
    await recorder.start()
    client = GrpcLineageClient(f"127.0.0.1:{gov.grpc_port}", token=INGEST)
    reporter = LineageReporter(spool, client, poll_s=0.05)
    await reporter.start()

    hub = MemoryHub()
    xt, nt = hub.endpoint("xapp"), hub.endpoint("e2term", meids=[NODE])
    for mtype in (12010, 12020, 12040):
        hub.add_route(mtype, MEID_ROUTE)
    hub.add_route(12050, "xapp")
    keys = [b.snssai.key for b in manifest.slices]
    source = DemandSource(keys, seed=4)
    node = E2NodeEmulator(NODE, nt, source, slices=[b.snssai for b in manifest.slices], on_quota=source.on_quota)
    await node.start(realtime=True)
    app = SlicePrbAllocator.from_manifest(manifest=manifest, lineage=recorder)
    try:
        async with XAppRunner(app, xt):
            for _ in range(400):
                if app.decisions >= 20:
                    break
                await asyncio.sleep(0.02)
        at_ns = time.time_ns()
        await node.aclose()
        await recorder.stop()  # everything queued is in the spool; the reporter ships it, then the spool closes
        assert await reporter.flush(20.0), reporter.degraded_reasons
        assert not reporter.degraded
        recorded = app.decisions * len(keys)
        assert reporter.stats.records_sent == recorded
        assert verify_spool(tmp_path / "spool").ok

        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{gov.http_port}", headers={"Authorization": f"Bearer {READER}"}, timeout=30
        ) as http:
            r = await http.get("/v1/slices/2-000001/governing", params={"at": str(at_ns)})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["model"]["name"] == manifest.model.name
            assert body["model"]["version"] == manifest.model.version
            assert body["model"]["digest"] == manifest.model.sha256
            decision = body["decision"]
            d = await http.get(f"/v1/decisions/{decision['instance']}/{decision['sequence']}")
            assert d.status_code == 200, d.text
            prov = d.json()
            assert prov["decision"]["slice_id"] == "2-000001" and prov["decision"]["e2_node"] == NODE
            assert prov["hash_verified"] and prov["linked_to_previous"] in (True, None)
            assert len(prov["features"]) == len(manifest.features)
            assert prov["action"]["min_prb_pct"] <= prov["action"]["max_prb_pct"]
            assert set(prov["stage_ns"]) >= {"extract", "features", "infer", "guard"}
    finally:
        await reporter.aclose()
        await recorder.aclose()
        await client.aclose()
        await gov.aclose()
