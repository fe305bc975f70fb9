"""``ricsdk train demand | policy | evaluate`` on small runs: files written, the manifest updated in place, the same
seed giving the same bytes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ricsdk import logs
from ricsdk.cli.main import main
from ricsdk.runtime.manifest import load_manifest
from xapps.slice_prb_allocator.app import MANIFEST


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    yield
    logs.reset()


def _run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def _xapp_copy(tmp_path: Path) -> Path:
    d = tmp_path / "xapp"
    d.mkdir()
    shutil.copy(MANIFEST, d / "manifest.yaml")
    return d / "manifest.yaml"


DEMAND = ("--scenario", "flash_crowd", "--ticks", "600", "--max-iter", "15")


def test_train_demand_updates_the_manifest_in_place_and_is_reproducible(tmp_path: Path) -> None:
    manifest = _xapp_copy(tmp_path)
    before = manifest.read_text()
    out = _run(
        "train",
        "--log-level",
        "warning",
        "demand",
        *DEMAND,
        "--seed",
        "3",
        "--out",
        str(manifest.parent / "model"),
        "--manifest",
        str(manifest),
        "--version",
        "3.0.0",
    )
    assert "validation MAE: model" in out.output and "baseline (repeat last PRB usage)" in out.output
    lineage = json.loads((manifest.parent / "model" / "model.json").read_text())
    m = load_manifest(manifest)
    assert m.model.sha256 == lineage["sha256"] and m.model.version == "3.0.0" == lineage["version"]
    after = manifest.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert [a.split(":")[0].strip() for a, _ in changed] == ["version", "sha256"]
    first = (manifest.parent / "model" / "model.onnx").read_bytes()
    other = tmp_path / "again"
    _run(
        "train",
        "--log-level",
        "warning",
        "demand",
        *DEMAND,
        "--seed",
        "3",
        "--out",
        str(other),
        "--manifest",
        str(manifest),
        "--version",
        "3.0.0",
    )
    assert (other / "model.onnx").read_bytes() == first
    copy = load_manifest(other / "manifest.yaml")  # written beside the model, its path rewritten
    assert copy.model.path == (other / "model.onnx").resolve() and copy.model.sha256 == m.model.sha256


def test_train_policy_writes_a_servable_manifest_and_evaluate_compares_it(tmp_path: Path) -> None:
    out = tmp_path / "policy"
    res = _run(
        "train",
        "--log-level",
        "warning",
        "policy",
        "--scenario",
        "flash_crowd",
        "--seed",
        "2",
        "--out",
        str(out),
        "--manifest",
        str(MANIFEST),
        "--iterations",
        "1",
        "--population",
        "2",
        "--elite",
        "1",
        "--episode-ticks",
        "30",
    )
    assert "iteration  0" in res.output and "validation return" in res.output
    m = load_manifest(out / "manifest.yaml")
    assert m.control.mapping.kind == "direct"
    table = tmp_path / "eval.json"
    res = _run(
        "train",
        "--log-level",
        "warning",
        "evaluate",
        str(out / "manifest.yaml"),
        "--scenario",
        "flash_crowd",
        "--periods",
        "20",
        "--json",
        str(table),
    )
    rows = json.loads(table.read_text())
    assert [r["name"] for r in rows] == ["static equal share", "no controls", str(out / "manifest.yaml")]
    assert all(r["ticks"] == 20 and r["controls_refused"] == 0 for r in rows)
    assert "static equal share" in res.output


def test_train_policy_refuses_to_overwrite_its_template(tmp_path: Path) -> None:
    manifest = _xapp_copy(tmp_path)
    result = CliRunner().invoke(
        main, ["train", "policy", "--scenario", "steady", "--out", str(manifest.parent), "--manifest", str(manifest)]
    )
    assert result.exit_code != 0 and "overwrite the template" in result.output
