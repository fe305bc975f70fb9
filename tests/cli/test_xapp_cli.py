"""``ricsdk xapp run MANIFEST`` as a real process: native RMR to a fake E2 node, health and metrics over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

from ricsdk.e2.common import Snssai
from ricsdk.runtime.manifest import load_manifest
from ricsdk.testing.e2node import E2NodeEmulator
from ricsdk.transport.rmr import RmrConfig, RmrTransport
from xapps.slice_prb_allocator.app import MANIFEST
from xapps.slice_prb_allocator.source import DemandSource


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_model_only_xapp_runs_from_its_manifest(tmp_path: Path) -> None:
    manifest = load_manifest(MANIFEST)
    node_table = tmp_path / "node.rt"
    node_table.write_text("newrt|start\nnewrt|end\n")
    node_t = RmrTransport(
        RmrConfig(
            listen_host="127.0.0.1",
            listen_port=0,
            src_id="127.0.0.1",
            advertise_ip="127.0.0.1",
            seed_route_table=node_table,
            rtg_svc="-1",
            seed_poll_interval=0.05,
        )
    )
    keys = [b.snssai.key for b in manifest.slices]
    source = DemandSource(keys)
    node = E2NodeEmulator("gnb-001", node_t, source, slices=[Snssai.parse(k) for k in keys], on_quota=source.on_quota)
    await node.start(realtime=True)
    rmr_port, http_port = _free_port(), _free_port()
    node_table.write_text(f"newrt|start\nmse|12050|-1|127.0.0.1:{rmr_port}\nnewrt|end\n")
    xapp_table = tmp_path / "xapp.rt"
    xapp_table.write_text(
        "newrt|start\n"
        + "".join(f"mse|{m}|-1|127.0.0.1:{node_t.port}\n" for m in (12010, 12020, 12040))
        + "newrt|end\n"
    )
    env = {**os.environ, "RMR_SEED_RT": str(xapp_table), "RMR_RTG_SVC": "-1", "RMR_SRC_ID": "127.0.0.1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ricsdk.cli.main",
        "xapp",
        "run",
        str(MANIFEST),
        "--standalone",
        "--rmr-port",
        str(rmr_port),
        "--http-host",
        "127.0.0.1",
        "--http-port",
        str(http_port),
        "--lineage-dir",
        str(tmp_path / "lineage"),
        "--batch-wait-ms",
        "2",
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as http:
            ready = None
            for _ in range(200):
                await asyncio.sleep(0.05)
                try:
                    ready = await http.get("/ric/v1/health/ready")
                except httpx.TransportError:
                    continue
                if ready.status_code == 200:
                    break
            assert ready is not None and ready.status_code == 200, ready.text if ready else "no HTTP"
            assert (await http.get("/ric/v1/health/alive")).status_code == 200
            for _ in range(200):
                if node.stats.controls_acked >= 3:
                    break
                await asyncio.sleep(0.05)
            assert node.stats.controls_acked >= 3
            metrics = (await http.get("/metrics")).text
            assert "ricsdk_model_decisions_total" in metrics
            assert 'ricsdk_stage_seconds_count{stage="infer"}' in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        await node.aclose()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert node.subscriptions == {}  # unsubscribed on the way out
    from ricsdk.lineage import verify_spool

    assert verify_spool(tmp_path / "lineage").ok
