"""Decision-loop benchmarks: indication bytes in -> control bytes out, with the per-stage breakdown.

Cases (issue 3 item 10), each against the straightforward Python xApp of ``baseline_xapp.py`` in the same run:

- ``decision_latency_inmemory_8slices``: the flagship on the in-memory transport in this process; one
  indication at a time, timed from the driver's ``send`` to the control's arrival at the driver (both ends
  on the same monotonic clock), candidate and baseline interleaved; stage medians from the decision records.
- ``decision_throughput_inmemory_8slices``: indications pushed back to back; decisions per second.
- ``decision_latency_rmr_2proc_8slices``: the xApp in another process, native RMR over loopback both ways.
- ``sustained_200cells_8slices_100ms``: 200 E2 nodes (one cell each, 8 slices) reporting every 100 ms for the
  run's duration into an xApp process; its CPU from /proc, late (control later than one period after the
  indication) and dropped (no control) indications counted by the driver. The xApp runs with a 5 ms batch
  window (``RunnerConfig.batch_wait_s``); the same xApp without it is measured in the same run and reported
  beside (``without_batch_wait``).

Every control is sent every period (``send_unchanged``), lineage is recorded with ``per_batch`` fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import structlog  # noqa: E402

from benchmarks._util import case, percentile  # noqa: E402
from benchmarks.baseline_xapp import StraightforwardXApp  # noqa: E402
from benchmarks.loop_driver import LoopDriver  # noqa: E402
from benchmarks.loop_worker import bench_manifest  # noqa: E402
from ricsdk.lineage import LineageRecorder, Spool, SpoolConfig  # noqa: E402
from ricsdk.runtime.runner import XAppRunner  # noqa: E402
from ricsdk.transport.base import Message  # noqa: E402
from ricsdk.transport.memory import MEID_ROUTE, MemoryHub  # noqa: E402
from ricsdk.transport.rmr import RmrConfig, RmrTransport  # noqa: E402
from xapps.slice_prb_allocator.app import SlicePrbAllocator  # noqa: E402

GROUP = "loop"
BLOCK = 25
NODE = "gnb-000"


def _keys() -> list[str]:
    return [b.snssai.key for b in bench_manifest([NODE], 100).slices]


async def _one(driver: LoopDriver, transport_send: Any, pdu: bytes, sub_id: int, timeout: float = 5.0) -> int:
    """One indication's latency: from just before the driver hands its bytes to the transport to the moment the
    control's bytes are delivered back (stamped by the transport). The driver's own waiting machinery (the
    future it waits on and the timeout) is set up before the clock starts: it is the load generator's cost, and
    would otherwise run between the two stamps, ahead of the xApp's turn on the event loop."""
    msg = Message(12050, pdu, sub_id=sub_id, meid=NODE)
    got = asyncio.ensure_future(driver.controls.get())
    try:
        async with asyncio.timeout(timeout):
            t0 = time.monotonic_ns()
            await transport_send(msg)
            ctl = await got
    finally:
        got.cancel()
    return ctl.received_ns - t0


async def _warm(driver: LoopDriver, send: Any, sub_ids: list[int], periods: int) -> int:
    for p in range(periods):
        pdu, _ = driver.indication(NODE, p)
        for sid in sub_ids:
            await send(Message(12050, pdu, sub_id=sid, meid=NODE))
    await asyncio.sleep(0.5)
    while not driver.controls.empty():
        driver.controls.get_nowait()
    return periods


async def _inmemory(samples: int, throughput_n: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="ricsdk-bench-"))
    hub = MemoryHub()
    xt, bt, dt = hub.endpoint("xapp"), hub.endpoint("baseline"), hub.endpoint("e2term", meids=[NODE])
    for mtype in (12010, 12020, 12040):
        hub.add_route(mtype, MEID_ROUTE)
    hub.add_route(12050, "xapp", sub_id=1)
    hub.add_route(12050, "baseline", sub_id=2)
    driver = LoopDriver(dt, _keys())
    await driver.start()
    rec = LineageRecorder(Spool(tmp / "lineage", SpoolConfig()), instance="bench-inmemory")
    rec.open()
    await rec.start()
    app = SlicePrbAllocator(bench_manifest([NODE], 100), lineage=rec)
    await bt.start()
    base = StraightforwardXApp(bt, bench_manifest([NODE], 100))
    base_task = asyncio.create_task(base.run())
    out: dict[str, Any] = {}
    async with XAppRunner(app, xt):
        await asyncio.wait_for(driver.subscribed.wait(), 10)
        period = await _warm(driver, dt.send, [1, 2], 12)
        a: list[float] = []
        b: list[float] = []
        stages: dict[str, list[int]] = defaultdict(list)
        baseline_name = "straightforward Python xApp (pycrate E2AP, asn1tools E2SM, one ORT call per slice)"
        # Candidate and baseline alternate in blocks: one baseline decision runs milliseconds of pycrate and
        # asn1tools that evict the candidate's working set, which no deployed xApp shares with them. The
        # per-sample alternation is measured too (the "_cold" case) so the difference stays visible.
        # The indications of a block are built before it (as the throughput case does): building one runs the
        # driver's KPM encoder and demand generator in this process, which a real E2 node does elsewhere.
        for start in range(0, samples, BLOCK):
            block = [driver.indication(NODE, period + i) for i in range(start, min(start + BLOCK, samples))]
            for pdu, sid in block:
                a.append(await _one(driver, dt.send, pdu, sid) / 1000.0)
                if app.last_decision is not None:
                    for k, v in app.last_decision.stage_ns.items():
                        stages[k].append(v)
            for pdu, _ in block:
                b.append(await _one(driver, dt.send, pdu, 2) / 1000.0)
        period += samples
        r = case("us", a, baseline_name, b, {"p50_max": 150, "p99_max": 1000})
        r["stages_p50_us"] = {k: round(statistics.median(v) / 1000.0, 1) for k, v in sorted(stages.items())}
        r["note"] = f"candidate and baseline alternate in blocks of {BLOCK} samples"
        out["decision_latency_inmemory_8slices"] = r
        cold_a: list[float] = []
        cold_b: list[float] = []
        for pdu, sid in [driver.indication(NODE, period + i) for i in range(samples)]:
            cold_a.append(await _one(driver, dt.send, pdu, sid) / 1000.0)
            cold_b.append(await _one(driver, dt.send, pdu, 2) / 1000.0)
        period += samples
        cold = case("us", cold_a, baseline_name, cold_b, None)
        cold["note"] = "candidate and baseline alternate every sample: each decision follows a baseline one"
        out["decision_latency_inmemory_8slices_cold"] = cold

        async def burst(sub_id: int, n: int, start: int) -> float:
            pdus = [driver.indication(NODE, start + j)[0] for j in range(n)]
            t0 = time.monotonic()
            for pdu in pdus:
                await dt.send(Message(12050, pdu, sub_id=sub_id, meid=NODE))
            for _ in range(n):
                await asyncio.wait_for(driver.controls.get(), 30)
            return n / (time.monotonic() - t0)

        base_n = max(3, throughput_n // 10)
        rates_a, rates_b = [], []
        for _ in range(3):
            rates_a.append(await burst(1, throughput_n, period))
            period += throughput_n
            rates_b.append(await burst(2, base_n, period))
            period += base_n
        ra, rb = statistics.median(rates_a), statistics.median(rates_b)
        out["decision_throughput_inmemory_8slices"] = {
            "unit": "decisions/s",
            "samples": 3,
            "p50": round(ra, 1),
            "p99": round(min(rates_a), 1),
            "baseline": {"name": "straightforward Python xApp", "p50": round(rb, 1), "p99": round(min(rates_b), 1)},
            "ratio_p50": round(ra / rb, 2),
            "target": {"ratio_min": 10},
            "met": ra / rb >= 10,
            "note": f"{throughput_n} (baseline {base_n}) indications pushed back to back, 3 repetitions",
        }
    base_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await base_task
    await bt.aclose()
    await driver.aclose()
    await rec.aclose()
    r = out["decision_latency_inmemory_8slices"]
    r["met"] = r["p50"] <= 150 and r["p99"] <= 1000 and out["decision_throughput_inmemory_8slices"]["met"]
    return out


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class _Workers:
    """xApp worker processes and the driver's RMR endpoint, routes installed once their ports are known."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.table = tmp / "driver.rt"
        self.table.write_text("newrt|start\nnewrt|end\n")
        self.transport = RmrTransport(
            RmrConfig(
                listen_host="127.0.0.1",
                listen_port=0,
                src_id="e2term",
                advertise_ip="127.0.0.1",
                seed_route_table=self.table,
                rtg_svc="-1",
                seed_poll_interval=0.05,
                inbound_queue_size=65536,
            )
        )
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.ports: dict[str, int] = {}

    async def spawn(self, kind: str, nodes: int, period_ms: int, batch_wait_ms: float = 0.0) -> None:
        p = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.loop_worker",
            "--kind",
            kind,
            "--driver",
            f"127.0.0.1:{self.transport.port}",
            "--nodes",
            str(nodes),
            "--period-ms",
            str(period_ms),
            "--batch-wait-ms",
            str(batch_wait_ms),
            "--workdir",
            str(self.tmp / kind),
            "--stats",
            str(self.tmp / f"{kind}.json"),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert p.stdout is not None
        line = (await asyncio.wait_for(p.stdout.readline(), 60)).decode()
        if not line.startswith("PORT "):
            p.kill()
            raise RuntimeError(f"worker {kind} did not start: {line!r}")
        self.procs[kind] = p
        self.ports[kind] = int(line.split()[1])

    async def route(self, routes: list[str]) -> None:
        self.table.write_text("newrt|start\n" + "".join(r + "\n" for r in routes) + "newrt|end\n")
        await asyncio.wait_for(self.transport.wait_route_table(lambda rt: len(rt) >= len(routes)), 10)

    async def stop(self) -> None:
        for p in self.procs.values():
            if p.returncode is None:
                p.terminate()
        for p in self.procs.values():
            try:
                await asyncio.wait_for(p.wait(), 15)
            except TimeoutError:
                p.kill()


async def _rmr_2proc(samples: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="ricsdk-bench-rmr-"))
    w = _Workers(tmp)
    driver = LoopDriver(w.transport, _keys())
    await driver.start()
    try:
        await w.spawn("candidate", 1, 100)
        await w.spawn("baseline", 1, 100)
        await w.route([f"mse|12050|1|127.0.0.1:{w.ports['candidate']}", f"mse|12050|2|127.0.0.1:{w.ports['baseline']}"])
        await asyncio.wait_for(driver.subscribed.wait(), 20)
        period = await _warm(driver, w.transport.send, [1, 2], 12)
        a, b = [], []
        for i in range(samples):
            pdu, _ = driver.indication(NODE, period + i)
            a.append(await _one(driver, w.transport.send, pdu, 1) / 1000.0)
            b.append(await _one(driver, w.transport.send, pdu, 2) / 1000.0)
    finally:
        await w.stop()
        await driver.aclose()
    r = case("us", a, "straightforward Python xApp over the same RMR path", b, {"p99_max": 2000})
    r["met"] = r["p99"] <= 2000
    r["note"] = "xApp processes separate from the driver; native RMR over TCP loopback both ways"
    return r


async def _collect(driver: LoopDriver, pending: dict[str, deque[int]], lat: list[int]) -> None:
    """Match each control to the oldest outstanding indication of its node and record the latency."""
    while True:
        ctl = await driver.controls.get()
        q = pending.get(ctl.meid)
        if q:
            lat.append(ctl.received_ns - q.popleft())


BATCH_WAIT_MS = 5.0


async def _sustained(nodes: int, period_ms: int, seconds: float, baseline_seconds: float) -> dict[str, Any]:
    """The candidate with the runner's batch window (``batch_wait_s`` = BATCH_WAIT_MS), the same candidate
    without it (reported beside, no target), and the baseline."""
    tmp = Path(tempfile.mkdtemp(prefix="ricsdk-bench-load-"))
    results: dict[str, dict[str, Any]] = {}
    runs = (("candidate", "candidate", BATCH_WAIT_MS), ("no_wait", "candidate", 0.0), ("baseline", "baseline", 0.0))
    for label, kind, wait_ms in runs:
        w = _Workers(tmp / label)
        driver = LoopDriver(w.transport, _keys(), expected_subscriptions=nodes if kind == "candidate" else 0)
        await driver.start()
        node_names = [f"gnb-{i:03d}" for i in range(nodes)]
        try:
            await w.spawn(kind, nodes, period_ms, wait_ms)
            await w.route([f"mse|12050|-1|127.0.0.1:{w.ports[kind]}"])
            if kind == "candidate":
                await asyncio.wait_for(driver.subscribed.wait(), 60)
            else:  # the baseline does not subscribe: serve it the candidate's subscriptions' indications
                driver.subs = results["candidate"]["_subs"]
            pending: dict[str, deque[int]] = {n: deque() for n in node_names}
            lat: list[int] = []
            loop = asyncio.get_running_loop()
            sent = 0

            collector = asyncio.create_task(_collect(driver, pending, lat))
            periods = max(1, int((seconds if kind == "candidate" else baseline_seconds) * 1000 / period_ms))
            pid = w.procs[kind].pid
            warm = 10
            cpu0 = wall0 = 0.0
            start = loop.time() + 0.05
            for p in range(warm + periods):
                if p == warm:
                    lat.clear()
                    for q in pending.values():
                        q.clear()
                    cpu0, wall0, sent = _cpu_seconds(pid), time.monotonic(), 0
                for j, n in enumerate(node_names):
                    t = start + (p * period_ms + j * period_ms / nodes) / 1000.0
                    delay = t - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    pdu, sid = driver.indication(n, p)
                    pending[n].append(time.monotonic_ns())
                    await w.transport.send(Message(12050, pdu, sub_id=sid, meid=n))
                    sent += 1
            await asyncio.sleep(max(0.5, 2 * period_ms / 1000.0))
            cpu1, wall1 = _cpu_seconds(pid), time.monotonic()
            collector.cancel()
            period_ns = period_ms * 1_000_000
            results[label] = {
                "cpu_percent": round(100.0 * (cpu1 - cpu0) / (wall1 - wall0), 1),
                "indications": sent,
                "controls": len(lat),
                "late": sum(1 for x in lat if x > period_ns),
                "dropped": max(0, sent - len(lat)),
                "p50": round(statistics.median(lat) / 1000.0, 1) if lat else None,
                "p99": round(percentile([x / 1000.0 for x in lat], 0.99), 1) if lat else None,
                "seconds": round(wall1 - wall0, 1),
                "_subs": driver.subs,
            }
        finally:
            await w.stop()
            await driver.aclose()
        stats = w.tmp / f"{kind}.json"
        if kind == "candidate" and stats.exists():
            means = json.loads(stats.read_text()).get("stage_mean_us", {})
            results[label]["stage_mean_us"] = {k: means[k] for k in sorted(means)}
    c, nw, b = results["candidate"], results["no_wait"], results["baseline"]
    for r in (c, nw, b):
        r.pop("_subs", None)
    met = c["late"] == 0 and c["dropped"] == 0 and c["cpu_percent"] <= 50
    return {
        "unit": "us",
        "samples": c["controls"],
        "p50": c["p50"],
        "p99": c["p99"],
        "cpu_percent": c["cpu_percent"],
        "indications": c["indications"],
        "late": c["late"],
        "dropped": c["dropped"],
        "seconds": c["seconds"],
        "batch_wait_ms": BATCH_WAIT_MS,
        "stage_mean_us": c.get("stage_mean_us"),
        "without_batch_wait": nw,
        "baseline": {"name": "straightforward Python xApp under the same load", **b},
        "target": {"late_max": 0, "dropped_max": 0, "cpu_percent_max": 50},
        "met": met,
        "note": f"{nodes} E2 nodes x 8 slices every {period_ms} ms (spread evenly over the period) into one xApp "
        f"process over native RMR, lineage on; the runner waits {BATCH_WAIT_MS:g} ms after the first message of a "
        "batch (RunnerConfig.batch_wait_s) so one decision batch spans many cells; `without_batch_wait` is the "
        "same candidate deciding as messages come; CPU of the xApp process from /proc (all its threads); late = "
        "control more than one period after its indication; p50/p99 = indication sent -> control received",
    }


def run(quick: bool) -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    out: dict[str, Any] = {}
    out.update(asyncio.run(_inmemory(3 if quick else 400, 20 if quick else 300)))
    out["decision_latency_rmr_2proc_8slices"] = asyncio.run(_rmr_2proc(3 if quick else 300))
    out["sustained_200cells_8slices_100ms"] = asyncio.run(
        _sustained(4 if quick else 200, 100, 0.3 if quick else 10.0, 0.3 if quick else 2.0)
    )
    return out
