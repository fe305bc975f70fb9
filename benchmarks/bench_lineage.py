"""Lineage benchmarks: the recorder's hot path, the spool's durable append, and the canonical encoding.

Cases (each against a baseline measured in the same run, interleaved A B A B):

- ``record_hot_path``: one ``LineageRecorder.record(...)`` call, in microseconds per call (one call per
  sample, timer overhead included on both sides). Baseline: a naive ``record()`` that builds the same record
  as a dict, ``json.dumps`` it with sorted keys and appends the line with one ``os.write`` (no fsync).
  The recorder's queue is drained between samples, outside the timed region, so the queue path (not the
  overflow path) is what is measured.
- ``spool_append``: records per second through the writer into a spool with fsync policy ``per_batch``: the
  processor chain (enrich, digest, canonical encoding, sha256 chain), framing with CRC, one ``write`` and one
  ``fdatasync`` per batch of 1024. A sample is one batch. Baseline: one JSON line (sorted keys) written and
  fsynced per record; a sample is 8 records. Rates: ``p50`` is the median; ``p99`` is the rate of the slow tail
  (the 1st percentile of the rates, i.e. the 99th percentile of the time per record).
- ``canonical_encode``: microseconds to encode one record canonically and sha256 it; baseline ``json.dumps``
  with ``sort_keys=True`` plus sha256 of the same content. Target: faster than the baseline (the reason the
  binary encoding was chosen).

Files go to a temporary directory (``RICSDK_BENCH_DIR`` chooses its parent); the file system type is reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ricsdk.lineage import (
    DecisionRecord,
    FsyncPolicy,
    LineageRecorder,
    ModelRef,
    RcAction,
    Slot,
    Spool,
    SpoolConfig,
    encode_record,
)

GROUP = "lineage"

MODEL = ModelRef("prb-allocator", "1.4.2", "sha256:" + "ab" * 32, Slot.ACTIVE)
ACTION = RcAction(10, 80, 5, True, "")
FEATURES = tuple(float(i) * 0.5 for i in range(16))
OUTPUT = (0.1, 0.2, 0.7)
STAGES = {"decode": 1200, "kpm": 3400, "features": 900, "infer": 45_000, "guard": 300, "encode": 2000}
POLICIES = ("sla-embb-1", "rollout-7")


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _fs_type(path: Path) -> str:
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def _kwargs(i: int) -> dict[str, Any]:
    return {
        "decision_id": f"gnb-001:{i}",
        "e2_node": "gnb-001",
        "cell": "cell-3",
        "slice_id": "1-000001",
        "model": MODEL,
        "output": OUTPUT,
        "action": ACTION,
        "features": FEATURES,
        "policy_ids": POLICIES,
        "stage_ns": STAGES,
        "cpu_ns": 41_000,
    }


def _naive_line(i: int, kw: dict[str, Any]) -> bytes:
    return _dumps(_naive_doc(i, kw))


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _naive_doc(i: int, kw: dict[str, Any]) -> dict[str, Any]:
    model = kw["model"]
    action = kw["action"]
    return {
        "decision_id": kw["decision_id"],
        "instance": "xapp-1",
        "sequence": i,
        "timestamp_ns": time.time_ns(),
        "e2_node": kw["e2_node"],
        "cell": kw["cell"],
        "slice_id": kw["slice_id"],
        "model": {"name": model.name, "version": model.version, "digest": model.digest, "slot": model.slot.value},
        "features": list(kw["features"]),
        "output": list(kw["output"]),
        "action": {
            "min_prb_pct": action.min_prb_pct,
            "max_prb_pct": action.max_prb_pct,
            "dedicated_prb_pct": action.dedicated_prb_pct,
            "sent": action.sent,
            "reason": action.reason,
        },
        "policy_ids": list(kw["policy_ids"]),
        "stage_ns": kw["stage_ns"],
        "cpu_ns": kw["cpu_ns"],
    }


def _case(
    unit: str,
    ours: list[float],
    base: list[float],
    base_name: str,
    target: dict[str, float],
    met: Callable[[float, float], bool],
    *,
    higher_is_better: bool,
    note: str,
) -> dict[str, Any]:
    q99 = 0.01 if higher_is_better else 0.99
    p50, p99 = _pct(ours, 0.5), _pct(ours, q99)
    b50, b99 = _pct(base, 0.5), _pct(base, q99)
    ratio = p50 / b50 if higher_is_better else b50 / p50
    return {
        "unit": unit,
        "samples": len(ours),
        "p50": round(p50, 3),
        "p99": round(p99, 3),
        "baseline": {"name": base_name, "samples": len(base), "p50": round(b50, 3), "p99": round(b99, 3)},
        "ratio_p50": round(ratio, 2),
        "target": target,
        "met": bool(met(p50, p99)),
        "note": note,
    }


def bench_record_hot_path(root: Path, quick: bool) -> dict[str, Any]:
    samples = 300 if quick else 5000
    spool = Spool(root / "hot", SpoolConfig(fsync=FsyncPolicy.NEVER))
    recorder = LineageRecorder(spool, instance="xapp-1", queue_limit=1 << 16)
    recorder.open()
    fd = os.open(root / "naive.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    clock = time.perf_counter_ns
    record = recorder.record
    ours: list[float] = []
    base: list[float] = []
    try:
        for i in range(200):  # warm-up
            record(**_kwargs(i))
            os.write(fd, _naive_line(i, _kwargs(i)))
        recorder.drain()
        for i in range(samples):
            kw = _kwargs(i)
            t0 = clock()
            record(**kw)
            t1 = clock()
            ours.append((t1 - t0) / 1000)
            kw = _kwargs(i)
            t0 = clock()
            os.write(fd, _naive_line(i, kw))
            t1 = clock()
            base.append((t1 - t0) / 1000)
            if recorder.queue_depth >= 4096:
                recorder.drain()
        recorder.drain()
        overflowed = recorder.stats.overflowed
    finally:
        os.close(fd)
        recorder.close()
    return _case(
        "us",
        ours,
        base,
        "dict + json.dumps(sort_keys) + os.write of one line per call",
        {"p50_max": 5.0},
        lambda p50, _p99: p50 <= 5.0,
        higher_is_better=False,
        note=f"one call per sample, timer overhead included; overflowed during the run: {overflowed}",
    )


def bench_spool_append(root: Path, quick: bool) -> dict[str, Any]:
    batches = 3 if quick else 200
    batch = 1024
    spool = Spool(root / "append", SpoolConfig(fsync=FsyncPolicy.PER_BATCH))
    recorder = LineageRecorder(spool, instance="xapp-1", queue_limit=batch, batch_size=batch)
    recorder.open()
    fd = os.open(root / "baseline.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    per_base = 8
    ours: list[float] = []
    base: list[float] = []
    seq = 0
    try:
        for r in range(batches + 1):
            for _ in range(batch):
                recorder.record(**_kwargs(seq))
                seq += 1
            t0 = time.perf_counter()
            written = recorder.drain()
            t1 = time.perf_counter()
            docs = [_naive_doc(seq + k, _kwargs(seq + k)) for k in range(per_base)]
            t2 = time.perf_counter()
            for doc in docs:
                os.write(fd, _dumps(doc))
                os.fsync(fd)
            t3 = time.perf_counter()
            if r == 0:
                continue  # warm-up round
            ours.append(written / (t1 - t0))
            base.append(per_base / (t3 - t2))
    finally:
        os.close(fd)
        recorder.close()
    fs = _fs_type(root)
    return _case(
        "records/s",
        ours,
        base,
        "json line (sorted keys) + write + fsync per record",
        {"p50_min": 100_000.0},
        lambda p50, _p99: p50 >= 100_000.0,
        higher_is_better=True,
        note=(
            f"batches of {batch} through the writer (processor chain + framing + write + fdatasync), the "
            f"record() calls that fill the queue untimed; baseline samples of {per_base} records, dicts built "
            f"untimed, json.dumps + write + fsync timed; p99 = slowest 1% of samples; file system {fs}"
        ),
    )


def bench_canonical_encode(quick: bool) -> dict[str, Any]:
    samples = 300 if quick else 5000
    record = DecisionRecord(
        decision_id="gnb-001:1",
        instance="xapp-1",
        sequence=1,
        timestamp_ns=time.time_ns(),
        e2_node="gnb-001",
        cell="cell-3",
        slice_id="1-000001",
        model=MODEL,
        input_digest="cd" * 32,
        features=FEATURES,
        output=OUTPUT,
        action=ACTION,
        policy_ids=POLICIES,
        stage_ns=tuple(sorted(STAGES.items())),
        cpu_ns=41_000,
    )
    doc = _naive_doc(1, _kwargs(1))
    clock = time.perf_counter_ns
    ours: list[float] = []
    base: list[float] = []
    sha = hashlib.sha256
    for _ in range(samples):
        t0 = clock()
        sha(encode_record(record)).digest()
        t1 = clock()
        ours.append((t1 - t0) / 1000)
        t0 = clock()
        sha(_dumps(doc)).digest()
        t1 = clock()
        base.append((t1 - t0) / 1000)
    return _case(
        "us",
        ours,
        base,
        "json.dumps(sort_keys) of the same record + sha256",
        {"ratio_min": 1.0},
        lambda p50, _p99: _pct(base, 0.5) / p50 >= 1.0,
        higher_is_better=False,
        note="one record per sample, timer overhead included; both sides start from a built record (dataclass, dict)",
    )


def run(quick: bool) -> dict[str, Any]:
    parent = os.environ.get("RICSDK_BENCH_DIR") or None
    with tempfile.TemporaryDirectory(prefix="ricsdk-bench-lineage-", dir=parent) as tmp:
        root = Path(tmp)
        return {
            "record_hot_path": bench_record_hot_path(root, quick),
            "spool_append": bench_spool_append(root, quick),
            "canonical_encode": bench_canonical_encode(quick),
        }
