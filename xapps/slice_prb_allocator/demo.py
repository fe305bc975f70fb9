"""``make demo``: the flagship xApp and a fake E2 node closing the near-RT loop over native RMR on loopback.

Two RMR endpoints on 127.0.0.1 (the xApp, and the E2 node playing E2 Termination) with seed route tables;
the node reports per-slice KPM every period from the synthetic demand generator and applies the RC slice
quotas it receives (a slice cannot use more than its max quota); the xApp runs the trained ONNX model, sends
quota controls and records every decision in a lineage spool, which is verified at the end.

    python -m xapps.slice_prb_allocator.demo --periods 100 --period-ms 100 --out demo-output
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console
from rich.table import Table

from ricsdk.lineage import LineageRecorder, Spool, SpoolConfig, verify_spool
from ricsdk.runtime.manifest import load_manifest
from ricsdk.runtime.runner import XAppRunner
from ricsdk.testing.e2node import E2NodeEmulator
from ricsdk.transport.rmr import RmrConfig, RmrTransport
from xapps.slice_prb_allocator.app import MANIFEST, SlicePrbAllocator
from xapps.slice_prb_allocator.source import DemandSource

NODE = "gnb-001"


def _rmr(table: Path, name: str) -> RmrTransport:
    table.write_text("newrt|start\nnewrt|end\n")
    return RmrTransport(
        RmrConfig(
            listen_host="127.0.0.1",
            listen_port=0,
            src_id=name,
            advertise_ip="127.0.0.1",
            seed_route_table=table,
            rtg_svc="-1",
            seed_poll_interval=0.05,
        )
    )


async def _route(t: RmrTransport, table: Path, routes: list[str]) -> None:
    table.write_text("newrt|start\n" + "".join(r + "\n" for r in routes) + "newrt|end\n")
    await asyncio.wait_for(t.wait_route_table(lambda rt: len(rt) >= len(routes)), 10)


def _pct_ms(values_ns: list[int], q: float) -> float:
    s = sorted(values_ns)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] / 1e6 if s else float("nan")


async def run_demo(periods: int, period_ms: int, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    spool_dir = out / "lineage"
    manifest = load_manifest(MANIFEST)
    manifest = dataclasses.replace(
        manifest, subscription=dataclasses.replace(manifest.subscription, e2_nodes=(NODE,), period_ms=period_ms)
    )
    xapp_t = _rmr(out / "xapp.rt", "slice-prb-allocator")
    node_t = _rmr(out / "e2term.rt", "e2term")
    spool = Spool(spool_dir, SpoolConfig())
    recorder = LineageRecorder(spool, instance=f"slice-prb-allocator-{int(time.time())}")
    recorder.open()
    await recorder.start()
    app = SlicePrbAllocator.from_manifest(manifest=manifest, lineage=recorder)
    keys = [b.snssai.key for b in manifest.slices]
    source = DemandSource(keys)
    node = E2NodeEmulator(NODE, node_t, source, slices=[b.snssai for b in manifest.slices], on_quota=source.on_quota)
    await xapp_t.start()
    await node.start(realtime=True)
    await _route(xapp_t, out / "xapp.rt", [f"mse|{m}|-1|127.0.0.1:{node_t.port}" for m in (12010, 12020, 12040)])
    await _route(node_t, out / "e2term.rt", [f"mse|12050|-1|127.0.0.1:{xapp_t.port}"])
    started = time.monotonic()
    async with XAppRunner(app, xapp_t) as runner:
        deadline = started + periods * period_ms / 1000.0 * 3 + 10
        while app.decisions < periods and time.monotonic() < deadline:
            await asyncio.sleep(period_ms / 1000.0)
        await asyncio.sleep(2 * period_ms / 1000.0)  # let the last controls be acknowledged
        tracker = runner.tracker
        controls = {
            "acked": tracker.acked,
            "failed": tracker.failed,
            "timed_out": tracker.timed_out,
            "pending": tracker.pending,
        }
        node_applied = node.stats.controls_acked  # read with the tracker's counts, not after more periods ran
    elapsed = time.monotonic() - started
    await node.aclose()
    await recorder.aclose()
    report = verify_spool(spool_dir)
    lat = list(app.loop_latency_ns)
    return {
        "periods": periods,
        "period_ms": period_ms,
        "elapsed_s": round(elapsed, 2),
        "indications": node.stats.indications,
        "decisions": app.decisions,
        "controls": controls,
        "node_controls_acked": node_applied,
        "loop_latency_ms": {"p50": _pct_ms(lat, 0.5), "p99": _pct_ms(lat, 0.99), "samples": len(lat)},
        "withheld": dict(app.withheld),
        "quotas": {k: node.quotas[k] for k in keys if k in node.quotas},
        "slice_names": {b.snssai.key: b.name for b in manifest.slices},
        "lineage": {"records": report.records, "verified": report.ok, "spool": str(spool_dir)},
    }


def _print(summary: dict[str, Any]) -> None:
    con = Console(width=110)
    con.print(
        f"[bold]slice-prb-allocator demo[/bold]: {summary['periods']} periods of {summary['period_ms']} ms "
        f"over native RMR on loopback ({summary['elapsed_s']} s)"
    )
    c = summary["controls"]
    con.print(f"indications sent by the node: {summary['indications']}   decisions: {summary['decisions']}")
    con.print(
        f"controls: {c['acked']} acknowledged, {c['failed']} failed, {c['timed_out']} timed out, "
        f"{c['pending']} pending   (node applied {summary['node_controls_acked']})"
    )
    lat = summary["loop_latency_ms"]
    con.print(
        f"loop latency, indication bytes in -> control bytes out: p50 {lat['p50']:.3f} ms, "
        f"p99 {lat['p99']:.3f} ms over {lat['samples']} controls"
    )
    if summary["withheld"]:
        con.print(f"slice actions withheld: {summary['withheld']}")
    t = Table(title="PRB quota in force per slice (RC Style 2 / Action 6)")
    for col in ("slice", "name", "min %", "max %", "dedicated %"):
        t.add_column(col)
    for key, q in summary["quotas"].items():
        t.add_row(key, summary["slice_names"][key], str(q.min_ratio), str(q.max_ratio), str(q.dedicated_ratio))
    con.print(t)
    lin = summary["lineage"]
    con.print(
        f"lineage: {lin['records']} decision records in {lin['spool']}, hash chain "
        f"{'verified' if lin['verified'] else 'BROKEN'}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m xapps.slice_prb_allocator.demo", description=__doc__)
    ap.add_argument("--periods", type=int, default=100)
    ap.add_argument("--period-ms", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("demo-output"))
    args = ap.parse_args(argv)
    if args.periods < 1 or args.period_ms < 10:
        ap.error("--periods must be >= 1 and --period-ms >= 10")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    summary = asyncio.run(run_demo(args.periods, args.period_ms, args.out))
    _print(summary)
    ok = summary["lineage"]["verified"] and summary["controls"]["acked"] > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
