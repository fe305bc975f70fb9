"""Train the flagship model and write ``model.onnx`` + ``model.json`` (its lineage).

    python -m xapps.slice_prb_allocator.train --seed 7 --out xapps/slice_prb_allocator/model

Steps: generate ``periods`` periods of synthetic slice demand (``demand``), feed them period by period through
a ``FeatureStore`` built from ``features.FEATURES`` exactly as the runtime does, keep the rows that are ready
and complete, split by time (the last ``val_fraction`` of the periods is held out), fit StandardScaler + an
MLPRegressor predicting the next period's PRB need (%), export it with skl2onnx, fix the exported output to
``[N, 1]``, check that onnxruntime agrees with sklearn on the held-out rows and that the model beats the
"repeat the last PRB usage" baseline, then write the artifact and its lineage. Everything is a function of the
seed: the same seed gives the same data digest, metrics and model bytes.
"""

from __future__ import annotations

import hashlib
import json
import platform
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import onnx
import onnxruntime as ort
import skl2onnx
import sklearn
from numpy.typing import NDArray
from onnx import numpy_helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ricsdk.features import incomplete_rows
from ricsdk.models import NEGLIGIBLE_WEIGHT
from xapps.slice_prb_allocator.demand import DemandConfig, SliceDemand
from xapps.slice_prb_allocator.features import FEATURES, LAST_PRB_COLUMN, MEASUREMENTS, WINDOW, new_store

__all__ = [
    "Dataset",
    "TrainConfig",
    "TrainResult",
    "build_dataset",
    "check_beats_baseline",
    "fix_output_layout",
    "flush_negligible_weights",
    "train",
    "write_artifact",
]

MODEL_NAME = "slice-prb-allocator"
INPUT_NAME = "features"
OUTPUT_NAME = "prb_need_pct"
ONNX_TOLERANCE = 1e-4


@dataclass(frozen=True, slots=True)
class TrainConfig:
    seed: int = 7
    periods: int = 1500
    val_fraction: float = 0.2
    hidden: tuple[int, ...] = (32, 32)
    max_iter: int = 60
    batch_size: int = 256
    learning_rate: float = 2e-3
    alpha: float = 1e-4
    version: str = "1.0.0"
    demand: DemandConfig = field(default_factory=DemandConfig)


@dataclass(frozen=True, slots=True)
class Dataset:
    """Feature rows, labels, the baseline prediction (last PRB usage) and the period of each row."""

    x: NDArray[np.float32]
    y: NDArray[np.float32]
    baseline: NDArray[np.float32]
    period: NDArray[np.int64]
    skipped: int

    def digest(self) -> str:
        """sha256 over the arrays' bytes (C order, fixed dtypes), shapes included."""
        h = hashlib.sha256()
        for a in (self.x, self.y, self.period):
            h.update(repr(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()


@dataclass(frozen=True, slots=True)
class TrainResult:
    onnx_bytes: bytes
    manifest: dict[str, Any]


def build_dataset(config: TrainConfig) -> Dataset:
    """Run the generator through a FeatureStore the way the runtime will, keeping ready and complete rows."""
    gen = SliceDemand(config.demand, config.seed)
    store = new_store(initial_rows=len(gen))
    rows = store.rows(gen.keys)
    xs: list[NDArray[np.float32]] = []
    ys: list[NDArray[np.float64]] = []
    ts: list[NDArray[np.int64]] = []
    skipped = 0
    for p in gen.periods(config.periods):
        store.update(rows, p.values)
        x = store.matrix(rows)
        keep = store.ready(rows) & ~incomplete_rows(x)
        skipped += int(keep.size - np.count_nonzero(keep))
        xs.append(x[keep])
        ys.append(p.need_next[keep])
        ts.append(np.full(int(np.count_nonzero(keep)), p.t, dtype=np.int64))
    x_all = np.concatenate(xs).astype(np.float32)
    return Dataset(
        x=x_all,
        y=np.concatenate(ys).astype(np.float32),
        baseline=x_all[:, LAST_PRB_COLUMN].copy(),
        period=np.concatenate(ts),
        skipped=skipped,
    )


def fix_output_layout(model: onnx.ModelProto, n_outputs: int, output_name: str) -> onnx.ModelProto:
    """Make the exported output ``[N, n_outputs]`` and name it ``output_name``.

    skl2onnx 1.20 with sklearn 1.9 ends an MLPRegressor graph with ``Reshape(y, [-1, 1])`` and declares the
    output ``[N, 1]``: right for one output, ``[N*k, 1]`` for k. The Reshape's shape becomes ``[-1, k]``, the
    declared output ``[N, k]`` and the input's batch dimension the named ``N``.
    """
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
    """Set float32 initializer values below ``NEGLIGIBLE_WEIGHT`` in magnitude to zero; return how many.

    Weight decay leaves dead units with weights around 1e-38, whose products with ordinary activations are
    subnormal and make x86 float arithmetic many times slower (see ``ricsdk.models.count_negligible_weights``);
    they contribute nothing to the output.
    """
    changed = 0
    for init in model.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(init).copy()
        tiny = (a != 0) & (np.abs(a) < NEGLIGIBLE_WEIGHT)
        n = int(np.count_nonzero(tiny))
        if n:
            a[tiny] = 0.0
            init.CopyFrom(numpy_helper.from_array(a, init.name))
            changed += n
    return changed


def _mae(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def _rmse(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def train(config: TrainConfig) -> TrainResult:
    """Build the data, fit, export and check onnxruntime against sklearn (``click.ClickException`` if they differ).

    Whether the model beats the baseline is in the metrics; ``check_beats_baseline`` enforces it.
    """
    data = build_dataset(config)
    cut = int(config.periods * (1.0 - config.val_fraction))
    tr = data.period < cut
    va = ~tr
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "mlp",
                MLPRegressor(
                    hidden_layer_sizes=config.hidden,
                    max_iter=config.max_iter,
                    batch_size=config.batch_size,
                    learning_rate_init=config.learning_rate,
                    alpha=config.alpha,
                    early_stopping=True,
                    n_iter_no_change=8,
                    random_state=config.seed,
                ),
            ),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(data.x[tr], data.y[tr])
    proto = to_onnx(
        pipe,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(FEATURES)]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    proto = fix_output_layout(proto, 1, OUTPUT_NAME)
    flushed = flush_negligible_weights(proto)
    proto.producer_name = "xapps.slice_prb_allocator.train"
    proto.doc_string = "Next-period PRB need (% of the cell's PRBs) per slice; see docs/flagship-model.md"
    onnx.helper.set_model_props(proto, {"ricsdk.model": MODEL_NAME, "ricsdk.version": config.version})
    onnx_bytes = proto.SerializeToString()

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    x_val = np.ascontiguousarray(data.x[va])
    onnx_pred = session.run([OUTPUT_NAME], {INPUT_NAME: x_val})[0]
    skl_pred = pipe.predict(x_val).astype(np.float32)
    if onnx_pred.shape != (x_val.shape[0], 1):
        raise click.ClickException(f"exported output shape {onnx_pred.shape}, expected ({x_val.shape[0]}, 1)")
    max_diff = float(np.max(np.abs(onnx_pred[:, 0].astype(np.float64) - skl_pred)))
    if not np.allclose(onnx_pred[:, 0], skl_pred, rtol=ONNX_TOLERANCE, atol=ONNX_TOLERANCE):
        raise click.ClickException(f"onnxruntime and sklearn disagree on held-out rows by up to {max_diff:.3g}")
    y_val = data.y[va]
    metrics = {
        "val_mae": round(_mae(onnx_pred[:, 0], y_val), 6),
        "baseline_val_mae": round(_mae(data.baseline[va], y_val), 6),
        "val_rmse": round(_rmse(onnx_pred[:, 0], y_val), 6),
        "baseline_val_rmse": round(_rmse(data.baseline[va], y_val), 6),
        "train_mae": round(_mae(pipe.predict(data.x[tr]), data.y[tr]), 6),
        "onnx_sklearn_max_abs_diff": max_diff,
        "epochs": int(pipe.named_steps["mlp"].n_iter_),
    }
    manifest: dict[str, Any] = {
        "name": MODEL_NAME,
        "version": config.version,
        "file": "model.onnx",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "n_features": len(FEATURES),
        "n_outputs": 1,
        "output": "next-period PRB need, % of the cell's PRBs",
        "window": WINDOW,
        "measurements": list(MEASUREMENTS),
        "features": [
            {"name": s.name, "measurement": s.measurement, "fn": s.fn.value, "over": s.over, "alpha": s.alpha}
            for s in FEATURES
        ],
        "training": {
            "seed": config.seed,
            "periods": config.periods,
            "split": f"by time: periods < {cut} train, the rest validation",
            "rows_train": int(np.count_nonzero(tr)),
            "rows_val": int(np.count_nonzero(va)),
            "rows_skipped_not_ready_or_incomplete": data.skipped,
            "data_sha256": data.digest(),
            "estimator": "StandardScaler + MLPRegressor",
            "export": {
                "skl2onnx_target_opset": {"": 17, "ai.onnx.ml": 3},
                "output_layout_fixed": "final Reshape [-1, 1] -> [-1, 1 output], output declared [N, 1]",
                "negligible_weights_zeroed": flushed,
            },
            "hyperparameters": {
                "hidden_layer_sizes": list(config.hidden),
                "max_iter": config.max_iter,
                "batch_size": config.batch_size,
                "learning_rate_init": config.learning_rate,
                "alpha": config.alpha,
                "early_stopping": True,
            },
            "demand": {**asdict(config.demand), "slice_types": [t.value for t in config.demand.slice_types]},
        },
        "metrics": metrics,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
        },
    }
    return TrainResult(onnx_bytes, manifest)


def check_beats_baseline(result: TrainResult) -> None:
    """Refuse a model whose validation MAE does not beat repeating the last PRB usage."""
    m = result.manifest["metrics"]
    if m["val_mae"] >= m["baseline_val_mae"]:
        raise click.ClickException(
            f"validation MAE {m['val_mae']} does not beat the last-PRB baseline {m['baseline_val_mae']}"
        )


def write_artifact(result: TrainResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.onnx").write_bytes(result.onnx_bytes)
    (out / "model.json").write_text(json.dumps(result.manifest, indent=2) + "\n")


@click.command()
@click.option("--seed", type=int, default=7, show_default=True, help="seeds the demand generator and the MLP")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="artifact directory")
@click.option("--periods", type=click.IntRange(min=50), default=1500, show_default=True)
@click.option("--max-iter", type=click.IntRange(min=1), default=60, show_default=True)
def main(seed: int, out: Path, periods: int, max_iter: int) -> None:
    """Train the slice PRB allocator model and write model.onnx + model.json to OUT."""
    result = train(TrainConfig(seed=seed, periods=periods, max_iter=max_iter))
    m = result.manifest["metrics"]
    t = result.manifest["training"]
    click.echo(f"rows: {t['rows_train']} train, {t['rows_val']} validation; data sha256 {t['data_sha256'][:16]}")
    click.echo(
        f"validation MAE: model {m['val_mae']:.3f} % PRB, baseline (repeat last PRB usage) {m['baseline_val_mae']:.3f}"
    )
    click.echo(f"validation RMSE: model {m['val_rmse']:.3f}, baseline {m['baseline_val_rmse']:.3f}")
    click.echo(f"onnxruntime vs sklearn max |diff| on held-out rows: {m['onnx_sklearn_max_abs_diff']:.2e}")
    check_beats_baseline(result)
    write_artifact(result, out)
    click.echo(f"wrote {out / 'model.onnx'} (sha256 {result.manifest['sha256']})")


if __name__ == "__main__":
    main()
