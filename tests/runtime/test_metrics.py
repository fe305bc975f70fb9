"""The in-memory latency histograms behind ``ricsdk_stage_seconds``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from ricsdk.runtime.metrics import LatencyHistograms


def _exposition(h: LatencyHistograms) -> str:
    r = CollectorRegistry()
    r.register(h)
    return generate_latest(r).decode()


def test_observe_all_counts_what_observe_ns_counts() -> None:
    buckets = (1e-6, 1e-5, 1e-4)
    one = LatencyHistograms("t_seconds", "doc", "stage", buckets)
    many = LatencyHistograms("t_seconds", "doc", "stage", buckets)
    decisions = [{"decode": 900, "infer": 12_000, "send": 1_000}, {"decode": 50_000, "infer": 250_000}]
    for d in decisions:
        for k, ns in d.items():
            one.observe_ns(k, ns)
        many.observe_all(d)
    assert _exposition(one) == _exposition(many)
    assert many.count("decode") == 2 and many.count("send") == 1
    text = _exposition(many)
    assert 't_seconds_bucket{le="1e-06",stage="decode"} 1.0' in text  # 900 ns, on the boundary side below
    assert 't_seconds_bucket{le="+Inf",stage="infer"} 2.0' in text
    assert 't_seconds_sum{stage="infer"} 0.000262' in text
