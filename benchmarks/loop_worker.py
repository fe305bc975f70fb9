"""One xApp in its own process for the loop benchmarks: ``python -m benchmarks.loop_worker``.

Listens for native RMR on 127.0.0.1 (port 0, printed as ``PORT <n>``), routes its E2 requests to the driver,
runs the ricsdk flagship (``--kind candidate``) or the straightforward baseline (``--kind baseline``) until
SIGTERM, then writes its transport counters as JSON to ``--stats``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import structlog  # noqa: E402

from benchmarks.baseline_xapp import StraightforwardXApp  # noqa: E402
from ricsdk.lineage import LineageRecorder, Spool, SpoolConfig  # noqa: E402
from ricsdk.runtime.manifest import Manifest, load_manifest  # noqa: E402
from ricsdk.runtime.runner import RunnerConfig, XAppRunner  # noqa: E402
from ricsdk.transport.rmr import RmrConfig, RmrTransport  # noqa: E402
from xapps.slice_prb_allocator.app import MANIFEST, SlicePrbAllocator  # noqa: E402


def bench_manifest(nodes: list[str], period_ms: int) -> Manifest:
    """The flagship's manifest with the benchmark's nodes and period, sending a control every period."""
    m = load_manifest(MANIFEST)
    return dataclasses.replace(
        m,
        subscription=dataclasses.replace(m.subscription, e2_nodes=tuple(nodes), period_ms=period_ms),
        control=dataclasses.replace(m.control, send_unchanged=True),
    )


async def main(args: argparse.Namespace) -> None:
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    table = work / f"{args.kind}.rt"
    routes = "".join(f"mse|{m}|-1|{args.driver}\n" for m in (12010, 12020, 12040))
    table.write_text(f"newrt|start\n{routes}newrt|end\n")
    transport = RmrTransport(
        RmrConfig(
            listen_host="127.0.0.1",
            listen_port=0,
            src_id=args.kind,
            advertise_ip="127.0.0.1",
            seed_route_table=table,
            rtg_svc="-1",
            inbound_queue_size=65536,
        )
    )
    nodes = [f"gnb-{i:03d}" for i in range(args.nodes)]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if args.kind == "candidate":
        spool = Spool(work / "lineage", SpoolConfig())
        rec = LineageRecorder(spool, instance="bench-candidate")
        rec.open()
        await rec.start()
        app = SlicePrbAllocator(bench_manifest(nodes, args.period_ms), lineage=rec)
        await transport.start()  # the runner's start() is idempotent on it; announce the port first
        print(f"PORT {transport.port}", flush=True)
        config = RunnerConfig(batch_wait_s=args.batch_wait_ms / 1000.0)
        async with XAppRunner(app, transport, config=config) as runner:
            await stop.wait()
        await rec.aclose()
        st = runner.metrics.stages
        extra = {
            "decisions": app.decisions,
            "lineage_records": rec.stats.recorded,
            "stage_mean_us": {k: round(st._sums[k] / max(1, sum(c)) / 1000, 1) for k, c in st._counts.items()},
        }
    else:
        await transport.start()
        base = StraightforwardXApp(transport, bench_manifest(nodes, args.period_ms))
        task = asyncio.create_task(base.run())
        print(f"PORT {transport.port}", flush=True)
        await stop.wait()
        task.cancel()
        await transport.aclose()
        extra = {"decisions": base.decisions}
    s = transport.stats
    Path(args.stats).write_text(
        json.dumps(
            {
                "received": s.received,
                "sent": s.sent,
                "dropped_inbound": s.dropped_inbound,
                "malformed": s.malformed,
                "send_failures": s.send_failures,
                **extra,
            }
        )
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["candidate", "baseline"], required=True)
    ap.add_argument("--driver", required=True, help="host:port of the driver's RMR listener")
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--period-ms", type=int, default=100)
    ap.add_argument("--batch-wait-ms", type=float, default=0.0, help="the candidate runner's batch_wait_s, in ms")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--stats", required=True)
    level = int(__import__("os").environ.get("RICSDK_BENCH_LOG_LEVEL", "40"))
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    args = ap.parse_args()
    profile = __import__("os").environ.get("RICSDK_BENCH_PROFILE")  # a path prefix: cProfile stats per kind
    if profile:
        import cProfile

        with cProfile.Profile() as prof:
            asyncio.run(main(args))
        prof.dump_stats(f"{profile}.{args.kind}")
    else:
        asyncio.run(main(args))
