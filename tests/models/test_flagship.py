"""The committed flagship artifact loads, matches its lineage, and predicts twin runs it never saw better than
repeating the last PRB usage; the export fix handles several outputs. Training itself: tests/training."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import pytest

from ricsdk.models import ModelHost, Slot, load_model
from ricsdk.training.data import ExplorationConfig, RunSpec, collect
from ricsdk.training.export import fix_output_layout
from ricsdk.twin import load_scenario
from tests.models.conftest import linear_graph
from xapps.slice_prb_allocator.artifact import MODEL_DIR, load_manifest, model_spec
from xapps.slice_prb_allocator.features import FEATURES, MEASUREMENTS, WINDOW, new_store


def test_committed_artifact_matches_its_lineage() -> None:
    manifest = load_manifest()
    data = (MODEL_DIR / "model.onnx").read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
    assert manifest["metrics"]["val_mae"] < manifest["metrics"]["baseline_val_mae"]
    t = manifest["training"]
    assert t["seed"] == 7 and t["source"] == "twin" and len(t["data_sha256"]) == 64
    assert {s["name"] for s in t["scenarios"]} == {"steady", "diurnal", "flash_crowd", "ddos", "mobility"}
    assert manifest["measurements"] == list(MEASUREMENTS) == list(new_store().measurements)
    assert [f["name"] for f in manifest["features"]] == [s.name for s in FEATURES]
    out = onnx.load_model_from_string(data).graph.output[0]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["N", 1]


@pytest.mark.parametrize("scenario", ["flash_crowd", "mobility"])
def test_flagship_predicts_unseen_twin_runs_better_than_repeating_the_last_usage(scenario: str) -> None:
    """A seed the model never saw, through the ModelHost as the runtime will, under the exploration policy."""
    host = ModelHost(len(FEATURES), 1, group="flagship")
    model = load_model(model_spec())
    assert model.negligible_weights == 0
    host.install(Slot.ACTIVE, model)
    rows = collect(
        RunSpec(load_scenario(scenario), 12345, 54321, "validation", 900), FEATURES, WINDOW, ExplorationConfig()
    )
    result = host.infer(np.arange(len(rows.y)), [str(i) for i in range(len(rows.y))], rows.x)
    assert result.ok.all()
    mae = float(np.mean(np.abs(result.outputs[:, 0] - rows.y)))
    base = float(np.mean(np.abs(rows.baseline - rows.y)))
    assert mae < 0.8 * base, f"model {mae:.3f} vs repeat-last-usage {base:.3f} % PRB"


def test_fix_output_layout_turns_n_times_k_by_1_into_n_by_k() -> None:
    import warnings

    import onnxruntime as ort
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(0)
    xs = rng.random((50, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPRegressor(hidden_layer_sizes=(5,), max_iter=10, random_state=0).fit(xs, rng.random((50, 3)))
    proto = to_onnx(mlp, initial_types=[("x", FloatTensorType([None, 4]))], target_opset=17)
    raw = ort.InferenceSession(proto.SerializeToString()).run(None, {"x": xs[:7]})[0]
    assert raw.shape == (21, 1)
    fixed = fix_output_layout(proto, 3, "y")
    y = ort.InferenceSession(fixed.SerializeToString()).run(["y"], {"x": xs[:7]})[0]
    assert y.shape == (7, 3)
    np.testing.assert_allclose(y, mlp.predict(xs[:7]), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="not produced by a Reshape"):
        fix_output_layout(linear_graph(), 2, "y")
