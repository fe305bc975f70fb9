"""Small hand-built ONNX graphs with known outputs, written to tmp_path, and specs that match them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ricsdk.models import ModelSpec


def weights(n_features: int, n_outputs: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    w = (np.arange(n_features * n_outputs, dtype=np.float32).reshape(n_features, n_outputs) + 1.0) * scale
    b = np.arange(n_outputs, dtype=np.float32) * -0.5
    return w, b


def linear_graph(
    n_features: int = 3,
    n_outputs: int = 2,
    *,
    scale: float = 1.0,
    input_name: str = "features",
    output_name: str = "out",
    elem: int = TensorProto.FLOAT,
    batch: str | int = "N",
    flat_output: bool = False,
    hide_flat: bool = False,
    batch_multiple: int = 1,
    extra_input: bool = False,
    subnormal: bool = False,
) -> onnx.ModelProto:
    """``out = features @ W + b`` with W, b from ``weights``.

    ``flat_output`` adds the skl2onnx-style final ``Reshape(-1, 1)``; ``hide_flat`` computes that shape at run
    time so that the graph still declares ``[N, n_outputs]`` (a declared shape that lies). ``batch_multiple``
    routes the input through ``Reshape(-1, batch_multiple * n_features)``, so onnxruntime fails at run time on
    a batch size that is not a multiple of it.
    """
    w, b = weights(n_features, n_outputs, scale)
    if subnormal:
        w[0, 0] = np.float32(1e-40)
        w[1, 0] = np.float32(2e-38)
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")]
    nodes = []
    x = input_name
    if elem != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [x], ["x32"], to=TensorProto.FLOAT))
        x = "x32"
    if batch_multiple > 1:
        inits += [
            numpy_helper.from_array(np.array([-1, batch_multiple * n_features], dtype=np.int64), "pairs"),
            numpy_helper.from_array(np.array([-1, n_features], dtype=np.int64), "single"),
        ]
        nodes += [
            helper.make_node("Reshape", [x, "pairs"], ["xp"]),
            helper.make_node("Reshape", ["xp", "single"], ["xs"]),
        ]
        x = "xs"
    y = "y" if flat_output else output_name
    nodes += [helper.make_node("MatMul", [x, "W"], ["xw"]), helper.make_node("Add", ["xw", "B"], [y])]
    if flat_output and hide_flat:
        inits += [
            numpy_helper.from_array(np.float32(0), "zero"),
            numpy_helper.from_array(np.float32(1), "one"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "one_shape"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1"),
        ]
        nodes += [
            helper.make_node("ReduceMax", [x], ["mx"], keepdims=0),
            helper.make_node("Mul", ["mx", "zero"], ["z"]),
            helper.make_node("Add", ["z", "one"], ["o"]),
            helper.make_node("Cast", ["o"], ["oi"], to=TensorProto.INT64),
            helper.make_node("Reshape", ["oi", "one_shape"], ["oi1"]),
            helper.make_node("Concat", ["minus1", "oi1"], ["flat"], axis=0),
            helper.make_node("Reshape", [y, "flat"], [output_name]),
        ]
    elif flat_output:
        inits.append(numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "flat"))
        nodes.append(helper.make_node("Reshape", [y, "flat"], [output_name]))
    inputs = [helper.make_tensor_value_info(input_name, elem, [batch, n_features])]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("mask", TensorProto.FLOAT, [batch, 1]))
    out_shape = [batch, 1] if flat_output and not hide_flat else [batch, n_outputs]
    outputs = [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)]
    graph = helper.make_graph(nodes, "linear", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ricsdk-tests")
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def spec_for(path: Path, **overrides: Any) -> ModelSpec:
    fields: dict[str, Any] = {
        "name": "linear",
        "version": path.stem,
        "path": path,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "input_name": "features",
        "output_name": "out",
        "n_features": 3,
        "n_outputs": 2,
    }
    fields.update(overrides)
    return ModelSpec(**fields)


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[..., tuple[Path, ModelSpec]]:
    """Write ``linear_graph(**kw)`` as ``<version>.onnx`` and return its path and a spec matching the defaults."""

    def write(version: str = "v1", spec: dict[str, Any] | None = None, **kw: Any) -> tuple[Path, ModelSpec]:
        path = tmp_path / f"{version}.onnx"
        path.write_bytes(linear_graph(**kw).SerializeToString())
        return path, spec_for(path, **(spec or {}))

    return write
