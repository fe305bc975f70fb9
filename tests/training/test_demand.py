"""The demand pipeline: reproducible from its seed, exported as the runtime loads it, lineage and manifest written."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from ricsdk.errors import ConfigError
from ricsdk.models import ModelHost, Slot, load_model
from ricsdk.runtime.manifest import QuotaMapping, load_manifest
from ricsdk.training.artifact import manifest_text_with_model, write_artifact
from ricsdk.training.demand import DemandConfig, DemandResult, check_beats_baseline, train_demand
from ricsdk.twin import load_scenario
from xapps.slice_prb_allocator.app import MANIFEST

SMALL = DemandConfig(seed=3, ticks=240, hidden=(8,), max_iter=4)


@pytest.fixture(scope="module")
def trained() -> tuple[DemandResult, DemandResult]:
    m = load_manifest(MANIFEST)
    sc = [load_scenario("flash_crowd")]
    return train_demand(m, sc, SMALL), train_demand(m, sc, SMALL)


def test_same_seed_same_data_metrics_and_model_bytes(trained: tuple[DemandResult, DemandResult]) -> None:
    a, b = trained
    assert a.data.digest() == b.data.digest() == a.artifact.lineage["training"]["data_sha256"]
    assert a.metrics == b.metrics
    assert a.artifact.onnx_bytes == b.artifact.onnx_bytes
    other = train_demand(load_manifest(MANIFEST), [load_scenario("flash_crowd")], dataclasses.replace(SMALL, seed=4))
    assert other.data.digest() != a.data.digest()


def test_lineage_records_scenarios_seeds_data_metrics_and_versions(trained: tuple[DemandResult, DemandResult]) -> None:
    lin = trained[0].artifact.lineage
    t = lin["training"]
    assert lin["sha256"] == hashlib.sha256(trained[0].artifact.onnx_bytes).hexdigest()
    assert t["seed"] == 3 and [s["name"] for s in t["scenarios"]] == ["flash_crowd"]
    assert len(t["scenarios"][0]["sha256"]) == 64
    assert [r["split"] for r in t["runs"]] == ["train", "validation"]
    assert all(r["ticks"] == 240 for r in t["runs"])
    assert t["exploration"]["open_share"] == 0.3
    assert {"val_mae", "baseline_val_mae", "val_rmse", "onnx_sklearn_max_abs_diff"} <= set(lin["metrics"])
    assert set(lin["metrics"]["val_by_slice"]) == {"embb", "urllc", "mmtc"}
    assert {"numpy", "sklearn", "skl2onnx", "onnx", "onnxruntime", "python"} <= set(lin["versions"])
    assert [f["name"] for f in lin["features"]] == [f.name for f in load_manifest(MANIFEST).features]


def test_export_reads_raw_features_and_agrees_with_sklearn(trained: tuple[DemandResult, DemandResult]) -> None:
    res = trained[0]
    proto = onnx.load_model_from_string(res.artifact.onnx_bytes)
    assert proto.graph.node[0].op_type == "Asinh" and proto.graph.node[0].input[0] == "features"
    out = proto.graph.output[0]
    assert out.name == "prb_need_pct"
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["N", 1]
    assert res.metrics["onnx_sklearn_max_abs_diff"] < 1e-2  # allclose(rtol=atol=1e-4) on outputs up to 100 %


def test_written_artifact_and_manifest_load_through_the_runtime(
    trained: tuple[DemandResult, DemandResult], tmp_path: Path
) -> None:
    res = trained[0]
    text = MANIFEST.read_text()
    (tmp_path / "manifest.yaml").write_text(text)
    new = manifest_text_with_model(text, sha256=res.artifact.sha256, version="9.9.9")
    assert new.count("\n") == text.count("\n") and "# The flagship" in new
    written = write_artifact(
        res.artifact, tmp_path / "model", manifest_text=new, manifest_path=tmp_path / "manifest.yaml"
    )
    assert [p.name for p in written] == ["model.onnx", "model.json", "manifest.yaml"]
    m = load_manifest(tmp_path / "manifest.yaml")
    assert m.model.sha256 == res.artifact.sha256 and m.model.version == "9.9.9"
    assert json.loads((tmp_path / "model" / "model.json").read_text())["sha256"] == res.artifact.sha256
    host = ModelHost(len(m.features), 1)
    host.install(Slot.ACTIVE, load_model(m.model))
    x = res.data.x[:50]
    got = host.infer(np.arange(50), [str(i) for i in range(50)], x)
    assert got.ok.all() and got.outputs.shape == (50, 1)


def test_a_manifest_whose_digest_does_not_match_is_not_written(
    trained: tuple[DemandResult, DemandResult], tmp_path: Path
) -> None:
    text = MANIFEST.read_text()
    with pytest.raises(ConfigError, match="digest"):
        write_artifact(trained[0].artifact, tmp_path / "model", manifest_text=text, manifest_path=tmp_path / "m.yaml")
    assert not (tmp_path / "model" / "model.onnx").exists()


def test_the_demand_model_needs_a_prb_need_mapping() -> None:
    m = load_manifest(MANIFEST)
    direct = dataclasses.replace(
        m,
        control=dataclasses.replace(m.control, mapping=QuotaMapping("direct")),
        model=dataclasses.replace(m.model, n_outputs=3),
    )
    with pytest.raises(ConfigError, match="must be prb_need"):
        train_demand(direct, [load_scenario("steady")], SMALL)


def test_a_model_that_does_not_beat_the_baseline_is_refused(trained: tuple[DemandResult, DemandResult]) -> None:
    from ricsdk.errors import ModelError
    from ricsdk.training.artifact import Artifact

    res = trained[0]
    worse = {**res.artifact.lineage, "metrics": {**res.metrics, "val_mae": res.metrics["baseline_val_mae"] + 1}}
    with pytest.raises(ModelError, match="does not beat"):
        check_beats_baseline(DemandResult(Artifact(res.artifact.onnx_bytes, worse), res.data))
