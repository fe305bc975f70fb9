"""The Gymnasium environment over the twin: Gymnasium's own checker, determinism, what actions do."""

from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from ricsdk.errors import ConfigError
from ricsdk.twin import load_scenario
from ricsdk.twin.gym import ENV_ID, FEATURES, SliceQuotaEnv, register


def _env(**kw: object) -> SliceQuotaEnv:
    return SliceQuotaEnv(load_scenario("flash_crowd"), episode_ticks=40, **kw)  # type: ignore[arg-type]


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gymnasium.make(register(), scenario=load_scenario("steady"), episode_ticks=20)
        check_env(env.unwrapped)
    assert ENV_ID in gymnasium.registry


def test_spaces_follow_the_scenario() -> None:
    env = _env()
    assert env.observation_space.shape == (8, 3, len(FEATURES))
    assert env.action_space.shape == (8, 3)


def test_episodes_are_reproducible_from_the_seed() -> None:
    def episode(seed: int) -> list[float]:
        env = _env()
        env.reset(seed=seed)
        env.action_space.seed(seed)
        return [env.step(env.action_space.sample())[1] for _ in range(10)]

    assert episode(3) == episode(3)
    assert episode(3) != episode(4)


def test_an_episode_is_truncated_after_its_ticks() -> None:
    env = _env(decision_ticks=4)
    env.reset(seed=0)
    truncated = [env.step(np.zeros((8, 3), dtype=np.float32))[3] for _ in range(10)]
    assert truncated == [False] * 9 + [True]


def test_actions_become_min_ratios_and_reserved_prbs_cost_reward() -> None:
    env = _env(cost_weight=0.5)
    env.reset(seed=1)
    _, r_free, _, _, info_free = env.step(np.zeros((8, 3), dtype=np.float32))
    assert info_free["prb_reserved_share"] == 0.0
    assert r_free == pytest.approx(info_free["sla_satisfaction"])
    action = np.full((8, 3), 0.5, dtype=np.float32)  # 1.5 per cell: scaled to 1/3 each
    obs, r_full, _, _, info_full = env.step(action)
    assert env.sim.quotas.min.tolist() == [[33, 33, 33]] * 8
    assert info_full["prb_reserved_share"] == pytest.approx(0.99)
    assert r_full == pytest.approx(info_full["sla_satisfaction"] - 0.5 * 0.99)
    assert obs[..., FEATURES.index("min_quota_share")] == pytest.approx(0.33)


def test_observations_are_normalised_kpm_features() -> None:
    env = _env()
    obs, _ = env.reset(seed=2)
    assert obs.dtype == np.float32 and obs.min() >= 0.0 and obs.max() <= 10.0
    last = env.sim.last
    assert last is not None
    # DL throughput over the SLA throughput (20 Mbit/s for eMBB)
    assert obs[0, 0, 0] == pytest.approx(last.measurements[0, 0, 0] / 20000.0, rel=1e-5)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ConfigError):
        _env(decision_ticks=0)
    env = _env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action shape"):
        env.step(np.zeros((3, 8), dtype=np.float32))
