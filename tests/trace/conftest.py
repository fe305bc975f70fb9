"""A recorded run of the flagship against a fake E2 node over the in-memory transport, shared by the trace tests.

Both ends are recorded: the xApp's transport (role RIC, to a pcapng file) and the node's (role NODE, in memory),
so a test can compare what the xApp sent with what the node received.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest

from ricsdk.runtime.manifest import Manifest, load_manifest
from ricsdk.runtime.runner import XAppRunner
from ricsdk.testing.e2node import E2NodeEmulator
from ricsdk.trace.recorder import FileSink, MemorySink, RecordingTransport, Role
from ricsdk.trace.records import TraceRecord, parse_trace
from ricsdk.transport.memory import MEID_ROUTE, MemoryHub
from xapps.slice_prb_allocator.app import MANIFEST, SlicePrbAllocator
from xapps.slice_prb_allocator.source import DemandSource

NODE = "gnb-001"


def flagship_manifest() -> Manifest:
    m = load_manifest(MANIFEST)
    return dataclasses.replace(m, subscription=dataclasses.replace(m.subscription, e2_nodes=(NODE,)))


@dataclass
class RecordedRun:
    path: Path
    records: tuple[TraceRecord, ...]
    node_view: list[TraceRecord]
    #: RICcontrolRequest payloads the node received, in order
    node_controls: list[bytes]
    indications: int
    recorder_dropped: int


async def record_flagship_run(path: Path, periods: int, *, seed: int = 3) -> RecordedRun:
    manifest = flagship_manifest()
    hub = MemoryHub()
    xt = hub.endpoint("xapp")
    nt = hub.endpoint("e2term", meids=[NODE])
    for mtype in (12010, 12020, 12040):
        hub.add_route(mtype, MEID_ROUTE)
    hub.add_route(12050, "xapp")
    xapp_rec = RecordingTransport(xt, FileSink(path))
    node_sink = MemorySink()
    node_rec = RecordingTransport(nt, node_sink, role=Role.NODE)
    app = SlicePrbAllocator.from_manifest(manifest=manifest)
    source = DemandSource([b.snssai.key for b in manifest.slices], seed=seed)
    node = E2NodeEmulator(NODE, node_rec, source, slices=[b.snssai for b in manifest.slices], on_quota=source.on_quota)
    await node.start(realtime=False)
    async with XAppRunner(app, xapp_rec):
        for k in range(1, periods + 1):
            await node.step()
            for _ in range(2000):
                if app.decisions >= k and not xt.pending and not nt.pending:
                    break
                await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)
    await node.aclose()
    records = parse_trace(path.read_bytes()).records
    return RecordedRun(
        path,
        records,
        node_sink.records,
        [r.payload for r in node_sink.records if r.mtype == 12040],
        node.stats.indications,
        xapp_rec.recorder_stats.dropped,
    )


@pytest.fixture(scope="session")
def recorded_run(tmp_path_factory: pytest.TempPathFactory) -> RecordedRun:
    """40 periods of the flagship against the fake node, recorded at the xApp (a pcapng file)."""
    path = tmp_path_factory.mktemp("trace") / "flagship.pcapng"
    return asyncio.run(record_flagship_run(path, 40))
