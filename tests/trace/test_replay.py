"""Replay: a recorded fake-node run replays to the controls the node received, byte for byte and every time;
subscription binding (recorded answers, synthesised ones, rewritten RICrequestIDs); control answers; the gate;
pacing; open-loop delivery; A1 replies collected; expectations and comparisons on the run."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import pytest

from ricsdk.e2 import e2ap
from ricsdk.e2.kpm import F1Encoder, IndicationHeader, KpmCodec, MeasInfoItem, MeasLabel
from ricsdk.trace.compare import compare_runs, render_html, render_markdown
from ricsdk.trace.expect import check, expectations_of, parse_expectations, render_diff
from ricsdk.trace.records import Direction, TraceRecord, request_id_of, with_request_id
from ricsdk.trace.replay import ControlAnswers, ReplayConfig, ReplayTransport
from ricsdk.trace.session import ReplayRun, manifest_for_trace, replay_xapp, trace_nodes
from ricsdk.transport.base import Message
from tests.trace.conftest import NODE, RecordedRun, flagship_manifest
from xapps.slice_prb_allocator.app import SlicePrbAllocator


async def _replay(records: tuple[TraceRecord, ...] | list[TraceRecord], **kw: object) -> ReplayRun:
    return await replay_xapp(SlicePrbAllocator.from_manifest(manifest=flagship_manifest()), records, ReplayConfig(**kw))  # type: ignore[arg-type]


async def test_recorded_run_replays_to_identical_controls(recorded_run: RecordedRun) -> None:
    """The flagship replaying its own recorded run sends exactly the controls the fake node received."""
    run = await _replay(recorded_run.records)
    assert list(run.control_bytes()) == recorded_run.node_controls
    assert run.stats.indications == 40 and run.stats.unsubscribed == 0
    assert run.outcomes == {"acked": len(run.controls), "failed": 0, "timed_out": 0, "pending": 0}
    assert run.stats.answers_replayed == 2  # the recorded subscription and delete responses
    assert all(not c.error and len(c.quotas) == 8 for c in run.controls)


async def test_replay_is_deterministic(recorded_run: RecordedRun) -> None:
    """Same trace, two replays (one paced): byte-identical controls at the same periods."""
    a = await _replay(recorded_run.records)
    b = await _replay(recorded_run.records, pace=50.0, yield_every=1)
    assert a.control_bytes() == b.control_bytes()
    assert [(c.e2_node, c.period) for c in a.controls] == [(c.e2_node, c.period) for c in b.controls]


def _retagged(records: tuple[TraceRecord, ...], instance: int) -> list[TraceRecord]:
    """The trace as if the subscription had RICrequestID (7, instance): every PDU carrying one rewritten."""
    out = []
    for r in records:
        rid = request_id_of(r.payload)
        payload = with_request_id(r.payload, 7, instance) if rid is not None else r.payload
        out.append(dataclasses.replace(r, payload=payload, sub_id=instance if rid is not None else r.sub_id))
    return out


async def test_foreign_request_ids_are_rewritten_to_the_xapps(recorded_run: RecordedRun) -> None:
    base = await _replay(recorded_run.records)
    run = await _replay(_retagged(recorded_run.records, 4242))
    assert run.stats.unsubscribed == 0 and run.stats.answers_replayed == 2
    assert run.control_bytes() == base.control_bytes()  # the xApp's own request id (123, 1) in every control


async def test_mid_stream_capture_gets_a_synthesised_subscription(recorded_run: RecordedRun) -> None:
    """No subscription exchange in the trace: a response is synthesised and the indications' id is bound."""
    mid = [r for r in _retagged(recorded_run.records, 99) if r.mtype not in (12010, 12011, 12020, 12021)]
    run = await _replay(mid)
    assert run.stats.answers_replayed == 0
    assert run.stats.answers_synthesised == 2 + len(run.controls)  # subscribe, delete, one ack per control
    assert run.stats.indications == 40 and run.stats.unsubscribed == 0
    base = await _replay(recorded_run.records)
    assert run.control_bytes() == base.control_bytes()


async def test_indications_of_other_nodes_are_skipped_and_counted(recorded_run: RecordedRun) -> None:
    other = [
        dataclasses.replace(r, meid="gnb-999") if r.mtype == 12050 and i % 2 else r
        for i, r in enumerate(recorded_run.records)
    ]
    run = await _replay(other)
    skipped = sum(1 for i, r in enumerate(recorded_run.records) if r.mtype == 12050 and i % 2)
    assert run.stats.unsubscribed == skipped
    assert run.stats.indications == 40 - skipped


async def test_expectations_pass_and_fail_with_a_readable_diff(recorded_run: RecordedRun) -> None:
    run = await _replay(recorded_run.records)
    golden = expectations_of(run)
    exp = parse_expectations(golden)
    mismatches, checks = check(exp, run)
    assert mismatches == [] and checks > len(run.controls)
    first = golden["periods"][0]
    first["slices"]["1-000001"]["min"] += 3
    golden["periods"].append({"node": NODE, "period": 0, "control": True})
    golden["final"][NODE]["3-000002"] = {"max": 99, "tolerance": 1.5}
    mismatches, checks = check(parse_expectations(golden), run)
    assert [(m.where, m.slice, m.field) for m in mismatches] == [
        (f"{NODE} period {first['period']}", "1-000001", "min"),
        (f"{NODE} period 0", "-", "control"),
        (f"{NODE} final", "3-000002", "max"),
    ]
    diff = render_diff(mismatches, checks)
    assert "3 of" in diff and "99 ±1.5" in diff and "none sent" in diff


async def test_tolerances_and_unlisted_controls(recorded_run: RecordedRun) -> None:
    run = await _replay(recorded_run.records)
    c = run.controls[-1]
    got = c.quotas["1-000001"]
    doc = {
        "version": 1,
        "tolerance": 2,
        "exhaustive": True,
        "periods": [{"node": NODE, "period": c.period, "slices": {"1-000001": {"min": got[0] + 2, "max": got[1] - 2}}}],
    }
    mismatches, _ = check(parse_expectations(doc), run)
    assert {m.where for m in mismatches} == {f"{NODE} period {x.period}" for x in run.controls[:-1]}
    assert all(m.field == "control" for m in mismatches)


async def test_comparing_a_model_with_itself_and_with_another(recorded_run: RecordedRun) -> None:
    a = await _replay(recorded_run.records)
    b = await _replay(recorded_run.records)
    same = compare_runs(a, b)
    assert same["controls_identical"] and same["periods_differing"] == 0
    assert all(s["differing"] == 0 and s["mad_min"] == 0 for s in same["slices"])
    shifted = dataclasses.replace(
        b,
        controls=tuple(
            dataclasses.replace(
                c, quotas={**c.quotas, "1-000001": (c.quotas["1-000001"][0] + 2, *c.quotas["1-000001"][1:])}
            )
            for c in b.controls
        ),
    )
    diff = compare_runs(a, shifted, label_a="a.onnx", label_b="b.onnx")
    s1 = next(s for s in diff["slices"] if s["slice"] == "1-000001")
    assert s1["differing"] == s1["periods"] > 0 and s1["mad_min"] == 2.0 and s1["mad_max"] == 0.0
    assert all(s["differing"] == 0 for s in diff["slices"] if s["slice"] != "1-000001")
    assert diff["a"]["handling_us"]["samples"] == 40 and diff["a"]["decision_latency_us"]["p50"] > 0
    md = render_markdown(diff)
    assert "| 1-000001 |" in md and "a.onnx" in md
    assert "<table>" in render_html(diff)


def test_manifest_nodes_follow_the_trace(recorded_run: RecordedRun) -> None:
    assert trace_nodes(recorded_run.records) == (NODE,)
    m = dataclasses.replace(
        flagship_manifest(), subscription=dataclasses.replace(flagship_manifest().subscription, e2_nodes=("x",))
    )
    assert manifest_for_trace(m, recorded_run.records).subscription.e2_nodes == (NODE,)


# -- the transport on its own ---------------------------------------------------------------------------

RID = e2ap.RicRequestId(123, 1)
TRACE_RID = e2ap.RicRequestId(7, 3)


def _indication(sn: int, rid: e2ap.RicRequestId = TRACE_RID) -> bytes:
    codec = KpmCodec()
    enc = F1Encoder((MeasInfoItem("DRB.UEThpDl", (MeasLabel(no_label=True),)),), 100)
    header = codec.encode_indication_header(IndicationHeader(b"\x00\x00\x00\x01"))
    return e2ap.encode_e2ap(e2ap.RicIndication(rid, 2, 1, e2ap.IndicationType.REPORT, header, enc.encode((sn,)), sn))


def _sub_request(rid: e2ap.RicRequestId = RID) -> bytes:
    return e2ap.encode_e2ap(
        e2ap.RicSubscriptionRequest(rid, 2, b"\x00", (e2ap.ActionToBeSetup(1, e2ap.ActionType.REPORT, b"\x00"),))
    )


def _control(cpid: bytes, rid: e2ap.RicRequestId = RID) -> bytes:
    return e2ap.encode_e2ap(e2ap.RicControlRequest(rid, 3, b"h", b"m", cpid, e2ap.ControlAckRequest.ACK))


def _trace(n: int = 3, gap_ns: int = 100_000_000) -> list[TraceRecord]:
    return [TraceRecord(i * gap_ns, Direction.IN, 12050, _indication(i + 1), 3, NODE) for i in range(n)]


async def _next(it: AsyncIterator[Message], timeout: float = 2.0) -> Message:
    return await asyncio.wait_for(it.__anext__(), timeout)


async def test_nothing_from_the_trace_before_play_but_answers_flow() -> None:
    t = ReplayTransport(_trace())
    await t.start()
    it = aiter(t)
    await t.send(Message(12010, _sub_request(), meid=NODE))
    answer = await _next(it)
    assert answer.mtype == 12011
    resp = e2ap.decode_e2ap(answer.payload)
    assert isinstance(resp, e2ap.RicSubscriptionResponse) and resp.request_id == RID and resp.admitted == (1,)
    with pytest.raises(TimeoutError):
        await _next(it, 0.05)
    t.play()
    first = await _next(it)
    ind = e2ap.decode_e2ap(first.payload)
    assert isinstance(ind, e2ap.RicIndication) and ind.request_id == RID and first.sub_id == 1  # rewritten
    assert ind.sn == 1
    await t.aclose()


async def test_control_answers_synthesised_replayed_or_none() -> None:
    failure = e2ap.RicControlFailure(
        e2ap.RicRequestId(7, 3), 3, e2ap.Cause.of("ricRequest", "control-message-invalid"), b"\x00\x00\x00\x09"
    )
    trace = [*_trace(1), TraceRecord(5, Direction.IN, 12042, e2ap.encode_e2ap(failure), 3, NODE)]
    for mode, expected in (
        (ControlAnswers.SYNTHESISE, 12041),
        (ControlAnswers.REPLAY, 12042),
        (ControlAnswers.NONE, None),
    ):
        t = ReplayTransport(trace, ReplayConfig(control_answers=mode))
        await t.start()
        it = aiter(t)
        await t.send(Message(12010, _sub_request(), meid=NODE))
        await _next(it)
        t.play()
        await _next(it)  # the indication
        await t.send(Message(12040, _control(b"\x00\x00\x00\x01"), sub_id=1, meid=NODE))
        assert [c.period for c in t.controls] == [0]
        if expected is None:
            asking = asyncio.ensure_future(_next(it))
            await asyncio.wait_for(t.wait_done(), 2)  # the iterator ran dry: no answer was queued
            assert not asking.done() and t.stats.answers_synthesised == 1  # only the subscription's
            asking.cancel()
            await t.aclose()
            continue
        answer = await _next(it)
        assert answer.mtype == expected
        pdu = e2ap.decode_e2ap(answer.payload)
        assert isinstance(pdu, (e2ap.RicControlAcknowledge, e2ap.RicControlFailure))
        assert pdu.request_id == RID and pdu.call_process_id == b"\x00\x00\x00\x01"
        await t.aclose()


async def test_recorded_subscription_failure_is_replayed_and_binds_nothing() -> None:
    trace_rid = e2ap.RicRequestId(7, 3)
    fail = e2ap.RicSubscriptionFailure(trace_rid, 2, e2ap.Cause.of("ricRequest", "action-not-supported"))
    trace = [
        TraceRecord(0, Direction.OUT, 12010, _sub_request(trace_rid), -1, NODE),
        TraceRecord(1, Direction.IN, 12012, e2ap.encode_e2ap(fail), 3, NODE),
        *(dataclasses.replace(r, timestamp_ns=r.timestamp_ns + 10) for r in _trace(2)),
    ]
    t = ReplayTransport(trace)
    await t.start()
    it = aiter(t)
    await t.send(Message(12010, _sub_request(), meid=NODE))
    answer = await _next(it)
    assert answer.mtype == 12012
    refused = e2ap.decode_e2ap(answer.payload)
    assert isinstance(refused, e2ap.RicSubscriptionFailure) and refused.request_id == RID
    t.play()
    asking = asyncio.ensure_future(_next(it))
    await asyncio.wait_for(t.wait_done(), 2)
    asking.cancel()
    assert t.stats.unsubscribed == 2 and t.stats.indications == 0
    await t.aclose()


async def test_pacing_keeps_the_recorded_gaps_scaled() -> None:
    t = ReplayTransport(_trace(4, gap_ns=100_000_000), ReplayConfig(pace=4.0, require_subscription=False))
    await t.start()
    it = aiter(t)
    before = time.monotonic_ns()
    t.play()
    stamps = [(await _next(it)).received_ns for _ in range(4)]
    # record k is due 100 ms * k / 4 after play (the schedule is absolute: a late delivery does not shift the rest)
    assert all(s - before >= k * 25_000_000 for k, s in enumerate(stamps)), [s - before for s in stamps]
    await t.aclose()


async def test_open_loop_delivers_everything_as_recorded() -> None:
    trace = _trace(3)
    t = ReplayTransport(trace, ReplayConfig(require_subscription=False))
    await t.start()
    it = aiter(t)
    t.play()
    got = [await _next(it) for _ in range(3)]
    assert [m.payload for m in got] == [r.payload for r in trace]
    await t.aclose()
    with pytest.raises(StopAsyncIteration):
        await _next(it)


async def test_a1_requests_are_delivered_and_replies_collected() -> None:
    policy = b'{"operation":"CREATE","policy_type_id":20008,"policy_instance_id":"p1","payload":{}}'
    t = ReplayTransport([TraceRecord(0, Direction.IN, 20010, policy)])
    await t.start()
    it = aiter(t)
    t.play()
    req = await _next(it)
    assert req.mtype == 20010 and req.payload == policy
    await t.reply(req, 20011, b'{"status":"OK"}')
    assert [(s.mtype, s.payload) for s in t.sent] == [(20011, b'{"status":"OK"}')]
    await t.aclose()
