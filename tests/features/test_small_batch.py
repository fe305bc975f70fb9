"""The small-batch path of FeatureStore gives exactly what the general path gives, whatever the rows look like."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ricsdk.errors import ConfigError
from ricsdk.features import FeatureSpec, FeatureStore, WindowFn
from ricsdk.features.store import KERNEL_AVAILABLE
from tests.features.test_store import FLAGSHIP_LIKE, spec_sets

# Beside the reference test's values: infinities and a negative zero, which only have to agree between paths.
edgy = st.one_of(
    st.just(math.nan),
    st.floats(-1000, 1000, allow_nan=False),
    st.integers(-5, 5).map(float),
    st.sampled_from([math.inf, -math.inf, -0.0, 1e30, -1e30]),
)


def assert_same(a: FeatureStore, b: FeatureStore) -> None:
    """Same counters and ring positions."""
    assert a.stats() == b.stats()
    n = len(a.row_index)
    np.testing.assert_array_equal(a._head[:n], b._head[:n])
    assert a._clock == b._clock


@given(
    spec_sets(),
    st.integers(1, 12),
    st.integers(-2, 2),
    st.lists(st.tuples(st.lists(st.booleans(), min_size=14, max_size=14), st.data()), min_size=1, max_size=14),
)
def test_small_batches_match_the_general_path(
    setup: tuple[int, list[FeatureSpec]], n_rows: int, shift: int, steps: list[tuple[list[bool], st.DataObject]]
) -> None:
    """Same matrix, readiness and counters from the general path, the small path (in numpy and, when built, in
    C), and a store whose threshold sits next to the batch sizes so that calls switch between the two; rows skip
    periods (so they sit at different ring positions), come in any order, repeat in a query, and new rows appear
    mid-run (the rings grow)."""
    window, specs = setup
    threshold = max(1, n_rows + shift)
    stores = [
        FeatureStore(specs, window, initial_rows=1, small_rows=0),
        FeatureStore(specs, window, initial_rows=1, small_rows=64, kernel=False),
        FeatureStore(specs, window, initial_rows=1, small_rows=threshold),
    ]
    if KERNEL_AVAILABLE:
        stores.append(FeatureStore(specs, window, initial_rows=1, small_rows=64, kernel=True))
    keys = [f"k{i}" for i in range(n_rows)]
    for mask, data in steps:
        if data.draw(st.booleans()):
            keys.append(f"k{len(keys)}")
        allocated = [s.rows(keys) for s in stores]
        rows = allocated[0]
        chosen = [r for r, keep in zip(rows.tolist(), mask + [True] * len(rows)) if keep]
        order = data.draw(st.sampled_from(["as-is", "reversed", "shuffled"]))
        if order == "reversed":
            chosen.reverse()
        elif order == "shuffled":
            chosen = data.draw(st.permutations(chosen))
        ids = np.array(chosen, dtype=data.draw(st.sampled_from([np.intp, np.int32, np.uint16])))
        vals = np.array([[data.draw(edgy) for _ in stores[0].measurements] for _ in chosen], dtype=np.float64).reshape(
            len(chosen), len(stores[0].measurements)
        )
        for s in stores:
            s.update(ids, vals)
        queries = [rows, rows[::-1].copy(), rows[: data.draw(st.integers(1, len(rows)))]]
        queries.append(np.array(data.draw(st.lists(st.sampled_from(rows.tolist()), min_size=1, max_size=20))))
        for q in queries:
            got = [s.matrix(q) for s in stores]
            for x in got:
                assert x.dtype == np.float32 and x.flags.c_contiguous and x.shape == (len(q), len(specs))
                np.testing.assert_array_equal(x, got[0])
            ready = [s.ready(q) for s in stores]
            for r in ready[1:]:
                assert r.tolist() == ready[0].tolist()
        for s in stores[1:]:
            assert_same(s, stores[0])


def test_sums_add_the_ages_in_order() -> None:
    """Values whose sum depends on the order of additions: both paths add the newest age first, one by one."""
    specs = [FeatureSpec("m", WindowFn.MEAN, 16), FeatureSpec("m", WindowFn.EWMA, 16, 0.1)]
    general = FeatureStore(specs, window=16, small_rows=0)
    smalls = [FeatureStore(specs, window=16, kernel=False)]
    if KERNEL_AVAILABLE:
        smalls.append(FeatureStore(specs, window=16, kernel=True))
    for store in (general, *smalls):
        rows = store.rows(["k"])
        for v in [1e16, 1.0, -1e16, 3.0, 1.0, 1e-3, 7.0, -1.0, 1e16, 5.0, 1.0, 1.0, -1e16, 2.0, 9.0, 1.0]:
            store.update(rows, np.array([[v]]))
    x = general.matrix(np.array([0]))
    for small in smalls:
        np.testing.assert_array_equal(small.matrix(np.array([0])), x)


def test_flagship_like_batch_of_eight() -> None:
    """The decision loop's shape: 8 consecutive rows, every period, values sometimes missing."""
    rng = np.random.default_rng(11)
    general = FeatureStore(FLAGSHIP_LIKE, window=8, small_rows=0)
    small = FeatureStore(FLAGSHIP_LIKE, window=8)
    rows = general.rows(range(8))
    small.rows(range(8))
    for _ in range(20):
        v = rng.normal(50.0, 20.0, (8, 2))
        v[rng.random(v.shape) < 0.2] = np.nan
        general.update(rows, v)
        small.update(rows, v)
        np.testing.assert_array_equal(small.matrix(rows), general.matrix(rows))
    assert_same(small, general)


def test_returned_matrix_is_never_touched_again() -> None:
    """The small path reuses scratch arrays, but the matrix it returns is the caller's."""
    store = FeatureStore(FLAGSHIP_LIKE, window=8)
    rows = store.rows(["a", "b"])
    store.update(rows, np.array([[1.0, 2.0], [3.0, 4.0]]))
    x = store.matrix(rows)
    kept = x.copy()
    for v in range(5):
        store.update(rows, np.full((2, 2), float(v)))
        store.matrix(rows)
        store.matrix(rows[::-1].copy())
    np.testing.assert_array_equal(x, kept)


def test_rows_changed_in_place_between_calls() -> None:
    """The last rows checked are remembered by content, so an array rewritten in place is read afresh."""
    store = FeatureStore([FeatureSpec("m", WindowFn.LAST)], window=2)
    rows = store.rows(["a", "b", "c"])
    store.update(rows, np.array([[0.0], [1.0], [2.0]]))
    query = np.array([0, 1])
    assert store.matrix(query)[:, 0].tolist() == [0.0, 1.0]
    query[:] = [2, 0]
    assert store.matrix(query)[:, 0].tolist() == [2.0, 0.0]
    query[:] = [1, 2]
    store.update(query, np.array([[11.0], [12.0]]))
    assert store.matrix(rows)[:, 0].tolist() == [0.0, 11.0, 12.0]
    query[:] = [0, 7]
    with pytest.raises(ValueError):
        store.matrix(query)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "8"])
def test_small_rows_must_be_a_count(bad: object) -> None:
    with pytest.raises(ConfigError) as err:
        FeatureStore(FLAGSHIP_LIKE, window=8, small_rows=bad)  # type: ignore[arg-type]
    assert err.value.field == "small_rows"


needs_kernel = pytest.mark.skipif(not KERNEL_AVAILABLE, reason="ricsdk.features._kernel was not built (no C compiler)")


@needs_kernel
def test_kernel_is_the_default_when_built() -> None:
    assert FeatureStore(FLAGSHIP_LIKE, window=8).uses_kernel
    assert not FeatureStore(FLAGSHIP_LIKE, window=8, kernel=False).uses_kernel
    assert not FeatureStore(FLAGSHIP_LIKE, window=8, small_rows=0).uses_kernel


@needs_kernel
def test_advance_is_update_matrix_ready_and_incomplete() -> None:
    """The decision loop's one call per period gives what the four calls give, on both small paths."""
    rng = np.random.default_rng(5)
    ref = FeatureStore(FLAGSHIP_LIKE, window=8, kernel=False)
    fast = FeatureStore(FLAGSHIP_LIKE, window=8, kernel=True)
    rows = ref.rows(range(8))
    fast.rows(range(8))
    for period in range(12):
        v = rng.normal(50.0, 20.0, (8, 2))
        v[rng.random(v.shape) < 0.3] = np.nan
        x, ready, incomplete = fast.advance(rows, v)
        ref.update(rows, v)
        want = ref.matrix(rows)
        np.testing.assert_array_equal(x, want)
        assert ready.tolist() == ref.ready(rows).tolist() == [period + 1 >= ref.history] * 8
        assert incomplete.tolist() == np.isnan(want).any(axis=1).tolist()
    assert_same(fast, ref)


@needs_kernel
def test_kernel_refuses_bad_calls_without_writing() -> None:
    """Row ids out of range, values of the wrong shape or type, and outputs of the wrong size are ValueErrors
    from the kernel itself (so no caller mistake writes outside the rings), and nothing is appended."""
    store = FeatureStore(FLAGSHIP_LIKE, window=8, kernel=True)
    rows = store.rows(["a", "b"])
    store.update(rows, np.ones((2, 2)))
    k = store._kernel
    before = store._rings.copy()
    for ids, values in [
        (np.array([0, 5], dtype=np.intp), np.ones((2, 2))),  # 5 is not allocated
        (np.array([0, -1], dtype=np.intp), np.ones((2, 2))),
        (np.array([0, 1], dtype=np.int32), np.ones((2, 2))),  # not intp
        (np.array([0.0, 1.0]), np.ones((2, 2))),  # eight bytes each, but not integers
        (np.array([0, 1], dtype=np.intp), np.ones((2, 3))),  # one measurement too many
        (np.array([0, 1], dtype=np.intp), np.ones((2, 2), dtype=np.float32)),
        (np.zeros(0, dtype=np.intp), np.ones((0, 2))),
    ]:
        with pytest.raises(ValueError):
            k.update(ids, values, len(store.row_index))
    ids = np.array([0, 1], dtype=np.intp)
    f = len(FLAGSHIP_LIKE)
    good = (np.empty((2, f), np.float32), np.empty(2, np.bool_), np.empty(2, np.bool_))
    for out, inc, rdy in [
        (np.empty((2, f), np.float64), good[1], good[2]),
        (np.empty((3, f), np.float32), good[1], good[2]),
        (good[0], np.empty(3, np.bool_), good[2]),
        (good[0], good[1], np.empty(1, np.bool_)),
    ]:
        with pytest.raises(ValueError):
            k.matrix(ids, out, inc, rdy, len(store.row_index))
    with pytest.raises(ValueError):
        k.matrix(np.array([2], dtype=np.intp), *good, len(store.row_index))
    np.testing.assert_array_equal(store._rings, before)
    assert store.stats().row_periods == 2


def test_kernel_true_without_the_kernel_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from ricsdk.features import store as store_module

    monkeypatch.setattr(store_module, "KERNEL_AVAILABLE", False)
    with pytest.raises(ConfigError) as err:
        FeatureStore(FLAGSHIP_LIKE, window=8, kernel=True)
    assert err.value.field == "kernel"
    assert not FeatureStore(FLAGSHIP_LIKE, window=8).uses_kernel


@pytest.mark.parametrize("bad", [1, "yes", 0.0])
def test_kernel_flag_must_be_a_bool_or_none(bad: object) -> None:
    with pytest.raises(ConfigError) as err:
        FeatureStore(FLAGSHIP_LIKE, window=8, kernel=bad)  # type: ignore[arg-type]
    assert err.value.field == "kernel"


def test_kernel_built_where_required() -> None:
    """``make test`` sets RICSDK_REQUIRE_KERNEL=1: where a C compiler is there, a C extension that failed to build
    (the feature kernel, the KPM records paths, the E2AP codec paths, the policy guard) is a failure, not a silent
    fallback to Python."""
    if os.environ.get("RICSDK_REQUIRE_KERNEL") != "1":
        pytest.skip("RICSDK_REQUIRE_KERNEL is not 1: an install without the C kernel is accepted")
    assert KERNEL_AVAILABLE, "ricsdk.features._kernel did not build (see the pip install output)"
    from ricsdk.e2 import e2ap, kpm
    from ricsdk.runtime import model_xapp

    assert kpm._fast_records is not None, "ricsdk.e2._records did not build (see the pip install output)"
    assert e2ap._fast_indication is not None, "ricsdk.e2._e2ap did not build (see the pip install output)"
    assert model_xapp._guard_kernel is not None, "ricsdk.runtime._guard did not build (see the pip install output)"
