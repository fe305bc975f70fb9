"""A real process killed with SIGKILL while writing: restart repairs, continues the chain, verifies."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from ricsdk.lineage import FsyncPolicy, Stream, verify_spool_strict

from .conftest import StepClock, make_recorder, record_one

CHILD = textwrap.dedent(
    """
    import sys
    from ricsdk.lineage import FsyncPolicy, LineageRecorder, ModelRef, RcAction, Spool, SpoolConfig

    spool = Spool(sys.argv[1], SpoolConfig(segment_bytes=256 * 1024, fsync=FsyncPolicy.PER_BATCH))
    recorder = LineageRecorder(spool, instance="xapp-1", batch_size=64)
    recorder.open()
    model = ModelRef("m", "1", "sha256:00")
    i = 0
    while True:
        recorder.record(
            decision_id=f"dec-{i}", e2_node="gnb", cell="c", slice_id="1-000001", model=model,
            output=(0.5, float(i)), action=RcAction(1, 50, 0, True), features=(float(i),) * 8,
            stage_ns={"infer": 1000},
        )
        i += 1
        if i % 64 == 0:
            recorder.drain()
            # everything up to this sequence is durable now (per_batch: append_batch returned after fsync)
            sys.stdout.write(f"durable {recorder.next_sequence - 1}\\n")
            sys.stdout.flush()
    """
)


def _run_child_until(path: Path, target: int) -> int:
    """Start the writer child, let it report ``target`` as durable, SIGKILL it; returns the last report."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    durable = -1
    try:
        for line in child.stdout:
            if line.startswith("durable "):
                durable = int(line.split()[1])
                if durable >= target:
                    break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert durable >= target
    return durable


def test_sigkill_mid_run_keeps_every_durable_batch_and_the_chain_continues(tmp_path: Path, clock: StepClock) -> None:
    """Three rounds of: a child process writes with fsync per_batch and is killed mid-run; then a restart."""
    path = tmp_path / "spool"
    resumed_at = 0
    torn = 0
    for _ in range(3):
        durable = _run_child_until(path, resumed_at + 30 * 64)
        recorder = make_recorder(path, clock, fsync=FsyncPolicy.PER_BATCH, segment_bytes=256 * 1024)
        # per_batch: every batch reported durable survived; the child ran on after the last report we read, so
        # more may have survived. What may be missing is only what was still in its queue (never handed to the
        # spool) or a torn last frame, which open() truncated; the chain stays a gap-free prefix either way.
        assert recorder.next_sequence >= durable + 1
        resumed_at = recorder.next_sequence
        torn += recorder.stats.torn_tails_truncated
        recorder.close()
        verify_spool_strict(path)

    recorder = make_recorder(path, clock, fsync=FsyncPolicy.PER_BATCH, segment_bytes=256 * 1024)
    assert recorder.next_sequence == resumed_at
    for i in range(100):
        record_one(recorder, i)
    recorder.drain()
    records = [r.record for r in recorder.spool.records(Stream.MAIN)]
    assert records[resumed_at].prev_hash == records[resumed_at - 1].hash
    assert recorder.stats.lost == 0
    recorder.close()
    report = verify_spool_strict(path)
    assert report.instances["xapp-1"].last_sequence == resumed_at + 99
    assert report.records == resumed_at + 100
    assert torn >= 0
