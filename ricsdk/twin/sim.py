"""The twin's simulation core: scenario + traffic + RAN model + quotas in force + SLA account, tick by tick.

No E2 here (the nodes in :mod:`ricsdk.twin.node` report what this computes) and no I/O: :meth:`Simulation.advance`
is a pure function of the state and the seeded random generator, so a run is reproducible from
``(scenario, seed)`` and the quota requests it receives.

A tick: apply the quota requests staged during the previous tick (controls take effect from the next period),
draw the tick's arrivals and radio conditions, run the RAN model for DL and UL of every cell and slice at once,
derive the KPM measurements, account the SLAs, advance the virtual clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import structlog
from numpy.typing import NDArray

from ricsdk.errors import ConfigError
from ricsdk.twin.ran import RanModel, TickOutcome
from ricsdk.twin.scenario import Scenario
from ricsdk.twin.sla import SlaAccount
from ricsdk.twin.traffic import TrafficModel

__all__ = [
    "MEASUREMENTS",
    "QuotaRejected",
    "QuotaTable",
    "Simulation",
    "TickResult",
    "VirtualClock",
]

log = structlog.get_logger(__name__)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The KPM measurements the twin reports per slice (TS 28.552 names), in the order of the measurement axis.
MEASUREMENTS: Final = (
    "DRB.UEThpDl",  # kbit/s delivered to the slice in the DL
    "DRB.UEThpUl",  # kbit/s delivered to the slice in the UL
    "RRU.PrbUsedDl",  # % of the cell's DL PRBs used by the slice
    "RRU.PrbUsedUl",  # % of the cell's UL PRBs used by the slice
    "RRU.PrbAvailDl",  # DL PRBs the slice could have used (its quota cap, the idle and its own dedicated PRBs)
    "RRU.PrbTotDl",  # % of the cell's DL PRBs used by all slices (the same under every slice label)
    "DRB.RlcSduDelayDl",  # ms, DL delay (no value when the slice had no traffic)
)
M_THP_DL, M_THP_UL, M_PRB_DL, M_PRB_UL, M_AVAIL_DL, M_TOT_DL, M_DELAY_DL = range(len(MEASUREMENTS))


class VirtualClock:
    """Nanoseconds since the Unix epoch, advanced by the simulation (call it to read it)."""

    def __init__(self, start_ns: int) -> None:
        self._now = start_ns

    def __call__(self) -> int:
        return self._now

    def advance(self, ns: int) -> None:
        self._now += ns


class QuotaRejected(Exception):
    """A quota request the twin refuses; the message says why."""


class QuotaTable:
    """RRM policy ratios (%) per cell and slice: those in force and those staged for the next tick."""

    def __init__(self, scenario: Scenario) -> None:
        n_cells, n_slices = len(scenario.cells), len(scenario.slices)
        q = [s.initial_quota for s in scenario.slices]
        self.initial: I64 = np.array([[x.min, x.max, x.dedicated] for x in q], dtype=np.int64).T.copy()
        self.min: I64 = np.broadcast_to(self.initial[0], (n_cells, n_slices)).copy()
        self.max: I64 = np.broadcast_to(self.initial[1], (n_cells, n_slices)).copy()
        self.dedicated: I64 = np.broadcast_to(self.initial[2], (n_cells, n_slices)).copy()
        self.pending: dict[int, dict[int, tuple[int, int, int]]] = {}
        self.applied = 0
        self.refused = 0

    def reset(self) -> None:
        self.min[:] = self.initial[0]
        self.max[:] = self.initial[1]
        self.dedicated[:] = self.initial[2]
        self.pending.clear()

    def in_force(self, cell: int, slice_index: int) -> tuple[int, int, int]:
        c, s = cell, slice_index
        return (int(self.min[c, s]), int(self.max[c, s]), int(self.dedicated[c, s]))

    def request(self, cell: int, updates: Mapping[int, tuple[int, int, int]]) -> None:
        """Stage ``{slice index: (min, max, dedicated)}`` for ``cell``, from the next tick on.

        Raises :class:`QuotaRejected` (and stages nothing) when a ratio set is not ``0 <= dedicated <= min <= max
        <= 100`` or when the dedicated ratios of the cell would add up to more than 100 %.
        """
        for s, (mn, mx, dd) in updates.items():
            if not 0 <= dd <= mn <= mx <= 100:
                self.refused += 1
                raise QuotaRejected(f"slice #{s}: needs 0 <= dedicated <= min <= max <= 100, got {dd}/{mn}/{mx}")
        staged = self.pending.get(cell, {})
        dedicated = 0
        for s in range(self.min.shape[1]):
            if s in updates:
                dedicated += updates[s][2]
            elif s in staged:
                dedicated += staged[s][2]
            else:
                dedicated += int(self.dedicated[cell, s])
        if dedicated > 100:
            self.refused += 1
            raise QuotaRejected(f"the dedicated ratios of the cell would add up to {dedicated} % (at most 100)")
        self.pending.setdefault(cell, {}).update(updates)

    def apply_pending(self) -> int:
        """Put the staged requests in force; returns how many (cell, slice) quotas changed."""
        n = 0
        for cell, updates in self.pending.items():
            for s, (mn, mx, dd) in updates.items():
                self.min[cell, s], self.max[cell, s], self.dedicated[cell, s] = mn, mx, dd
                n += 1
        self.pending.clear()
        self.applied += n
        return n

    def set_all(self, min_pct: I64, max_pct: I64, dedicated_pct: I64) -> None:
        """Replace every quota at once (arrays ``(cells, slices)``), validated like :meth:`request`, from the next
        tick on."""
        mn, mx, dd = (np.asarray(a, dtype=np.int64) for a in (min_pct, max_pct, dedicated_pct))
        if not ((dd >= 0) & (dd <= mn) & (mn <= mx) & (mx <= 100)).all():
            raise QuotaRejected("needs 0 <= dedicated <= min <= max <= 100 everywhere")
        if (dd.sum(axis=1) > 100).any():
            raise QuotaRejected("dedicated ratios of a cell add up to more than 100 %")
        for c in range(mn.shape[0]):
            self.pending[c] = {s: (int(mn[c, s]), int(mx[c, s]), int(dd[c, s])) for s in range(mn.shape[1])}


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one tick produced. Arrays are ``(cells, slices)``; ``measurements`` is ``(cells, slices,
    len(MEASUREMENTS))`` in KPM units; ``dl``/``ul`` are the RAN model outcomes."""

    tick: int
    start_ns: int
    dl: TickOutcome
    ul: TickOutcome
    measurements: F64
    violations: NDArray[np.bool_]


class Simulation:
    """The simulated RAN of a scenario. ``seed`` overrides the scenario's; ``clock`` is advanced by the ticks."""

    def __init__(self, scenario: Scenario, *, seed: int | None = None, clock: VirtualClock | None = None) -> None:
        if not scenario.cells or not scenario.slices:
            raise ConfigError("a scenario needs cells and slices", source=scenario.source)
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.tick_ms = scenario.tick_ms
        self.tick_s = scenario.tick_ms / 1000.0
        self.tick_ns = scenario.tick_ms * 1_000_000
        self.clock = clock or VirtualClock(scenario.start_unix_ns)
        self.cells = scenario.cells
        self.slices = scenario.slices
        self.index = {s.snssai.key: i for i, s in enumerate(self.slices)}
        n_cells, n_slices = len(self.cells), len(self.slices)
        self.shape = (n_cells, n_slices)
        self.prbs: F64 = np.array([c.prbs for c in self.cells], dtype=np.float64)
        per_prb = np.array([c.bandwidth_mhz * 1e6 * (1.0 - c.overhead) for c in self.cells])
        with np.errstate(divide="ignore", invalid="ignore"):
            self._prb_hz: F64 = np.where(self.prbs > 0, per_prb / self.prbs, 0.0)
        self._se_mean: F64 = np.array([c.se.mean for c in self.cells])[:, None]
        self._se_std: F64 = np.array([c.se.std for c in self.cells])[:, None]
        self._se_lo: F64 = np.array([c.se.min for c in self.cells])[:, None]
        self._se_hi: F64 = np.array([c.se.max for c in self.cells])[:, None]
        rho = np.array([c.se.coherence for c in self.cells])[:, None]
        self._rho: F64 = rho
        self._innov: F64 = np.sqrt(1.0 - rho**2)
        self._se_factor: F64 = np.array([s.se_factor for s in self.slices])[None, :]
        self._ul_factor: F64 = np.array([c.ul_se_factor for c in self.cells])[:, None]
        weights = np.array([1.0 / s.sla.priority for s in self.slices])
        base_delay = np.array([s.base_delay_ms for s in self.slices])
        self.model = RanModel(np.stack([self.prbs, self.prbs]), weights, base_delay, self.tick_s)
        self.quotas = QuotaTable(scenario)
        self.sla = SlaAccount(self.slices, n_cells, self.tick_s)
        self.tick = 0
        self.last: TickResult | None = None
        self._start_ns = self.clock()
        self._init_random(self.seed)
        self._observers: list[Callable[[TickResult], None]] = []

    def _init_random(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.traffic = TrafficModel(self.scenario, self.rng)
        self._se_state: F64 = self._se_std * self.rng.standard_normal(self.shape)

    def reset(self, seed: int | None = None) -> None:
        """Back to tick 0 (same scenario): empty queues, initial quotas, fresh SLA account, clock rewound."""
        if seed is not None:
            self.seed = seed
        self._init_random(self.seed)
        self.model.reset()
        self.quotas.reset()
        self.sla.reset()
        self.tick = 0
        self.last = None
        self.clock.advance(self._start_ns - self.clock())

    def add_observer(self, fn: Callable[[TickResult], None]) -> None:
        """Call ``fn`` with every tick's result (after the SLA account)."""
        self._observers.append(fn)

    @property
    def seconds(self) -> float:
        """Simulated seconds since the start."""
        return self.tick * self.tick_s

    def prb_rates(self) -> F64:
        """Draw this tick's radio conditions: bit/s per PRB, shape ``(2, cells, slices)`` (DL, UL)."""
        x = self._rho * self._se_state + self._innov * self._se_std * self.rng.standard_normal(self.shape)
        self._se_state = x
        se_dl = np.clip(self._se_mean + x, self._se_lo, self._se_hi) * self._se_factor
        rate_dl = se_dl * self._prb_hz[:, None]
        return np.stack([rate_dl, rate_dl * self._ul_factor])

    def advance(self) -> TickResult:
        """Simulate one tick."""
        self.quotas.apply_pending()
        t = self.seconds
        dl_bits = self.traffic.arrivals(t, self.tick_s, self.rng)
        arrivals = np.stack([dl_bits, dl_bits * self.traffic.ul_ratio])
        rates = self.prb_rates()
        q = self.quotas
        out = self.model.step(q.min, q.max, q.dedicated, arrivals, rates)
        dl = _direction(out, 0)
        ul = _direction(out, 1)
        meas = self.measurements(dl, ul)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(self.prbs[:, None] > 0, dl.used_prbs / self.prbs[:, None], 0.0)
        bad = self.sla.observe(dl.offered_bits, dl.served_bits, dl.delay_ms, share)
        result = TickResult(self.tick, self.clock(), dl, ul, meas, bad)
        self.last = result
        self.tick += 1
        self.clock.advance(self.tick_ns)
        for fn in self._observers:
            fn(result)
        return result

    def measurements(self, dl: TickOutcome, ul: TickOutcome) -> F64:
        """The KPM measurements of a tick, ``(cells, slices, len(MEASUREMENTS))``."""
        t = self.tick_s
        n = self.prbs[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            pct_dl = np.where(n > 0, 100.0 * dl.used_prbs / n, 0.0)
            pct_ul = np.where(n > 0, 100.0 * ul.used_prbs / n, 0.0)
        total = np.broadcast_to(pct_dl.sum(axis=1, keepdims=True), pct_dl.shape)
        return np.stack(
            [
                dl.served_bits / t / 1000.0,
                ul.served_bits / t / 1000.0,
                pct_dl,
                pct_ul,
                dl.available_prbs,
                total,
                dl.delay_ms,
            ],
            axis=-1,
        )

    def slice_index(self, keys: Sequence[str]) -> list[int]:
        return [self.index[k] for k in keys]


def _direction(out: TickOutcome, d: int) -> TickOutcome:
    return TickOutcome(
        out.offered_bits[d],
        out.served_bits[d],
        out.used_prbs[d],
        out.available_prbs[d],
        out.delay_ms[d],
        out.backlog_bits[d],
    )
