"""Recording: a flagship-vs-fake-node run over the memory transport written to pcapng, read back, opened by
tshark at the E2AP level; non-E2 payloads kept with their own dissector; bounded queue, rotation, sink failure."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from ricsdk.e2 import e2ap
from ricsdk.trace.pcap import read_capture
from ricsdk.trace.recorder import FileSink, MemorySink, RecordingTransport, Role
from ricsdk.trace.records import Direction, TraceRecord, parse_trace
from ricsdk.transport.base import Message
from ricsdk.transport.memory import MemoryHub
from tests.trace.conftest import NODE, RecordedRun

TSHARK = shutil.which("tshark")


def test_recorded_run_reads_back_with_every_message(recorded_run: RecordedRun) -> None:
    """Everything that crossed the xApp's transport is in the file, both directions, with its metadata."""
    recs = recorded_run.records
    kinds = Counter((r.direction, r.mtype) for r in recs)
    assert kinds[(Direction.OUT, 12010)] == 1 and kinds[(Direction.IN, 12011)] == 1
    assert kinds[(Direction.IN, 12050)] == recorded_run.indications == 40
    assert kinds[(Direction.OUT, 12040)] == len(recorded_run.node_controls) == kinds[(Direction.IN, 12041)] > 20
    assert kinds[(Direction.OUT, 12020)] == 1 and kinds[(Direction.IN, 12021)] == 1
    assert recorded_run.recorder_dropped == 0
    controls = [r.payload for r in recs if r.mtype == 12040]
    assert controls == recorded_run.node_controls  # the node received exactly what the xApp recorded sending
    ind = next(r for r in recs if r.mtype == 12050)
    assert (ind.meid, ind.sub_id, ind.src, ind.dissector) == (NODE, 1, "e2term", "e2ap")
    assert ind.received_ns > 0
    assert isinstance(e2ap.decode_e2ap(ind.payload), e2ap.RicIndication)
    stamps = [r.timestamp_ns for r in recs]
    assert stamps == sorted(stamps)


def test_node_role_sees_the_same_messages_the_other_way_round(recorded_run: RecordedRun) -> None:
    """Recorded at the node, a message the node sends is still 'in' (towards the RIC)."""
    xapp_side = [(r.direction, r.mtype, r.payload) for r in recorded_run.records]
    node_side = [(r.direction, r.mtype, r.payload) for r in recorded_run.node_view]
    assert Counter(xapp_side) == Counter(node_side)


def _tshark(*args: str) -> str:
    assert TSHARK, "tshark is missing: `make test` installs it (Debian package tshark)"
    return subprocess.run([TSHARK, *args], capture_output=True, text=True, check=True).stdout


def test_tshark_opens_the_recorded_trace_and_decodes_e2ap(recorded_run: RecordedRun) -> None:
    out = _tshark(
        "-r",
        str(recorded_run.path),
        "-T",
        "fields",
        "-E",
        "separator=;",
        "-e",
        "e2ap.procedureCode",
        "-e",
        "e2ap.ricInstanceID",
        "-e",
        "frame.comment",
    )
    rows = [line.split(";", 2) for line in out.splitlines()]
    assert len(rows) == len(recorded_run.records)
    procedures = {12010: "8", 12011: "8", 12020: "9", 12021: "9", 12040: "4", 12041: "4", 12050: "5"}
    for row, rec in zip(rows, recorded_run.records, strict=True):
        assert row[0] == procedures[rec.mtype]
        assert row[1] == "1"
        meta = json.loads(row[2])
        assert (meta["dir"], meta["mtype"], meta["meid"]) == (rec.direction.value, rec.mtype, NODE)
    summary = _tshark("-r", str(recorded_run.path), "-q", "-z", "io,phs")
    assert "e2ap" in summary and "malformed" not in summary.lower()


async def _pair() -> tuple[MemoryHub, RecordingTransport, MemorySink]:
    hub = MemoryHub()
    a, b = hub.endpoint("a"), hub.endpoint("b")
    hub.add_route(20010, "a")
    hub.add_route(1, "a")
    hub.add_route(20011, "b")
    sink = MemorySink()
    rec = RecordingTransport(a, sink)
    await rec.start()
    await b.start()
    return hub, rec, sink


async def _receive(rec: RecordingTransport, n: int) -> list[Message]:
    out: list[Message] = []
    async for msg in rec:
        out.append(msg)
        if len(out) == n:
            break
    return out


async def test_non_e2ap_payloads_are_recorded_with_their_own_dissector(tmp_path: Path) -> None:
    hub, rec, sink = await _pair()
    b = hub._endpoints["b"]
    policy = b'{"operation": "CREATE", "policy_type_id": 20008}'
    await b.send(Message(20010, policy, meid=""))
    await b.send(Message(1, b"\x00\x01\xfe"))
    got = await _receive(rec, 2)
    await rec.reply(got[0], 20011, b'{"status": "OK"}')
    await rec.aclose()
    assert [(r.direction, r.mtype, r.dissector) for r in sink.records] == [
        (Direction.IN, 20010, "json"),
        (Direction.IN, 1, "data"),
        (Direction.OUT, 20011, "json"),
    ]
    path = tmp_path / "a1.pcapng"
    path.write_bytes(sink.to_bytes())
    assert [r.payload for r in parse_trace(path.read_bytes()).records] == [r.payload for r in sink.records]
    protocols = _tshark("-r", str(path), "-T", "fields", "-e", "frame.protocols").split()
    assert protocols == ["exported_pdu:json", "exported_pdu:data", "exported_pdu:json"]


async def test_a_full_queue_drops_counted_and_logged() -> None:
    hub = MemoryHub()
    a, b = hub.endpoint("a"), hub.endpoint("b")
    hub.add_route(7, "a")
    sink = MemorySink()
    rec = RecordingTransport(a, sink, queue_size=3, flush_interval_s=10.0)
    await rec.start()
    await b.start()
    for i in range(10):
        await b.send(Message(7, bytes([i])))
    with capture_logs() as logs:
        got = await _receive(rec, 10)
    assert len(got) == 10  # the transport itself loses nothing
    assert rec.recorder_stats.dropped == 7 and rec.recorder_stats.recorded == 3
    assert any(e["event"].startswith("trace recorder queue full") for e in logs)
    await rec.aclose()
    assert [r.payload for r in sink.records] == [b"\x00", b"\x01", b"\x02"]


async def test_flush_writes_everything_queued() -> None:
    hub, rec, sink = await _pair()
    b = hub._endpoints["b"]
    for i in range(5):
        await b.send(Message(1, bytes([i])))
    await _receive(rec, 5)
    assert rec.pending == 5
    await rec.flush()
    assert len(sink.records) == 5 and rec.pending == 0
    await rec.aclose()


def _records(n: int, size: int = 200) -> list[TraceRecord]:
    return [TraceRecord(1_000 + i, Direction.IN, 12050, bytes([i % 256]) * size, 1, NODE) for i in range(n)]


def test_file_sink_rotates_by_size_into_complete_pcapng_segments(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "trace.pcapng", max_bytes=2048)
    sink.open()
    records = _records(30)
    sink.write(records[:10])
    sink.write(records[10:])
    sink.close()
    assert [p.name for p in sink.segments[:3]] == ["trace.pcapng", "trace.1.pcapng", "trace.2.pcapng"]
    assert len(sink.segments) > 3
    back: list[TraceRecord] = []
    for seg in sink.segments:
        assert seg.stat().st_size <= 2048
        back.extend(parse_trace(seg.read_bytes()).records)
    assert back == records


def test_file_sink_keeps_at_most_max_files(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "t.pcapng", max_bytes=2048, max_files=2)
    sink.open()
    sink.write(_records(40))
    sink.close()
    live = sorted(p.name for p in tmp_path.iterdir())
    assert len(live) == 2 and len(sink.deleted) == len(sink.segments) - 2
    assert live == sorted(p.name for p in sink.segments[-2:])


class _FailingSink:
    def open(self) -> None:
        return None

    def write(self, records: Sequence[TraceRecord]) -> None:
        raise OSError("disk full")

    def close(self) -> None:
        return None


async def test_a_failing_sink_is_counted_not_fatal() -> None:
    hub = MemoryHub()
    a, b = hub.endpoint("a"), hub.endpoint("b")
    hub.add_route(7, "a")
    rec = RecordingTransport(a, _FailingSink(), flush_interval_s=0.01)
    await rec.start()
    await b.start()
    await b.send(Message(7, b"x"))
    await _receive(rec, 1)
    with capture_logs() as logs:
        await rec.flush()
    assert rec.recorder_stats.write_errors == 1 and rec.recorder_stats.written == 0
    assert any("trace sink failed" in e["event"] for e in logs)
    await b.send(Message(7, b"y"))
    await _receive(rec, 1)
    await rec.aclose()
    assert rec.recorder_stats.write_errors == 2


async def test_recording_transport_role_node_flips_directions() -> None:
    hub = MemoryHub()
    a, b = hub.endpoint("a"), hub.endpoint("b")
    hub.add_route(7, "b")
    hub.add_route(8, "a")
    sink = MemorySink()
    rec = RecordingTransport(a, sink, role=Role.NODE)
    await rec.start()
    await b.start()
    await rec.send(Message(7, b"ind"))
    await b.send(Message(8, b"ctl"))
    await _receive(rec, 1)
    await rec.aclose()
    assert [(r.direction, r.payload) for r in sink.records] == [(Direction.IN, b"ind"), (Direction.OUT, b"ctl")]
    assert [p.linktype for p in read_capture(sink.to_bytes())] == [252, 252]


@pytest.mark.parametrize("size", [300_000])
async def test_too_large_messages_are_counted(size: int) -> None:
    hub = MemoryHub()
    a, b = hub.endpoint("a", max_message_size=1 << 20), hub.endpoint("b", max_message_size=1 << 20)
    hub.add_route(7, "a")
    sink = MemorySink()
    rec = RecordingTransport(a, sink)
    await rec.start()
    await b.start()
    await b.send(Message(7, b"\x00" * size))
    await b.send(Message(7, b"small"))
    await _receive(rec, 2)
    await asyncio.wait_for(rec.aclose(), 5)
    assert rec.recorder_stats.too_large == 1
    assert [r.payload for r in sink.records] == [b"small"]
