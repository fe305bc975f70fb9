"""The flagship's demand model, trained on twin data: next-period PRB need per slice from its KPM window.

Pipeline (:func:`train_demand`):

1. runs (:mod:`ricsdk.training.data`): for every scenario, ``train_episodes`` runs for training and
   ``val_episodes`` for validation, each from its own seed derived from the pipeline's seed, under the
   exploration policy. Validation runs are whole runs the model never saw (other traffic noise, radio and cell
   spread), so nothing leaks from the validation rows into training;
2. fit: ``StandardScaler`` + ``MLPRegressor`` on ``asinh`` of the feature rows (float32), early stopping on a
   seeded 10 % of the training rows;
3. export: skl2onnx (opset 17, ai.onnx.ml 3), output layout fixed to ``[N, 1]`` and named after the manifest's
   output, an ``Asinh`` node prepended (so the runtime feeds raw features), negligible weights zeroed;
4. checks: onnxruntime on the raw validation rows must equal scikit-learn within 1e-4, and the validation MAE
   is compared with repeating the last reported PRB usage (:func:`check_beats_baseline` refuses a model that
   does not beat it);
5. lineage (``model.json``): scenarios (name, file, content digest), seeds of every run, exploration, data
   digest, split, hyperparameters, export fixes, metrics, library versions and the model's sha256.

Everything is a function of the seed and the configuration: the same seed gives the same data digest, metrics
and model bytes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import onnx
import onnxruntime as ort
import skl2onnx
import sklearn
import structlog
from numpy.typing import NDArray
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ricsdk.errors import ConfigError, ModelError
from ricsdk.runtime.manifest import Manifest
from ricsdk.training.artifact import Artifact, feature_entries, library_versions, scenario_ref
from ricsdk.training.data import Dataset, ExplorationConfig, RunSpec, collect_runs, run_seeds
from ricsdk.training.export import fix_output_layout, flush_negligible_weights, prepend_asinh
from ricsdk.twin.scenario import Scenario

__all__ = [
    "DEFAULT_EXPLORATION",
    "ONNX_TOLERANCE",
    "DemandConfig",
    "DemandResult",
    "check_beats_baseline",
    "demand_runs",
    "train_demand",
]

log = structlog.get_logger(__name__)

ONNX_TOLERANCE: Final = 1e-4
#: The exploration the shipped model was trained under (see ``ricsdk.training.data``).
DEFAULT_EXPLORATION: Final = ExplorationConfig(
    open_share=0.3, track_share=0.5, mean_hold_ticks=10.0, ratio_low=0.6, ratio_high=4.0, dedicated_share=0.2
)


@dataclass(frozen=True, slots=True)
class DemandConfig:
    seed: int = 7
    train_episodes: int = 1
    val_episodes: int = 1
    ticks: int | None = None
    hidden: tuple[int, ...] = (32, 32)
    max_iter: int = 60
    batch_size: int = 256
    learning_rate: float = 2e-3
    alpha: float = 1e-4
    version: str | None = None
    exploration: ExplorationConfig = field(default_factory=lambda: DEFAULT_EXPLORATION)

    def __post_init__(self) -> None:
        if self.train_episodes < 1 or self.val_episodes < 1:
            raise ConfigError("train_episodes and val_episodes must be at least 1", source="training")
        if self.ticks is not None and self.ticks < 16:
            raise ConfigError("ticks must be at least 16", source="training", field="ticks")


@dataclass(frozen=True, slots=True)
class DemandResult:
    artifact: Artifact
    data: Dataset

    @property
    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = self.artifact.lineage["metrics"]
        return out


def demand_runs(scenarios: Sequence[Scenario], config: DemandConfig) -> list[RunSpec]:
    """The runs of a training: per scenario, the training episodes then the validation episodes."""
    runs: list[RunSpec] = []
    for i, sc in enumerate(scenarios):
        for e in range(config.train_episodes + config.val_episodes):
            sim_seed, explore_seed = run_seeds(config.seed, i, e)
            split = "train" if e < config.train_episodes else "validation"
            runs.append(RunSpec(sc, sim_seed, explore_seed, split, config.ticks))
    return runs


def _mae(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def _rmse(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def _check_manifest(manifest: Manifest) -> None:
    m = manifest.control.mapping
    if m.kind != "prb_need" or manifest.model.n_outputs != 1:
        raise ConfigError(
            f"the demand model predicts one PRB need per slice: the manifest's mapping must be prb_need, not {m.kind}",
            source=manifest.source,
            field="$.control.mapping.kind",
        )


def train_demand(manifest: Manifest, scenarios: Sequence[Scenario], config: DemandConfig) -> DemandResult:
    """Generate twin data for ``manifest``'s features, fit, export and verify (see the module docstring).

    Raises :class:`~ricsdk.errors.ModelError` when onnxruntime and scikit-learn disagree.
    """
    _check_manifest(manifest)
    if not scenarios:
        raise ConfigError("at least one scenario is needed", source="training", field="scenario")
    runs = demand_runs(scenarios, config)
    data = collect_runs(runs, manifest.features, manifest.window, config.exploration)
    tr, va = data.mask("train"), data.mask("validation")
    if not tr.any() or not va.any():
        raise ConfigError("the runs gave no training or no validation rows (too few ticks?)", source="training")
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
    x_tr = np.arcsinh(data.x[tr])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(x_tr, data.y[tr])
    spec = manifest.model
    version = config.version or spec.version
    proto = to_onnx(
        pipe,
        initial_types=[(spec.input_name, FloatTensorType([None, len(manifest.features)]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    proto = fix_output_layout(proto, 1, spec.output_name)
    proto = prepend_asinh(proto)
    flushed = flush_negligible_weights(proto)
    proto.producer_name = "ricsdk.training.demand"
    proto.doc_string = "Next-period PRB need (% of the cell's PRBs) per slice, trained in the ricsdk twin"
    onnx.helper.set_model_props(proto, {"ricsdk.model": spec.name, "ricsdk.version": version})
    onnx_bytes = proto.SerializeToString()

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    x_val = np.ascontiguousarray(data.x[va])
    onnx_pred = session.run([spec.output_name], {spec.input_name: x_val})[0]
    if onnx_pred.shape != (x_val.shape[0], 1):
        raise ModelError(f"exported output shape {onnx_pred.shape}, expected ({x_val.shape[0]}, 1)", model=spec.name)
    skl_pred = pipe.predict(np.arcsinh(x_val)).astype(np.float32)
    max_diff = float(np.max(np.abs(onnx_pred[:, 0].astype(np.float64) - skl_pred)))
    if not np.allclose(onnx_pred[:, 0], skl_pred, rtol=ONNX_TOLERANCE, atol=ONNX_TOLERANCE):
        raise ModelError(
            f"onnxruntime and scikit-learn disagree on validation rows by up to {max_diff:.3g}", model=spec.name
        )
    y_val, pred = data.y[va], onnx_pred[:, 0]
    names = data.slice_names()[va]
    per_slice = {
        str(n): {
            "rows": int(np.count_nonzero(names == n)),
            "mae": round(_mae(pred[names == n], y_val[names == n]), 4),
            "baseline_mae": round(_mae(data.baseline[va][names == n], y_val[names == n]), 4),
        }
        for n in sorted(set(names.tolist()))
    }
    metrics: dict[str, Any] = {
        "val_mae": round(_mae(pred, y_val), 6),
        "baseline_val_mae": round(_mae(data.baseline[va], y_val), 6),
        "val_rmse": round(_rmse(pred, y_val), 6),
        "baseline_val_rmse": round(_rmse(data.baseline[va], y_val), 6),
        "train_mae": round(_mae(pipe.predict(x_tr), data.y[tr]), 6),
        "val_by_slice": per_slice,
        "onnx_sklearn_max_abs_diff": max_diff,
        "epochs": int(pipe.named_steps["mlp"].n_iter_),
    }
    lineage: dict[str, Any] = {
        "name": spec.name,
        "version": version,
        "file": "model.onnx",
        "sha256": "",
        "input_name": spec.input_name,
        "output_name": spec.output_name,
        "n_features": len(manifest.features),
        "n_outputs": 1,
        "output": "next-period DL PRB need, % of the cell's PRBs (capped at 100)",
        "window": manifest.window,
        "measurements": list(dict.fromkeys(f.measurement for f in manifest.features)),
        "features": feature_entries(manifest.features),
        "training": {
            "pipeline": "ricsdk train demand",
            "source": "twin",
            "seed": config.seed,
            "scenarios": [scenario_ref(s) for s in scenarios],
            "runs": [
                {
                    "scenario": r.scenario.name,
                    "split": r.split,
                    "seed": r.seed,
                    "explore_seed": r.explore_seed,
                    "ticks": r.scenario.ticks if r.ticks is None else min(r.ticks, r.scenario.ticks),
                }
                for r in runs
            ],
            "label": "the slice's DL PRB need in the next tick, (backlog + arrivals) / (bits per PRB x tick), "
            "% of the cell's PRBs, capped at 100",
            "exploration": asdict(config.exploration),
            "split": "by run: validation runs are whole runs from their own seeds",
            "rows_train": int(np.count_nonzero(tr)),
            "rows_val": int(np.count_nonzero(va)),
            "rows_skipped_not_ready_incomplete_or_unlabelled": data.skipped,
            "data_sha256": data.digest(),
            "estimator": "asinh + StandardScaler + MLPRegressor",
            "export": {
                "skl2onnx_target_opset": {"": 17, "ai.onnx.ml": 3},
                "output_layout_fixed": "final Reshape [-1, 1] -> [-1, 1 output], output declared [N, 1]",
                "input_transform": "Asinh node prepended to the graph input",
                "negligible_weights_zeroed": flushed,
            },
            "hyperparameters": {
                "hidden_layer_sizes": list(config.hidden),
                "max_iter": config.max_iter,
                "batch_size": config.batch_size,
                "learning_rate_init": config.learning_rate,
                "alpha": config.alpha,
                "early_stopping": True,
                "n_iter_no_change": 8,
            },
        },
        "metrics": metrics,
        "versions": library_versions({"sklearn": sklearn.__version__, "skl2onnx": skl2onnx.__version__}),
    }
    artifact = Artifact(onnx_bytes, lineage)
    lineage["sha256"] = artifact.sha256
    log.info(
        "demand model trained",
        rows_train=lineage["training"]["rows_train"],
        val_mae=metrics["val_mae"],
        baseline_val_mae=metrics["baseline_val_mae"],
        sha256=artifact.sha256,
    )
    return DemandResult(artifact, data)


def check_beats_baseline(result: DemandResult) -> None:
    """Refuse a model whose validation MAE does not beat repeating the last reported PRB usage."""
    m = result.metrics
    if m["val_mae"] >= m["baseline_val_mae"]:
        raise ModelError(
            f"validation MAE {m['val_mae']} does not beat the last-PRB-usage baseline {m['baseline_val_mae']}",
            model=result.artifact.lineage["name"],
        )
