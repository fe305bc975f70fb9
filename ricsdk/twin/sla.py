"""SLA accounting per slice: violation time, throughput shortfall, delay percentiles; a report and metrics.

Every tick, every (cell, slice) sample is judged against the slice's :class:`~ricsdk.twin.scenario.SlaTarget`:

- required throughput ``req = min(offered, min_throughput)``; a *throughput violation* is
  ``delivered < req * (1 - tolerance)``, and the *shortfall* is ``max(0, req - delivered)`` bits over the tick;
- a *delay violation* is ``delay > max_delay`` (a sample without traffic has no delay and cannot violate it);
- the sample is *in violation* when either holds; the violation time is counted in cell-seconds.

Delay percentiles come from a log-spaced histogram (50 bins a decade from 0.01 ms to 10^8 ms, so memory is
bounded whatever the run length); a percentile is the geometric centre of its bin (within 2.3 %). The exact
maximum is kept beside it. :meth:`SlaAccount.register` exposes the same figures as Prometheus metrics, read at
scrape time from the accumulated arrays (the tick path does not touch the Prometheus client).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from ricsdk.twin.scenario import SliceSpec

__all__ = ["DELAY_BUCKETS_MS", "SlaAccount"]

F64 = NDArray[np.float64]

_EDGES: Final = np.logspace(-2, 8, 501)  # 50 bins a decade, 0.01 ms .. 1e8 ms
#: Prometheus histogram buckets of the per-slice delay (ms).
DELAY_BUCKETS_MS: Final = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0)
_COARSE: Final = np.array(DELAY_BUCKETS_MS)


class SlaAccount:
    """Accumulates SLA figures per slice over ticks of ``tick_s`` seconds."""

    def __init__(self, slices: Sequence[SliceSpec], n_cells: int, tick_s: float) -> None:
        self.slices = tuple(slices)
        self.n_cells = n_cells
        self.tick_s = tick_s
        self.min_bps: F64 = np.array([s.sla.min_throughput_mbps * 1e6 for s in self.slices])
        self.max_delay_ms: F64 = np.array(
            [np.inf if s.sla.max_delay_ms is None else s.sla.max_delay_ms for s in self.slices]
        )
        self.tolerance: F64 = np.array([s.sla.tolerance for s in self.slices])
        self.reset()

    def reset(self) -> None:
        n = len(self.slices)
        self.ticks = 0
        self.samples = np.zeros(n, dtype=np.int64)
        self.violations = np.zeros(n, dtype=np.int64)
        self.thr_violations = np.zeros(n, dtype=np.int64)
        self.delay_violations = np.zeros(n, dtype=np.int64)
        self.shortfall_bits = np.zeros(n)
        self.offered_bits = np.zeros(n)
        self.delivered_bits = np.zeros(n)
        self.prb_share = np.zeros(n)
        self.delay_hist = np.zeros((n, len(_EDGES) + 1), dtype=np.int64)
        self.delay_coarse = np.zeros((n, len(_COARSE) + 1), dtype=np.int64)
        self.delay_sum_ms = np.zeros(n)
        self.delay_max_ms = np.zeros(n)
        self.delay_samples = np.zeros(n, dtype=np.int64)

    def observe(self, offered_bits: F64, delivered_bits: F64, delay_ms: F64, prb_share: F64) -> NDArray[np.bool_]:
        """Account one tick (arrays ``(cells, slices)``; ``prb_share`` is used PRBs / cell PRBs). Returns the
        violation flags."""
        t = self.tick_s
        required = np.minimum(offered_bits, self.min_bps * t)
        thr_bad = delivered_bits < required * (1.0 - self.tolerance)
        with np.errstate(invalid="ignore"):
            delay_bad = delay_ms > self.max_delay_ms
        bad = thr_bad | delay_bad
        self.ticks += 1
        self.samples += offered_bits.shape[0]
        self.violations += bad.sum(axis=0)
        self.thr_violations += thr_bad.sum(axis=0)
        self.delay_violations += delay_bad.sum(axis=0)
        self.shortfall_bits += np.maximum(required - delivered_bits, 0.0).sum(axis=0)
        self.offered_bits += offered_bits.sum(axis=0)
        self.delivered_bits += delivered_bits.sum(axis=0)
        self.prb_share += prb_share.sum(axis=0)
        has = ~np.isnan(delay_ms)
        if has.any():
            d = np.where(has, delay_ms, 0.0)
            n_bins = self.delay_hist.shape[1]
            slice_idx = np.broadcast_to(np.arange(delay_ms.shape[1]), delay_ms.shape)
            fine = np.searchsorted(_EDGES, d[has]) + slice_idx[has] * n_bins
            self.delay_hist += np.bincount(fine, minlength=self.delay_hist.size).reshape(self.delay_hist.shape)
            n_coarse = self.delay_coarse.shape[1]
            coarse = np.searchsorted(_COARSE, d[has], side="left") + slice_idx[has] * n_coarse
            self.delay_coarse += np.bincount(coarse, minlength=self.delay_coarse.size).reshape(self.delay_coarse.shape)
            finite = np.where(np.isfinite(d), d, 0.0)
            self.delay_sum_ms += (finite * has).sum(axis=0)
            self.delay_samples += has.sum(axis=0)
            self.delay_max_ms = np.maximum(self.delay_max_ms, np.where(has, d, 0.0).max(axis=0))
        return bad

    # -- figures --------------------------------------------------------------------------------------------

    def delay_percentile(self, slice_index: int, q: float) -> float | None:
        """The ``q`` quantile (0..1) of the slice's delay samples in ms (None without samples)."""
        hist = self.delay_hist[slice_index]
        total = int(hist.sum())
        if total == 0:
            return None
        k = int(np.searchsorted(np.cumsum(hist), q * total, side="left"))
        if k == 0:
            return float(_EDGES[0])
        if k >= len(_EDGES):
            return float(self.delay_max_ms[slice_index])
        return float(np.sqrt(_EDGES[k - 1] * _EDGES[k]))

    def report(self) -> dict[str, Any]:
        """The SLA report: per slice and in total (JSON-serialisable)."""
        t = self.tick_s
        per: dict[str, Any] = {}
        for i, s in enumerate(self.slices):
            samples = int(self.samples[i])
            p = {q: self.delay_percentile(i, q / 100) for q in (50, 95, 99)}
            per[s.name] = {
                "snssai": s.snssai.key,
                "type": s.type.value,
                "samples": samples,
                "violation_s": round(float(self.violations[i]) * t, 3),
                "violation_ratio": round(float(self.violations[i]) / samples, 6) if samples else 0.0,
                "throughput_violation_s": round(float(self.thr_violations[i]) * t, 3),
                "delay_violation_s": round(float(self.delay_violations[i]) * t, 3),
                "throughput_shortfall_mbit": round(float(self.shortfall_bits[i]) / 1e6, 3),
                "offered_mbit": round(float(self.offered_bits[i]) / 1e6, 3),
                "delivered_mbit": round(float(self.delivered_bits[i]) / 1e6, 3),
                "mean_prb_usage_pct": round(100.0 * float(self.prb_share[i]) / samples, 3) if samples else 0.0,
                "delay_ms": {
                    "p50": _round(p[50]),
                    "p95": _round(p[95]),
                    "p99": _round(p[99]),
                    "mean": _round(
                        float(self.delay_sum_ms[i]) / int(self.delay_samples[i]) if self.delay_samples[i] else None
                    ),
                    "max": _round(float(self.delay_max_ms[i]) if self.delay_samples[i] else None),
                },
                "sla": {
                    "min_throughput_mbps": s.sla.min_throughput_mbps,
                    "max_delay_ms": s.sla.max_delay_ms,
                    "priority": s.sla.priority,
                },
            }
        samples_total = int(self.samples.sum())
        return {
            "ticks": self.ticks,
            "tick_ms": round(t * 1000, 3),
            "cells": self.n_cells,
            "seconds": round(self.ticks * t, 3),
            "slices": per,
            "total": {
                "violation_s": round(float(self.violations.sum()) * t, 3),
                "violation_ratio": round(float(self.violations.sum()) / samples_total, 6) if samples_total else 0.0,
                "throughput_shortfall_mbit": round(float(self.shortfall_bits.sum()) / 1e6, 3),
            },
        }

    def register(self, registry: CollectorRegistry, prefix: str = "ricsdk_twin") -> Collector:
        """Expose the accumulated figures in ``registry`` (per ``slice`` label); returns the collector."""
        collector = _SlaCollector(self, prefix)
        registry.register(collector)
        return collector


def _round(v: float | None) -> float | None:
    if v is None:
        return None
    return round(v, 3) if np.isfinite(v) else v


class _SlaCollector(Collector):
    def __init__(self, account: SlaAccount, prefix: str) -> None:
        self.account = account
        self.prefix = prefix

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        a, p, t = self.account, self.prefix, self.account.tick_s
        names = [s.name for s in a.slices]
        counters = (
            ("sla_violation_seconds", "Cell-seconds in SLA violation", a.violations * t),
            ("sla_throughput_violation_seconds", "Cell-seconds below the throughput SLA", a.thr_violations * t),
            ("sla_delay_violation_seconds", "Cell-seconds above the delay SLA", a.delay_violations * t),
            ("throughput_shortfall_bits", "Bits short of the throughput SLA", a.shortfall_bits),
            ("offered_bits", "Bits offered (DL)", a.offered_bits),
            ("delivered_bits", "Bits delivered (DL)", a.delivered_bits),
        )
        for name, doc, values in counters:
            fam = CounterMetricFamily(f"{p}_{name}", doc, labels=["slice"])
            for n, v in zip(names, values, strict=True):
                fam.add_metric([n], float(v))
            yield fam
        ratio = GaugeMetricFamily(
            f"{p}_sla_violation_ratio", "Share of (cell, tick) samples in violation", labels=["slice"]
        )
        for n, v, s in zip(names, a.violations, a.samples, strict=True):
            ratio.add_metric([n], float(v) / int(s) if s else 0.0)
        yield ratio
        hist = HistogramMetricFamily(f"{p}_slice_delay_ms", "DL delay per (cell, tick) sample (ms)", labels=["slice"])
        for i, n in enumerate(names):
            counts = np.cumsum(a.delay_coarse[i])
            buckets = [(str(b), float(c)) for b, c in zip(DELAY_BUCKETS_MS, counts[:-1], strict=True)]
            buckets.append(("+Inf", float(counts[-1])))
            hist.add_metric([n], buckets, float(a.delay_sum_ms[i]))
        yield hist
        ticks = CounterMetricFamily(f"{p}_ticks", "Ticks simulated")
        ticks.add_metric([], float(a.ticks))
        yield ticks
