"""Timing helpers shared by the benchmark modules (see ../shared/design/BENCHMARKS.md).

Every case is measured against its baseline in the same run, interleaved A B A B, after a warm-up, and
reported as p50/p99 over the samples with the ratio baseline/candidate.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any


def percentile(samples: list[float], q: float) -> float:
    s = sorted(samples)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def time_call_us(fn: Callable[[], Any], inner: int = 1) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(inner):
        fn()
    return (time.perf_counter_ns() - t0) / 1000.0 / inner


def interleaved(
    candidate: Callable[[], Any],
    baseline: Callable[[], Any],
    samples: int,
    warmup: int = 20,
    inner: int = 1,
    baseline_inner: int = 1,
) -> tuple[list[float], list[float]]:
    """Per-call microseconds of ``candidate`` and ``baseline``, alternating A B A B."""
    for _ in range(warmup):
        candidate()
        baseline()
    a: list[float] = []
    b: list[float] = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for i in range(samples):
            if i % 50 == 0:
                gc.collect()
            a.append(time_call_us(candidate, inner))
            b.append(time_call_us(baseline, baseline_inner))
    finally:
        if gc_was:
            gc.enable()
    return a, b


def case(
    unit: str,
    samples: list[float],
    baseline_name: str | None = None,
    baseline: list[float] | None = None,
    target: dict[str, float] | None = None,
    met: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A result entry in the latest.json schema."""
    out: dict[str, Any] = {
        "unit": unit,
        "samples": len(samples),
        "p50": round(statistics.median(samples), 3),
        "p99": round(percentile(samples, 0.99), 3),
    }
    if baseline is not None and baseline_name is not None:
        bp50 = statistics.median(baseline)
        out["baseline"] = {"name": baseline_name, "p50": round(bp50, 3), "p99": round(percentile(baseline, 0.99), 3)}
        out["ratio_p50"] = round(bp50 / out["p50"], 2) if out["p50"] > 0 else None
    if target is not None:
        out["target"] = target
    if met is not None:
        out["met"] = met
    out.update(extra)
    return out


def check_targets(result: dict[str, Any]) -> bool:
    """Evaluate the common target keys: p50_max, p99_max, ratio_min."""
    t = result.get("target", {})
    ok = True
    if "p50_max" in t:
        ok &= result["p50"] <= t["p50_max"]
    if "p99_max" in t:
        ok &= result["p99"] <= t["p99_max"]
    if "ratio_min" in t:
        ok &= (result.get("ratio_p50") or 0) >= t["ratio_min"]
    return bool(ok)
