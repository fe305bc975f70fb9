"""A Gymnasium environment over the twin's simulation: observe per-slice KPM features, set PRB quotas.

Spaces (``C`` cells, ``S`` slices of the scenario):

- observation: ``Box(0, 10, (C, S, 5), float32)``, per cell and slice the last tick's KPM measurements,
  normalised: DL throughput over the slice's SLA throughput (``DRB.UEThpDl``), DL PRB usage share
  (``RRU.PrbUsedDl``), DL delay over the slice's delay target (``DRB.RlcSduDelayDl``, 0 without traffic), share
  of PRBs available to the slice (``RRU.PrbAvailDl``) and the prioritised quota in force; every feature is
  clipped to ``[0, 10]``;
- action: ``Box(0, 1, (C, S), float32)``, the prioritised PRB share wanted per slice. Shares of a cell are
  scaled down when they add up to more than 1 and floored to whole percent; they become the slices' RRM policy
  ``min`` ratios (``max`` 100 %, nothing dedicated), in force from the next tick, as a control would be;
- reward, averaged over the ``decision_ticks`` ticks an action lasts: the share of (cell, slice) samples that
  meet their SLA minus ``cost_weight`` times the mean share of PRBs reserved (the sum of the ``min`` ratios);
- an episode lasts ``episode_ticks`` ticks (the scenario's duration by default) and is then truncated.

The environment drives :class:`~ricsdk.twin.sim.Simulation` directly (no E2 encoding): the same traffic, RAN
model, quotas and SLA judgement as the E2 twin, at training speed. ``reset(seed=s)`` makes an episode
reproducible; without a seed the episode's randomness comes from the environment's ``np_random``.
"""

from __future__ import annotations

from typing import Any, Final

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from ricsdk.errors import ConfigError
from ricsdk.twin.scenario import Scenario
from ricsdk.twin.sim import M_AVAIL_DL, M_DELAY_DL, M_PRB_DL, M_THP_DL, Simulation

__all__ = ["ENV_ID", "FEATURES", "SliceQuotaEnv", "register"]

#: The observation's feature axis.
FEATURES: Final = ("throughput_ratio", "prb_used_share", "delay_ratio", "prb_available_share", "min_quota_share")
_HIGH: Final = 10.0
#: The id :func:`register` gives the environment.
ENV_ID: Final = "ricsdk/SliceQuota-v0"

Obs = NDArray[np.float32]
Act = NDArray[np.float32]


class SliceQuotaEnv(gym.Env[Obs, Act]):
    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)

    def __init__(
        self,
        scenario: Scenario,
        *,
        episode_ticks: int | None = None,
        decision_ticks: int = 1,
        cost_weight: float = 0.1,
    ) -> None:
        super().__init__()
        if decision_ticks < 1:
            raise ConfigError("must be at least 1", field="decision_ticks")
        if episode_ticks is not None and episode_ticks < 1:
            raise ConfigError("must be at least 1", field="episode_ticks")
        self.scenario = scenario
        self.sim = Simulation(scenario)
        self.episode_ticks = episode_ticks or scenario.ticks
        self.decision_ticks = decision_ticks
        self.cost_weight = cost_weight
        n_cells, n_slices = self.sim.shape
        self.observation_space = spaces.Box(0.0, _HIGH, shape=(n_cells, n_slices, len(FEATURES)), dtype=np.float32)
        self.action_space = spaces.Box(0.0, 1.0, shape=(n_cells, n_slices), dtype=np.float32)
        slices = scenario.slices
        self._thr_ref_kbps = np.array([max(s.sla.min_throughput_mbps, 1.0) * 1000.0 for s in slices])
        self._delay_ref_ms = np.array([s.sla.max_delay_ms or 100.0 for s in slices])
        self._prbs = np.maximum(self.sim.prbs, 1.0)[:, None]
        self._ticks = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Obs, dict[str, Any]]:
        super().reset(seed=seed)
        self.sim.reset(int(self.np_random.integers(0, 2**31 - 1)))
        self.sim.advance()
        self._ticks = 0
        return self._observe(), {"tick": self.sim.tick}

    def step(self, action: Act) -> tuple[Obs, float, bool, bool, dict[str, Any]]:
        a = np.nan_to_num(np.asarray(action, dtype=np.float64), nan=0.0)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action shape {a.shape}, expected {self.action_space.shape}")
        a = np.clip(a, 0.0, 1.0)
        total = a.sum(axis=1, keepdims=True)
        shares = np.where(total > 1.0, a / np.maximum(total, 1e-12), a)
        mins = np.floor(shares * 100.0 + 1e-9).astype(np.int64)
        self.sim.quotas.set_all(mins, np.full_like(mins, 100), np.zeros_like(mins))
        cost = float(mins.sum(axis=1).mean()) / 100.0
        sat = 0.0
        for _ in range(self.decision_ticks):
            result = self.sim.advance()
            sat += 1.0 - float(result.violations.mean())
            self._ticks += 1
        satisfaction = sat / self.decision_ticks
        reward = satisfaction - self.cost_weight * cost
        truncated = self._ticks >= self.episode_ticks
        info = {"tick": self.sim.tick, "sla_satisfaction": satisfaction, "prb_reserved_share": cost}
        return self._observe(), float(reward), False, truncated, info

    def _observe(self) -> Obs:
        last = self.sim.last
        if last is None:
            return np.zeros(self.observation_space.shape or (), dtype=np.float32)
        m = last.measurements
        delay = np.nan_to_num(m[..., M_DELAY_DL], nan=0.0, posinf=_HIGH * 1e6)
        obs = np.stack(
            [
                m[..., M_THP_DL] / self._thr_ref_kbps,
                m[..., M_PRB_DL] / 100.0,
                delay / self._delay_ref_ms,
                m[..., M_AVAIL_DL] / self._prbs,
                self.sim.quotas.min / 100.0,
            ],
            axis=-1,
        )
        out: Obs = np.clip(obs, 0.0, _HIGH).astype(np.float32)
        return out


def register(env_id: str = ENV_ID) -> str:
    """Register the environment with Gymnasium (``gymnasium.make(env_id, scenario=...)``); returns the id.

    Registration changes Gymnasium's global registry, so it is explicit rather than done at import.
    """
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point="ricsdk.twin.gym:SliceQuotaEnv")
    return env_id
