"""Indications received together are decided as one batch, with the same decisions as one at a time."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from ricsdk.errors import ConfigError
from ricsdk.lineage import LineageRecorder, Spool, SpoolConfig, verify_spool
from ricsdk.lineage.spool import FsyncPolicy
from ricsdk.models.host import Slot
from ricsdk.runtime.manifest import Manifest, load_manifest
from ricsdk.runtime.runner import RunnerConfig, XAppRunner
from ricsdk.testing.e2node import E2NodeEmulator
from ricsdk.trace.recorder import RecordingTransport
from ricsdk.transport.base import Message
from ricsdk.transport.memory import MEID_ROUTE, Inbox, MemoryHub
from xapps.slice_prb_allocator.app import MANIFEST, SlicePrbAllocator
from xapps.slice_prb_allocator.source import DemandSource

NODES = [f"gnb-{i:03d}" for i in range(1, 5)]


def _manifest() -> Manifest:
    m = load_manifest(MANIFEST)
    return dataclasses.replace(
        m,
        subscription=dataclasses.replace(m.subscription, e2_nodes=tuple(NODES), period_ms=100),
        control=dataclasses.replace(m.control, send_unchanged=True),
    )


async def _wait(cond: object, what: str) -> None:
    for _ in range(2000):
        if cond():  # type: ignore[operator]
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"timed out waiting for {what}")


async def _run(
    batch_max: int,
    periods: int,
    spool_dir: Path | None = None,
    *,
    gap_s: float = 0.0,
    batch_wait_s: float = 0.0,
    backlog: int = 0,
) -> tuple[list[object], int, int]:
    """Step four E2 nodes in lockstep (each twice in some periods, ``gap_s`` apart); returns the decisions in
    order, the model's inference calls and the decisions made."""
    hub = MemoryHub()
    xt = hub.endpoint("xapp")
    for mtype in (12010, 12020, 12040):
        hub.add_route(mtype, MEID_ROUTE)
    hub.add_route(12050, "xapp")
    m = _manifest()
    keys = [b.snssai.key for b in m.slices]
    nodes = []
    for i, name in enumerate(NODES):
        source = DemandSource(keys, seed=10 + i)
        node = E2NodeEmulator(
            name,
            hub.endpoint(name, meids=[name]),
            source,
            slices=[b.snssai for b in m.slices],
            on_quota=source.on_quota,
        )
        await node.start(realtime=False)
        nodes.append(node)
    rec = None
    if spool_dir is not None:
        rec = LineageRecorder(Spool(spool_dir, SpoolConfig(fsync=FsyncPolicy.NEVER)), instance="batching")
        rec.open()
        await rec.start()
    app = SlicePrbAllocator.from_manifest(manifest=m, lineage=rec)
    decisions: list[object] = []
    original = app.decide_many

    async def spy(inds):  # type: ignore[no-untyped-def]
        out = await original(inds)
        decisions.extend((d.e2_node, d.quotas, d.reasons) for d in out if d is not None)
        return out

    app.decide_many = spy  # type: ignore[method-assign]
    async with XAppRunner(app, xt, config=RunnerConfig(batch_max=batch_max, batch_wait_s=batch_wait_s)):
        await _wait(lambda: all(n.subscriptions for n in nodes), "subscriptions")
        sent = 0
        for p in range(periods):
            for node in nodes:  # without a gap, no yield in between: the xApp finds them all queued
                if gap_s:
                    await asyncio.sleep(gap_s)
                sent += await node.step()
                if p % 5 == 4:  # the same cell twice in one batch
                    sent += await node.step()
                for _ in range(backlog):  # more periods of the same cell queued behind it
                    sent += await node.step()
            await _wait(lambda s=sent: len(decisions) >= s, f"decisions of period {p}")  # type: ignore[misc]
        model = app.host.model(Slot.ACTIVE)
        assert model is not None
        calls = model.calls
    for node in nodes:
        assert node.stats.controls_refused == 0
        await node.aclose()
    if rec is not None:
        await rec.aclose()
    return decisions, calls, app.decisions


async def test_batched_decisions_equal_one_at_a_time(tmp_path: Path) -> None:
    one, calls_one, n_one = await _run(1, 20)
    many, calls_many, n_many = await _run(512, 20, tmp_path / "lineage")
    assert n_one == n_many == len(one) == 4 * 24  # 20 periods, every fifth one twice per node
    assert many == one
    assert calls_one == n_one  # one inference call per indication
    assert calls_many <= n_many // 2  # batched: about one call per period
    report = verify_spool(tmp_path / "lineage")
    assert report.ok, report.issues
    assert report.records == n_many * len(_manifest().slices)


async def test_batch_wait_gathers_indications_that_arrive_apart() -> None:
    one, calls_one, n_one = await _run(512, 10, gap_s=0.005)
    # 5 ms apart and no batch window: each indication is decided alone, except a cell's second indication of
    # every fifth period, which is queued behind its first (8 of them)
    assert calls_one >= n_one - 8 - 4
    many, calls_many, n_many = await _run(512, 10, gap_s=0.005, batch_wait_s=0.1)
    assert many == one and n_many == n_one == 4 * 12
    assert calls_many <= 2 * 10, "the window gathers a period's four cells (split where a cell repeats)"


async def test_a_backlog_of_one_cell_is_one_inference_call_with_the_same_decisions() -> None:
    one, calls_one, n_one = await _run(1, 6, backlog=4)
    many, calls_many, n_many = await _run(512, 6, backlog=4)
    assert n_one == n_many == 4 * 6 * 5 + 4  # five periods of each cell per period (six in the fifth)
    assert many == one, "each window still sees the periods before it"
    assert calls_one == n_one
    assert calls_many <= 6 + 2, "about one inference call per period for all 20 queued indications"


def test_batch_wait_is_checked() -> None:
    hub = MemoryHub()
    app = SlicePrbAllocator.from_manifest(manifest=_manifest())
    for bad in (-0.001, 11.0, float("nan")):
        with pytest.raises(ConfigError, match="batch_wait_s"):
            XAppRunner(app, hub.endpoint(f"x{bad}"), config=RunnerConfig(batch_wait_s=bad))


def test_inbox_take_ready_returns_what_is_queued_without_waiting() -> None:
    inbox = Inbox(8)
    assert inbox.take_ready(4) == []
    msgs = [Message(12050, bytes([i])) for i in range(5)]
    for msg in msgs:
        assert inbox.put_nowait(msg)
    assert inbox.take_ready(3) == msgs[:3]
    assert inbox.take_ready(10) == msgs[3:]
    assert len(inbox) == 0


async def test_recording_transport_records_messages_taken_in_a_batch() -> None:
    from ricsdk.trace.recorder import MemorySink

    hub = MemoryHub()
    inner, peer = hub.endpoint("xapp"), hub.endpoint("peer")
    hub.add_route(12050, "xapp")
    sink = MemorySink()
    rt = RecordingTransport(inner, sink)
    await rt.start()
    await peer.start()
    for i in range(3):
        await peer.send(Message(12050, bytes([0x20, i]), meid="gnb-001"))
    it = aiter(rt)
    first = await anext(it)
    rest = rt.receive_ready(10)
    assert [m.payload for m in [first, *rest]] == [bytes([0x20, i]) for i in range(3)]
    await rt.aclose()
    assert [r.payload for r in sink.records] == [bytes([0x20, i]) for i in range(3)]
