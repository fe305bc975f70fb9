"""The policy guard in C (``ricsdk/runtime/_guard.c``) gives what ModelXApp's Python loop gives: the same quotas,
reasons, "changed" flag and withheld counts, for any model outputs (NaN, infinities, out of range), row
statuses, bounds, A1 SLAs, quotas in force, rate limits and quota mappings."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ricsdk.runtime import model_xapp as mx
from ricsdk.runtime.manifest import QuotaMapping, load_manifest
from xapps.slice_prb_allocator.app import MANIFEST, SlicePrbAllocator

KERNEL = mx._guard_kernel

needs_c = pytest.mark.skipif(KERNEL is None, reason="ricsdk.runtime._guard was not built (no C compiler)")

_pct = st.integers(0, 100)
_output = st.one_of(
    st.floats(-50, 150),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 99.5, 100.0, 0.49999999999999994, 12.5, -0.0]),
)


@st.composite
def _slice(draw: st.DrawFn) -> tuple[mx._SliceState, tuple[int, int, int]]:
    lo, hi = sorted((draw(_pct), draw(_pct)))
    dfloor = draw(st.integers(0, lo))
    sla = draw(st.none() | st.tuples(_pct, _pct))
    quota = draw(st.none() | st.tuples(_pct, _pct, _pct))
    return mx._SliceState(mx._SlicePolicy(("p",) if sla else (), sla), quota), (lo, hi, dfloor)


def _app() -> SlicePrbAllocator:
    return SlicePrbAllocator(load_manifest(MANIFEST))


def _run(app: SlicePrbAllocator, plan: Any, rows: Any, off: int, kernel: Any) -> tuple[Any, dict[str, int]]:
    saved = mx._guard_kernel
    mx._guard_kernel = kernel
    before = dict(app.withheld)
    try:
        out = app._guard_rows(plan, rows, off)
    finally:
        mx._guard_kernel = saved
    return out, {k: v - before.get(k, 0) for k, v in app.withheld.items()}


@needs_c
@settings(max_examples=400)
@given(
    st.lists(_slice(), min_size=1, max_size=10),
    st.sampled_from(["prb_need", "direct"]),
    st.floats(0, 2),
    st.floats(0, 1),
    _pct,
    st.integers(0, 120),
    st.integers(0, 3),
    st.data(),
)
def test_kernel_and_python_loop_agree(
    slices: list[tuple[mx._SliceState, tuple[int, int, int]]],
    kind: str,
    floor: float,
    headroom: float,
    dedicated: int,
    max_step: int,
    off: int,
    data: st.DataObject,
) -> None:
    app = _app()
    app._mapping = QuotaMapping(kind, floor, headroom, dedicated)
    app._max_step = max_step
    k = 1 if kind == "prb_need" else 3
    total = off + len(slices) + data.draw(st.integers(0, 2))
    rows = SimpleNamespace(
        outputs=[data.draw(st.lists(_output, min_size=k, max_size=k)) for _ in range(total)],
        status=data.draw(st.lists(st.sampled_from([0, 0, 0, 1, 2, 3]), min_size=total, max_size=total)),
        ready=data.draw(st.lists(st.booleans() | st.just(True), min_size=total, max_size=total)),
        incomplete=data.draw(st.lists(st.just(False) | st.booleans(), min_size=total, max_size=total)),
    )
    plan = SimpleNamespace(states=[s for s, _ in slices], limits=[lim for _, lim in slices])
    fast = _run(app, plan, rows, off, KERNEL)
    slow = _run(app, plan, rows, off, None)
    assert fast == slow


@needs_c
def test_kernel_declines_what_it_cannot_read() -> None:
    """A quota in force or a bound that is not a tuple of ints, an output that is not a number or a short output
    row: None, and the Python loop decides (raising where it raises)."""
    assert KERNEL is not None
    app = _app()
    app._mapping = QuotaMapping("prb_need", 0.8, 0.25, 0)
    app._max_step = 10
    reasons = mx._REASONS

    def call(states: list[Any], limits: list[Any], outputs: list[Any]) -> Any:
        n = len(outputs)
        return KERNEL(outputs, [0] * n, [True] * n, [False] * n, 0, states, limits, True, 0.8, 0.25, 0, 10, reasons)

    ok = mx._SliceState(mx._SlicePolicy())
    assert call([ok], [(0, 100, 0)], [[50.0]]) == ([(40, 63, 0)], [""], True, 0)
    assert app._clamp(ok, (0, 100, 0), app._want([50.0])) == (40, 63, 0, "")
    assert call([dataclasses.replace(ok, quota=[1, 2, 3])], [(0, 100, 0)], [[50.0]]) is None  # type: ignore[arg-type]
    assert call([ok], [(0, 100)], [[50.0]]) is None
    assert call([ok], [(0, 100, 0)], [["50"]]) is None
    assert call([ok], [(0, 100, 0)], [[]]) is None
    assert call([ok], [(0, 100, 0)], []) is None  # fewer rows than slices
    with pytest.raises(TypeError):
        KERNEL((), [], [], [], 0, [], [], True, 0.8, 0.25, 0, 10, reasons)  # type: ignore[arg-type]
