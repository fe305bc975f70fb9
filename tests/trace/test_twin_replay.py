"""A trace recorded while the flagship's model closes the loop against the digital twin replays to identical
controls (issue 4, "done when"); the twin is used as it is, only the xApp's transport is wrapped."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

from ricsdk.runtime.manifest import Manifest, SliceBounds
from ricsdk.runtime.model_xapp import ModelXApp
from ricsdk.runtime.runner import XAppRunner
from ricsdk.trace.recorder import FileSink, RecordingTransport
from ricsdk.trace.records import Direction, parse_trace
from ricsdk.trace.session import replay_xapp
from ricsdk.twin import Twin, load_scenario
from ricsdk.twin.loop import connect
from tests.trace.conftest import flagship_manifest

TICKS = 30


def twin_manifest(twin: Twin) -> Manifest:
    """The flagship's model, features and mapping, subscribed to the twin's cells and slices at its tick."""
    m = flagship_manifest()
    slices = tuple(SliceBounds(s.snssai, s.name, 5, 80) for s in twin.scenario.slices)
    sub = dataclasses.replace(m.subscription, e2_nodes=twin.node_ids, period_ms=twin.sim.tick_ms)
    return dataclasses.replace(m, subscription=sub, slices=slices)


async def test_twin_recording_replays_to_identical_controls(tmp_path: Path) -> None:
    twin = Twin(load_scenario("flash_crowd"))
    manifest = twin_manifest(twin)
    path = tmp_path / "twin.pcapng"
    async with connect(twin, "memory") as link:
        recording = RecordingTransport(link.xapp, FileSink(path))
        runner = XAppRunner(ModelXApp(manifest), recording, clock=twin.clock)
        await runner.start()
        try:
            await link.settle()

            async def settle() -> None:
                await link.settle()

            report = await twin.run(TICKS, after_step=settle)
        finally:
            await runner.aclose()
    assert report["e2"]["controls_refused"] == 0
    records = parse_trace(path.read_bytes()).records
    indications = sum(1 for r in records if r.mtype == 12050)
    assert indications == TICKS * len(twin.node_ids)
    recorded = [r.payload for r in records if r.direction is Direction.OUT and r.mtype == 12040]
    assert len(recorded) > indications // 2

    replayed = await replay_xapp(ModelXApp(manifest), records)
    assert list(replayed.control_bytes()) == recorded
    assert replayed.stats.unsubscribed == 0
    assert replayed.periods == dict.fromkeys(twin.node_ids, TICKS)

    tshark = shutil.which("tshark")
    assert tshark, "tshark is missing: `make test` installs it (Debian package tshark)"
    out = subprocess.run([tshark, "-r", str(path), "-q", "-z", "io,phs"], capture_output=True, text=True, check=True)
    assert "e2ap" in out.stdout and "malformed" not in out.stdout.lower()
