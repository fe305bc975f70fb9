"""A producer process for the reliability tests: an xApp-like recorder and reporter in one asyncio loop.

``python tests/governance/producer.py SPOOL TARGET TOKEN COUNT RATE`` records COUNT decisions at about RATE per
second (0: as fast as it can), ships them to governance at TARGET (gRPC host:port) and exits 0 once governance
has acknowledged every one (or after ``--deadline`` seconds, exit 3). Every 50 ms it prints one status line:
``status recorded=R durable=D acked=A``, where D is the highest sequence written to the spool (per_batch fsync:
durable when printed) and A the highest acknowledged by governance. On restart over the same spool it continues
the chain where the spool ends and records COUNT more.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from ricsdk.lineage import FsyncPolicy, LineageRecorder, ModelRef, RcAction, Spool, SpoolConfig
from ricsdk.lineage.reporter import GrpcLineageClient, LineageReporter

MODEL = ModelRef("prb", "1.0.0", "sha256:" + "ab" * 32)


def _acked(spool: Spool, instance: str) -> int:
    acked = spool.acknowledged(instance)
    return -1 if acked is None else acked


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("spool")
    parser.add_argument("target")
    parser.add_argument("token")
    parser.add_argument("count", type=int)
    parser.add_argument("rate", type=float)
    parser.add_argument("--deadline", type=float, default=120.0)
    parser.add_argument("--instance", default="xapp-1")
    args = parser.parse_args()

    spool = Spool(args.spool, SpoolConfig(segment_bytes=1 << 20, fsync=FsyncPolicy.PER_BATCH))
    recorder = LineageRecorder(spool, instance=args.instance, queue_limit=20_000, batch_size=512)
    client = GrpcLineageClient(args.target, token=args.token, timeout_s=10.0)
    reporter = LineageReporter(spool, client, poll_s=0.02, backoff_initial_s=0.1, backoff_max_s=1.0)
    await recorder.start()
    await reporter.start()
    start = recorder.next_sequence

    def status() -> None:
        durable = spool.last_sequence(args.instance)
        acked = spool.acknowledged(args.instance)
        sys.stdout.write(
            f"status recorded={recorder.stats.recorded} start={start} durable={-1 if durable is None else durable} "
            f"acked={-1 if acked is None else acked} retries={reporter.stats.retries} "
            f"auth_failures={reporter.stats.auth_failures}\n"
        )
        sys.stdout.flush()

    t0 = time.monotonic()
    last_status = 0.0
    chunk = 200
    for i in range(0, args.count, chunk):
        for j in range(i, min(i + chunk, args.count)):
            recorder.record(
                decision_id=f"d{j}",
                e2_node="gnb-1",
                cell=f"cell-{j % 4}",
                slice_id=f"1-{j % 8:06x}",
                model=MODEL,
                output=(float(j % 100),),
                action=RcAction(5, 60, 0, True),
                features=(float(j), 1.0, 2.0, 3.0),
                policy_ids=("sla-1",),
                stage_ns={"infer": 1000},
                cpu_ns=20_000,
            )
        if args.rate > 0:
            due = t0 + (i + chunk) / args.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        else:
            await asyncio.sleep(0)
        if time.monotonic() - last_status > 0.05:
            status()
            last_status = time.monotonic()
    while recorder.queue_depth:
        await asyncio.sleep(0.01)
    deadline = time.monotonic() + args.deadline
    target = start + args.count - 1
    while time.monotonic() < deadline:
        status()
        if _acked(spool, args.instance) >= target:
            break
        await asyncio.sleep(0.05)
    status()
    ok = _acked(spool, args.instance) >= target
    await reporter.aclose()
    await client.aclose()
    await recorder.aclose()
    sys.stdout.write("done\n" if ok else "timeout\n")
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
