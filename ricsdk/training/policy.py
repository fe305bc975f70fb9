"""An alternative to the demand model: a quota policy trained in the Gymnasium environment, without PyTorch.

Theory of operation
-------------------
*Environment.* :class:`~ricsdk.twin.gym.SliceQuotaEnv` over one scenario: the action is every slice's
prioritised PRB share (its RRM ``min`` ratio; ``max`` 100 %, nothing dedicated), in force from the next tick;
the reward is the share of (cell, slice) samples meeting their SLA minus ``cost_weight`` times the mean share
reserved. :class:`RuntimeFeatures` wraps it so that the policy observes what it will observe when deployed: each
tick's KPM measurements as the E2 nodes report them, through a :class:`~ricsdk.features.FeatureStore` with the
manifest's features and window, one row per (cell, slice); rows that are not ready or complete get no
reservation (the runtime holds its quota too).

*Policy.* One small network shared by every cell and slice: ``share = sigmoid(MLP((asinh(x) - mu) / sigma))``,
with ReLU hidden layers (none by default: a logistic-linear policy of 9 parameters for the flagship's 8
features). ``mu`` and ``sigma`` are measured once, on a run without reservations. The slice type is not an
input; the policy tells slices apart by what they report (throughput, UL/DL ratio, delay).

*Training.* The cross-entropy method over the network's parameters: each iteration draws ``population``
parameter vectors from a diagonal Gaussian, scores each by its mean episode return over ``episodes`` episodes
whose seeds all candidates share (common random numbers, so candidates are compared on the same traffic), and
refits the Gaussian to the ``elite`` best (with a decaying noise floor). The result is the final mean, scored on
validation episodes of their own seeds against reserving nothing.

*Export.* The network is written with ``onnx.helper`` (Asinh, Sub, Mul, MatMul, Add, Relu, Sigmoid) with three
outputs, the ``direct`` quota mapping: ``min = 100 x share``, ``max = 100``, ``dedicated = 0`` (%), the action's
meaning in the environment. onnxruntime must agree with the numpy forward pass within 1e-4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import gymnasium as gym
import numpy as np
import onnx
import onnxruntime as ort
import structlog
import yaml
from numpy.typing import NDArray

from ricsdk.e2.common import plmn_to_mcc_mnc
from ricsdk.e2.slice_quota import QUOTA_ID_PRESETS
from ricsdk.errors import ConfigError, ModelError
from ricsdk.features import FeatureSpec, FeatureStore, incomplete_rows
from ricsdk.runtime.manifest import Manifest
from ricsdk.training.artifact import Artifact, feature_entries, library_versions, scenario_ref
from ricsdk.training.data import reported_values
from ricsdk.training.export import mlp_graph
from ricsdk.twin.gym import SliceQuotaEnv
from ricsdk.twin.node import TickRecords
from ricsdk.twin.scenario import Scenario
from ricsdk.twin.sim import MEASUREMENTS

__all__ = [
    "ONNX_TOLERANCE",
    "MlpPolicy",
    "PolicyConfig",
    "PolicyResult",
    "RuntimeFeatures",
    "policy_manifest_text",
    "rollout",
    "train_policy",
]

log = structlog.get_logger(__name__)

ONNX_TOLERANCE: Final = 1e-4
INPUT_NAME: Final = "features"
OUTPUT_NAME: Final = "quota_pct"

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    seed: int = 7
    hidden: tuple[int, ...] = ()
    iterations: int = 12
    population: int = 20
    elite: int = 5
    episodes: int = 1
    val_episodes: int = 2
    episode_ticks: int = 1200
    cost_weight: float = 0.002
    init_std: float = 1.5
    noise_floor: float = 0.3
    init_share: float = 0.1
    name: str = "slice-quota-policy"
    version: str = "1.0.0"

    def __post_init__(self) -> None:
        if not 1 <= self.elite <= self.population:
            raise ConfigError("need 1 <= elite <= population", source="policy")
        if self.iterations < 1 or self.episodes < 1 or self.val_episodes < 1:
            raise ConfigError("iterations, episodes and val_episodes must be at least 1", source="policy")
        if self.episode_ticks < 16:
            raise ConfigError("episode_ticks must be at least 16", source="policy")
        if not 0.0 < self.init_share < 1.0:
            raise ConfigError("init_share must be within (0, 1)", source="policy")


class RuntimeFeatures(gym.Wrapper[F32, NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]):
    """``SliceQuotaEnv`` observed through the runtime's features: ``(cells x slices, features)`` float32.

    Each tick's measurements go through :class:`TickRecords` (the nodes' integer reports, NaN for ``noValue``) into
    a :class:`FeatureStore`; ``info["ready"]`` flags the rows whose features are ready and complete (the others
    are zero in the observation).
    """

    def __init__(self, env: SliceQuotaEnv, features: Sequence[FeatureSpec], window: int) -> None:
        super().__init__(env)
        self.features = tuple(features)
        self.window = window
        self.sim = env.sim
        n_cells, n_slices = self.sim.shape
        self.n_rows = n_cells * n_slices
        # reported values are 32-bit unsigned integers; window functions (a slope) stay within +-2**32
        bound = float(2**32)
        self.observation_space = gym.spaces.Box(-bound, bound, (self.n_rows, len(self.features)), np.float32)
        self._new_store()

    def _new_store(self) -> None:
        self.store = FeatureStore(self.features, self.window, initial_rows=self.n_rows)
        unknown = [m for m in self.store.measurements if m not in MEASUREMENTS]
        if unknown:
            raise ConfigError(f"the twin does not report {', '.join(unknown)}", source="features")
        self._cols = [MEASUREMENTS.index(m) for m in self.store.measurements]
        self.rows = self.store.rows(range(self.n_rows))
        self.records = TickRecords(self.sim)

    def _observe(self, info: dict[str, Any]) -> F32:
        last = self.sim.last
        if last is None:
            raise ConfigError("the environment has not ticked yet", source="policy")
        self.records.update(last)
        values = reported_values(self.records)[:, :, self._cols].reshape(self.n_rows, len(self._cols))
        self.store.update(self.rows, values)
        x = self.store.matrix(self.rows)
        ready = self.store.ready(self.rows) & ~incomplete_rows(x)
        info["ready"] = ready
        out: F32 = np.where(ready[:, None], np.nan_to_num(x, nan=0.0), 0.0).astype(np.float32)
        return out

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[F32, dict[str, Any]]:
        _, info = self.env.reset(seed=seed, options=options)
        self._new_store()
        return self._observe(info), info

    def step(self, action: NDArray[np.float32]) -> tuple[F32, float, bool, bool, dict[str, Any]]:
        _, reward, terminated, truncated, info = self.env.step(action)
        return self._observe(info), float(reward), terminated, truncated, info


class MlpPolicy:
    """``share = sigmoid(MLP((asinh(x) - mu) * scale))`` with ReLU hidden layers, parameters as one flat vector."""

    def __init__(self, n_in: int, hidden: Sequence[int], mu: F64, scale: F64) -> None:
        self.sizes = [n_in, *hidden, 1]
        self.mu = mu
        self.scale = scale
        self.shapes = [(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self.n_params = sum(a * b + b for a, b in self.shapes)

    def layers(self, theta: F64) -> list[tuple[F64, F64]]:
        out, k = [], 0
        for a, b in self.shapes:
            w = theta[k : k + a * b].reshape(a, b)
            k += a * b
            out.append((w, theta[k : k + b]))
            k += b
        return out

    def initial(self, init_share: float) -> F64:
        """Zero weights and an output bias giving every slice ``init_share``."""
        theta = np.zeros(self.n_params)
        theta[-1] = math.log(init_share / (1.0 - init_share))
        return theta

    def share(self, theta: F64, x: NDArray[np.floating]) -> F64:
        h = (np.arcsinh(x.astype(np.float64)) - self.mu) * self.scale
        layers = self.layers(theta)
        for w, b in layers[:-1]:
            h = np.maximum(h @ w + b, 0.0)
        w, b = layers[-1]
        z = (h @ w + b)[:, 0]
        out: F64 = 1.0 / (1.0 + np.exp(-z))
        return out


def rollout(env: RuntimeFeatures, policy: MlpPolicy, theta: F64 | None, seed: int) -> dict[str, float]:
    """One episode (``theta`` None: reserve nothing); the return and mean SLA satisfaction and reserved share."""
    obs, info = env.reset(seed=seed)
    shape = env.sim.shape
    total, sat, cost, n = 0.0, 0.0, 0.0, 0
    done = False
    while not done:
        act = np.zeros(env.n_rows, dtype=np.float32)
        ready = info["ready"]
        if theta is not None and ready.any():
            act[ready] = policy.share(theta, obs[ready]).astype(np.float32)
        obs, reward, terminated, truncated, info = env.step(act.reshape(shape))
        total += reward
        sat += info["sla_satisfaction"]
        cost += info["prb_reserved_share"]
        n += 1
        done = terminated or truncated
    return {"return": total, "sla_satisfaction": sat / n, "prb_reserved_share": cost / n, "ticks": float(n)}


def _normaliser(env: RuntimeFeatures, seed: int) -> tuple[F64, F64]:
    """Mean and 1 / std of ``asinh`` of the ready feature rows of one episode without reservations."""
    obs, info = env.reset(seed=seed)
    rows: list[F64] = []
    done = False
    zero = np.zeros(env.sim.shape, dtype=np.float32)
    while not done:
        if info["ready"].any():
            rows.append(np.arcsinh(obs[info["ready"]].astype(np.float64)))
        obs, _, terminated, truncated, info = env.step(zero)
        done = terminated or truncated
    if not rows:
        raise ConfigError("no ready feature rows in the normalisation episode (too few ticks?)", source="policy")
    z = np.concatenate(rows)
    mu = z.mean(axis=0)
    sd = z.std(axis=0)
    return mu, 1.0 / np.where(sd > 1e-6, sd, 1.0)


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """The exported policy, its parameters (``theta``, the input normalisation ``mu`` and ``scale``) and the search
    history."""

    artifact: Artifact
    theta: F64
    mu: F64
    scale: F64
    history: list[dict[str, float]]

    @property
    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = self.artifact.lineage["metrics"]
        return out


def _seeds(rng: np.random.Generator, n: int) -> list[int]:
    return [int(s) for s in rng.integers(0, 2**31 - 1, n)]


def train_policy(template: Manifest, scenario: Scenario, config: PolicyConfig) -> PolicyResult:
    """Train the policy with the cross-entropy method in ``scenario`` and export it (see the module docstring).

    ``template`` gives the features and window (the flagship's, so the policy reads what the flagship reads).
    Raises :class:`~ricsdk.errors.ModelError` when onnxruntime and numpy disagree.
    """
    rng = np.random.default_rng(config.seed)
    base = SliceQuotaEnv(scenario, episode_ticks=config.episode_ticks, cost_weight=config.cost_weight)
    env = RuntimeFeatures(base, template.features, template.window)
    norm_seed, *_ = _seeds(rng, 1)
    mu, scale = _normaliser(env, norm_seed)
    policy = MlpPolicy(len(template.features), config.hidden, mu, scale)
    mean = policy.initial(config.init_share)
    std = np.full(policy.n_params, config.init_std)
    history: list[dict[str, float]] = []
    for it in range(config.iterations):
        seeds = _seeds(rng, config.episodes)
        cands = mean + std * rng.standard_normal((config.population, policy.n_params))
        scores = np.array([np.mean([rollout(env, policy, c, s)["return"] for s in seeds]) for c in cands])
        order = np.argsort(-scores, kind="stable")[: config.elite]
        elite = cands[order]
        mean = elite.mean(axis=0)
        floor = config.noise_floor * (1.0 - it / config.iterations)
        std = np.sqrt(elite.var(axis=0) + floor**2)
        history.append(
            {
                "iteration": it,
                "best": float(scores[order[0]]),
                "elite_mean": float(scores[order].mean()),
                "population_mean": float(scores.mean()),
                "std_mean": float(std.mean()),
            }
        )
        log.info("cem iteration", **history[-1])
    val_seeds = _seeds(rng, config.val_episodes)
    trained = [rollout(env, policy, mean, s) for s in val_seeds]
    nothing = [rollout(env, policy, None, s) for s in val_seeds]

    def avg(runs: list[dict[str, float]], key: str) -> float:
        return round(float(np.mean([r[key] for r in runs])), 6)

    layers = policy.layers(mean)
    w_out, b_out = layers[-1]
    pad_w = np.concatenate([w_out, np.zeros((w_out.shape[0], 2))], axis=1)
    pad_b = np.concatenate([b_out, np.zeros(2)])
    proto = mlp_graph(
        [*layers[:-1], (pad_w, pad_b)],
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
        input_shift=mu,
        input_scale=scale,
        output_activation="sigmoid",
        output_scale=np.array([100.0, 0.0, 0.0]),
        output_offset=np.array([0.0, 100.0, 0.0]),
        doc="Slice quota policy (min / max / dedicated %) trained with the cross-entropy method in the ricsdk twin",
    )
    onnx.helper.set_model_props(proto, {"ricsdk.model": config.name, "ricsdk.version": config.version})
    onnx_bytes = proto.SerializeToString()
    probe_x = _probe_rows(env, val_seeds[0])
    got = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"]).run(
        [OUTPUT_NAME], {INPUT_NAME: probe_x}
    )[0]
    want = np.stack([100.0 * policy.share(mean, probe_x), np.full(len(probe_x), 100.0), np.zeros(len(probe_x))], 1)
    max_diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    if got.shape != want.shape or not np.allclose(got, want, rtol=ONNX_TOLERANCE, atol=ONNX_TOLERANCE):
        raise ModelError(f"onnxruntime and the numpy policy disagree by up to {max_diff:.3g}", model=config.name)
    metrics = {
        "val_return": avg(trained, "return"),
        "val_return_no_reservation": avg(nothing, "return"),
        "val_sla_satisfaction": avg(trained, "sla_satisfaction"),
        "val_sla_satisfaction_no_reservation": avg(nothing, "sla_satisfaction"),
        "val_prb_reserved_share": avg(trained, "prb_reserved_share"),
        "onnx_numpy_max_abs_diff": max_diff,
        "probe_rows": len(probe_x),
    }
    lineage: dict[str, Any] = {
        "name": config.name,
        "version": config.version,
        "file": "model.onnx",
        "sha256": "",
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "n_features": len(template.features),
        "n_outputs": 3,
        "output": "RRM policy ratios per slice, %: min (prioritised share), max (100), dedicated (0)",
        "window": template.window,
        "measurements": list(dict.fromkeys(f.measurement for f in template.features)),
        "features": feature_entries(template.features),
        "training": {
            "pipeline": "ricsdk train policy",
            "source": "twin",
            "environment": "ricsdk.twin.gym.SliceQuotaEnv, observed through the runtime features",
            "objective": "mean episode return: SLA satisfaction share minus cost_weight x reserved PRB share, per tick",
            "method": "cross-entropy method, diagonal Gaussian, common random numbers per iteration",
            "seed": config.seed,
            "scenario": scenario_ref(scenario),
            "normalisation_seed": norm_seed,
            "validation_seeds": val_seeds,
            "config": {**asdict(config), "hidden": list(config.hidden)},
            "history": history,
        },
        "metrics": metrics,
        "versions": library_versions({"gymnasium": gym.__version__}),
    }
    artifact = Artifact(onnx_bytes, lineage)
    lineage["sha256"] = artifact.sha256
    log.info("policy trained", **metrics, sha256=artifact.sha256)
    return PolicyResult(artifact, mean, mu, scale, history)


def _probe_rows(env: RuntimeFeatures, seed: int, ticks: int = 64) -> F32:
    """Ready feature rows of the first ``ticks`` ticks of an episode without reservations (for the export check)."""
    obs, info = env.reset(seed=seed)
    rows = []
    zero = np.zeros(env.sim.shape, dtype=np.float32)
    for _ in range(ticks):
        if info["ready"].any():
            rows.append(obs[info["ready"]])
        obs, _, terminated, truncated, info = env.step(zero)
        if terminated or truncated:
            break
    out: F32 = np.ascontiguousarray(np.concatenate(rows)) if rows else np.zeros((0, obs.shape[1]), np.float32)
    return out


def policy_manifest_text(template: Manifest, scenario: Scenario, artifact: Artifact) -> str:
    """A manifest serving the policy: the template's features, the scenario's cells and slices (bounds 0..100 %,
    the environment's action), the ``direct`` mapping and no rate limit (the environment has none)."""
    lin = artifact.lineage
    mcc, mnc = plmn_to_mcc_mnc(scenario.plmn)
    param_ids = next((k for k, v in QUOTA_ID_PRESETS.items() if v == template.control.param_ids), "srsran")
    doc: dict[str, Any] = {
        "apiVersion": "ricsdk/v1",
        "kind": "ModelXApp",
        "metadata": {
            "name": lin["name"],
            "version": lin["version"],
            "description": f"Slice quota policy trained with the cross-entropy method in the twin ({scenario.name}).",
        },
        "model": {
            "name": lin["name"],
            "version": lin["version"],
            "path": "model.onnx",
            "sha256": artifact.sha256,
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
            "n_outputs": 3,
        },
        "features": {
            "window": template.window,
            "inputs": [
                {
                    k: v
                    for k, v in (
                        ("measurement", f.measurement),
                        ("fn", f.fn.value),
                        ("over", f.over),
                        ("alpha", f.alpha),
                    )
                    if v is not None
                }
                for f in template.features
            ],
        },
        "subscription": {
            "e2_nodes": list(scenario.cell_names),
            "ran_function_id": template.subscription.ran_function_id,
            "kpm_version": int(template.subscription.kpm_version.value),
            "period_ms": scenario.tick_ms,
        },
        "control": {
            "ran_function_id": template.control.ran_function_id,
            "plmn": f"{mcc}-{mnc}",
            "param_ids": param_ids,
            "mapping": {"kind": "direct"},
            "max_change_per_period": 100,
        },
        "slices": [{"snssai": s.snssai.key, "name": s.name, "min_ratio": 0, "max_ratio": 100} for s in scenario.slices],
    }
    head = "# Written by `ricsdk train policy`; see model.json for the training lineage.\n"
    return head + yaml.safe_dump(doc, sort_keys=False)
