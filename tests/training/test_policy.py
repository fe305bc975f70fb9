"""The Gymnasium-trained policy: reproducible from its seed, exported with onnx.helper as a direct-mapping model
that the runtime serves; the runtime-feature wrapper is a valid Gymnasium environment."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from gymnasium.utils.env_checker import check_env

from ricsdk.errors import ConfigError
from ricsdk.models import load_model
from ricsdk.runtime.manifest import load_manifest
from ricsdk.training.artifact import write_artifact
from ricsdk.training.export import mlp_graph
from ricsdk.training.policy import (
    MlpPolicy,
    PolicyConfig,
    PolicyResult,
    RuntimeFeatures,
    policy_manifest_text,
    rollout,
    train_policy,
)
from ricsdk.twin import load_scenario
from ricsdk.twin.gym import SliceQuotaEnv
from xapps.slice_prb_allocator.app import MANIFEST
from xapps.slice_prb_allocator.features import FEATURES, WINDOW

SMALL = PolicyConfig(seed=5, iterations=2, population=4, elite=2, episode_ticks=40, val_episodes=1)


@pytest.fixture(scope="module")
def trained() -> tuple[PolicyResult, PolicyResult]:
    m, sc = load_manifest(MANIFEST), load_scenario("flash_crowd")
    return train_policy(m, sc, SMALL), train_policy(m, sc, SMALL)


def test_same_seed_same_policy_bytes_and_metrics(trained: tuple[PolicyResult, PolicyResult]) -> None:
    a, b = trained
    assert a.artifact.onnx_bytes == b.artifact.onnx_bytes
    assert a.metrics == b.metrics and a.history == b.history
    assert len(a.history) == 2 and a.theta.shape == (len(FEATURES) + 1,)
    lin = a.artifact.lineage
    assert lin["training"]["seed"] == 5 and lin["training"]["scenario"]["name"] == "flash_crowd"
    assert lin["n_outputs"] == 3 and "gymnasium" in lin["versions"]


def test_the_exported_policy_is_served_with_a_direct_mapping(
    trained: tuple[PolicyResult, PolicyResult], tmp_path: Path
) -> None:
    res = trained[0]
    sc = load_scenario("flash_crowd")
    write_artifact(
        res.artifact, tmp_path, manifest_text=policy_manifest_text(load_manifest(MANIFEST), sc, res.artifact)
    )
    m = load_manifest(tmp_path / "manifest.yaml")
    assert m.control.mapping.kind == "direct" and m.model.n_outputs == 3
    assert m.features == FEATURES and m.subscription.e2_nodes == sc.cell_names
    assert [b.snssai.key for b in m.slices] == list(sc.slice_keys)
    loaded = load_model(m.model)
    x = np.abs(np.random.default_rng(0).normal(1000.0, 800.0, (32, len(FEATURES)))).astype(np.float32)
    out = loaded.infer(x)
    assert out.shape == (32, 3)
    assert ((out[:, 0] >= 0) & (out[:, 0] <= 100)).all()
    assert (out[:, 1] == 100).all() and (out[:, 2] == 0).all()
    want = 100.0 * MlpPolicy(len(FEATURES), (), res.mu, res.scale).share(res.theta, x)
    np.testing.assert_allclose(out[:, 0], want, rtol=1e-4, atol=1e-4)


def test_onnx_graph_equals_the_numpy_network_with_hidden_layers() -> None:
    rng = np.random.default_rng(1)
    mu, scale = rng.normal(size=4), rng.uniform(0.5, 2.0, 4)
    pol = MlpPolicy(4, (5, 3), mu, scale)
    theta = rng.normal(size=pol.n_params)
    layers = pol.layers(theta)
    proto = mlp_graph(
        layers,
        input_name="x",
        output_name="y",
        input_shift=mu,
        input_scale=scale,
        output_activation="sigmoid",
        output_scale=np.array([100.0]),
        output_offset=np.array([0.0]),
    )
    assert {n.op_type for n in proto.graph.node} >= {"Asinh", "MatMul", "Add", "Relu", "Sigmoid", "Mul", "Sub"}
    x = rng.uniform(-50, 5000, (64, 4)).astype(np.float32)
    got = ort.InferenceSession(proto.SerializeToString()).run(["y"], {"x": x})[0]
    np.testing.assert_allclose(got[:, 0], 100.0 * pol.share(theta, x), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="unknown output activation"):
        mlp_graph(
            layers,
            input_name="x",
            output_name="y",
            input_shift=mu,
            input_scale=scale,
            output_activation="tanh",
            output_scale=np.ones(1),
            output_offset=np.zeros(1),
        )


def test_the_runtime_feature_wrapper_passes_the_gymnasium_checker() -> None:
    env = RuntimeFeatures(SliceQuotaEnv(load_scenario("steady"), episode_ticks=20), FEATURES, WINDOW)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")
        check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert obs.shape == (len(env.sim.scenario.cells) * 3, len(FEATURES)) and not info["ready"].any()
    for _ in range(WINDOW - 1):
        obs, _, _, _, info = env.step(np.zeros(env.sim.shape, np.float32))
    assert info["ready"].all() and (obs[:, 3] >= 0).all()


def test_a_policy_that_reserves_nothing_scores_like_no_reservation() -> None:
    env = RuntimeFeatures(SliceQuotaEnv(load_scenario("flash_crowd"), episode_ticks=30), FEATURES, WINDOW)
    pol = MlpPolicy(len(FEATURES), (), np.zeros(len(FEATURES)), np.ones(len(FEATURES)))
    theta = np.zeros(pol.n_params)
    theta[-1] = -60.0  # sigmoid -> 0: floored to 0 %
    assert rollout(env, pol, theta, 4) == rollout(env, pol, None, 4)


def test_bad_policy_configs_are_refused() -> None:
    with pytest.raises(ConfigError, match="elite"):
        dataclasses.replace(SMALL, elite=9)
    with pytest.raises(ConfigError, match="init_share"):
        dataclasses.replace(SMALL, init_share=1.0)
