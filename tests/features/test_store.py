"""FeatureStore against straightforward per-row reference implementations, plus row allocation and counters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ricsdk.errors import ConfigError
from ricsdk.features import FeatureSpec, FeatureStore, RowIndex, WindowFn, incomplete_rows

MEAS = ("a", "b", "c")


def reference(spec: FeatureSpec, history: list[float]) -> float:
    """The feature computed the obvious way from one row's full history of one measurement (oldest first)."""
    window = history[-spec.over :]
    pts = [(len(window) - 1 - i, x) for i, x in enumerate(window)]  # (age, value)
    pts = [(age, x) for age, x in pts if not math.isnan(x)]
    if not pts:
        return math.nan
    xs = [x for _, x in pts]
    if spec.fn is WindowFn.LAST:
        return min(pts)[1]
    if spec.fn is WindowFn.MEAN:
        return sum(xs) / len(xs)
    if spec.fn is WindowFn.MAX:
        return max(xs)
    if spec.fn is WindowFn.MIN:
        return min(xs)
    if spec.fn is WindowFn.EWMA:
        assert spec.alpha is not None
        ws = [(1 - spec.alpha) ** age for age, _ in pts]
        return sum(w * x for w, (_, x) in zip(ws, pts)) / sum(ws)
    if len(pts) < 2:
        return math.nan
    ts = [spec.over - 1 - age for age, _ in pts]
    tbar = sum(ts) / len(ts)
    xbar = sum(xs) / len(xs)
    return sum((t - tbar) * (x - xbar) for t, x in zip(ts, xs)) / sum((t - tbar) ** 2 for t in ts)


@st.composite
def spec_sets(draw: st.DrawFn) -> tuple[int, list[FeatureSpec]]:
    window = draw(st.integers(1, 8))
    n = draw(st.integers(1, 6))
    specs: dict[str, FeatureSpec] = {}
    for _ in range(n):
        fn = draw(st.sampled_from(list(WindowFn)))
        lo = 2 if fn in (WindowFn.EWMA, WindowFn.SLOPE) else 1
        if window < lo:
            fn, lo = WindowFn.MEAN, 1
        over = draw(st.integers(lo, window))
        alpha = draw(st.floats(0.05, 0.99)) if fn is WindowFn.EWMA else None
        spec = FeatureSpec(draw(st.sampled_from(MEAS)), fn, over, alpha)
        specs[spec.name] = spec
    return window, list(specs.values())


values = st.one_of(st.just(math.nan), st.floats(-1000, 1000, allow_nan=False), st.integers(-5, 5).map(float))


@given(
    spec_sets(),
    st.integers(1, 5),
    st.lists(st.tuples(st.lists(st.booleans(), min_size=5, max_size=5), st.data()), min_size=0, max_size=14),
    st.randoms(use_true_random=False),
)
def test_matrix_matches_reference(
    setup: tuple[int, list[FeatureSpec]], n_rows: int, steps: list[tuple[list[bool], st.DataObject]], rnd: object
) -> None:
    """Every window function, with missing values and rows that skip periods, equals the per-row reference."""
    window, specs = setup
    store = FeatureStore(specs, window, initial_rows=2)
    rows = store.rows([f"key{i}" for i in range(n_rows)])
    hist: dict[int, dict[str, list[float]]] = {int(r): {m: [] for m in store.measurements} for r in rows}
    for mask, data in steps:
        chosen = np.array([r for r, keep in zip(rows.tolist(), mask) if keep], dtype=np.intp)
        if data.draw(st.booleans()):
            chosen = chosen[::-1].copy()
        vals = np.array([[data.draw(values) for _ in store.measurements] for _ in chosen], dtype=np.float64).reshape(
            len(chosen), len(store.measurements)
        )
        store.update(chosen, vals)
        for r, row_vals in zip(chosen.tolist(), vals.tolist()):
            for m, v in zip(store.measurements, row_vals):
                hist[r][m].append(v)
    order = rows.copy()
    rnd.shuffle(order)  # type: ignore[attr-defined]
    for query in (rows, order, rows[: max(1, n_rows // 2)]):
        x = store.matrix(query)
        assert x.dtype == np.float32 and x.flags.c_contiguous and x.shape == (len(query), len(specs))
        for i, r in enumerate(query.tolist()):
            for f, spec in enumerate(specs):
                want = reference(spec, hist[r][spec.measurement])
                got = float(x[i, f])
                if math.isnan(want):
                    assert math.isnan(got), (spec.name, hist[r][spec.measurement], got)
                else:
                    assert got == pytest.approx(want, rel=1e-5, abs=1e-4), (spec.name, hist[r][spec.measurement])
        ready = store.ready(query)
        assert ready.tolist() == [len(hist[r][store.measurements[0]]) >= store.history for r in query.tolist()]
    missing = store.stats().missing
    for m in store.measurements:
        assert missing[m] == sum(math.isnan(v) for h in hist.values() for v in h[m])


FLAGSHIP_LIKE = [
    FeatureSpec("thp", WindowFn.MEAN, 4),
    FeatureSpec("thp", WindowFn.SLOPE, 8),
    FeatureSpec("prb", WindowFn.LAST, 8),
    FeatureSpec("prb", WindowFn.EWMA, 8, 0.3),
    FeatureSpec("prb", WindowFn.MAX, 8),
]


def test_holds_last_value_and_flags_empty_features() -> None:
    """LAST holds through missing periods; a feature with nothing in its window is NaN, counted and flagged."""
    store = FeatureStore(FLAGSHIP_LIKE, window=8)
    rows = store.rows(["x", "y"])
    store.update(rows, np.array([[10.0, 50.0], [np.nan, np.nan]]))
    store.update(rows, np.array([[20.0, np.nan], [np.nan, np.nan]]))
    x = store.matrix(rows)
    assert x[0].tolist() == pytest.approx([15.0, 10.0, 50.0, 50.0, 50.0])
    assert np.isnan(x[1]).all()
    assert incomplete_rows(x).tolist() == [False, True]
    stats = store.stats()
    assert stats.nan_features == {s.name: 1 for s in FLAGSHIP_LIKE}
    assert stats.missing == {"thp": 2, "prb": 3}
    assert stats.row_periods == 4 and stats.updates == 2 and stats.matrices == 1
    assert not store.ready(rows).any()


def test_slope_is_per_period() -> None:
    store = FeatureStore([FeatureSpec("m", WindowFn.SLOPE, 4)], window=4)
    rows = store.rows(["k"])
    for v in (1.0, 3.0, np.nan, 7.0, 9.0):
        store.update(rows, np.array([[v]]))
    assert store.matrix(rows)[0, 0] == pytest.approx(2.0)


def test_row_index_doubles_and_keeps_ids() -> None:
    index = RowIndex(initial_rows=2)
    assert index.rows(["a", "b"]).tolist() == [0, 1] and index.capacity == 2
    assert index.row("c") == 2 and index.capacity == 4
    assert index.rows(["b", "d", "e", "a"]).tolist() == [1, 3, 4, 0] and index.capacity == 8
    assert index.get("zz") is None and "zz" not in index and len(index) == 5
    assert index.key(3) == "d" and index.keys() == ["a", "b", "c", "d", "e"]


def test_store_grows_by_doubling_and_keeps_history() -> None:
    """Buffers are reallocated only when a new key does not fit; existing rows keep their windows."""
    store = FeatureStore([FeatureSpec("m", WindowFn.MEAN, 3)], window=3, initial_rows=1)
    first = store.rows(["k0"])
    store.update(first, np.array([[4.0]]))
    buf = store._buf
    store.update(first, np.array([[8.0]]))
    assert store._buf is buf, "an update without new keys reallocated"
    capacities = []
    for i in range(1, 40):
        store.row(f"k{i}")
        capacities.append(store.capacity)
    assert sorted(set(capacities)) == [2, 4, 8, 16, 32, 64]
    rows = store.rows([f"k{i}" for i in range(40)])
    store.update(rows, np.full((40, 1), 6.0))
    x = store.matrix(rows)
    assert x[0, 0] == pytest.approx(6.0) and x[1:, 0] == pytest.approx(np.full(39, 6.0))
    store.update(rows, np.full((40, 1), 0.0))
    assert store.matrix(rows[:1])[0, 0] == pytest.approx((8.0 + 6.0 + 0.0) / 3)


def test_new_rows_join_the_current_ring_position() -> None:
    """A key first seen mid-run starts at the position the others write next, so they stay one group."""
    store = FeatureStore([FeatureSpec("m", WindowFn.LAST)], window=4, initial_rows=1)
    a = store.rows(["a"])
    for v in range(3):
        store.update(a, np.array([[float(v)]]))
    both = store.rows(["a", "b"])
    store.update(both, np.array([[9.0], [5.0]]))
    assert store._head[0] == store._head[1]
    assert store.matrix(both)[:, 0].tolist() == [9.0, 5.0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"measurement": "", "fn": WindowFn.MEAN}, "measurement"),
        ({"measurement": "m", "fn": "mean"}, "fn"),
        ({"measurement": "m", "fn": WindowFn.MEAN, "over": 0}, "over"),
        ({"measurement": "m", "fn": WindowFn.MEAN, "over": 2.0}, "over"),
        ({"measurement": "m", "fn": WindowFn.SLOPE, "over": 1}, "over"),
        ({"measurement": "m", "fn": WindowFn.EWMA, "over": 4}, "alpha"),
        ({"measurement": "m", "fn": WindowFn.EWMA, "over": 4, "alpha": 1.0}, "alpha"),
        ({"measurement": "m", "fn": WindowFn.EWMA, "over": 4, "alpha": True}, "alpha"),
        ({"measurement": "m", "fn": WindowFn.EWMA, "over": 4, "alpha": math.nan}, "alpha"),
        ({"measurement": "m", "fn": WindowFn.MAX, "over": 4, "alpha": 0.5}, "alpha"),
    ],
)
def test_feature_spec_refuses(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        FeatureSpec(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_store_refuses_bad_configuration_and_calls() -> None:
    spec = FeatureSpec("m", WindowFn.MAX, 4)
    with pytest.raises(ConfigError):
        FeatureStore([], window=4)
    with pytest.raises(ConfigError):
        FeatureStore([spec], window=3)
    with pytest.raises(ConfigError):
        FeatureStore([spec, FeatureSpec("m", WindowFn.MAX, 4)], window=4)
    store = FeatureStore([spec], window=4)
    rows = store.rows(["k"])
    with pytest.raises(ValueError):
        store.update(rows, np.zeros((1, 2)))
    with pytest.raises(ValueError):
        store.matrix(np.array([1]))
    with pytest.raises(ValueError):
        store.matrix(np.array([0.0]))
    assert store.matrix(np.array([], dtype=np.intp)).shape == (0, 1)
    assert spec.name == "m:max4"


def test_permuted_rows_spanning_a_range_are_gathered() -> None:
    """Rows like [0, 2, 1, 3] span a range end to end but are not in order: they take the gather path."""
    store = FeatureStore([FeatureSpec("m", WindowFn.LAST)], window=2)
    rows = store.rows(["a", "b", "c", "d"])
    store.update(rows, np.array([[0.0], [1.0], [2.0], [3.0]]))
    query = np.array([0, 2, 1, 3])
    assert store.matrix(query)[:, 0].tolist() == [0.0, 2.0, 1.0, 3.0]
    store.update(query, np.array([[10.0], [12.0], [11.0], [13.0]]))
    assert store.matrix(rows)[:, 0].tolist() == [10.0, 11.0, 12.0, 13.0]
