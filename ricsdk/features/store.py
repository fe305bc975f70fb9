"""Per-slice ring buffers of KPM measurements and the vectorised feature matrix built from them."""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ricsdk.errors import ConfigError
from ricsdk.features.rows import RowIndex
from ricsdk.features.spec import FeatureSpec, WindowFn

try:  # the small-batch path in C, built with the package when a compiler is there; numpy is the fallback
    from ricsdk.features import _kernel
except ImportError:  # pragma: no cover - exercised by installs without a C compiler
    _kernel = None  # type: ignore[assignment]

KERNEL_AVAILABLE: bool = _kernel is not None
"""Whether the C small-batch kernel was built (``FeatureStore(kernel=None)`` then uses it)."""

__all__ = ["KERNEL_AVAILABLE", "FeatureStats", "FeatureStore", "incomplete_rows"]

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
Rows = NDArray[np.integer]


@dataclass(frozen=True, slots=True)
class FeatureStats:
    """Counters since the store was built.

    ``row_periods`` counts (row, period) pairs appended; ``missing`` the missing (NaN) values among them, per
    measurement; ``nan_features`` the feature values reported as NaN by ``matrix`` (no usable value in the
    window), per feature name; ``matrices`` the calls to ``matrix``.
    """

    updates: int
    row_periods: int
    matrices: int
    missing: dict[str, int]
    nan_features: dict[str, int]


def incomplete_rows(x: NDArray[np.floating]) -> NDArray[np.bool_]:
    """Rows of a feature matrix with at least one NaN feature (a feature that had no usable value)."""
    flags: NDArray[np.bool_] = np.isnan(x).any(axis=1)
    return flags


_BUF, _X0, _VF = 0, 1, 2  # the three rings: values with NaN, values with 0 for NaN, presence (1.0 / 0.0)
_SPANS_KEPT = 16  # (ring position, batch size) pairs whose block offsets the small-batch path keeps
_SIZES_KEPT = 16  # batch sizes whose scratch arrays the small-batch path keeps

SMALL_ROWS = 128
"""Default ``FeatureStore(small_rows=...)``: calls on at most this many rows take the small-batch path."""


class _Plan:
    """The slots every feature reads for one ring position, resolved once (the general path).

    A row whose next write position is ``head`` holds its value of age ``a`` (0 = newest) in slot
    ``(head - 1 - a) % window``. ``slots[f]`` lists the slots feature ``f`` reads, newest first, and
    ``weights[f]`` the matching EWMA weights ``(1 - alpha) ** a`` or SLOPE period indices ``over - 1 - a``.
    """

    __slots__ = ("slots", "weights")

    def __init__(self, specs: Sequence[FeatureSpec], window: int, head: int) -> None:
        self.slots: list[list[int]] = []
        self.weights: list[list[float]] = []
        for spec in specs:
            ages = range(spec.over)
            self.slots.append([(head - 1 - a) % window for a in ages])
            if spec.fn is WindowFn.EWMA:
                assert spec.alpha is not None
                self.weights.append([(1.0 - spec.alpha) ** a for a in ages])
            else:
                self.weights.append([float(spec.over - 1 - a) for a in ages])


class _Batch:
    """The tables of the small-batch path, which computes a whole ``matrix`` with one gather and a handful of
    array operations, whatever the number of features (the general path makes a few per feature and age).

    A *term* is one measurement of one ring read over the ``history`` newest ages; the ages at or beyond its
    feature's ``over`` (and the oldest one in a slope's ``t``-weighted sums, which the general path skips)
    read the padding slot instead (NaN, 0 and 0 in the three rings), which every window function ignores.
    ``offsets[h, a, t]`` is the flat offset in the rings of term ``t`` at age ``a`` for row 0 when its next
    write position is ``h``; row ``r`` adds ``r``. So ``take(rings, offsets[h][..., None] + rows)`` is the
    block ``[ages, terms, n]`` of every value the features of ``n`` rows at position ``h`` read (rows at
    different positions take ``offsets[heads]``). ``span(h, n)`` keeps the offsets of rows ``0 .. n - 1``, so
    consecutive rows ``lo ..`` add the scalar ``lo`` instead of a vector.

    The terms are, in order: the weighted sums, which read the zeroed ring (``x``) or the presence ring
    (``v``); the values MAX, MIN and LAST read; LAST's presence. Per MEAN or EWMA feature the sums are ``num =
    sum w x`` and ``den = sum w v`` (``w = 1`` for MEAN); per SLOPE feature ``cnt = sum v``, ``sx = sum x``,
    ``st = sum t v``, ``stt = sum t^2 v`` and ``stx = sum t x``, each kind in a run of its own. ``weights[a,
    t]`` multiplies the sums' terms, then one reduction over the leading (age) axis adds the ages one after
    the other, newest first, in the order of the general path's loop (a reduction over an outer axis with more
    than one output is a sequence of elementwise additions; there are always at least two sums). MAX and MIN
    are one ``fmax`` / ``fmin`` reduction each; LAST is the value at the first age where its presence is 1
    (age 0, a missing value, when there is none).

    The sums, two constant rows (1 and 0) and the MAX, MIN and LAST values are the rows of one table, and
    every feature is ``(A B - C D) / (A' B' - C' D')`` over rows of it: ``num 1 - 0 0`` over ``den 1 - 0 0``
    for a mean, ``cnt stx - st sx`` over ``cnt stt - st st`` for a slope (the general path's formula; it is 0
    / 0 = NaN when fewer than two values are present, since ``cnt stx = st sx`` and ``cnt stt = st st`` then
    hold exactly), ``y 1 - 0 0`` over ``1 1 - 0 0`` for a MAX, MIN or LAST value ``y``. Multiplying by 1,
    subtracting 0 and dividing by 1 are exact, so every feature goes through the same float64 operations as on
    the general path, and one division puts each in its column. ``acbd`` holds the picks in the order A, C,
    B, D, each a row of one entry per feature for the tops, then one per feature for the bottoms.
    """

    __slots__ = (
        "history",
        "terms",
        "n_sums",
        "weights",
        "acbd",
        "max_terms",
        "min_terms",
        "last_terms",
        "seen_terms",
        "max_rows",
        "min_rows",
        "last_rows",
        "has_max",
        "has_min",
        "has_last",
        "write",
        "offsets",
        "sizes",
        "_spans",
    )

    def __init__(
        self, specs: Sequence[FeatureSpec], meas_of: Sequence[int], history: int, window: int, n_meas: int
    ) -> None:
        self.history = history
        ratio = [f for f, s in enumerate(specs) if s.fn in (WindowFn.MEAN, WindowFn.EWMA)]
        slope, mx, mn, last = (
            [f for f, s in enumerate(specs) if s.fn is fn]
            for fn in (WindowFn.SLOPE, WindowFn.MAX, WindowFn.MIN, WindowFn.LAST)
        )
        # (ring, measurement, ages read, weight of each age); an age not read reads the padding slot.
        sums: list[tuple[int, int, int, list[float]]] = []
        for ring in (_X0, _VF):
            for f in ratio:
                alpha, over = specs[f].alpha, specs[f].over
                w = [1.0] * over if alpha is None else [(1.0 - alpha) ** a for a in range(over)]
                sums.append((ring, meas_of[f], over, w))
        for ring, power in ((_VF, 0), (_X0, 0), (_VF, 1), (_VF, 2), (_X0, 1)):
            for f in slope:
                over = specs[f].over
                ts = [float(over - 1 - a) for a in range(over)]
                if power == 0:
                    sums.append((ring, meas_of[f], over, [1.0] * over))
                else:  # the general path skips the oldest age (t = 0) here; so does this one (an inf * 0 is NaN)
                    sums.append((ring, meas_of[f], over - 1, ts[:-1] if power == 1 else [t * t for t in ts[:-1]]))
        reads = [(_BUF, meas_of[f], specs[f].over) for f in (*mx, *mn, *last)]
        reads += [(_VF, meas_of[f], specs[f].over) for f in last]
        self.terms: tuple[tuple[int, int, int], ...] = (*((r, m, n) for r, m, n, _ in sums), *reads)
        self.n_sums = n_sums = len(sums)
        self.weights: F64 = np.zeros((history, n_sums), dtype=np.float64)
        for t, (_, _, n, w) in enumerate(sums):
            self.weights[:n, t] = w
        ends = list(itertools.accumulate((n_sums, len(mx), len(mn), len(last), len(last))))
        self.max_terms, self.min_terms, self.last_terms, self.seen_terms = (
            slice(a, b) for a, b in itertools.pairwise(ends)
        )
        self.max_rows, self.min_rows, self.last_rows = (slice(a + 2, b + 2) for a, b in itertools.pairwise(ends[:4]))
        self.has_max, self.has_min, self.has_last = bool(mx), bool(mn), bool(last)
        one, zero = n_sums, n_sums + 1
        k1, k2 = len(ratio), len(slope)
        top: dict[int, tuple[int, int, int, int]] = {}
        bottom: dict[int, tuple[int, int, int, int]] = {}
        for j, f in enumerate(ratio):
            top[f], bottom[f] = (j, one, zero, zero), (k1 + j, one, zero, zero)
        for j, f in enumerate(slope):
            cnt, sx, st, stt, stx = (2 * k1 + b * k2 + j for b in range(5))
            top[f], bottom[f] = (cnt, stx, st, sx), (cnt, stt, st, st)
        for j, f in enumerate((*mx, *mn, *last)):
            top[f], bottom[f] = (n_sums + 2 + j, one, zero, zero), (one, one, zero, zero)
        picks = [top[f] for f in range(len(specs))] + [bottom[f] for f in range(len(specs))]
        self.acbd: NDArray[np.intp] = np.array(picks, dtype=np.intp).T[[0, 2, 1, 3]].copy()
        heads = np.arange(window, dtype=np.intp)
        self.write: NDArray[np.intp] = np.empty((window, 3 * n_meas), dtype=np.intp)
        for ring in (_BUF, _X0, _VF):
            for m in range(n_meas):
                self.write[:, ring * n_meas + m] = (ring * (window + 1) + heads) * n_meas + m
        self.offsets: NDArray[np.intp] = np.empty((window, history, len(self.terms)), dtype=np.intp)
        self.sizes: dict[int, _Scratch] = {}
        self._spans: dict[tuple[int, int], NDArray[np.intp]] = {}

    def place(self, window: int, n_meas: int, capacity: int) -> None:
        """Resolve ``offsets`` for rings ``[3, window + 1, n_meas, capacity]`` (again after every growth)."""
        heads = np.arange(window, dtype=np.intp)
        pad = np.full(window, window, dtype=np.intp)
        for a in range(self.history):
            for t, (ring, m, over) in enumerate(self.terms):
                slots = (heads - 1 - a) % window if a < over else pad
                self.offsets[:, a, t] = ((ring * (window + 1) + slots) * n_meas + m) * capacity
        self._spans.clear()

    def span(self, head: int, n: int) -> NDArray[np.intp]:
        """The block offsets of rows ``0 .. n - 1`` at position ``head`` (a few are kept)."""
        got = self._spans.get((head, n))
        if got is None:
            if len(self._spans) >= _SPANS_KEPT:
                self._spans.clear()
            got = self._spans[(head, n)] = self.offsets[head][:, :, None] + np.arange(n, dtype=np.intp)
        return got

    def scratch(self, n: int) -> _Scratch:
        """The arrays of a batch of ``n`` rows (a few batch sizes are kept)."""
        got = self.sizes.get(n)
        if got is None:
            if len(self.sizes) >= _SIZES_KEPT:
                self.sizes.clear()
            got = self.sizes[n] = _Scratch(self, n)
        return got


class _Scratch:
    """The arrays the small-batch path uses for a batch of ``n`` rows, made once per batch size.

    ``offsets`` receives the block's offsets, ``block`` the gathered values, ``products`` the sums' weighted
    terms, and ``table`` the sums, the constant rows 1 and 0 and the MAX, MIN and LAST values: these four are
    overwritten by every call and never leave the store, so the path allocates nothing large. ``weights`` are
    the sums' weights repeated for every row; ``picks`` the flat offsets in ``table`` of the A, C, B, D rows;
    ``ages[a]`` the offset of age ``a`` in the block and ``last`` the offsets of LAST's values at age 0.
    """

    __slots__ = ("offsets", "block", "products", "table", "weights", "picks", "ages", "last")

    def __init__(self, batch: _Batch, n: int) -> None:
        ages, terms, sums = batch.history, len(batch.terms), batch.n_sums
        self.offsets: NDArray[np.intp] = np.empty((ages, terms, n), dtype=np.intp)
        self.block: F64 = np.empty((ages, terms, n), dtype=np.float64)
        self.products: F64 = np.empty((ages, sums, n), dtype=np.float64)
        self.table: F64 = np.empty((batch.last_rows.stop, n), dtype=np.float64)
        self.table[sums] = 1.0
        self.table[sums + 1] = 0.0
        self.weights: F64 = np.repeat(batch.weights[:, :, None], n, axis=2)
        self.picks: NDArray[np.intp] = batch.acbd[:, :, None] * n + np.arange(n, dtype=np.intp)
        self.ages: NDArray[np.intp] = np.arange(ages, dtype=np.intp) * (terms * n)
        lt = batch.last_terms
        self.last: NDArray[np.intp] = np.arange(lt.start * n, lt.stop * n, dtype=np.intp).reshape(-1, n)


class FeatureStore:
    """Ring buffers of per-row measurements (float64, NaN = missing) and the features computed from them.

    One row per key (the runtime uses ``(e2 node, cell, slice)``), allocated on first sight through a
    ``RowIndex``; the buffers grow by doubling when a new key does not fit and are never reallocated otherwise.
    ``update`` appends one period for some rows; ``matrix`` returns the feature matrix of some rows, float32 and
    C-contiguous, one column per ``FeatureSpec`` in order.

    Semantics over the last ``over`` periods appended to a row, missing values (NaN) being ignored everywhere:

    - LAST: the newest non-missing value, so a value is held for up to ``over - 1`` missing periods;
    - MEAN, MAX, MIN: of the non-missing values;
    - EWMA: ``sum w_a x_a / sum w_a`` over the non-missing values, ``w_a = (1 - alpha) ** a`` for age ``a``
      (0 = newest), i.e. an exponentially weighted mean truncated to the window and renormalised;
    - SLOPE: the least-squares slope, per period, of the non-missing values against their period index; it
      needs two of them.

    A feature with no usable value in its window (every value missing, or fewer than two for SLOPE, or a row
    too young) is NaN in the matrix and counted in ``stats().nan_features``; ``incomplete_rows(x)`` flags such
    rows. ``ready(rows)`` says whether a row has had at least ``history`` (the largest ``over``) periods
    appended.

    Layout: one ring of ``window`` slots per row, stored time-major as ``[window, measurements, rows]`` so that
    a slot of one measurement is a contiguous vector over rows. Every window function is then a handful of
    whole-vector operations: one elementwise pass over 10,000 rows took 2 us where the same reduction over the
    short trailing axis of a row-major ``[rows, measurements, window]`` array took 47 us, and update + matrix
    run about 7 times faster than a straightforward row-major numpy implementation
    (``benchmarks/bench_models.py``, case ``features_update_matrix_10k``). Each row keeps its own write
    position; rows that share it (the usual case when every period updates every row, since new rows start at
    the current position) are computed together, and a row that lags (a period skipped it) is computed in a
    group of its own. Rows that a period skips are best updated with NaN. Rows given in ascending consecutive
    order (the order of first sight, when every period lists the same keys) are read in place; any other order
    costs a gather (about 3 times slower at 10,000 rows). Beside the NaN ring, ``update``
    keeps a copy with missing values zeroed and a presence ring (1.0 / 0.0), so sums need no masking pass.

    Small batches: that path makes a few numpy calls per feature and age, each with a fixed cost of about a
    microsecond, which is all there is to pay for the 8 slices of one indication. Calls on at most
    ``small_rows`` rows (default ``SMALL_ROWS``; 0 turns the path off) take a path of a fixed handful of calls:
    one gather of every value the features read, as a block ``[ages, terms, rows]`` with each row at its own
    ring position, then one reduction per kind of window function and one division (see ``_Batch``). It
    computes each feature with the same float64 operations in the same order, so both paths give the same
    matrix, bit for bit up to the sign of a zero; for 8 rows and the flagship's 8 features update + matrix +
    ready drop from about 95 to 20 us, and the path stays ahead up to a few hundred rows
    (``benchmarks/bench_models.py``, case ``features_update_matrix_8``). Its scratch arrays are reused across
    calls and never returned; ``matrix`` always returns a new array that the store never touches again.
    """

    def __init__(
        self,
        specs: Sequence[FeatureSpec],
        window: int,
        initial_rows: int = 64,
        *,
        small_rows: int = SMALL_ROWS,
        kernel: bool | None = None,
    ) -> None:
        specs = tuple(specs)
        if not specs:
            raise ConfigError("at least one feature is needed", source="features")
        for s in specs:
            if not isinstance(s, FeatureSpec):
                raise ConfigError(f"not a FeatureSpec: {s!r}", source="features")
        if type(window) is not int or window < 1:
            raise ConfigError(f"window must be an int >= 1, not {window!r}", source="features", field="window")
        if type(small_rows) is not int or small_rows < 0:
            raise ConfigError(
                f"small_rows must be an int >= 0, not {small_rows!r}", source="features", field="small_rows"
            )
        if kernel is not None and type(kernel) is not bool:
            raise ConfigError(f"kernel must be None, True or False, not {kernel!r}", source="features", field="kernel")
        if kernel and not KERNEL_AVAILABLE:
            raise ConfigError(
                "kernel=True, but ricsdk.features._kernel was not built (no C compiler at install)",
                source="features",
                field="kernel",
            )
        names = [s.name for s in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"duplicate features: {', '.join(dup)}", source="features")
        too_long = [s.name for s in specs if s.over > window]
        if too_long:
            raise ConfigError(f"over exceeds the window of {window}: {', '.join(too_long)}", source="features")
        self._index = RowIndex(initial_rows)
        self._specs = specs
        self._window = window
        self._measurements = tuple(dict.fromkeys(s.measurement for s in specs))
        self._meas_of = tuple(self._measurements.index(s.measurement) for s in specs)
        self._history = max(s.over for s in specs)
        self._plans = tuple(_Plan(specs, window, h) for h in range(window))
        self._small = small_rows
        self._last_few: tuple[bytes, np.dtype[Any], NDArray[np.intp], slice | None] = (
            b"",
            np.dtype(np.intp),
            np.zeros(0, dtype=np.intp),
            None,
        )
        n_meas = len(self._measurements)
        self._batch = _Batch(specs, self._meas_of, self._history, window, n_meas)
        self._next_head: NDArray[np.intp] = (np.arange(window, dtype=np.intp) + 1) % window
        cap = self._index.capacity
        self._rings: F64 = self._new_rings(cap)
        self._flat: F64 = self._rings.reshape(-1)
        self._table: F64 = self._rings.reshape(-1, cap)
        self._batch.place(window, n_meas, cap)
        self._buf: F64 = self._rings[_BUF, :window]
        self._x0: F64 = self._rings[_X0, :window]
        self._vf: F64 = self._rings[_VF, :window]
        self._head: NDArray[np.intp] = np.zeros(cap, dtype=np.intp)
        self._seen: NDArray[np.int64] = np.zeros(cap, dtype=np.int64)
        self._clock = 0
        self._updates = 0
        self._row_periods = 0
        self._matrices = 0
        self._missing: NDArray[np.int64] = np.zeros(n_meas, dtype=np.int64)
        self._nan_features: NDArray[np.int64] = np.zeros(len(specs), dtype=np.int64)
        # The small-batch path counts present values per (measurement, row of the batch) with one elementwise
        # addition per update, in one array per batch size (at most ``small_rows`` of them), and the rows it
        # appended; ``stats`` turns them into missing counts.
        self._present_by_size: dict[int, F64] = {}
        self._few_row_periods = 0
        self._use_kernel = bool(KERNEL_AVAILABLE if kernel is None else kernel) and small_rows > 0
        self._kernel: Any = None
        self._bind_kernel()

    # -- shape -------------------------------------------------------------------------------------------------

    @property
    def specs(self) -> tuple[FeatureSpec, ...]:
        return self._specs

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._specs)

    @property
    def measurements(self) -> tuple[str, ...]:
        """The measurements ``update`` takes, in column order (order of first use in the specs)."""
        return self._measurements

    @property
    def window(self) -> int:
        return self._window

    @property
    def history(self) -> int:
        """Periods a row needs before it is ``ready``: the largest ``over``."""
        return self._history

    @property
    def n_features(self) -> int:
        return len(self._specs)

    @property
    def row_index(self) -> RowIndex:
        return self._index

    @property
    def capacity(self) -> int:
        """Rows the buffers hold now (allocated or not)."""
        return int(self._buf.shape[2])

    @property
    def uses_kernel(self) -> bool:
        """Whether the small-batch path runs in C (``ricsdk.features._kernel``) rather than numpy."""
        return self._kernel is not None

    @property
    def small_rows(self) -> int:
        """Calls on at most this many rows take the small-batch path (same results, less fixed cost)."""
        return self._small

    # -- rows --------------------------------------------------------------------------------------------------

    def row(self, key: Hashable) -> int:
        """The row of ``key``, allocated (and the buffers grown) on first sight."""
        rid = self._index.row(key)
        self._fit()
        return rid

    def rows(self, keys: Iterable[Hashable]) -> NDArray[np.intp]:
        """The rows of ``keys``, allocating new ones."""
        rids = self._index.rows(keys)
        self._fit()
        return rids

    def _new_rings(self, capacity: int) -> F64:
        """Rings ``[3, window + 1, measurements, capacity]``, empty; slot ``window`` is the padding slot."""
        rings = np.zeros((3, self._window + 1, len(self._measurements), capacity), dtype=np.float64)
        rings[_BUF] = np.nan
        return rings

    def _fit(self) -> None:
        cap = self._index.capacity
        old = self._buf.shape[2]
        if cap <= old:
            return
        rings = self._new_rings(cap)
        rings[..., :old] = self._rings
        head = np.full(cap, self._clock, dtype=np.intp)
        head[:old] = self._head
        seen = np.zeros(cap, dtype=np.int64)
        seen[:old] = self._seen
        w = self._window
        self._rings, self._flat, self._table = rings, rings.reshape(-1), rings.reshape(-1, cap)
        self._head, self._seen = head, seen
        self._buf, self._x0, self._vf = rings[_BUF, :w], rings[_X0, :w], rings[_VF, :w]
        self._batch.place(w, len(self._measurements), cap)
        self._bind_kernel()

    def _bind_kernel(self) -> None:
        """(Re)build the C kernel's views of the arrays it works on; they are reallocated when the store grows."""
        if not self._use_kernel:
            return
        b = self._batch
        self._kernel = _kernel.Kernel(
            self._rings,
            self._head,
            self._seen,
            b.offsets,
            b.weights,
            b.acbd,
            self._missing,
            self._nan_features,
            window=self._window,
            n_meas=len(self._measurements),
            capacity=self._index.capacity,
            history=b.history,
            n_terms=len(b.terms),
            n_sums=b.n_sums,
            n_features=len(self._specs),
            max_lo=b.max_terms.start,
            max_hi=b.max_terms.stop,
            min_lo=b.min_terms.start,
            min_hi=b.min_terms.stop,
            last_lo=b.last_terms.start,
            last_hi=b.last_terms.stop,
            seen_lo=b.seen_terms.start,
        )

    def _check_rows(self, rows: object) -> Rows:
        if not isinstance(rows, np.ndarray) or rows.ndim != 1 or rows.dtype.kind not in "iu":
            raise ValueError("rows must be a 1-D integer numpy array")
        if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= len(self._index)):
            raise ValueError(f"rows must be allocated row ids in [0, {len(self._index)})")
        return rows

    def _check_few(self, rows: NDArray[Any]) -> tuple[NDArray[np.intp], slice | None]:
        """``_check_rows`` for a few rows (at least one), in plain Python: the rows as intp ids (a copy owned by
        the store) and as a slice when they are consecutive ascending (else None).

        The answer for the last rows checked is kept, keyed by their bytes and dtype: the decision loop passes
        the same rows to ``update``, ``matrix`` and ``ready`` (row ids stay valid once allocated).
        """
        if rows.ndim != 1 or rows.dtype.kind not in "iu":
            raise ValueError("rows must be a 1-D integer numpy array")
        key = rows.tobytes()
        last = self._last_few
        if last[0] == key and last[1] == rows.dtype:
            return last[2], last[3]
        got = rows.tolist()
        lo, hi = min(got), max(got)
        if lo < 0 or hi >= len(self._index):
            raise ValueError(f"rows must be allocated row ids in [0, {len(self._index)})")
        ids = rows.astype(np.intp)
        n = len(got)
        cols = slice(lo, hi + 1) if hi - lo == n - 1 and got == list(range(lo, hi + 1)) else None
        self._last_few = (key, rows.dtype, ids, cols)
        return ids, cols

    @staticmethod
    def _span(rows: Rows) -> slice | None:
        """``rows`` as a slice when they are consecutive ascending ids (then no gather is needed)."""
        n = rows.size
        first = int(rows[0])
        if int(rows[-1]) - first != n - 1:
            return None
        if n > 2 and not bool((np.diff(rows) == 1).all()):
            return None
        return slice(first, first + n)

    # -- update ------------------------------------------------------------------------------------------------

    def update(self, rows: Rows, values: NDArray[np.floating]) -> None:
        """Append one period: ``values[i, j]`` is measurement ``measurements[j]`` of ``rows[i]``, NaN if missing.

        ``rows`` must be distinct within one call (one period per row).
        """
        few = isinstance(rows, np.ndarray) and 0 < rows.size <= self._small
        if few:
            ids, cols = self._check_few(rows)
        else:
            rows = self._check_rows(rows)
        n_meas = len(self._measurements)
        if not isinstance(values, np.ndarray) or values.shape != (rows.size, n_meas):
            shape = getattr(values, "shape", None)
            raise ValueError(f"values must be an array of shape ({rows.size}, {n_meas}), not {shape}")
        if few:
            if self._kernel is not None:
                if values.dtype != np.float64 or not values.flags.c_contiguous:
                    values = np.ascontiguousarray(values, dtype=np.float64)
                nxt = self._kernel.update(ids, values, len(self._index))
                if nxt >= 0:
                    self._clock = nxt
                self._updates += 1
                self._row_periods += ids.size
                return
            self._update_few(ids, cols, values)
            return
        if rows.size == 0:
            return
        span = self._span(rows)
        target: slice | Rows = span if span is not None else rows
        missing = np.isnan(values)
        zeroed = np.where(missing, 0.0, values)
        present = ~missing
        heads = self._head[target]
        h0 = int(heads[0])
        if bool((heads == h0).all()):
            self._buf[h0][:, target] = values.T
            self._x0[h0][:, target] = zeroed.T
            self._vf[h0][:, target] = present.T
            nxt = (h0 + 1) % self._window
            self._head[target] = nxt
            self._clock = nxt
        else:
            where = (heads[:, None], np.arange(n_meas)[None, :], rows[:, None])
            self._buf[where] = values
            self._x0[where] = zeroed
            self._vf[where] = present
            self._head[target] = (heads + 1) % self._window
        self._seen[target] += 1
        self._missing += missing.sum(axis=0)
        self._updates += 1
        self._row_periods += rows.size

    def _update_few(self, ids: NDArray[np.intp], cols: slice | None, values: NDArray[np.floating]) -> None:
        """``update`` for a few rows: the three rings' values written into each row's own slot at once."""
        n = ids.size
        heads = self._head[ids] if cols is None else self._head[cols]
        first = heads.tolist()
        h0 = first[0]
        uniform = first.count(h0) == n
        v = values.T
        missing = v != v
        if uniform and cols is not None:
            block = self._rings[:, h0, :, cols]
            block[:_VF] = v
            np.copyto(block[_X0], 0.0, where=missing)
            block[_VF] = ~missing
            self._clock = nxt = (h0 + 1) % self._window
            self._head[cols] = nxt
            seen = self._seen[cols]
            seen += 1
        else:
            n_meas = len(self._measurements)
            block = np.empty((3, n_meas, n), dtype=np.float64)
            block[:_VF] = v
            np.copyto(block[_X0], 0.0, where=missing)
            block[_VF] = ~missing
            write = self._batch.write
            self._table[write[h0][:, None] if uniform else write[heads].T, ids] = block.reshape(3 * n_meas, n)
            if uniform:
                self._clock = nxt = (h0 + 1) % self._window
                self._head[ids] = nxt
            else:
                self._head[ids] = self._next_head[heads]
            self._seen[ids] += 1
        present = self._present_by_size.get(n)
        if present is None:
            present = self._present_by_size[n] = np.zeros((len(self._measurements), n), dtype=np.float64)
        np.add(present, block[_VF], out=present)
        self._few_row_periods += n
        self._updates += 1
        self._row_periods += n

    # -- features ----------------------------------------------------------------------------------------------

    def matrix(self, rows: Rows) -> F32:
        """The feature matrix of ``rows``: float32, C-contiguous, shape ``[len(rows), n_features]``."""
        if isinstance(rows, np.ndarray) and 0 < rows.size <= self._small:
            ids, cols = self._check_few(rows)
            if self._kernel is not None:
                return self._matrix_kernel(ids)[0]
            self._matrices += 1
            return self._matrix_few(ids, cols)
        rows = self._check_rows(rows)
        n = rows.size
        self._matrices += 1
        out = np.empty((n, len(self._specs)), dtype=np.float32)
        if n == 0:
            return out
        span = self._span(rows)
        if span is not None:
            data, x0, vf = self._buf[:, :, span], self._x0[:, :, span], self._vf[:, :, span]
            heads = self._head[span]
        else:
            data = np.take(self._buf, rows, axis=2)
            x0 = np.take(self._x0, rows, axis=2)
            vf = np.take(self._vf, rows, axis=2)
            heads = self._head[rows]
        h0 = int(heads[0])
        if bool((heads == h0).all()):
            out[:] = self._compute(data, x0, vf, h0).T
        else:
            for h in np.unique(heads).tolist():
                sel = np.flatnonzero(heads == h)
                part = self._compute(
                    np.take(data, sel, axis=2), np.take(x0, sel, axis=2), np.take(vf, sel, axis=2), int(h)
                )
                out[sel] = part.T
        return out

    def advance(self, rows: Rows, values: NDArray[np.floating]) -> tuple[F32, NDArray[np.bool_], NDArray[np.bool_]]:
        """``update(rows, values)``, then ``matrix(rows)``, ``ready(rows)`` and ``incomplete_rows`` of the matrix:
        one period of the decision loop, in two C calls on the small-batch path when the kernel is built."""
        self.update(rows, values)
        if self._kernel is not None and isinstance(rows, np.ndarray) and 0 < rows.size <= self._small:
            return self._matrix_kernel(self._check_few(rows)[0])
        x = self.matrix(rows)
        return x, self.ready(rows), incomplete_rows(x)

    def _matrix_kernel(self, ids: NDArray[np.intp]) -> tuple[F32, NDArray[np.bool_], NDArray[np.bool_]]:
        """``matrix``, ``ready`` and the incomplete rows of a few rows, by the C kernel."""
        self._matrices += 1
        n = ids.size
        out: F32 = np.empty((n, len(self._specs)), dtype=np.float32)
        incomplete: NDArray[np.bool_] = np.empty(n, dtype=np.bool_)
        ready: NDArray[np.bool_] = np.empty(n, dtype=np.bool_)
        self._kernel.matrix(ids, out, incomplete, ready, len(self._index))
        return out, ready, incomplete

    def _matrix_few(self, ids: NDArray[np.intp], cols: slice | None) -> F32:
        """``matrix`` for a few rows (see ``_Batch``): one gather, one reduction per kind, one division."""
        b = self._batch
        n = ids.size
        heads = self._head[ids] if cols is None else self._head[cols]
        first = heads.tolist()
        h0 = first[0]
        sc = b.sizes.get(n) or b.scratch(n)
        if first.count(h0) != n:
            at = b.offsets[heads].transpose(1, 2, 0) + ids
        elif cols is not None:
            at = b.span(h0, n)
            if cols.start:
                at = np.add(at, cols.start, out=sc.offsets)
        else:
            at = b.offsets[h0][:, :, None] + ids
        block = self._flat.take(at, out=sc.block, mode="clip")  # every offset here is in range by construction
        table = sc.table
        ns = b.n_sums
        f = len(self._specs)
        with np.errstate(invalid="ignore", divide="ignore"):
            if ns:
                np.add.reduce(np.multiply(block[:, :ns], sc.weights, out=sc.products), axis=0, out=table[:ns])
            if b.has_max:
                np.fmax.reduce(block[:, b.max_terms], axis=0, out=table[b.max_rows])
            if b.has_min:
                np.fmin.reduce(block[:, b.min_terms], axis=0, out=table[b.min_rows])
            if b.has_last:
                newest = block[:, b.seen_terms].argmax(axis=0)
                block.take(sc.ages[newest] + sc.last, out=table[b.last_rows], mode="clip")
            picked = table.take(sc.picks, mode="clip")
            prod = picked[:2] * picked[2:]
            ratio = prod[0] - prod[1]
            res = ratio[:f] / ratio[f:]
            clean = math.isfinite(np.add.reduce(res, axis=None))
        if not clean:
            self._nan_features += np.add.reduce(np.isnan(res), axis=1)
        out: F32 = res.T.astype(np.float32, order="C")
        return out

    def _compute(self, data: F64, x0: F64, vf: F64, head: int) -> F64:
        """Features ``[n_features, n]`` of rows sharing ring position ``head``.

        ``data`` is ``[window, meas, n]`` with NaN for missing values, ``x0`` the same with 0 instead and ``vf``
        1.0 where a value is present (both kept up to date by ``update``, so no pass over the block is needed).
        Plain vector operations only: no BLAS call, whose thread pool busy-waits and collapses when the cores
        are shared (a 32 x 10,000 GEMM went from 0.1 to 8 ms under load where these loops stay under 1 ms).
        """
        plan = self._plans[head]
        n = data.shape[2]
        res = np.empty((len(self._specs), n), dtype=np.float64)
        tmp = np.empty(n, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            for f, spec in enumerate(self._specs):
                fn = spec.fn
                m = self._meas_of[f]
                slots = plan.slots[f]
                first = slots[0]
                acc = res[f]
                if fn is WindowFn.LAST:
                    np.copyto(acc, data[first, m])
                    for s in slots[1:]:
                        np.copyto(acc, data[s, m], where=np.isnan(acc))
                elif fn is WindowFn.MAX:
                    np.copyto(acc, data[first, m])
                    for s in slots[1:]:
                        np.fmax(acc, data[s, m], out=acc)
                elif fn is WindowFn.MIN:
                    np.copyto(acc, data[first, m])
                    for s in slots[1:]:
                        np.fmin(acc, data[s, m], out=acc)
                elif fn is WindowFn.MEAN:
                    cnt = vf[first, m].copy()
                    np.copyto(acc, x0[first, m])
                    for s in slots[1:]:
                        acc += x0[s, m]
                        cnt += vf[s, m]
                    acc /= cnt
                elif fn is WindowFn.EWMA:
                    w = plan.weights[f]
                    sw = vf[first, m] * w[0]
                    np.multiply(x0[first, m], w[0], out=acc)
                    for s, wa in zip(slots[1:], w[1:]):
                        acc += np.multiply(x0[s, m], wa, out=tmp)
                        sw += np.multiply(vf[s, m], wa, out=tmp)
                    acc /= sw
                else:
                    self._slope(x0[:, m], vf[:, m], slots, plan.weights[f], acc, tmp)
        self._nan_features += np.isnan(res).sum(axis=1)
        return res

    @staticmethod
    def _slope(x0: F64, vf: F64, slots: list[int], ts: list[float], out: F64, tmp: F64) -> None:
        """Least-squares slope from sums over the valid points: ``(S Stx - St Sx) / (S Stt - St St)``."""
        n = out.shape[0]
        cnt, st, stt, sx, stx = (np.zeros(n) for _ in range(5))
        for s, t in zip(slots, ts):
            v = vf[s]
            x = x0[s]
            cnt += v
            sx += x
            if t:
                st += np.multiply(v, t, out=tmp)
                stt += np.multiply(v, t * t, out=tmp)
                stx += np.multiply(x, t, out=tmp)
        np.divide(cnt * stx - st * sx, cnt * stt - st * st, out=out)
        out[cnt < 2] = np.nan

    def ready(self, rows: Rows) -> NDArray[np.bool_]:
        """Rows that have had at least ``history`` periods appended (missing ones included)."""
        if isinstance(rows, np.ndarray) and 0 < rows.size <= self._small:
            ids, cols = self._check_few(rows)
            seen = self._seen[cols] if cols is not None else self._seen[ids]
        else:
            seen = self._seen[self._check_rows(rows)]
        ready: NDArray[np.bool_] = seen >= self._history
        return ready

    def periods(self, rows: Rows) -> NDArray[np.int64]:
        """Periods appended to each row so far."""
        rows = self._check_rows(rows)
        return self._seen[rows].copy()

    def stats(self) -> FeatureStats:
        """A snapshot of the counters."""
        missing = self._missing.copy()
        missing += self._few_row_periods
        for present in self._present_by_size.values():
            missing -= present.sum(axis=1).astype(np.int64)
        return FeatureStats(
            updates=self._updates,
            row_periods=self._row_periods,
            matrices=self._matrices,
            missing={m: int(c) for m, c in zip(self._measurements, missing.tolist())},
            nan_features={s.name: int(c) for s, c in zip(self._specs, self._nan_features.tolist())},
        )
