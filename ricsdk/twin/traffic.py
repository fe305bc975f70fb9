"""Offered load per cell and slice, tick by tick, from a scenario's traffic description.

The mean DL load of slice ``s`` in cell ``c`` at time ``t`` (seconds since the scenario start) is built in
this order:

1. ``load_mbps[s] * cell.load[c] * spread[c]``, where ``spread`` is a log-normal factor of mean 1 drawn once
   per cell from the scenario seed (``load_spread`` is its sigma);
2. times the slice's diurnal factor;
3. flash crowds multiply the load of their cells by ``1 + (factor - 1) * envelope(t)``;
4. mobility moves ``fraction * envelope(t)`` of the load of the ``from`` cells, shared equally, to the ``to``
   cells (the total is conserved);
5. surges (DDoS-like floods) add ``load_mbps * envelope(t)`` in their cells.

The bits arriving in a tick are the mean load times the tick length times a log-normal factor of mean 1 and
coefficient of variation ``cv`` (independent per cell, slice and tick), plus compound-Poisson bursts. UL
arrivals are ``ul_ratio`` times the DL arrivals.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ricsdk.twin.scenario import Scenario

__all__ = ["TrafficModel"]

F64 = NDArray[np.float64]


class TrafficModel:
    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self.scenario = scenario
        cells, slices = scenario.cells, scenario.slices
        n_cells, n_slices = len(cells), len(slices)
        spread = np.array([c.load_spread for c in cells])
        z = rng.standard_normal(n_cells)
        cell_factor = np.array([c.load for c in cells]) * np.exp(spread * z - spread**2 / 2.0)
        load = np.array([0.0 if t is None else t.load_mbps for t in scenario.traffic]) * 1e6
        self.base_bps: F64 = cell_factor[:, None] * load[None, :]
        self.ul_ratio: F64 = np.array([0.0 if t is None else t.ul_ratio for t in scenario.traffic])
        cv = np.array([0.0 if t is None else t.cv for t in scenario.traffic])
        self._sigma: F64 = np.sqrt(np.log1p(cv**2))
        self._bursty = [
            (s, t.bursts.rate_per_s, t.bursts.mean_mbit * 1e6)
            for s, t in enumerate(scenario.traffic)
            if t is not None and t.bursts is not None and t.bursts.rate_per_s > 0 and t.bursts.mean_mbit > 0
        ]
        self.shape = (n_cells, n_slices)

    def mean_bps(self, t: float) -> F64:
        """Mean offered DL load (bit/s) per cell and slice at ``t`` seconds."""
        lam = self.base_bps.copy()
        for s, spec in enumerate(self.scenario.traffic):
            if spec is None:
                continue
            if spec.diurnal is not None:
                lam[:, s] *= spec.diurnal.factor(t)
            for f in spec.flash_crowds:
                e = f.envelope.value(t)
                if e > 0:
                    lam[list(f.cells), s] *= 1.0 + (f.factor - 1.0) * e
            for m in spec.mobility:
                e = m.envelope.value(t)
                if e > 0:
                    src = list(m.src)
                    moved = lam[src, s] * (m.fraction * e)
                    lam[src, s] -= moved
                    lam[list(m.dst), s] += moved.sum() / len(m.dst)
            for g in spec.surges:
                e = g.envelope.value(t)
                if e > 0:
                    lam[list(g.cells), s] += g.load_mbps * 1e6 * e
        return lam

    def arrivals(self, t: float, tick_s: float, rng: np.random.Generator) -> F64:
        """Bits arriving in the DL during the tick that starts at ``t`` (per cell and slice)."""
        lam = self.mean_bps(t)
        sigma = self._sigma
        noise = np.exp(sigma * rng.standard_normal(self.shape) - sigma**2 / 2.0)
        bits = lam * tick_s * noise
        for s, rate, mean_bits in self._bursty:
            k = rng.poisson(rate * tick_s, self.shape[0])
            bits[:, s] += np.where(k > 0, rng.gamma(np.maximum(k, 1), mean_bits), 0.0)
        return bits

    def describe(self) -> dict[str, float]:
        """Mean base load figures, for logs."""
        total = float(self.base_bps.sum())
        return {"cells": float(self.shape[0]), "slices": float(self.shape[1]), "mean_load_mbps": total / 1e6}
