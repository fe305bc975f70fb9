"""Training data from the twin: a model's feature rows, as the runtime builds them, and the next period's PRB need.

Theory of operation
-------------------
One *run* is a scenario simulated from a seed, in virtual time, without E2 encoding (:class:`Simulation` stepped
directly, several thousand ticks a second). After every tick:

1. the tick's KPM measurements are turned into the values the E2 nodes report (:class:`TickRecords`: integers,
   rounded and clipped as the F1 encoder writes them, ``noValue`` -> NaN as the runtime reads it) and appended to
   a :class:`~ricsdk.features.FeatureStore` built from the model's feature list and window, one row per
   (cell, slice), exactly as :class:`~ricsdk.runtime.model_xapp.ModelXApp` does with each indication;
2. the feature rows that are ready and complete are kept and labelled, one tick later, with the slice's true DL
   PRB need in that next tick: ``(backlog + arrivals) / (bits per PRB x tick)``, the demand the RAN model
   allocates against (``docs/twin.md``), as a percentage of the cell's PRBs, capped at 100 % (no quota gives
   more than the cell); :class:`NeedProbe` reads it inside the RAN model's tick;
3. the :class:`Exploration` policy sets every (cell, slice) quota for the next tick, as a control would.

The exploration policy
~~~~~~~~~~~~~~~~~~~~~~
A model trained only on uncontrolled cells would never see a slice held below its demand, yet that is where a
PRB-need predictor matters: usage is stuck at the quota while the delay grows. So every (cell, slice) holds a
*regime* for a geometric number of ticks (mean :attr:`ExplorationConfig.mean_hold_ticks`), drawn afresh when it
ends:

- *open* (probability ``open_share``): no quota, ``0 / 100 / 0`` (the twin's default);
- *tracking* (``track_share``): ``max = ratio x need`` with ``ratio`` log-uniform in ``[ratio_low, ratio_high]``
  (below and above the demand), recomputed every tick from the slice's last need, as a need-driven allocator
  does; ``min`` a uniform fraction of ``max``;
- *fixed* (the rest): ``max`` uniform in 1..100 %, ``min`` a uniform fraction of it, whatever the demand.

A controlled regime dedicates a uniform fraction of its ``min`` with probability ``dedicated_share``. Minimum
ratios of a cell that add up past 100 % are scaled down to fit. All draws come from a generator of their own,
seeded from the run's seed, in a fixed order: a run is a function of ``(scenario, seed, config)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import structlog
from numpy.typing import ArrayLike, NDArray

from ricsdk.errors import ConfigError
from ricsdk.features import FeatureSpec, FeatureStore, incomplete_rows
from ricsdk.twin.node import TickRecords
from ricsdk.twin.ran import RanModel, TickOutcome
from ricsdk.twin.scenario import Scenario
from ricsdk.twin.sim import M_PRB_DL, MEASUREMENTS, Simulation

__all__ = [
    "Dataset",
    "Exploration",
    "ExplorationConfig",
    "NeedProbe",
    "RunSpec",
    "collect",
    "collect_runs",
    "reported_values",
    "run_seeds",
]

log = structlog.get_logger(__name__)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The largest label: a slice never needs more than the whole cell from a quota.
NEED_CAP_PCT: Final = 100.0

_OPEN, _TRACK, _FIXED = 0, 1, 2


class NeedProbe(RanModel):
    """The twin's RAN model, also keeping each tick's DL PRB demand (what it allocates against)."""

    need_prbs: F64

    def __init__(self, prbs: F64, weights: F64, base_delay_ms: F64, tick_s: float) -> None:
        super().__init__(prbs, weights, base_delay_ms, tick_s)
        self.need_prbs = np.zeros(self.backlog.shape[1:])

    @classmethod
    def install(cls, sim: Simulation) -> NeedProbe:
        """Replace ``sim``'s RAN model by a probe with the same parameters (before the first tick)."""
        if sim.tick:
            raise ConfigError("the need probe must be installed before the first tick", source=sim.scenario.name)
        m = sim.model
        probe = cls(m.prbs, m.weights, m.base_delay_ms, m.tick_s)
        sim.model = probe
        return probe

    def step(
        self, min_pct: ArrayLike, max_pct: ArrayLike, dedicated_pct: ArrayLike, arrivals: F64, prb_rate: F64
    ) -> TickOutcome:
        with np.errstate(divide="ignore", invalid="ignore"):
            demand = np.where(prb_rate > 0, (self.backlog + arrivals) / (prb_rate * self.tick_s), 0.0)
        self.need_prbs = demand[0]
        return super().step(min_pct, max_pct, dedicated_pct, arrivals, prb_rate)

    def need_pct(self) -> F64:
        """The last tick's DL PRB need per (cell, slice), in % of the cell's PRBs, capped at 100 %."""
        n = self.prbs[0][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(n > 0, 100.0 * self.need_prbs / n, 0.0)
        out: F64 = np.clip(pct, 0.0, NEED_CAP_PCT)
        return out


def reported_values(records: TickRecords) -> F64:
    """The tick's measurements as the nodes report them: ``(cells, slices, len(MEASUREMENTS))``, NaN = noValue."""
    n_cells = records.ints.shape[0]
    vals = np.where(records.missing, np.nan, records.ints.astype(np.float64))
    out: F64 = vals.reshape(n_cells, -1, len(MEASUREMENTS))
    return out


@dataclass(frozen=True, slots=True)
class ExplorationConfig:
    """How the data-generation policy sets quotas (see the module docstring)."""

    open_share: float = 0.25
    track_share: float = 0.45
    mean_hold_ticks: float = 20.0
    ratio_low: float = 0.3
    ratio_high: float = 3.0
    dedicated_share: float = 0.2

    def __post_init__(self) -> None:
        if min(self.open_share, self.track_share) < 0.0 or self.open_share + self.track_share > 1.0:
            raise ConfigError("open_share and track_share must be >= 0 and add up to at most 1", source="exploration")
        if self.mean_hold_ticks < 1.0:
            raise ConfigError("mean_hold_ticks must be at least 1", source="exploration")
        if not 0.0 < self.ratio_low <= self.ratio_high:
            raise ConfigError("need 0 < ratio_low <= ratio_high", source="exploration")
        if not 0.0 <= self.dedicated_share <= 1.0:
            raise ConfigError("dedicated_share must be within 0..1", source="exploration")


class Exploration:
    """Per (cell, slice) quota regimes held for random durations (see the module docstring)."""

    def __init__(self, shape: tuple[int, int], config: ExplorationConfig, rng: np.random.Generator) -> None:
        self.shape = shape
        self.config = config
        self.rng = rng
        self.regime: I64 = np.full(shape, _OPEN, dtype=np.int64)
        self.ratio: F64 = np.ones(shape)
        self.min_frac: F64 = np.zeros(shape)
        self.fixed_max: F64 = np.full(shape, 100.0)
        self.ded_frac: F64 = np.zeros(shape)
        self._draw(np.ones(shape, dtype=bool))

    def _draw(self, where: NDArray[np.bool_]) -> None:
        c, rng, shape = self.config, self.rng, self.shape
        u = rng.random(shape)
        regime = np.where(u < c.open_share, _OPEN, np.where(u < c.open_share + c.track_share, _TRACK, _FIXED))
        ratio = np.exp(rng.uniform(np.log(c.ratio_low), np.log(c.ratio_high), shape))
        min_frac = rng.random(shape)
        fixed_max = rng.integers(1, 101, shape).astype(np.float64)
        ded_frac = np.where(rng.random(shape) < c.dedicated_share, rng.random(shape), 0.0)
        self.regime = np.where(where, regime, self.regime)
        self.ratio = np.where(where, ratio, self.ratio)
        self.min_frac = np.where(where, min_frac, self.min_frac)
        self.fixed_max = np.where(where, fixed_max, self.fixed_max)
        self.ded_frac = np.where(where, ded_frac, self.ded_frac)

    def quotas(self, need_pct: F64) -> tuple[I64, I64, I64]:
        """The next tick's ``(min, max, dedicated)`` ratios per (cell, slice), given the last need (%)."""
        self._draw(self.rng.random(self.shape) < 1.0 / self.config.mean_hold_ticks)
        tracked = np.clip(np.rint(self.ratio * need_pct), 1.0, 100.0)
        mx = np.where(self.regime == _OPEN, 100.0, np.where(self.regime == _TRACK, tracked, self.fixed_max))
        mn = np.where(self.regime == _OPEN, 0.0, np.floor(self.min_frac * mx))
        total = mn.sum(axis=1, keepdims=True)
        mn = np.where(total > 100.0, np.floor(mn * 100.0 / np.maximum(total, 1.0)), mn)
        ded = np.floor(self.ded_frac * mn)
        return mn.astype(np.int64), mx.astype(np.int64), ded.astype(np.int64)


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One simulated run: ``scenario`` from ``seed`` (traffic, radio, cell spread) and the exploration seed."""

    scenario: Scenario
    seed: int
    explore_seed: int
    split: str
    ticks: int | None = None


def run_seeds(seed: int, scenario_index: int, episode: int) -> tuple[int, int]:
    """The simulation and exploration seeds of one run, derived from the pipeline's seed."""
    sim_ss = np.random.SeedSequence(seed, spawn_key=(scenario_index, episode, 0))
    exp_ss = np.random.SeedSequence(seed, spawn_key=(scenario_index, episode, 1))
    return int(sim_ss.generate_state(1)[0]), int(exp_ss.generate_state(1)[0])


@dataclass(frozen=True, slots=True)
class Dataset:
    """Labelled feature rows.

    ``x``: the feature rows (float32, as the model reads them); ``y``: the next tick's PRB need (%); ``baseline``:
    the last reported PRB usage (%), the "repeat the last usage" predictor; ``meta``: per row ``(run, tick, cell,
    slice)`` indices; ``runs``: the runs, in index order; ``slice_names``: per run, the scenario's slice names.
    """

    x: NDArray[np.float32]
    y: NDArray[np.float32]
    baseline: NDArray[np.float32]
    meta: NDArray[np.int32]
    runs: tuple[RunSpec, ...]
    skipped: int

    def digest(self) -> str:
        """sha256 over the arrays' bytes (C order, fixed dtypes), shapes included."""
        h = hashlib.sha256()
        for a in (self.x, self.y, self.baseline, self.meta):
            h.update(repr(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def mask(self, split: str) -> NDArray[np.bool_]:
        """Rows of the runs of ``split`` ("train" or "validation")."""
        ids = np.array([i for i, r in enumerate(self.runs) if r.split == split], dtype=np.int32)
        out: NDArray[np.bool_] = np.isin(self.meta[:, 0], ids)
        return out

    def slice_names(self) -> NDArray[np.str_]:
        """The slice name of every row (from its run's scenario)."""
        names = np.array([s.name for r in self.runs for s in r.scenario.slices])
        offsets = np.cumsum([0] + [len(r.scenario.slices) for r in self.runs])[:-1]
        out: NDArray[np.str_] = names[offsets[self.meta[:, 0]] + self.meta[:, 3]]
        return out


@dataclass(frozen=True, slots=True)
class _RunRows:
    x: NDArray[np.float32]
    y: NDArray[np.float32]
    baseline: NDArray[np.float32]
    meta: NDArray[np.int32]
    skipped: int


def _measurement_columns(store: FeatureStore) -> list[int]:
    unknown = [m for m in store.measurements if m not in MEASUREMENTS]
    if unknown:
        raise ConfigError(
            f"the twin does not report {', '.join(unknown)} (it reports {', '.join(MEASUREMENTS)})",
            source="features",
        )
    return [MEASUREMENTS.index(m) for m in store.measurements]


def collect(
    run: RunSpec,
    features: Sequence[FeatureSpec],
    window: int,
    exploration: ExplorationConfig,
    *,
    run_index: int = 0,
) -> _RunRows:
    """Simulate one run under the exploration policy and return its labelled, ready and complete rows."""
    sc = run.scenario
    sim = Simulation(sc, seed=run.seed)
    probe = NeedProbe.install(sim)
    records = TickRecords(sim)
    n_cells, n_slices = sim.shape
    store = FeatureStore(features, window, initial_rows=n_cells * n_slices)
    cols = _measurement_columns(store)
    rows = store.rows([(c, s) for c in sc.cell_names for s in sc.slice_keys])
    explore = Exploration(sim.shape, exploration, np.random.default_rng(run.explore_seed))
    cell_idx = np.repeat(np.arange(n_cells, dtype=np.int32), n_slices)
    slice_idx = np.tile(np.arange(n_slices, dtype=np.int32), n_cells)
    ticks = sc.ticks if run.ticks is None else min(run.ticks, sc.ticks)
    xs: list[NDArray[np.float32]] = []
    ys: list[F64] = []
    bs: list[F64] = []
    ms: list[NDArray[np.int32]] = []
    pending: tuple[NDArray[np.bool_], NDArray[np.float32], F64, int] | None = None
    skipped = 0
    for t in range(ticks):
        result = sim.advance()
        records.update(result)
        need = probe.need_pct()
        if pending is not None:
            keep, x_prev, base_prev, t_prev = pending
            xs.append(x_prev[keep])
            ys.append(need.reshape(-1)[keep])
            bs.append(base_prev[keep])
            ms.append(
                np.stack(
                    [
                        np.full(int(keep.sum()), run_index, np.int32),
                        np.full(int(keep.sum()), t_prev, np.int32),
                        cell_idx[keep],
                        slice_idx[keep],
                    ],
                    axis=1,
                )
            )
        reported = reported_values(records)
        store.update(rows, reported[:, :, cols].reshape(n_cells * n_slices, len(cols)))
        x = store.matrix(rows)
        keep = store.ready(rows) & ~incomplete_rows(x)
        skipped += int(keep.size - np.count_nonzero(keep))
        pending = (keep, x, reported[:, :, M_PRB_DL].reshape(-1), t)
        sim.quotas.set_all(*explore.quotas(need))
    if pending is not None:
        skipped += int(np.count_nonzero(pending[0]))  # the last tick's rows have no next tick to label them
    log.info(
        "twin run collected",
        scenario=sc.name,
        seed=run.seed,
        split=run.split,
        ticks=ticks,
        rows=sum(len(a) for a in ys),
    )
    return _RunRows(
        np.concatenate(xs).astype(np.float32) if xs else np.zeros((0, len(features)), np.float32),
        np.concatenate(ys).astype(np.float32) if ys else np.zeros(0, np.float32),
        np.concatenate(bs).astype(np.float32) if bs else np.zeros(0, np.float32),
        np.concatenate(ms) if ms else np.zeros((0, 4), np.int32),
        skipped,
    )


def collect_runs(
    runs: Sequence[RunSpec], features: Sequence[FeatureSpec], window: int, exploration: ExplorationConfig
) -> Dataset:
    """:func:`collect` every run, in order, into one :class:`Dataset`."""
    parts = [collect(r, features, window, exploration, run_index=i) for i, r in enumerate(runs)]
    return Dataset(
        np.concatenate([p.x for p in parts]),
        np.concatenate([p.y for p in parts]),
        np.concatenate([p.baseline for p in parts]),
        np.concatenate([p.meta for p in parts]),
        tuple(runs),
        sum(p.skipped for p in parts),
    )
