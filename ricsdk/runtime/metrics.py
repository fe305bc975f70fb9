"""Prometheus metrics of one xApp runner (its own registry, so several runners can share a process).

Names follow ``ricsdk_<thing>_<unit>``. Per-stage latency histograms cover the decision path; per-slice gauges
carry the quota in force and the last KPIs; per-model counters carry decisions and inference CPU time, whose
ratio is the CPU cost of one decision (the basis of cost attribution). Transport and lineage counters are
read from their stats objects at scrape time, so the hot path does not pay for them twice.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

__all__ = ["GaugeCollector", "LatencyHistograms", "RuntimeMetrics", "StatsCollector"]

# 5 µs .. 1 s: the near-RT budget and well below it.
_LATENCY_BUCKETS = (
    5e-6,
    10e-6,
    25e-6,
    50e-6,
    100e-6,
    150e-6,
    250e-6,
    500e-6,
    1e-3,
    2e-3,
    5e-3,
    10e-3,
    25e-3,
    100e-3,
    1.0,
)


class StatsCollector(Collector):
    """Exposes the integer fields of stats objects (dataclasses with int counters) as counters/gauges."""

    def __init__(self, prefix: str, sources: Callable[[], Iterable[tuple[dict[str, str], Any]]]) -> None:
        self._prefix = prefix
        self._sources = sources

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        families: dict[str, CounterMetricFamily] = {}
        for labels, stats in self._sources():
            names = getattr(stats, "__dataclass_fields__", None) or vars(stats)
            for name in names:
                value = getattr(stats, name, None)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                fam = families.get(name)
                if fam is None:
                    fam = families[name] = CounterMetricFamily(
                        f"{self._prefix}_{name}", f"{self._prefix} {name.replace('_', ' ')}", labels=list(labels)
                    )
                fam.add_metric(list(labels.values()), float(value))
        yield from families.values()


class GaugeCollector(Collector):
    """Gauge families read from the application's own state at scrape time (nothing on the hot path).

    ``source`` yields ``(label values, value)`` pairs for each family name given at construction.
    """

    def __init__(
        self,
        families: dict[str, tuple[str, list[str]]],
        source: Callable[[], Iterable[tuple[str, list[str], float]]],
    ) -> None:
        self._families = families
        self._source = source

    def describe(self) -> Iterable[GaugeMetricFamily]:
        for name, (doc, labels) in self._families.items():
            yield GaugeMetricFamily(name, doc, labels=labels)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        fams = {name: GaugeMetricFamily(name, doc, labels=labels) for name, (doc, labels) in self._families.items()}
        for name, labels, value in self._source():
            fams[name].add_metric(labels, value)
        yield from fams.values()


class LatencyHistograms(Collector):
    """Histograms of nanosecond timings, one per label value, exported as a Prometheus histogram family.

    ``observe_ns`` is a bisect and two additions on plain lists (no lock, no float conversion), cheap enough
    to time every stage of every decision; the family is built only when scraped. Single-threaded use: the
    decision loop owns it.
    """

    def __init__(self, name: str, documentation: str, label: str, buckets_s: tuple[float, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.label = label
        self.bounds_s = buckets_s
        self._bounds_ns = [int(b * 1e9) for b in buckets_s]
        self._counts: dict[str, list[int]] = {}
        self._sums: dict[str, int] = {}

    def observe_ns(self, key: str, ns: int) -> None:
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0] * (len(self._bounds_ns) + 1)
            self._sums[key] = 0
        counts[bisect_left(self._bounds_ns, ns)] += 1
        self._sums[key] += ns

    def observe_all(self, timings: Mapping[str, int]) -> None:
        """``observe_ns`` for every ``(key, ns)`` of ``timings`` (a decision's stages)."""
        bounds = self._bounds_ns
        counts_of = self._counts
        sums = self._sums
        for key, ns in timings.items():
            counts = counts_of.get(key)
            if counts is None:
                counts = counts_of[key] = [0] * (len(bounds) + 1)
                sums[key] = 0
            counts[bisect_left(bounds, ns)] += 1
            sums[key] += ns

    def count(self, key: str) -> int:
        return sum(self._counts.get(key, ()))

    def collect(self) -> Iterable[HistogramMetricFamily]:
        fam = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        for key, counts in self._counts.items():
            cumulative = 0
            buckets = []
            for bound, c in zip(self.bounds_s, counts, strict=False):
                cumulative += c
                buckets.append((repr(bound), cumulative))
            buckets.append(("+Inf", cumulative + counts[-1]))
            fam.add_metric([key], buckets, self._sums[key] / 1e9)
        yield fam


class RuntimeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry(auto_describe=True)
        self.indications = Counter("ricsdk_indications", "RIC indications received", ["e2_node"], registry=r)
        self.indications_malformed = Counter(
            "ricsdk_indications_malformed", "Indications or E2 messages that failed to decode", ["kind"], registry=r
        )
        self.indications_unmatched = Counter(
            "ricsdk_indications_unmatched", "Indications of no known subscription", ["e2_node"], registry=r
        )
        self.indications_late = Counter(
            "ricsdk_indications_late", "Indications processed after their reporting period ended", registry=r
        )
        self.messages_unhandled = Counter(
            "ricsdk_messages_unhandled", "Messages with no handler, by RMR mtype", ["mtype"], registry=r
        )
        self.handler_errors = Counter(
            "ricsdk_handler_errors", "Exceptions raised by user handlers", ["handler"], registry=r
        )
        self.stages = LatencyHistograms(
            "ricsdk_stage_seconds", "Decision path stage latency", "stage", _LATENCY_BUCKETS
        )
        r.register(self.stages)
        self.controls = Counter(
            "ricsdk_controls", "RIC control requests by outcome", ["e2_node", "outcome"], registry=r
        )
        self.decisions = Counter(
            "ricsdk_model_decisions", "Slice decisions per model version", ["model", "version", "slot"], registry=r
        )
        self.inference_cpu = Counter(
            "ricsdk_model_inference_cpu_seconds",
            "Inference CPU time per model version (divide by decisions for the CPU cost of one decision)",
            ["model", "version", "slot"],
            registry=r,
        )
        self.inference_failures = Counter(
            "ricsdk_model_inference_failures",
            "Inference calls that failed (the last quota was held)",
            ["model"],
            registry=r,
        )
        self.withheld = Counter(
            "ricsdk_actions_withheld", "Slice actions computed but not sent, by reason", ["reason"], registry=r
        )
        self.subscriptions = Gauge("ricsdk_subscriptions_active", "E2 subscriptions currently active", registry=r)
        self.policies = Counter(
            "ricsdk_a1_policies", "A1 policy operations", ["type", "operation", "status"], registry=r
        )
        self.state = Gauge("ricsdk_xapp_state", "1 for the current lifecycle state", ["state"], registry=r)

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        out: bytes = generate_latest(self.registry)
        return out
