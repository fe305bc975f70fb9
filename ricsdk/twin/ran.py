"""The twin's RAN model: PRB quotas and offered load -> per-slice throughput, delay and PRB usage.

Theory of operation (the full description, with the equations, is ``docs/twin.md``)
------------------------------------------------------------------------------------
Time advances in ticks of ``T`` seconds. Every array has the slices on its last axis and any leading shape
(the twin uses ``(direction, cell, slice)``), so one call computes a whole tick for every cell and slice.

*Allocation* (:func:`allocate`), per cell of ``N`` PRBs, from the RRM policy ratios in force (TS 28.541):
``ded = dedicated% * N``, ``pmin = min% * N`` (it includes the dedicated share), ``cap = max% * N``. When the
prioritised shares add up to more than the cell, their non-dedicated parts are scaled down to fit. A slice that
needs ``d`` PRBs (to drain its backlog and this tick's arrivals) first takes ``min(d, pmin)``. Dedicated PRBs
are never lent, even when idle; prioritised PRBs a slice does not need go to the shared pool, which is what is
left of the cell. The pool is water-filled among slices that still want PRBs (up to ``min(d, cap)``) in
proportion to their weights (``1 / priority``). What a slice could have had with unlimited demand is its
*available* PRBs: ``min(cap, max(used, ded) + idle)``.

*Queueing* (:func:`serve`), per slice: a fluid FIFO. The backlog ``Q0`` carried from the previous tick and
the tick's arrivals ``A`` (spread evenly over the tick) are served at the rate of the available PRBs
``mu = avail * r`` (``r`` bit/s per PRB). If ``mu * T >= Q0 + A`` everything is served, the backlog drains
at ``t* = Q0 / (mu - A/T)`` and the mean backlog is ``Q0 * t* / 2T``; otherwise ``mu * T`` is served, the rest
is carried over and the mean backlog is ``(Q0 + Q1) / 2``. The delay is the slice's base delay plus the mean
backlog over the rate at which traffic goes through (Little's law with ``max(A/T, served/T)``). Nothing is
dropped: under overload the backlog, and with it the delay, grows without bound.

Used PRBs are what the served bits needed (``served / (r T)``), so used <= available <= cap and the used
PRBs of a cell never exceed ``N``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Allocation",
    "Policy",
    "QueueResult",
    "RanModel",
    "TickOutcome",
    "allocate",
    "allocate_with",
    "policy",
    "serve",
    "waterfill",
]

F64 = NDArray[np.float64]
#: Percentages, PRBs and weights may be integer or float arrays (or scalars that broadcast).
Num = ArrayLike
_EPS = 1e-9


def waterfill(pool: F64, want: F64, weights: F64) -> F64:
    """Share ``pool`` (shape ``L``) among the slices of ``want`` (shape ``L + (S,)``) in proportion to
    ``weights`` (``(S,)``), never giving a slice more than it wants. Returns what each slice gets."""
    give = np.zeros_like(want)
    rem = want.copy()
    left = pool.copy()
    for _ in range(want.shape[-1]):
        active = rem > _EPS
        if not (active & (left[..., None] > _EPS)).any():
            break
        wsum = (active * weights).sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            level = np.where(wsum > 0, left / wsum, 0.0)
        g = np.minimum(rem, weights * level[..., None]) * active
        give += g
        rem -= g
        left = np.maximum(left - g.sum(axis=-1), 0.0)
    return give


@dataclass(frozen=True, slots=True)
class Allocation:
    """PRBs (averaged over the tick) per slice: ``used`` and ``available``; ``idle`` per cell."""

    used: F64
    available: F64
    idle: F64


@dataclass(frozen=True, slots=True)
class Policy:
    """RRM policy ratios turned into PRBs per slice: ``dedicated <= prioritised <= cap`` (see :func:`policy`)."""

    prbs: F64
    dedicated: F64
    prioritised: F64
    cap: F64


def policy(prbs: Num, min_pct: Num, max_pct: Num, dedicated_pct: Num) -> Policy:
    """PRBs per slice from the ratios in force; prioritised shares that overbook the cell are scaled down.

    ``prbs`` has the leading shape ``L``, the percentages ``L + (S,)`` (or broadcast to it).
    """
    n = np.asarray(prbs, dtype=np.float64)[..., None]
    shape = np.broadcast_shapes(n.shape, np.shape(min_pct), np.shape(max_pct), np.shape(dedicated_pct))
    ded_pct = np.broadcast_to(np.clip(dedicated_pct, 0, 100), shape).astype(np.float64)
    min_pct_b = np.maximum(np.clip(min_pct, 0, 100), ded_pct)
    max_pct_b = np.maximum(np.clip(max_pct, 0, 100), min_pct_b)
    ded = ded_pct / 100.0 * n
    ded_sum = ded.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ded = np.where(ded_sum > n, ded * n / ded_sum, ded)
        ded_sum = np.minimum(ded_sum, n)
        extra = np.maximum(min_pct_b / 100.0 * n - ded, 0.0)
        extra_sum = extra.sum(axis=-1, keepdims=True)
        room = n - ded_sum
        extra = np.where(extra_sum > room, extra * room / extra_sum, extra)
    pmin = ded + np.nan_to_num(extra)
    cap = np.maximum(max_pct_b / 100.0 * n, pmin)
    return Policy(n[..., 0], ded, pmin, cap)


def allocate_with(p: Policy, demand: Num, weights: Num) -> Allocation:
    """One tick's PRB allocation under policy ``p`` for ``demand`` PRBs (see the module docstring)."""
    demand = np.maximum(np.asarray(demand, dtype=np.float64), 0.0)
    first = np.minimum(demand, p.prioritised)
    locked = np.maximum(first, p.dedicated)
    pool = np.maximum(p.prbs - locked.sum(axis=-1), 0.0)
    want = np.maximum(np.minimum(demand, p.cap) - first, 0.0)
    give = waterfill(pool, want, np.asarray(weights, dtype=np.float64))
    used = first + give
    idle = np.maximum(pool - give.sum(axis=-1), 0.0)
    available = np.minimum(p.cap, np.maximum(used, p.dedicated) + idle[..., None])
    return Allocation(used, available, idle)


def allocate(
    prbs: Num,
    min_pct: Num,
    max_pct: Num,
    dedicated_pct: Num,
    demand: Num,
    weights: Num,
) -> Allocation:
    """One tick's PRB allocation from the ratios in force (:func:`policy` then :func:`allocate_with`).

    ``prbs`` has the leading shape ``L``; the percentages and ``demand`` (PRBs) have shape ``L + (S,)`` (or
    broadcast to it); ``weights`` is ``(S,)``.
    """
    d = np.asarray(demand, dtype=np.float64)
    shape = np.broadcast_shapes(d.shape, np.shape(min_pct), np.shape(max_pct), np.shape(dedicated_pct))
    return allocate_with(
        policy(prbs, np.broadcast_to(min_pct, shape), max_pct, dedicated_pct), np.broadcast_to(d, shape), weights
    )


@dataclass(frozen=True, slots=True)
class QueueResult:
    """One tick of the fluid queue: bits served, backlog left, mean backlog and queueing delay (s)."""

    served: F64
    backlog: F64
    mean_backlog: F64
    queueing_delay: F64


def serve(backlog: F64, arrivals: F64, rate: F64, tick_s: float) -> QueueResult:
    """Serve ``backlog + arrivals`` bits at ``rate`` bit/s for one tick (see the module docstring).

    The queueing delay is NaN where nothing arrived and nothing waited, and infinite where bits wait and
    nothing can be served.
    """
    total = backlog + arrivals
    capacity = rate * tick_s
    drains = capacity >= total
    served = np.minimum(total, capacity)
    left = total - served
    arrival_rate = arrivals / tick_s
    with np.errstate(divide="ignore", invalid="ignore"):
        t_empty = np.where(backlog > 0, backlog / np.maximum(rate - arrival_rate, _EPS), 0.0)
        mean_backlog = np.where(drains, backlog * np.minimum(t_empty, tick_s) / (2.0 * tick_s), (backlog + left) / 2.0)
        through = np.maximum(arrival_rate, served / tick_s)
        delay = np.where(through > 0, mean_backlog / through, np.where(backlog > 0, np.inf, np.nan))
    return QueueResult(served, left, mean_backlog, delay)


@dataclass(frozen=True, slots=True)
class TickOutcome:
    """What one tick produced, shape ``L + (S,)``: bits offered/served, PRBs used/available, delay (ms),
    backlog left (bits)."""

    offered_bits: F64
    served_bits: F64
    used_prbs: F64
    available_prbs: F64
    delay_ms: F64
    backlog_bits: F64


class RanModel:
    """The model's state (the backlog per leading index and slice) and its tick function.

    ``prbs`` has the leading shape ``L`` (e.g. ``(directions, cells)``); ``weights`` and ``base_delay_ms`` are
    ``(S,)``.
    """

    def __init__(self, prbs: F64, weights: F64, base_delay_ms: F64, tick_s: float) -> None:
        self.prbs = np.asarray(prbs, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.base_delay_ms = np.asarray(base_delay_ms, dtype=np.float64)
        self.tick_s = float(tick_s)
        self.backlog: F64 = np.zeros((*self.prbs.shape, self.weights.shape[0]))
        self._policy: Policy | None = None
        self._policy_key: tuple[bytes, bytes, bytes] | None = None

    def reset(self) -> None:
        self.backlog = np.zeros_like(self.backlog)

    def _policy_for(self, min_pct: Num, max_pct: Num, dedicated_pct: Num) -> Policy:
        """The policy of the ratios in force, recomputed only when they change."""
        key = (
            np.ascontiguousarray(min_pct).tobytes(),
            np.ascontiguousarray(max_pct).tobytes(),
            np.ascontiguousarray(dedicated_pct).tobytes(),
        )
        if self._policy is None or key != self._policy_key:
            shape = (*self.prbs.shape, self.weights.shape[0])
            self._policy = policy(self.prbs, np.broadcast_to(min_pct, shape), max_pct, dedicated_pct)
            self._policy_key = key
        return self._policy

    def step(self, min_pct: Num, max_pct: Num, dedicated_pct: Num, arrivals: F64, prb_rate: F64) -> TickOutcome:
        """Advance one tick: ``arrivals`` in bits and ``prb_rate`` in bit/s per PRB, shape ``L + (S,)``."""
        tick = self.tick_s
        with np.errstate(divide="ignore", invalid="ignore"):
            demand = np.where(prb_rate > 0, (self.backlog + arrivals) / (prb_rate * tick), 0.0)
        alloc = allocate_with(self._policy_for(min_pct, max_pct, dedicated_pct), demand, self.weights)
        q = serve(self.backlog, arrivals, alloc.available * prb_rate, tick)
        self.backlog = q.backlog
        with np.errstate(divide="ignore", invalid="ignore"):
            used = np.where(prb_rate > 0, q.served / (prb_rate * tick), 0.0)
        delay_ms = self.base_delay_ms + 1000.0 * q.queueing_delay
        return TickOutcome(arrivals, q.served, np.minimum(used, alloc.available), alloc.available, delay_ms, q.backlog)
