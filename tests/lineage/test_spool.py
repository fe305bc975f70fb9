"""The spool: round trip, torn tails, restart, acknowledgement, quota, and verification of edits."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from ricsdk.errors import ChainIntegrityError, ConfigError, LineageError
from ricsdk.lineage import (
    FsyncPolicy,
    IssueKind,
    LineageRecorder,
    Spool,
    SpoolConfig,
    Stream,
    verify_spool,
    verify_spool_strict,
)
from ricsdk.lineage.spool import FRAME_HEADER_SIZE, SEGMENT_HEADER_SIZE, iter_frames

from .conftest import StepClock, make_recorder, record_one, segment_files

Factory = Callable[..., LineageRecorder]


def _fill(recorder: LineageRecorder, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        record_one(recorder, i)
    recorder.drain()


def _frame_offsets(path: Path) -> list[tuple[int, int]]:
    data = path.read_bytes()
    out = []
    for item in iter_frames(data, SEGMENT_HEADER_SIZE, len(data)):
        assert isinstance(item, tuple)
        offset, payload = item
        out.append((offset, offset + FRAME_HEADER_SIZE + len(payload)))
    return out


def test_round_trip_reads_back_every_record_in_order(recorder_factory: Factory) -> None:
    recorder = recorder_factory()
    _fill(recorder, 100)
    read = list(recorder.spool.records())
    assert [r.record.sequence for r in read] == list(range(100))
    assert [r.record.decision_id for r in read] == [f"dec-{i}" for i in range(100)]
    assert read[7].record.action is not None and read[7].record.stage_timings()["infer"] == 40_000
    assert len(recorder.spool.segment_numbers()) > 1, "small segments roll"
    resumed = list(recorder.spool.records(start=read[41].next_position))
    assert [r.record.sequence for r in resumed] == list(range(42, 100))
    assert recorder.stats.records == 100 and recorder.stats.batches == 7
    report = verify_spool_strict(recorder.spool.path)
    assert report.records == 100 and report.instances["xapp-1"].last_sequence == 99


def test_segments_roll_at_the_size_limit(recorder_factory: Factory) -> None:
    recorder = recorder_factory(segment_bytes=4096, batch_size=1)
    _fill(recorder, 60)
    sizes = [p.stat().st_size for p in segment_files(recorder.spool.path)]
    assert len(sizes) > 3
    assert all(size <= 4096 for size in sizes)


def _reopen(path: Path, clock: StepClock, **kwargs: object) -> LineageRecorder:
    return make_recorder(path, clock, **kwargs)  # type: ignore[arg-type]


def test_torn_partial_frame_written_by_hand_is_truncated_and_counted(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, segment_bytes=1 << 20)
    _fill(recorder, 10)
    recorder.close()
    last = segment_files(path)[-1]
    good_size = last.stat().st_size
    with last.open("ab") as f:
        f.write((500).to_bytes(4, "little") + b"\x00\x00\x00\x00" + b"partial record")
    assert verify_spool(path).first_issue is not None, "verify sees the torn tail before any repair"
    with capture_logs() as logs:
        again = _reopen(path, clock, segment_bytes=1 << 20)
    assert last.stat().st_size == good_size
    assert again.stats.torn_tails_truncated == 1 and again.stats.torn_bytes == 22
    assert any(e["event"] == "lineage torn tail truncated" for e in logs)
    assert list((path / "quarantine").iterdir())
    assert again.next_sequence == 10
    _fill(again, 5, start=10)
    verify_spool_strict(path)


def test_truncating_the_last_frame_at_every_offset_never_accepts_it(tmp_path: Path, clock: StepClock) -> None:
    """Cut the file anywhere inside its last frame: the torn record is dropped, the chain continues, verify passes."""
    source = tmp_path / "source"
    recorder = make_recorder(source, clock, segment_bytes=1 << 20)
    _fill(recorder, 4)
    recorder.close()
    (segment,) = segment_files(source)
    original = segment.read_bytes()
    start, end = _frame_offsets(segment)[-1]
    for cut in range(start + 1, end):
        path = tmp_path / f"cut-{cut}"
        path.mkdir()
        (path / segment.name).write_bytes(original[:cut])
        again = _reopen(path, clock, segment_bytes=1 << 20)
        assert again.stats.torn_tails_truncated == 1, cut
        assert (path / segment.name).stat().st_size == start
        assert again.next_sequence == 3
        tail = again.spool.tail("xapp-1")
        assert tail is not None and tail.sequence == 2
        record_one(again, 99)
        again.close()
        report = verify_spool(path)
        assert report.ok, (cut, report.issues)
        assert report.instances["xapp-1"].last_sequence == 3


def test_restart_continues_sequence_and_prev_hash(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    first = make_recorder(path, clock)
    _fill(first, 30)
    last_hash = list(first.spool.records())[-1].record.hash
    first.close()
    second = _reopen(path, clock)
    assert second.next_sequence == 30
    _fill(second, 5, start=30)
    records = [r.record for r in second.spool.records()]
    assert records[30].sequence == 30 and records[30].prev_hash == last_hash
    second.close()
    verify_spool_strict(path)


def test_a_second_instance_in_the_same_spool_has_its_own_chain(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    a = make_recorder(path, clock, instance="a")
    _fill(a, 5)
    a.close()
    b = _reopen(path, clock, instance="b")
    assert b.next_sequence == 0
    _fill(b, 3)
    b.close()
    report = verify_spool_strict(path)
    assert set(report.instances) == {"a", "b"}


def _edited_copies(tmp_path: Path, clock: StepClock) -> tuple[Path, list[Path], bytes]:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, segment_bytes=1 << 20)
    _fill(recorder, 6)
    recorder.close()
    files = segment_files(path)
    assert len(files) == 1
    return path, files, files[0].read_bytes()


def test_one_edited_byte_anywhere_is_detected_and_names_the_record(tmp_path: Path, clock: StepClock) -> None:
    """Flip each byte of a segment in turn: verify fails and names the record that holds the byte."""
    path, (segment,), original = _edited_copies(tmp_path, clock)
    frames = _frame_offsets(segment)
    for offset in range(len(original)):
        edited = bytearray(original)
        edited[offset] ^= 0x41
        segment.write_bytes(bytes(edited))
        report = verify_spool(path)
        assert not report.ok, offset
        first = report.first_issue
        assert first is not None
        if offset < SEGMENT_HEADER_SIZE:
            assert first.kind is IssueKind.BAD_SEGMENT and (first.instance, first.sequence) == ("xapp-1", 0)
            continue
        holder = next(i for i, (start, end) in enumerate(frames) if start <= offset < end)
        assert (first.instance, first.sequence) == ("xapp-1", holder), (offset, report.issues)
        with pytest.raises(ChainIntegrityError) as info:
            verify_spool_strict(path)
        assert info.value.sequence == holder and info.value.instance == "xapp-1"
    segment.write_bytes(original)
    assert verify_spool(path).ok


def test_removed_and_swapped_frames_are_reported(tmp_path: Path, clock: StepClock) -> None:
    path, (segment,), original = _edited_copies(tmp_path, clock)
    frames = _frame_offsets(segment)
    (s2, e2), (s3, e3) = frames[2], frames[3]
    segment.write_bytes(original[:s2] + original[e2:])
    report = verify_spool(path)
    assert {(i.kind, i.sequence) for i in report.issues} >= {(IssueKind.GAP, 2), (IssueKind.BROKEN_LINK, 3)}
    assert report.first_issue is not None and report.first_issue.sequence == 2
    segment.write_bytes(original[:s2] + original[s3:e3] + original[s2:e2] + original[e3:])
    report = verify_spool(path)
    assert {i.kind for i in report.issues} >= {IssueKind.REORDER, IssueKind.BROKEN_LINK}
    assert report.first_issue is not None and report.first_issue.sequence in (2, 3)
    segment.write_bytes(original[:e3] + original[s3:e3] + original[e3:])
    report = verify_spool(path)
    assert any(i.kind is IssueKind.FORK and i.sequence == 3 for i in report.issues)


def test_acknowledge_deletes_only_fully_acknowledged_segments(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, segment_bytes=4096, batch_size=4)
    _fill(recorder, 80)
    spool = recorder.spool
    by_segment: dict[int, list[int]] = {}
    for item in spool.records():
        by_segment.setdefault(item.position.segment, []).append(item.record.sequence)
    numbers = sorted(by_segment)
    assert len(numbers) >= 4
    second_last_of_first = by_segment[numbers[0]][-1] - 1
    assert recorder.acknowledge("xapp-1", second_last_of_first) == 0
    assert spool.segment_numbers() == numbers
    assert recorder.acknowledge("other-instance", 10**6) == 0
    deleted = recorder.acknowledge("xapp-1", by_segment[numbers[1]][-1])
    assert deleted == 2 and spool.segment_numbers() == numbers[2:]
    assert recorder.stats.segments_deleted == 2
    assert recorder.acknowledge("xapp-1", 10**6) == len(numbers) - 3, "the active segment is kept"
    assert spool.segment_numbers() == numbers[-1:]
    _fill(recorder, 10, start=80)
    recorder.close()
    report = verify_spool_strict(path)
    assert report.instances["xapp-1"].acknowledged == 79, "clamped to the last record written"
    assert report.instances["xapp-1"].last_sequence == 89
    again = _reopen(path, clock, segment_bytes=4096)
    assert again.next_sequence == 90


def test_quota_alarm_is_raised_and_nothing_is_deleted(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, segment_bytes=4096, quota_bytes=10_000)
    with capture_logs() as logs:
        _fill(recorder, 40)
    spool = recorder.spool
    assert spool.quota_exceeded and recorder.stats.quota_alarms == 1 and not recorder.healthy
    assert any(e["log_level"] == "warning" and "quota" in e["event"] for e in logs)
    assert spool.usage_bytes > 10_000
    assert sum(p.stat().st_size for p in segment_files(path)) == spool.usage_bytes
    assert len(list(spool.records())) == 40
    _fill(recorder, 5, start=40)
    assert recorder.stats.quota_alarms == 1, "one alarm per crossing, not per write"
    recorder.acknowledge("xapp-1", 44)
    assert not spool.quota_exceeded and recorder.healthy
    verify_spool_strict(path)


def test_damaged_sealed_segment_is_kept_and_reported(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    recorder = make_recorder(path, clock, segment_bytes=4096)
    _fill(recorder, 40)
    recorder.close()
    first = segment_files(path)[0]
    data = bytearray(first.read_bytes())
    data[SEGMENT_HEADER_SIZE + 20] ^= 1
    first.write_bytes(bytes(data))
    with capture_logs() as logs:
        again = _reopen(path, clock, segment_bytes=4096)
    assert again.stats.corrupt_segments == 1 and again.stats.torn_tails_truncated == 0
    assert any(e["log_level"] == "error" for e in logs)
    assert first.stat().st_size == len(data)
    assert again.acknowledge("xapp-1", 10**6) == 0, "a damaged segment is never deleted"
    with pytest.raises(LineageError):
        list(again.spool.records())


def test_interval_policy_syncs_when_the_period_has_passed(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "spool"
    spool = Spool(path, SpoolConfig(fsync=FsyncPolicy.INTERVAL, fsync_interval_s=2.0), monotonic=clock.seconds)
    recorder = LineageRecorder(spool, instance="x", clock=clock.ns, linger_s=0)
    recorder.open()
    record_one(recorder, 0)
    recorder.drain()
    assert spool.stats.fsyncs == 0
    clock.advance(2.5)
    assert spool.maybe_sync()
    assert spool.stats.fsyncs >= 1
    assert not spool.maybe_sync()
    before = spool.stats.fsyncs
    record_one(recorder, 1)
    clock.advance(3)
    recorder.drain()
    assert spool.stats.fsyncs > before, "append_batch runs a due sync point"
    recorder.close()


def test_per_batch_and_never_policies(tmp_path: Path, clock: StepClock) -> None:
    per_batch = make_recorder(tmp_path / "a", clock, fsync=FsyncPolicy.PER_BATCH)
    _fill(per_batch, 3)
    assert per_batch.stats.fsyncs >= 2, "the segment and the directory it was created in"
    never = make_recorder(tmp_path / "b", clock, fsync=FsyncPolicy.NEVER)
    _fill(never, 3)
    never.close()
    assert never.stats.fsyncs == 0


def test_config_is_validated_and_unopened_spool_refuses_work(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        SpoolConfig(segment_bytes=10)
    with pytest.raises(ConfigError):
        SpoolConfig(quota_bytes=0)
    spool = Spool(tmp_path / "never-opened")
    assert not (tmp_path / "never-opened").exists(), "the constructor does no I/O"
    with pytest.raises(LineageError):
        spool.append_batch([("x", 0, b"0" * 32, b"x" * 40)])
    with pytest.raises(LineageError):
        verify_spool(tmp_path / "missing")


def test_segment_file_with_foreign_header_is_flagged(tmp_path: Path, clock: StepClock) -> None:
    path, (segment,), _ = _edited_copies(tmp_path, clock)
    renamed = segment.with_name("main-000000000007.seg")
    os.rename(segment, renamed)
    report = verify_spool(path)
    assert report.first_issue is not None and report.first_issue.kind is IssueKind.BAD_SEGMENT
    assert verify_spool(path).instances["xapp-1"].records == 6
    assert Stream.MAIN.value == "main"
