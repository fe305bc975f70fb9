"""load_model: verified digests, structural and shape checks, session options, timed inference."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto

from ricsdk.errors import ConfigError, ModelError
from ricsdk.models import ModelHost, ModelSpec, Slot, load_model, session_options
from tests.models.conftest import spec_for, weights

Writer = Callable[..., tuple[Path, ModelSpec]]
X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)


def expected(x: np.ndarray, n_features: int = 3, n_outputs: int = 2, scale: float = 1.0) -> np.ndarray:
    w, b = weights(n_features, n_outputs, scale)
    return x @ w + b


def test_loads_and_infers_in_one_timed_call(write_model: Writer) -> None:
    _, spec = write_model()
    ticks = iter([1_000, 1_250, 5_000, 5_900])
    cpu = iter([10, 70, 200, 260])
    model = load_model(spec, clock=lambda: next(ticks), cpu_clock=lambda: next(cpu))
    y = model.infer(X)
    assert y.dtype == np.float32 and y.shape == (3, 2)
    np.testing.assert_allclose(y, expected(X), rtol=1e-6)
    assert (model.last_wall_ns, model.last_cpu_ns) == (250, 60)
    model.infer(X[:1])
    assert (model.calls, model.rows, model.wall_ns_total, model.cpu_ns_total) == (2, 4, 1150, 120)
    assert model.infer(np.zeros((0, 3), dtype=np.float32)).shape == (0, 2)
    assert model.identity == spec.identity


def test_negligible_weights_are_counted_and_logged(write_model: Writer) -> None:
    from structlog.testing import capture_logs

    _, spec = write_model(subnormal=True)
    with capture_logs() as logs:
        model = load_model(spec)
    assert model.negligible_weights == 2
    assert logs[0]["log_level"] == "warning" and logs[0]["count"] == 2 and "negligible" in logs[0]["event"]
    _, clean = write_model("v2")
    assert load_model(clean).negligible_weights == 0


def test_session_options_follow_the_spec(write_model: Writer) -> None:
    _, spec = write_model()
    opts = session_options(spec)
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    spinning = session_options(spec_for(spec.path, spinning=True, intra_op_threads=2))
    assert spinning.intra_op_num_threads == 2
    assert spinning.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_infer_refuses_wrong_features(write_model: Writer) -> None:
    _, spec = write_model()
    model = load_model(spec)
    with pytest.raises(ModelError, match=r"float32 \[n, 3\]"):
        model.infer(X.astype(np.float64))  # type: ignore[arg-type]
    with pytest.raises(ModelError, match=r"float32 \[n, 3\]"):
        model.infer(X[:, :2])


def _tamper(path: Path, spec: ModelSpec) -> dict[str, Any]:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return {}


def _truncate_keep_digest(path: Path, spec: ModelSpec) -> dict[str, Any]:
    path.write_bytes(path.read_bytes()[:-40])
    return {}


def _truncate_new_digest(path: Path, spec: ModelSpec) -> dict[str, Any]:
    data = path.read_bytes()[: len(path.read_bytes()) // 2]
    path.write_bytes(data)
    return {"sha256": hashlib.sha256(data).hexdigest()}


def _garbage(path: Path, spec: ModelSpec) -> dict[str, Any]:
    data = b"\x08\x07this is not a protobuf model" * 3
    path.write_bytes(data)
    return {"sha256": hashlib.sha256(data).hexdigest()}


def _delete(path: Path, spec: ModelSpec) -> dict[str, Any]:
    path.unlink()
    return {}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_tamper, "digest mismatch"),
        (_truncate_keep_digest, "digest mismatch"),
        (_truncate_new_digest, "not a valid ONNX model|onnxruntime refused"),
        (_garbage, "not a valid ONNX model|onnxruntime refused"),
        (_delete, "cannot read"),
    ],
)
def test_corrupt_artifacts_are_refused_and_the_old_model_keeps_serving(
    write_model: Writer, damage: Callable[[Path, ModelSpec], dict[str, Any]], message: str
) -> None:
    _, good = write_model("v1")
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, load_model(good))
    path, spec = write_model("v2", scale=2.0)
    overrides = damage(path, spec)
    bad = spec_for(spec.path, sha256=overrides.get("sha256", spec.sha256)) if overrides else spec
    with pytest.raises(ModelError, match=message) as err:
        load_model(bad)
    assert err.value.model == str(bad.identity) and "linear@v2" in str(err.value)
    result = host.infer(np.arange(3), ["a", "b", "c"], X)
    np.testing.assert_allclose(result.outputs, expected(X), rtol=1e-6)
    assert result.model_of(0) == good.identity


@pytest.mark.parametrize(
    ("graph", "spec", "message"),
    [
        ({}, {"n_features": 4}, "takes 3 features, the spec says 4"),
        ({}, {"n_outputs": 3}, "gives 2 values per row, the spec says 3"),
        ({}, {"output_name": "prb"}, "no output named 'prb'"),
        ({}, {"input_name": "x"}, "no input named 'x'"),
        ({"extra_input": True}, {}, "inputs the host cannot feed"),
        ({"elem": TensorProto.DOUBLE}, {}, r"input 'features' is tensor\(double\)"),
        ({"batch": 8}, {}, "fixed batch dimension 8"),
        ({"flat_output": True}, {}, r"shaped \[N\*2, 1\]"),
        ({"flat_output": True, "hide_flat": True}, {}, r"gave output \[4, 1\], expected \[2, 2\] \(the skl2onnx"),
        ({"batch_multiple": 4}, {}, "a probe inference on 2 rows failed"),
    ],
)
def test_shape_and_name_mismatches_are_refused(
    write_model: Writer, graph: dict[str, Any], spec: dict[str, Any], message: str
) -> None:
    _, good = write_model("v1")
    host = ModelHost(3, 2)
    host.install(Slot.ACTIVE, load_model(good))
    _, bad = write_model("v2", spec=spec, **graph)
    with pytest.raises(ModelError, match=message):
        load_model(bad)
    np.testing.assert_allclose(host.infer(np.arange(3), ["a", "b", "c"], X).outputs, expected(X), rtol=1e-6)


def test_flat_output_is_reshaped_when_the_spec_allows_it(write_model: Writer) -> None:
    _, spec = write_model(flat_output=True, spec={"allow_reshape": True})
    y = load_model(spec).infer(X)
    assert y.shape == (3, 2)
    np.testing.assert_allclose(y, expected(X), rtol=1e-6)


def test_skl2onnx_multi_output_layout_is_refused(tmp_path: Path) -> None:
    """The real skl2onnx 1.20 + sklearn 1.9 export of a 2-output MLP gives [N*2, 1]: refused unless allowed."""
    import warnings

    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(1)
    xs = rng.random((64, 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPRegressor(hidden_layer_sizes=(4,), max_iter=20, random_state=0).fit(xs, rng.random((64, 2)))
    onx = to_onnx(mlp, initial_types=[("features", FloatTensorType([None, 3]))], target_opset=17)
    path = tmp_path / "mlp.onnx"
    path.write_bytes(onx.SerializeToString())
    out = onx.graph.output[0].name
    with pytest.raises(ModelError, match=r"\[N\*2, 1\]"):
        load_model(spec_for(path, output_name=out))
    y = load_model(spec_for(path, output_name=out, allow_reshape=True)).infer(xs[:5])
    np.testing.assert_allclose(y, mlp.predict(xs[:5]), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("sha256", "ABC"),
        ("sha256", "A" * 64),
        ("n_features", 0),
        ("n_outputs", True),
        ("intra_op_threads", 0),
        ("spinning", 1),
        ("path", 3),
    ],
)
def test_model_spec_refuses(tmp_path: Path, field: str, value: object) -> None:
    fields: dict[str, Any] = {
        "name": "m",
        "version": "1",
        "path": tmp_path / "m.onnx",
        "sha256": "0" * 64,
        "input_name": "x",
        "output_name": "y",
        "n_features": 3,
        "n_outputs": 1,
    }
    fields[field] = value
    with pytest.raises(ConfigError) as err:
        ModelSpec(**fields)
    assert err.value.field == field


def test_model_spec_accepts_a_string_path() -> None:
    spec = ModelSpec("m", "1", "a/b.onnx", "0" * 64, "x", "y", 3, 1)  # type: ignore[arg-type]
    assert spec.path == Path("a/b.onnx") and str(spec.identity) == "m@1 (000000000000)"
