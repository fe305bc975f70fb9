"""The RAN model at its limits: no PRBs, overload, monotonicity in PRBs, conservation, the quota semantics."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ricsdk.twin.ran import RanModel, allocate, serve, waterfill

TICK = 0.1
S = 4
WEIGHTS = np.array([1.0, 0.5, 1 / 3, 1.0])


@st.composite
def quotas(draw: st.DrawFn, n: int = S) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RRM policy ratios with dedicated <= min <= max per slice and dedicated ratios adding up to <= 100."""
    mins, maxs, deds = [], [], []
    ded_left = 100
    for _ in range(n):
        mx = draw(st.integers(0, 100))
        mn = draw(st.integers(0, mx))
        dd = draw(st.integers(0, min(mn, ded_left)))
        ded_left -= dd
        mins.append(mn)
        maxs.append(mx)
        deds.append(dd)
    return np.array([mins]), np.array([maxs]), np.array([deds])


demands = arrays(np.float64, (1, S), elements=st.floats(0, 400, allow_nan=False))
prbs = st.integers(0, 275)


@given(prbs, quotas(), demands)
def test_allocation_conserves_prbs_and_respects_every_bound(n: int, q: tuple, demand: np.ndarray) -> None:
    mn, mx, dd = q
    a = allocate(np.array([float(n)]), mn, mx, dd, demand, WEIGHTS)
    eps = 1e-6
    assert (a.used >= -eps).all()
    assert a.used.sum() <= n + eps, "more PRBs used than the cell has"
    assert (a.used <= demand + eps).all(), "a slice got more than it needs"
    assert (a.used <= a.available + eps).all()
    assert (a.available <= np.maximum(mx, mn) / 100 * n + eps).all(), "a slice exceeded its max ratio"
    # a slice always gets its prioritised share (up to what it needs) when the shares fit the cell
    if mn.sum() <= 100:
        assert (a.used >= np.minimum(demand, mn / 100 * n) - eps).all()
    # dedicated PRBs are never lent: the others never use them
    locked = np.maximum(a.used, dd / 100 * n)
    assert locked.sum() <= n + eps


@given(prbs, quotas(), demands, st.integers(0, S - 1), st.integers(1, 100), st.booleans())
def test_more_prbs_for_a_slice_never_reduce_its_throughput(
    n: int, q: tuple, demand: np.ndarray, s: int, more: int, raise_min: bool
) -> None:
    mn, mx, dd = (x.copy() for x in q)
    before = allocate(np.array([float(n)]), mn, mx, dd, demand, WEIGHTS).used[0, s]
    if raise_min:
        mn[0, s] = min(100, mn[0, s] + more)
        mx[0, s] = max(mx[0, s], mn[0, s])
    else:
        mx[0, s] = min(100, mx[0, s] + more)
    after = allocate(np.array([float(n)]), mn, mx, dd, demand, WEIGHTS).used[0, s]
    assert after >= before - 1e-6


@given(prbs, st.integers(1, 100), quotas(), demands)
def test_a_bigger_cell_never_reduces_any_slice_throughput(n: int, more: int, q: tuple, demand: np.ndarray) -> None:
    mn, mx, dd = q
    small = allocate(np.array([float(n)]), mn, mx, dd, demand, WEIGHTS).used
    big = allocate(np.array([float(n + more)]), mn, mx, dd, demand, WEIGHTS).used
    assert (big >= small - 1e-6).all()


@given(
    arrays(np.float64, (3,), elements=st.floats(0, 1e6, allow_nan=False)),
    arrays(np.float64, (3, S), elements=st.floats(0, 1e6, allow_nan=False)),
)
def test_waterfill_never_gives_more_than_wanted_or_available(pool: np.ndarray, want: np.ndarray) -> None:
    give = waterfill(pool, want, WEIGHTS)
    assert (give <= want + 1e-6).all()
    assert (give.sum(axis=-1) <= pool + 1e-6 * np.maximum(pool, 1)).all()
    # work-conserving: the pool is exhausted or every want is met
    met = np.isclose(give, want, rtol=1e-9, atol=1e-6).all(axis=-1)
    used_up = np.isclose(give.sum(axis=-1), pool, rtol=1e-9, atol=1e-6)
    assert (met | used_up).all()


def test_waterfill_shares_in_proportion_to_weights() -> None:
    give = waterfill(np.array([90.0]), np.array([[100.0, 100.0, 100.0, 0.0]]), np.array([2.0, 1.0, 0.0 + 1e-12, 5.0]))
    assert give[0, :2] == pytest.approx([60.0, 30.0])
    assert give[0, 3] == 0.0


def test_unused_prioritised_prbs_are_shared_but_dedicated_ones_are_not() -> None:
    n = np.array([100.0])
    demand = np.array([[5.0, 200.0]])
    # slice 0 holds 40 % prioritised, needs 5 PRBs: the other slice may use the remaining 95
    a = allocate(n, np.array([[40, 0]]), np.array([[100, 100]]), np.array([[0, 0]]), demand, WEIGHTS[:2])
    assert a.used[0].tolist() == pytest.approx([5.0, 95.0])
    # the same 40 % dedicated: 35 PRBs stay idle, reserved for slice 0
    a = allocate(n, np.array([[40, 0]]), np.array([[100, 100]]), np.array([[40, 0]]), demand, WEIGHTS[:2])
    assert a.used[0].tolist() == pytest.approx([5.0, 60.0])
    assert a.available[0, 0] == pytest.approx(40.0)


def test_overbooked_prioritised_shares_are_scaled_to_the_cell() -> None:
    a = allocate(
        np.array([100.0]), np.array([[80, 80]]), np.array([[100, 100]]), np.array([[0, 0]]), [[500.0, 500.0]], [1, 1]
    )
    assert a.used[0].tolist() == pytest.approx([50.0, 50.0])


def _model(prbs: float = 100.0) -> RanModel:
    return RanModel(np.array([prbs]), np.array([1.0]), np.array([2.0]), TICK)


def _run(model: RanModel, ticks: int, arrivals_bits: float, rate: float, max_pct: int = 100) -> list:
    out = []
    for _ in range(ticks):
        out.append(
            model.step(
                np.array([[0]]), np.array([[max_pct]]), np.array([[0]]), np.array([[arrivals_bits]]), np.array([[rate]])
            )
        )
    return out


def test_no_prbs_means_no_throughput() -> None:
    for model, max_pct in ((_model(0.0), 100), (_model(100.0), 0)):
        outs = _run(model, 5, 1e6, 1e5, max_pct)
        assert all(o.served_bits[0, 0] == 0.0 for o in outs)
        assert all(o.used_prbs[0, 0] == 0.0 for o in outs)
        assert outs[-1].backlog_bits[0, 0] == pytest.approx(5e6)


def test_overload_makes_delay_grow_without_bound() -> None:
    # capacity 100 PRBs x 100 kbit/s = 10 Mbit/s, offered 12 Mbit/s: the backlog grows by 0.2 Mbit a tick
    outs = _run(_model(), 2000, 1.2e6, 1e5)
    delays = [o.delay_ms[0, 0] for o in outs]
    assert all(b > a for a, b in itertools.pairwise(delays)), "delay must keep growing"
    assert delays[-1] > 30_000, "after 200 s of overload the delay is tens of seconds"
    assert outs[-1].backlog_bits[0, 0] == pytest.approx(2000 * 0.2e6)
    assert all(o.served_bits[0, 0] == pytest.approx(1e6) for o in outs)  # the cell stays fully used


def test_delay_with_no_prbs_grows_and_is_infinite_once_nothing_moves() -> None:
    model = _model(0.0)
    delays = [o.delay_ms[0, 0] for o in _run(model, 50, 1e6, 1e5)]
    assert all(b > a for a, b in itertools.pairwise(delays))
    # no arrivals and nothing served: the waiting bits never leave
    assert np.isinf(_run(model, 1, 0.0, 1e5)[0].delay_ms[0, 0])


def test_under_capacity_the_backlog_drains_and_delay_returns_to_base() -> None:
    model = _model()
    _run(model, 10, 1.2e6, 1e5)  # build a backlog of 2 Mbit
    outs = _run(model, 40, 0.5e6, 1e5)  # then half load
    assert outs[-1].backlog_bits[0, 0] == 0.0
    assert outs[-1].delay_ms[0, 0] == pytest.approx(2.0)
    assert outs[0].delay_ms[0, 0] > outs[-1].delay_ms[0, 0]


def test_no_traffic_has_no_delay() -> None:
    outs = _run(_model(), 1, 0.0, 1e5)
    assert np.isnan(outs[0].delay_ms[0, 0])


def test_serve_carries_the_backlog_across_periods() -> None:
    q = serve(np.array([3e5]), np.array([1e6]), np.array([1e7]), TICK)  # capacity 1 Mbit a tick
    assert q.served[0] == pytest.approx(1e6)
    assert q.backlog[0] == pytest.approx(3e5)
    assert q.mean_backlog[0] == pytest.approx(3e5)
    drained = serve(np.array([1e5]), np.array([5e5]), np.array([1e7]), TICK)
    assert drained.backlog[0] == 0.0
    # the backlog empties at t* = 1e5 / (1e7 - 5e6) = 20 ms: mean backlog 1e5 * 0.02 / 0.2
    assert drained.mean_backlog[0] == pytest.approx(1e4)
