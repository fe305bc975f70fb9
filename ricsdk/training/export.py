"""ONNX export helpers: the skl2onnx output-layout fix, subnormal flush, an input transform, small MLP graphs.

- :func:`fix_output_layout`: skl2onnx 1.20 with scikit-learn 1.9 ends an MLPRegressor graph with
  ``Reshape(y, [-1, 1])`` and declares ``[N, 1]``, which for ``k`` outputs gives ``[N*k, 1]``; the Reshape's
  shape becomes ``[-1, k]``, the output ``[N, k]`` with a named batch dimension.
- :func:`flush_negligible_weights`: weight decay leaves dead units with weights around 1e-38; their products with
  ordinary activations are subnormal floats, on which x86 arithmetic is many times slower. They are set to zero
  (no output changes; ``ricsdk.models.load_model`` warns about any model that still has them).
- :func:`prepend_asinh`: the models read raw KPM features spanning nine orders of magnitude (a delay of 1 ms,
  or 4e9 ms for a queue that cannot move); ``asinh`` (about ``sign(x) log 2|x|``, linear near 0) is applied in
  the graph itself, so the runtime feeds the features unchanged.
- :func:`mlp_graph`: a dense network (ReLU hidden layers, a chosen output activation and affine output scaling)
  built with ``onnx.helper`` from numpy weights, for policies trained outside scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from ricsdk.models import NEGLIGIBLE_WEIGHT

__all__ = ["OPSET", "fix_output_layout", "flush_negligible_weights", "mlp_graph", "prepend_asinh"]

#: The default-domain opset of every graph built here.
OPSET = 17


def fix_output_layout(model: onnx.ModelProto, n_outputs: int, output_name: str) -> onnx.ModelProto:
    """Make the exported output ``[N, n_outputs]`` and name it ``output_name`` (see the module docstring)."""
    graph = model.graph
    if len(graph.output) != 1:
        raise ValueError(f"expected one graph output, found {len(graph.output)}")
    old = graph.output[0].name
    producer = next((n for n in graph.node if old in n.output), None)
    if producer is None or producer.op_type != "Reshape":
        raise ValueError(f"the output {old!r} is not produced by a Reshape")
    shape_name = producer.input[1]
    init = next((i for i in graph.initializer if i.name == shape_name), None)
    if init is None:
        raise ValueError(f"the final Reshape's shape {shape_name!r} is not an initializer")
    init.CopyFrom(numpy_helper.from_array(np.array([-1, n_outputs], dtype=np.int64), shape_name))
    for node in graph.node:
        node.output[:] = [output_name if o == old else o for o in node.output]
    out = graph.output[0]
    out.name = output_name
    dims = out.type.tensor_type.shape.dim
    dims[0].Clear()
    dims[0].dim_param = "N"
    dims[1].Clear()
    dims[1].dim_value = n_outputs
    in_dim = graph.input[0].type.tensor_type.shape.dim[0]
    in_dim.Clear()
    in_dim.dim_param = "N"
    onnx.checker.check_model(model)
    onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return model


def flush_negligible_weights(model: onnx.ModelProto) -> int:
    """Set float32 initializer values below ``NEGLIGIBLE_WEIGHT`` in magnitude to zero; return how many."""
    changed = 0
    for init in model.graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(init).copy()
        tiny = (a != 0) & (np.abs(a) < NEGLIGIBLE_WEIGHT)
        n = int(np.count_nonzero(tiny))
        if n:
            a[tiny] = 0.0
            init.CopyFrom(numpy_helper.from_array(a, init.name))
            changed += n
    return changed


def prepend_asinh(model: onnx.ModelProto) -> onnx.ModelProto:
    """Apply ``asinh`` to the graph's (single) input before anything reads it; the input keeps its name."""
    graph = model.graph
    if len(graph.input) != 1:
        raise ValueError(f"expected one graph input, found {len(graph.input)}")
    name = graph.input[0].name
    inner = f"{name}_asinh"
    if any(inner in n.input or inner in n.output for n in graph.node):
        raise ValueError(f"the graph already uses the name {inner!r}")
    for node in graph.node:
        node.input[:] = [inner if i == name else i for i in node.input]
    graph.node.insert(0, helper.make_node("Asinh", [name], [inner], name="input_asinh"))
    onnx.checker.check_model(model)
    return model


def mlp_graph(
    weights: Sequence[tuple[NDArray[np.floating], NDArray[np.floating]]],
    *,
    input_name: str,
    output_name: str,
    input_shift: NDArray[np.floating],
    input_scale: NDArray[np.floating],
    output_activation: str,
    output_scale: NDArray[np.floating],
    output_offset: NDArray[np.floating],
    asinh_input: bool = True,
    doc: str = "",
) -> onnx.ModelProto:
    """A dense network as an ONNX model: ``y = act(L_k(...relu(L_1((t(x) - shift) * scale)))) * oscale + ooffset``.

    ``t`` is ``asinh`` (or the identity), every ``L_i(h) = h W_i + b_i`` with ``W_i`` of shape ``(in, out)``;
    ``output_activation`` is ``"sigmoid"``, ``"relu"`` or ``"identity"``. Input ``[N, in]`` and output ``[N, out]``
    are float32 with a named batch dimension ``N``.
    """
    if not weights:
        raise ValueError("at least one layer is needed")
    if output_activation not in ("sigmoid", "relu", "identity"):
        raise ValueError(f"unknown output activation {output_activation!r}")
    n_in = int(weights[0][0].shape[0])
    n_out = int(weights[-1][0].shape[1])
    inits: list[TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, a: NDArray[np.floating]) -> str:
        inits.append(numpy_helper.from_array(np.asarray(a, dtype=np.float32), name))
        return name

    h = input_name
    if asinh_input:
        nodes.append(helper.make_node("Asinh", [h], ["x_asinh"], name="input_asinh"))
        h = "x_asinh"
    nodes.append(helper.make_node("Sub", [h, const("in_shift", input_shift)], ["x_centred"], name="input_shift"))
    nodes.append(
        helper.make_node("Mul", ["x_centred", const("in_scale", input_scale)], ["x_scaled"], name="input_scale")
    )
    h = "x_scaled"
    for i, (w, b) in enumerate(weights):
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ValueError(f"layer {i}: weights {w.shape} and bias {b.shape} do not match")
        nodes.append(helper.make_node("MatMul", [h, const(f"w{i}", w)], [f"mm{i}"], name=f"matmul{i}"))
        nodes.append(helper.make_node("Add", [f"mm{i}", const(f"b{i}", b)], [f"z{i}"], name=f"bias{i}"))
        h = f"z{i}"
        if i < len(weights) - 1:
            nodes.append(helper.make_node("Relu", [h], [f"h{i}"], name=f"relu{i}"))
            h = f"h{i}"
    if output_activation != "identity":
        op = "Sigmoid" if output_activation == "sigmoid" else "Relu"
        nodes.append(helper.make_node(op, [h], ["act"], name="output_activation"))
        h = "act"
    nodes.append(helper.make_node("Mul", [h, const("out_scale", output_scale)], ["y_scaled"], name="output_scale"))
    nodes.append(
        helper.make_node("Add", ["y_scaled", const("out_offset", output_offset)], [output_name], name="output_offset")
    )
    graph = helper.make_graph(
        nodes,
        "policy",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", n_in])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["N", n_out])],
        inits,
        doc_string=doc,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ricsdk.training")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return model
