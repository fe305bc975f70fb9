"""The reporter against a real governance (gRPC on loopback): ship, acknowledge, delete, retry, quota, damage."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from rapps.governance.config import GovernanceConfig, Profile
from rapps.governance.server import GovernanceServer
from ricsdk.lineage import FsyncPolicy, LineageRecorder, Stream, verify_spool
from ricsdk.lineage.reporter import (
    GrpcLineageClient,
    IngestResult,
    LineageReporter,
    OutgoingBatch,
    SpoolCursor,
)
from ricsdk.lineage.spool import SEGMENT_HEADER_SIZE, encode_frame

from .conftest import StepClock, make_recorder, record_one, segment_files


@pytest.fixture
async def governance(tmp_path: Path) -> AsyncIterator[GovernanceServer]:
    config = GovernanceConfig(
        database=str(tmp_path / "g.db"),
        grpc_listen=("127.0.0.1", 0),
        http_listen=("127.0.0.1", 0),
        profile=Profile.DEMO,
    )
    server = GovernanceServer(config)
    await server.start()
    yield server
    await server.aclose()


def _filled(tmp_path: Path, clock: StepClock, n: int, **kwargs: object) -> LineageRecorder:
    recorder = make_recorder(tmp_path / "spool", clock, **kwargs)  # type: ignore[arg-type]
    for i in range(n):
        record_one(recorder, i)
    recorder.drain()
    return recorder


async def _drain(reporter: LineageReporter, rounds: int = 50) -> None:
    for _ in range(rounds):
        result = await reporter.run_once()
        if result.sent == 0 and not result.more:
            return


async def test_ships_everything_and_deletes_only_acknowledged_segments(
    tmp_path: Path, clock: StepClock, governance: GovernanceServer
) -> None:
    recorder = _filled(tmp_path, clock, 600)
    spool = recorder.spool
    before = len(segment_files(spool.path))
    client = GrpcLineageClient(f"127.0.0.1:{governance.grpc_port}")
    reporter = LineageReporter(spool, client, batch_records=100, batches_per_call=2)
    try:
        await _drain(reporter)
    finally:
        await client.aclose()
    assert governance.ingestor is not None
    assert governance.ingestor.watermark("xapp-1") == (599, 599)
    assert spool.acknowledged("xapp-1") == 599
    assert reporter.stats.records_sent == 600 and reporter.stats.calls >= 3
    after = segment_files(spool.path)
    assert len(after) == 1 < before  # the active segment stays, every sealed one was acknowledged and deleted
    assert reporter.stats.segments_deleted == before - 1
    assert verify_spool(spool.path).ok
    recorder.close()


async def test_outage_is_retried_with_counted_backoff_and_nothing_is_deleted(tmp_path: Path, clock: StepClock) -> None:
    recorder = _filled(tmp_path, clock, 200)
    spool = recorder.spool
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = GrpcLineageClient(f"127.0.0.1:{port}", timeout_s=2.0)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)

    reporter = LineageReporter(
        spool,
        client,
        sleep=sleep,
        rng=lambda: 0.5,
        clock=clock.seconds,
        backoff_initial_s=0.1,
        backoff_max_s=1.0,
        degraded_after_s=5.0,
    )
    assert [round(reporter.backoff_delay(n), 3) for n in (1, 2, 3, 4, 5, 6)] == [0.09, 0.18, 0.36, 0.72, 0.9, 0.9]
    files = segment_files(spool.path)
    await reporter.start()
    for _ in range(200):
        if len(sleeps) >= 4:
            break
        await asyncio.sleep(0.02)
    clock.advance(10.0)
    assert reporter.degraded and "governance unreachable" in reporter.degraded_reasons[0]
    await reporter.aclose()
    await client.aclose()
    assert reporter.stats.retries >= 4 and reporter.stats.failures == reporter.stats.retries
    assert sleeps[:4] == pytest.approx([0.09, 0.18, 0.36, 0.72])
    assert segment_files(spool.path) == files and spool.acknowledged("xapp-1") is None
    recorder.close()


async def test_restart_resends_nothing_governance_already_holds(
    tmp_path: Path, clock: StepClock, governance: GovernanceServer
) -> None:
    recorder = _filled(tmp_path, clock, 300)
    spool = recorder.spool
    client = GrpcLineageClient(f"127.0.0.1:{governance.grpc_port}")
    # governance got everything, but the acknowledgement never reached the spool (a crash in between)
    payloads = [r.record for r in spool.records()]
    assert len(payloads) == 300
    from ricsdk.lineage import encode_record

    bodies = tuple(encode_record(r) + r.hash for r in payloads)
    await client.ingest([OutgoingBatch(Stream.MAIN, bodies)])
    reporter = LineageReporter(spool, client)
    try:
        applied = await reporter.sync_watermarks()
        await _drain(reporter)
    finally:
        await client.aclose()
    assert applied == {"xapp-1": 299}
    assert reporter.stats.records_sent == 0 and spool.acknowledged("xapp-1") == 299
    recorder.close()


async def test_quota_alarm_makes_the_reporter_degraded_until_acknowledged(
    tmp_path: Path, clock: StepClock, governance: GovernanceServer
) -> None:
    recorder = _filled(tmp_path, clock, 400, quota_bytes=20_000)
    spool = recorder.spool
    assert spool.quota_exceeded
    client = GrpcLineageClient(f"127.0.0.1:{governance.grpc_port}")
    reporter = LineageReporter(spool, client)
    assert reporter.degraded and reporter.degraded_reasons == ("spool over its disk quota",)
    try:
        await _drain(reporter)
    finally:
        await client.aclose()
    assert reporter.stats.quota_alarms == 1
    assert not spool.quota_exceeded and not reporter.degraded
    recorder.close()


class _Collecting:
    """A client that keeps what it is sent and acknowledges the contiguous prefix, as governance does."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    async def ingest(self, batches: Sequence[OutgoingBatch]) -> IngestResult:
        from ricsdk.lineage.encoding import peek_identity

        for batch in batches:
            self.seen.extend(peek_identity(p) for p in batch.payloads)
        have = {s for _, s in self.seen}
        top = -1
        while top + 1 in have:
            top += 1
        return IngestResult(contiguous={"xapp-1": top}, highest={"xapp-1": max(have)})

    async def watermarks(self, instances: Sequence[str]) -> IngestResult:
        return IngestResult(contiguous={}, highest={})


async def test_cursor_reads_in_small_chunks_and_waits_for_a_frame_being_written(
    tmp_path: Path, clock: StepClock
) -> None:
    recorder = _filled(tmp_path, clock, 50, segment_bytes=1 << 20)
    spool = recorder.spool
    cursor = SpoolCursor(spool, Stream.MAIN, chunk_bytes=100)  # smaller than one frame
    items, end = cursor.read(1000, 1 << 20)
    assert [s for _, s, _ in items] == list(range(50))
    # half a frame appended by hand: the writer is "mid-write"; the cursor stops before it
    path = segment_files(spool.path)[-1]
    frame = encode_frame(items[0][2])
    with path.open("ab") as f:
        f.write(frame[:30])
    cursor.advance(end)
    more, end2 = cursor.read(1000, 1 << 20)
    assert more == [] and end2 == end and cursor.unreadable == 0
    recorder.close()


async def test_damaged_frame_is_skipped_counted_and_never_acknowledged_past(tmp_path: Path, clock: StepClock) -> None:
    recorder = _filled(tmp_path, clock, 300)
    spool = recorder.spool
    files = segment_files(spool.path)
    sealed = files[1]
    data = bytearray(sealed.read_bytes())
    data[SEGMENT_HEADER_SIZE + 20] ^= 0xFF  # inside the first frame's payload: CRC mismatch
    sealed.write_bytes(bytes(data))
    client = _Collecting()
    reporter = LineageReporter(spool, client)
    await _drain(reporter)
    sequences = sorted(s for _, s in client.seen)
    missing = sorted(set(range(300)) - set(sequences))
    assert len(missing) == 1 and reporter.stats.unreadable_frames == 1
    assert spool.acknowledged("xapp-1") == missing[0] - 1
    assert sealed.exists()  # never deleted: it holds an unacknowledged (unreadable) record
    recorder.close()


async def test_task_ships_while_the_recorder_writes(
    tmp_path: Path, clock: StepClock, governance: GovernanceServer
) -> None:
    recorder = make_recorder(tmp_path / "spool", clock, fsync=FsyncPolicy.NEVER)
    client = GrpcLineageClient(f"127.0.0.1:{governance.grpc_port}")
    reporter = LineageReporter(recorder.spool, client, poll_s=0.01)
    await recorder.start()
    await reporter.start()
    for i in range(2000):
        record_one(recorder, i)
        if i % 100 == 0:
            await asyncio.sleep(0.001)
    while recorder.queue_depth:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert await reporter.flush(30.0)
    await reporter.aclose()
    await client.aclose()
    await recorder.aclose()
    assert governance.ingestor is not None and governance.ingestor.watermark("xapp-1") == (1999, 1999)
    assert governance.ingestor.stats.integrity_events == 0


async def test_a_single_record_is_acknowledged_and_flush_sees_sequence_zero(
    tmp_path: Path, clock: StepClock, governance: GovernanceServer
) -> None:
    recorder = _filled(tmp_path, clock, 1)
    client = GrpcLineageClient(f"127.0.0.1:{governance.grpc_port}")
    reporter = LineageReporter(recorder.spool, client)
    try:
        first = await reporter.run_once()
        assert first.sent == 1 and first.acknowledged == {"xapp-1": 0}
        assert (await reporter.run_once()).sent == 0
        assert await reporter.flush(1.0)
    finally:
        await client.aclose()
    assert recorder.spool.acknowledged("xapp-1") == 0 and reporter.stats.acknowledgements == 1
    recorder.close()
