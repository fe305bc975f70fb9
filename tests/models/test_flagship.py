"""The committed flagship artifact loads, matches its lineage, and predicts generated periods sanely;
training is reproducible from its seed."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import pytest

from ricsdk.features import incomplete_rows
from ricsdk.models import ModelHost, Slot, load_model
from tests.models.conftest import linear_graph
from xapps.slice_prb_allocator.artifact import MODEL_DIR, load_manifest, model_spec
from xapps.slice_prb_allocator.demand import DemandConfig, SliceDemand
from xapps.slice_prb_allocator.features import FEATURES, LAST_PRB_COLUMN, MEASUREMENTS, new_store
from xapps.slice_prb_allocator.train import TrainConfig, build_dataset, fix_output_layout, train


def test_committed_artifact_matches_its_lineage() -> None:
    manifest = load_manifest()
    data = (MODEL_DIR / "model.onnx").read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
    assert manifest["metrics"]["val_mae"] < manifest["metrics"]["baseline_val_mae"]
    assert manifest["training"]["seed"] == 7 and len(manifest["training"]["data_sha256"]) == 64
    assert manifest["measurements"] == list(MEASUREMENTS) == list(new_store().measurements)
    assert [f["name"] for f in manifest["features"]] == [s.name for s in FEATURES]
    out = onnx.load_model_from_string(data).graph.output[0]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["N", 1]


def test_flagship_predicts_generated_periods_within_a_sane_error() -> None:
    """Fresh periods (a seed the model never saw), through the FeatureStore and the host, as the runtime will."""
    host = ModelHost(len(FEATURES), 1, group="flagship")
    model = load_model(model_spec())
    assert model.negligible_weights == 0
    host.install(Slot.ACTIVE, model)
    gen = SliceDemand(DemandConfig(n_nodes=2, cells_per_node=3), seed=12345)
    store = new_store()
    rows = store.rows(gen.keys)
    keys = ["/".join(k) for k in gen.keys]
    model_err: list[np.ndarray] = []
    base_err: list[np.ndarray] = []
    for p in gen.periods(200):
        store.update(rows, p.values)
        x = store.matrix(rows)
        result = host.infer(rows, keys, x)
        use = store.ready(rows) & ~incomplete_rows(x)
        assert result.ok[use].all()
        model_err.append(np.abs(result.outputs[use, 0] - p.need_next[use]))
        base_err.append(np.abs(x[use, LAST_PRB_COLUMN] - p.need_next[use]))
    mae = float(np.concatenate(model_err).mean())
    base = float(np.concatenate(base_err).mean())
    assert mae < 4.0, f"MAE {mae:.2f} % PRB"
    assert mae < base * 1.02, f"model {mae:.3f} vs repeat-last-usage {base:.3f}"


def test_training_is_reproducible_from_its_seed() -> None:
    cfg = TrainConfig(seed=3, periods=160, max_iter=6, demand=DemandConfig(n_nodes=1, cells_per_node=3))
    a, b = build_dataset(cfg), build_dataset(cfg)
    assert a.digest() == b.digest()
    assert a.x.shape[1] == len(FEATURES) and not np.isnan(a.x).any()
    assert build_dataset(TrainConfig(seed=4, periods=160, demand=cfg.demand)).digest() != a.digest()
    first, second = train(cfg), train(cfg)
    assert first.manifest["metrics"] == second.manifest["metrics"]
    assert first.manifest["training"]["data_sha256"] == a.digest()
    assert first.onnx_bytes == second.onnx_bytes


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
