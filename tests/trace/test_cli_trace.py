"""``ricsdk trace import|show|replay`` and ``ricsdk replay``: importing a capture, listing, replaying with
expectations (pass, fail with a diff), writing golden expectations, comparing two models, argument errors; and a
raw SCTP capture of a recorded run replaying to the same controls."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from click.testing import CliRunner, Result
from onnx import TensorProto, helper, numpy_helper

from ricsdk import logs
from ricsdk.cli.main import main
from ricsdk.runtime.model_xapp import ModelXApp
from ricsdk.trace.importer import import_capture
from ricsdk.trace.pcap import pcap_file
from ricsdk.trace.records import Direction, TraceRecord, parse_trace
from ricsdk.trace.session import manifest_for_trace, replay_xapp
from tests.trace import frames as f
from tests.trace.conftest import RecordedRun, flagship_manifest
from xapps.slice_prb_allocator.app import MANIFEST

NODE_IP, RIC_IP, NODE_PORT = "10.1.0.9", "10.1.0.1", 40001
MODEL = MANIFEST.parent / "model" / "model.onnx"


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    logs.reset()


def run(args: Sequence[str]) -> Result:
    return CliRunner().invoke(main, list(args))


def sctp_capture(records: Sequence[TraceRecord]) -> bytes:
    """The trace's E2 messages as they would cross the E2 interface: SCTP DATA on port 36421, big ones fragmented."""
    frames = []
    tsn = {Direction.IN: 1, Direction.OUT: 1}
    for r in records:
        if r.dissector != "e2ap":
            continue
        inbound = r.direction is Direction.IN
        src, dst = (NODE_IP, RIC_IP) if inbound else (RIC_IP, NODE_IP)
        sport, dport = (NODE_PORT, 36421) if inbound else (36421, NODE_PORT)
        parts = [r.payload[i : i + 500] for i in range(0, len(r.payload), 500)]
        for k, part in enumerate(parts):
            chunk = f.data(tsn[r.direction], part, begin=k == 0, end=k == len(parts) - 1)
            tsn[r.direction] += 1
            frames.append((r.timestamp_ns, f.ethernet(f.ipv4(src, dst, f.sctp(sport, dport, [chunk])))))
    return pcap_file(frames, 1)


def alternative_model(path: Path, weight: float = 1.2) -> Path:
    """A linear 'PRB need = weight x last PRB usage + 2' model with the flagship's input and output."""
    w = np.zeros((8, 1), dtype=np.float32)
    w[3, 0] = weight
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "w"], ["y"]), helper.make_node("Add", ["y", "b"], ["prb_need_pct"])],
        "alternative",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info("prb_need_pct", TensorProto.FLOAT, ["N", 1])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([2.0], dtype=np.float32), "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


async def test_a_raw_sctp_capture_of_a_run_replays_to_the_same_controls(recorded_run: RecordedRun) -> None:
    imported = import_capture(sctp_capture(recorded_run.records))
    assert imported.stats.reassembled > 0 and not imported.stats.malformed
    manifest = manifest_for_trace(flagship_manifest(), imported.records)
    assert manifest.subscription.e2_nodes == (f"{NODE_IP}:{NODE_PORT}",)
    replayed = await replay_xapp(ModelXApp(manifest), imported.records)
    assert list(replayed.control_bytes()) == recorded_run.node_controls


def test_import_and_show(recorded_run: RecordedRun, tmp_path: Path) -> None:
    cap = tmp_path / "e2.pcap"
    cap.write_bytes(sctp_capture(recorded_run.records) + b"\x00\x01")
    out = tmp_path / "e2.pcapng"
    r = run(["trace", "import", str(cap), str(out), "--meid", f"{NODE_IP}=gnb-001", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["messages"] == len(recorded_run.records) and doc["malformed"] == {"truncated-capture": 1}
    assert doc["nodes"] == {f"{NODE_IP}:{NODE_PORT}": "gnb-001"}
    assert [rec.payload for rec in parse_trace(out.read_bytes()).records] == [
        rec.payload for rec in recorded_run.records
    ]
    r = run(["trace", "show", str(out), "--limit", "3"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "SUB_REQ" in lines[0] and "RicSubscriptionRequest" in lines[0] and "gnb-001" in lines[0]
    assert f"{len(recorded_run.records)} messages over" in r.stdout and "in  INDICATION       40" in r.stdout
    r = run(["trace", "show", str(out), "--json", "--summary"])
    assert json.loads(r.stdout)["summary"]["by_type"]["in INDICATION"] == 40


def test_replay_with_golden_expectations_passes_then_fails_with_a_diff(
    recorded_run: RecordedRun, tmp_path: Path
) -> None:
    golden = tmp_path / "expect.yaml"
    r = run(["replay", str(recorded_run.path), "--manifest", str(MANIFEST), "--write-expect", str(golden)])
    assert r.exit_code == 0, r.output
    assert "replayed 40 indications" in r.stdout
    r = run(["replay", str(recorded_run.path), "--manifest", str(MANIFEST), "--expect", str(golden)])
    assert r.exit_code == 0, r.output
    assert "expectations met" in r.stdout
    doc = yaml.safe_load(golden.read_text())
    period = doc["periods"][2]
    period["slices"]["2-000001"]["max"] += 7
    doc["controls"] += 1
    golden.write_text(yaml.safe_dump(doc))
    r = run(["trace", "replay", str(recorded_run.path), "--manifest", str(MANIFEST), "--expect", str(golden)])
    assert r.exit_code == 1
    assert "2 of" in r.stderr and "expectation checks failed" in r.stderr
    assert f"gnb-001 period {period['period']}" in r.stderr and "2-000001" in r.stderr


def test_compare_two_models_writes_json_markdown_and_html(recorded_run: RecordedRun, tmp_path: Path) -> None:
    alt = alternative_model(tmp_path / "alt.onnx")
    out = tmp_path / "cmp"
    args = ["replay", str(recorded_run.path), "--manifest", str(MANIFEST), "--compare", str(MODEL), str(alt)]
    r = run([*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    report = json.loads((out / "compare.json").read_text())
    assert report["a"]["label"] == str(MODEL) and report["b"]["label"] == str(alt)
    assert report["a"]["indications"] == report["b"]["indications"] == 40
    assert not report["controls_identical"] and report["periods_differing"] > 0
    assert len(report["slices"]) == 8 and any(s["mad_max"] > 0 for s in report["slices"])
    assert report["a"]["decision_latency_us"]["samples"] == report["a"]["controls"]
    md = (out / "compare.md").read_text()
    assert md in r.stdout and "| slice | periods |" in md
    assert (out / "compare.html").read_text().startswith("<!doctype html>")
    same = run(
        [
            "replay",
            str(recorded_run.path),
            "--compare",
            str(MANIFEST),
            str(MODEL),
            "--manifest",
            str(MANIFEST),
            "--json",
            "--out",
            str(tmp_path / "same"),
        ]
    )
    assert same.exit_code == 0, same.output
    assert json.loads(same.stdout)["controls_identical"] is True


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--pace", "0"], 2, "must be > 0"),
        (["--pace", "fast"], 2, "speed factor"),
        (["--expect", "BAD"], 2, "version"),
        (["--compare", "M", "M", "--expect", "BAD"], 2, "cannot be combined"),
    ],
)
def test_argument_errors(recorded_run: RecordedRun, tmp_path: Path, extra: list[str], code: int, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("periods: []\n")
    args = [a.replace("BAD", str(bad)).replace("M", str(MANIFEST)) if a in ("BAD", "M") else a for a in extra]
    r = run(["replay", str(recorded_run.path), "--manifest", str(MANIFEST), *args])
    assert r.exit_code == code, r.output
    assert message in r.output


def test_not_a_capture_is_an_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"nothing to see")
    r = run(["trace", "show", str(junk)])
    assert r.exit_code == 1 and "not a pcap/pcapng file" in r.stderr
    r = run(["trace", "import", str(junk), str(tmp_path / "o.pcapng")])
    assert r.exit_code == 1
