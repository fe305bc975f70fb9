"""A seeded synthetic slice-demand generator: what E2 nodes would report per slice, period by period.

Generative model (docs/flagship-model.md has it with the parameter table). Every slice has a type (eMBB,
URLLC, mMTC). Its true PRB need in period ``t``, in % of the cell's PRBs, is

    need_t = clip(base * diurnal(t) * exp(z_t) + burst_t + sync_t, 0, 100)

- ``diurnal(t) = 1 + amp * cos(2 pi (t / periods_per_day - peak))``: eMBB peaks in the evening, URLLC at midday
  (industrial), mMTC is nearly flat;
- ``z_t = phi z_{t-1} + sigma e_t``: multiplicative AR(1) noise (log-normal around the diurnal level);
- ``burst_t = decay * burst_{t-1} + sum of arrivals``: Poisson-arriving bursts of exponential size that fade
  geometrically (eMBB video starts, URLLC alarms);
- ``sync_t``: mMTC devices that report together every ``sync_every`` periods add a one-period spike.

The cell serves at most ``cap`` % of its PRBs to the slice (a static legacy quota per type), so the slice uses
``used_t = min(need_t, cap)`` and the node reports, each value missing (noValue, NaN here) with probability
``p_missing``:

- ``RRU.PrbUsedDl``: ``used_t`` with 2 % measurement noise (% of the cell's PRBs);
- ``DRB.UEThpDl``: the served traffic, ``used_t / 100 * cell_prbs * eff_t`` kbps, ``eff_t`` the slice's
  throughput per PRB (a mean-reverting random walk around its type's mean, for changing radio conditions);
- ``DRB.UEThpUl``: ``DRB.UEThpDl`` times the type's uplink ratio, with log-normal noise;
- ``DRB.RlcSduDelayDl``: ``base_delay / (1 - rho)`` with ``rho = min(used / cap, 0.95)``, plus a backlog term
  ``backlog_ms * (need - used) / cap`` when the quota is too small, with 5 % noise (ms).

The label of period ``t`` is ``need_{t+1}``: the next period's true need, which the model must predict from
what was reported up to ``t``. Everything is drawn from one ``numpy.random.Generator`` seeded by ``seed``, in
a fixed order, so a seed gives the same periods on every run.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ricsdk.e2.common import Snssai
from ricsdk.errors import ConfigError
from xapps.slice_prb_allocator.features import MEASUREMENTS

__all__ = ["DemandConfig", "Period", "SliceDemand", "SliceProfile", "SliceType", "PROFILES"]


class SliceType(enum.Enum):
    EMBB = "eMBB"
    URLLC = "URLLC"
    MMTC = "mMTC"


@dataclass(frozen=True, slots=True)
class SliceProfile:
    """The parameters of one slice type (see the module docstring for where each enters)."""

    sst: int
    base: float  # % of the cell's PRBs at the diurnal mean
    amp: float
    peak: float  # fraction of the day
    phi: float
    sigma: float
    burst_rate: float  # bursts per period
    burst_size: float  # mean % of PRBs a burst adds
    burst_decay: float
    sync_every: int  # 0: none
    sync_size: float
    cap: float  # the static legacy quota, % of the cell's PRBs
    kbps_per_prb: float
    ul_ratio: float
    base_delay_ms: float
    backlog_ms: float


PROFILES: dict[SliceType, SliceProfile] = {
    SliceType.EMBB: SliceProfile(
        sst=1, base=32.0, amp=0.55, peak=0.85, phi=0.85, sigma=0.12,
        burst_rate=0.06, burst_size=14.0, burst_decay=0.7, sync_every=0, sync_size=0.0,
        cap=70.0, kbps_per_prb=1200.0, ul_ratio=0.12, base_delay_ms=8.0, backlog_ms=60.0,
    ),
    SliceType.URLLC: SliceProfile(
        sst=2, base=12.0, amp=0.35, peak=0.45, phi=0.7, sigma=0.10,
        burst_rate=0.03, burst_size=10.0, burst_decay=0.5, sync_every=0, sync_size=0.0,
        cap=30.0, kbps_per_prb=600.0, ul_ratio=0.6, base_delay_ms=1.0, backlog_ms=10.0,
    ),
    SliceType.MMTC: SliceProfile(
        sst=3, base=5.0, amp=0.15, peak=0.1, phi=0.6, sigma=0.08,
        burst_rate=0.0, burst_size=0.0, burst_decay=0.0, sync_every=12, sync_size=7.0,
        cap=20.0, kbps_per_prb=250.0, ul_ratio=2.5, base_delay_ms=25.0, backlog_ms=200.0,
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemandConfig:
    """How many nodes, cells and slices, and the reporting details shared by all slices."""

    n_nodes: int = 4
    cells_per_node: int = 4
    slice_types: tuple[SliceType, ...] = (SliceType.EMBB, SliceType.URLLC, SliceType.MMTC)
    periods_per_day: int = 96
    cell_prbs: int = 106
    p_missing: float = 0.01

    def __post_init__(self) -> None:
        for f in ("n_nodes", "cells_per_node", "periods_per_day", "cell_prbs"):
            v = getattr(self, f)
            if type(v) is not int or v < 1:
                raise ConfigError(f"must be an int >= 1, not {v!r}", source="demand", field=f)
        if not self.slice_types or not all(isinstance(s, SliceType) for s in self.slice_types):
            raise ConfigError("must be a non-empty tuple of SliceType", source="demand", field="slice_types")
        if not 0.0 <= self.p_missing < 1.0:
            raise ConfigError("must be in [0, 1)", source="demand", field="p_missing")


@dataclass(frozen=True, slots=True)
class Period:
    """One reporting period: ``values[i]`` is what slice ``keys[i]`` reported (columns ``MEASUREMENTS``, NaN
    for noValue), ``need`` its true PRB need now and ``need_next`` in the next period (the label), in %."""

    t: int
    values: NDArray[np.float64]
    need: NDArray[np.float64]
    need_next: NDArray[np.float64]


class SliceDemand:
    """The generator: ``step()`` returns the next ``Period``; ``keys`` names the slices (node, cell, slice)."""

    measurements = MEASUREMENTS

    def __init__(self, config: DemandConfig, seed: int) -> None:
        self.config = config
        self._rng = np.random.default_rng(seed)
        rng = self._rng
        keys: list[tuple[str, str, str]] = []
        types: list[SliceType] = []
        for node in range(config.n_nodes):
            for cell in range(config.cells_per_node):
                for st in config.slice_types:
                    prof = PROFILES[st]
                    keys.append((f"gnb-{node:03d}", f"cell-{cell}", Snssai.of(prof.sst, 1).key))
                    types.append(st)
        self.keys: tuple[tuple[str, str, str], ...] = tuple(keys)
        self.types: tuple[SliceType, ...] = tuple(types)
        n = len(keys)
        profs = [PROFILES[t] for t in types]

        def col(attr: str) -> NDArray[np.float64]:
            return np.array([getattr(p, attr) for p in profs], dtype=np.float64)

        self._base = col("base") * rng.uniform(0.6, 1.4, n)
        self._amp = col("amp")
        self._peak = col("peak") + rng.uniform(-0.05, 0.05, n)
        self._phi = col("phi")
        self._sigma = col("sigma")
        self._burst_rate = col("burst_rate")
        self._burst_size = col("burst_size")
        self._burst_decay = col("burst_decay")
        self._sync_every = np.array([p.sync_every for p in profs], dtype=np.int64)
        self._sync_phase = rng.integers(0, np.maximum(self._sync_every, 1))
        self._sync_size = col("sync_size")
        self._cap = col("cap")
        self._eff_mean = col("kbps_per_prb") * rng.uniform(0.8, 1.2, n)
        self._ul_ratio = col("ul_ratio")
        self._base_delay = col("base_delay_ms")
        self._backlog = col("backlog_ms")
        self._z = rng.normal(0.0, 1.0, n) * self._sigma / np.sqrt(1.0 - self._phi**2)
        self._burst = np.zeros(n)
        self._eff = self._eff_mean.copy()
        self._t = 0
        self._need_now = self._advance(0)

    def __len__(self) -> int:
        return len(self.keys)

    def _advance(self, t: int) -> NDArray[np.float64]:
        """Draw the latent state of period ``t`` and return its true need (%)."""
        rng = self._rng
        n = len(self.keys)
        self._z = self._phi * self._z + self._sigma * rng.normal(0.0, 1.0, n)
        arrivals = rng.poisson(self._burst_rate)
        sizes = rng.exponential(1.0, n) * self._burst_size * arrivals
        self._burst = self._burst_decay * self._burst + sizes
        phase = t / self.config.periods_per_day - self._peak
        diurnal = 1.0 + self._amp * np.cos(2.0 * math.pi * phase)
        sync = np.where(
            (self._sync_every > 0) & ((t + self._sync_phase) % np.maximum(self._sync_every, 1) == 0),
            self._sync_size,
            0.0,
        )
        need: NDArray[np.float64] = np.clip(self._base * diurnal * np.exp(self._z) + self._burst + sync, 0.0, 100.0)
        return need

    def step(self) -> Period:
        """Report period ``t`` and move on to ``t + 1``."""
        rng = self._rng
        n = len(self.keys)
        t = self._t
        need = self._need_now
        need_next = self._advance(t + 1)
        self._eff = self._eff + 0.2 * (self._eff_mean - self._eff) + rng.normal(0.0, 0.05, n) * self._eff_mean
        used = np.minimum(need, self._cap)
        prb = np.clip(used * (1.0 + rng.normal(0.0, 0.02, n)), 0.0, 100.0)
        thp_dl = used / 100.0 * self.config.cell_prbs * self._eff
        thp_ul = thp_dl * self._ul_ratio * np.exp(rng.normal(0.0, 0.1, n))
        rho = np.minimum(used / self._cap, 0.95)
        delay = self._base_delay / (1.0 - rho) + self._backlog * (need - used) / self._cap
        delay = delay * (1.0 + rng.normal(0.0, 0.05, n))
        values = np.stack([thp_dl, thp_ul, prb, delay], axis=1)
        values[rng.random(values.shape) < self.config.p_missing] = np.nan
        self._need_now = need_next
        self._t = t + 1
        return Period(t, values, need, need_next)

    def set_cap(self, index: int, pct: float) -> None:
        """Cap what slice ``index`` may use from now on (% of the cell's PRBs), e.g. the max PRB quota in force."""
        if not 0.0 <= pct <= 100.0:
            raise ConfigError(f"cap must be in [0, 100], not {pct!r}", source="demand", field="cap")
        self._cap[index] = max(pct, 1e-6)

    def periods(self, count: int) -> Iterator[Period]:
        """The next ``count`` periods."""
        for _ in range(count):
            yield self.step()
