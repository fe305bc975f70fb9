"""The recorder: hot-path queue, overflow log, rejection, user processors, the asyncio writer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from ricsdk.errors import ConfigError, LineageError, LineageRecordError
from ricsdk.lineage import (
    FsyncPolicy,
    LineageRecorder,
    RcAction,
    RecorderState,
    RecordEvent,
    Stream,
    drop_features,
    verify_spool,
    verify_spool_strict,
)

from .conftest import MODEL, StepClock, make_recorder, record_one


def test_full_queue_sends_records_to_the_overflow_log_and_they_verify(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, queue_limit=8, batch_size=4)
    for i in range(30):
        record_one(recorder, i)
    assert recorder.queue_depth == 8
    assert recorder.stats.overflowed == 22 and recorder.stats.recorded == 30
    assert recorder.drain() == 8
    for i in range(30, 40):
        record_one(recorder, i)
    assert recorder.stats.overflowed == 24, "8 more queued, 2 more overflowed"
    assert len(list(recorder.spool.records(Stream.OVERFLOW))) == 24
    recorder.close()
    report = verify_spool_strict(path)
    summary = report.instances["xapp-1"]
    assert (summary.records, summary.overflow_records) == (8 + 8, 24)
    assert (summary.first_sequence, summary.last_sequence) == (0, 39)
    assert recorder.stats.lost == 0


def test_deleting_the_overflow_log_is_detected_as_a_gap(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, queue_limit=4)
    for i in range(10):
        record_one(recorder, i)
    recorder.close()
    for file in path.glob("overflow-*.seg"):
        file.unlink()
    report = verify_spool(path)
    assert report.first_issue is not None and report.first_issue.kind.value == "gap"
    assert report.first_issue.sequence == 0


def test_restart_after_overflow_continues_both_chains(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    first = make_recorder(path, clock, queue_limit=3)
    for i in range(10):
        record_one(first, i)
    first.close()
    second = make_recorder(path, clock, queue_limit=3)
    assert second.next_sequence == 10
    for i in range(10, 20):
        record_one(second, i)
    second.close()
    report = verify_spool_strict(path)
    assert report.instances["xapp-1"].last_sequence == 19


def test_hot_path_copies_numpy_rows_and_mappings(tmp_path: Path, clock: StepClock) -> None:
    recorder = make_recorder(tmp_path / "spool", clock)
    row = np.array([1.0, 2.0, 3.0])
    timings = {"infer": 5}
    recorder.record(
        decision_id="d",
        e2_node="n",
        cell="c",
        slice_id="1",
        model=MODEL,
        output=np.array([0.5], dtype=np.float32),
        action=None,
        features=row,
        policy_ids=["p"],
        stage_ns=timings,
    )
    row[0] = 99.0
    timings["infer"] = 6
    recorder.drain()
    (item,) = recorder.spool.records()
    assert item.record.features == (1.0, 2.0, 3.0)
    assert item.record.output == (0.5,)
    assert item.record.stage_ns == (("infer", 5),)
    assert item.record.policy_ids == ("p",)


def _many(recorder: LineageRecorder, stage_ns: dict[str, int], *, decision_ids: bool = True) -> None:
    keys = ["1-000001", "1-000002", "2"]
    recorder.record_many(
        e2_node="gnb-001",
        cell="cell-7",
        slice_ids=keys,
        models=[MODEL, MODEL, MODEL],
        outputs=[np.array([1.5]), (2.5,), [3.5]],
        actions=[RcAction(5, 60, 2, True, ""), None, RcAction(0, 10, 0, False, "held:warming-up")],
        features=[(1.0, 2.0), np.array([3.0, 4.0]), None],
        policy_ids=[("sla-1",), [], ()],
        decision_ids=[f"d-{k}" for k in keys] if decision_ids else None,
        stage_ns=stage_ns,
        cpu_ns=77,
    )


def test_record_many_writes_what_one_record_per_slice_writes(tmp_path: Path) -> None:
    stages = {"infer": 40_000, "decode": 1_200, "guard": 300}
    many = make_recorder(tmp_path / "many", StepClock())
    _many(many, stages)
    stages["lineage"] = 1  # changed after the call: the records keep the timings as they were
    _many(many, {"decode": 5})
    single = make_recorder(tmp_path / "single", StepClock())
    keys = ["1-000001", "1-000002", "2"]
    actions = [RcAction(5, 60, 2, True, ""), None, RcAction(0, 10, 0, False, "held:warming-up")]
    feats = [(1.0, 2.0), (3.0, 4.0), None]
    pols: list[tuple[str, ...]] = [("sla-1",), (), ()]
    clock_ns = single._clock
    for timings in ({"infer": 40_000, "decode": 1_200, "guard": 300}, {"decode": 5}):
        ts = clock_ns()
        single._clock = lambda ts=ts: ts  # type: ignore[method-assign]  # one timestamp per decision
        for k, out, act, f, pol in zip(keys, (1.5, 2.5, 3.5), actions, feats, pols, strict=True):
            single.record(
                decision_id=f"d-{k}",
                e2_node="gnb-001",
                cell="cell-7",
                slice_id=k,
                model=MODEL,
                output=(out,),
                action=act,
                features=f,
                policy_ids=pol,
                stage_ns=timings,
                cpu_ns=77,
            )
    assert many.drain() == single.drain() == 6
    a = [r.record for r in many.spool.records()]
    b = [r.record for r in single.spool.records()]
    assert a == b, "same records, same chain hashes"
    assert a[0].stage_ns == (("decode", 1_200), ("guard", 300), ("infer", 40_000))
    many.close()
    verify_spool_strict(tmp_path / "many")


def test_record_many_defaults_and_refuses_ragged_lists(tmp_path: Path, clock: StepClock) -> None:
    recorder = make_recorder(tmp_path / "spool", clock, queue_limit=2)
    _many(recorder, {"decode": 5}, decision_ids=False)
    assert recorder.stats.recorded == 3 and recorder.stats.overflowed == 1, "the third slice overflowed"
    with pytest.raises(LineageRecordError, match="outputs: 1 entries for 2 slices"):
        recorder.record_many(
            e2_node="n", cell="c", slice_ids=["1", "2"], models=[MODEL, MODEL], outputs=[(1.0,)], actions=[None, None]
        )
    recorder.drain()
    records = [r.record for s in (Stream.MAIN, Stream.OVERFLOW) for r in recorder.spool.records(s)]
    assert [r.decision_id.rsplit("/", 1)[0] for r in records] == [
        "gnb-001/cell-7/1-000001",
        "gnb-001/cell-7/1-000002",
        "gnb-001/cell-7/2",
    ]
    assert len({r.timestamp_ns for r in records}) == 1
    recorder.close()
    verify_spool_strict(tmp_path / "spool")


async def test_a_bad_slice_of_record_many_is_rejected_alone(tmp_path: Path, clock: StepClock) -> None:
    recorder = make_recorder(tmp_path / "spool", clock)
    await recorder.start()
    recorder.record_many(
        e2_node="gnb-001",
        cell="cell-7",
        slice_ids=["1", "2", "3"],
        models=[MODEL] * 3,
        outputs=[(1.0,), ("not a number",), (3.0,)],
        actions=[None] * 3,
        stage_ns={"decode": 5},
    )
    assert recorder.queue_depth == 3
    with capture_logs() as logs:
        await recorder.stop()  # writes everything queued, leaves the spool open
    assert recorder.queue_depth == 0
    assert recorder.stats.rejected == 1 and recorder.stats.recorded == 3
    assert any(e["event"].startswith("lineage record rejected") for e in logs)
    written = [r.record for r in recorder.spool.records()]
    assert [(r.slice_id, r.sequence) for r in written] == [("1", 0), ("3", 1)], "no gap where the bad one was"
    await recorder.aclose()
    verify_spool_strict(tmp_path / "spool")


def test_a_processor_editing_shared_stage_timings_changes_only_its_record(tmp_path: Path, clock: StepClock) -> None:
    def edit(event: RecordEvent) -> RecordEvent:
        if event["slice_id"] == "1-000001":
            event["stage_ns"]["edited"] = 1
        return event

    recorder = make_recorder(tmp_path / "spool", clock, processors=[edit])
    _many(recorder, {"decode": 5})
    recorder.drain()
    stages = [dict(r.record.stage_ns) for r in recorder.spool.records()]
    assert stages == [{"decode": 5, "edited": 1}, {"decode": 5}, {"decode": 5}]


def test_invalid_record_is_rejected_loudly_without_leaving_a_gap(tmp_path: Path, clock: StepClock) -> None:
    recorder = make_recorder(tmp_path / "spool", clock)
    record_one(recorder, 0)
    recorder.record(
        decision_id="bad", e2_node="n", cell="c", slice_id="1", model=MODEL, output=(1.0,), action=None, cpu_ns=-1
    )
    record_one(recorder, 2)
    with capture_logs() as logs:
        recorder.drain()
    assert recorder.stats.rejected == 1
    assert any(e["event"].startswith("lineage record rejected") and e["decision_id"] == "bad" for e in logs)
    assert [r.record.sequence for r in recorder.spool.records()] == [0, 1]
    recorder.close()
    verify_spool_strict(tmp_path / "spool")


def test_user_processors_run_and_a_failing_one_is_counted(tmp_path: Path, clock: StepClock) -> None:
    def tag(event: RecordEvent) -> RecordEvent:
        event["policy_ids"] = (*event.get("policy_ids", ()), "tagged")
        return event

    def broken(event: RecordEvent) -> RecordEvent:
        raise RuntimeError("boom")

    recorder = make_recorder(tmp_path / "a", clock, processors=[drop_features, tag])
    record_one(recorder, 0)
    recorder.drain()
    (item,) = recorder.spool.records()
    assert item.record.features is None and item.record.input_digest
    assert item.record.policy_ids[-1] == "tagged"

    failing = make_recorder(tmp_path / "b", clock, processors=[broken])
    with capture_logs() as logs:
        record_one(failing, 0)
        failing.drain()
    assert failing.stats.processor_errors == 1
    assert any(e["log_level"] == "error" for e in logs)
    (kept,) = failing.spool.records()
    assert kept.record.features is None


def test_overflow_without_an_open_spool_is_counted_as_lost(tmp_path: Path, clock: StepClock) -> None:
    from ricsdk.lineage import Spool

    recorder = LineageRecorder(Spool(tmp_path / "s"), instance="x", clock=clock.ns, queue_limit=1)
    record_one(recorder, 0)
    with capture_logs() as logs:
        record_one(recorder, 1)
    assert recorder.stats.lost == 1 and recorder.queue_depth == 1
    assert logs[0]["log_level"] == "error"
    with pytest.raises(LineageError):
        recorder.drain()


def test_constructor_validates_and_does_no_io(tmp_path: Path, clock: StepClock) -> None:
    from ricsdk.lineage import Spool

    with pytest.raises(ConfigError):
        LineageRecorder(Spool(tmp_path / "s"), instance="")
    with pytest.raises(ConfigError):
        LineageRecorder(Spool(tmp_path / "s"), instance="x", queue_limit=0)
    LineageRecorder(Spool(tmp_path / "s"), instance="x")
    assert not (tmp_path / "s").exists()


async def test_writer_task_writes_batches_and_aclose_drains(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, fsync=FsyncPolicy.PER_BATCH, batch_size=32)
    await recorder.start()
    assert recorder.state is RecorderState.RUNNING
    with pytest.raises(LineageError):
        recorder.drain()
    for i in range(100):
        record_one(recorder, i)
    for _ in range(200):
        if recorder.stats.records == 100:
            break
        await asyncio.sleep(0)
        await asyncio.to_thread(lambda: None)
    for i in range(100, 150):
        record_one(recorder, i)
    await recorder.aclose()
    assert recorder.state is RecorderState.CLOSED
    assert recorder.stats.records == 150 and recorder.stats.batches >= 5
    report = verify_spool_strict(path)
    assert report.instances["xapp-1"].last_sequence == 149


async def test_writer_sync_points_run_on_the_sync_thread_and_survive_a_failed_fsync(
    tmp_path: Path, clock: StepClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under per_batch the writer syncs after each batch in its sync thread; a failed fsync is counted and
    logged, the batch is not written twice, and the next sync point makes it durable."""
    import threading

    import ricsdk.lineage.spool as spool_module

    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, fsync=FsyncPolicy.PER_BATCH, batch_size=8)
    threads: list[str] = []
    real = spool_module._fdatasync

    def broken(fd: int) -> None:
        threads.append(threading.current_thread().name)
        raise OSError(5, "EIO")

    monkeypatch.setattr(spool_module, "_fdatasync", broken)
    await recorder.start()
    with capture_logs() as logs:
        for i in range(5):
            record_one(recorder, i)
        for _ in range(500):
            if recorder.stats.write_errors:
                break
            await asyncio.sleep(0.002)
    assert recorder.stats.write_errors == 1
    assert threads and threads[0] == "lineage-sync-xapp-1"
    assert any("sync point failed" in e["event"] for e in logs)
    monkeypatch.setattr(spool_module, "_fdatasync", real)
    for i in range(5, 10):
        record_one(recorder, i)
    await recorder.aclose()
    assert recorder.stats.records == 10 and recorder.stats.fsyncs >= 1
    assert verify_spool_strict(path).instances["xapp-1"].last_sequence == 9


async def test_writer_overflows_while_busy_and_loses_nothing(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, queue_limit=16, batch_size=8)
    await recorder.start()
    for i in range(500):
        record_one(recorder, i)
        if i % 50 == 0:
            await asyncio.sleep(0)
    await recorder.aclose()
    stats = recorder.stats
    assert stats.overflowed > 0
    assert stats.records + stats.overflowed == 500 and stats.lost == 0
    report = verify_spool_strict(path)
    assert report.instances["xapp-1"].last_sequence == 499


def test_failed_write_keeps_the_batch_and_the_next_drain_writes_it(
    tmp_path: Path, clock: StepClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock)
    real = recorder.spool.append_batch
    calls = {"n": 0}

    def flaky(items: list[tuple[str, int, bytes, bytes]]) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise LineageError("disk full")
        return real(items)

    monkeypatch.setattr(recorder.spool, "append_batch", flaky)
    for i in range(5):
        record_one(recorder, i)
    with pytest.raises(LineageError):
        recorder.drain()
    assert recorder.stats.write_errors == 1 and recorder.stats.records == 0
    record_one(recorder, 5)
    assert recorder.drain() == 6
    recorder.close()
    report = verify_spool_strict(path)
    assert report.instances["xapp-1"].last_sequence == 5


def test_failed_fsync_does_not_write_the_batch_twice(
    tmp_path: Path, clock: StepClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ricsdk.lineage.spool as spool_module

    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, fsync=FsyncPolicy.PER_BATCH)

    def broken(fd: int) -> None:
        raise OSError(5, "EIO")

    monkeypatch.setattr(spool_module, "_fdatasync", broken)
    for i in range(3):
        record_one(recorder, i)
    with capture_logs() as logs:
        assert recorder.drain() == 3
    assert recorder.stats.write_errors == 1
    assert any("sync point failed" in e["event"] for e in logs)
    monkeypatch.undo()
    recorder.spool.sync()
    recorder.close()
    assert verify_spool_strict(path).records == 3
