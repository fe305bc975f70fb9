"""The simulation core: traffic shapes, reproducibility, quotas from the next tick, SLA accounting and metrics."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from ricsdk.twin.scenario import load_scenario, scenario_from_dict
from ricsdk.twin.sim import M_DELAY_DL, M_PRB_DL, M_THP_DL, MEASUREMENTS, QuotaRejected, Simulation
from ricsdk.twin.sla import SlaAccount
from ricsdk.twin.traffic import TrafficModel

BASE: dict[str, Any] = {
    "name": "t",
    "seed": 5,
    "cells": [{"name": "c", "count": 4, "prbs": 100, "bandwidth_mhz": 40}],
    "slices": [
        {"name": "a", "sst": 1, "type": "eMBB", "sla": {"min_throughput_mbps": 10, "max_delay_ms": 50}},
        {"name": "b", "sst": 2, "type": "URLLC", "sla": {"min_throughput_mbps": 2, "max_delay_ms": 10}},
    ],
    "traffic": {"a": {"load_mbps": 20, "cv": 0}, "b": {"load_mbps": 4, "cv": 0}},
}


def _scenario(**traffic: Any) -> Any:
    d = copy.deepcopy(BASE)
    for k, v in traffic.items():
        d["traffic"][k].update(v)
    return scenario_from_dict(d)


def _mean(sc: Any, t: float) -> np.ndarray:
    return TrafficModel(sc, np.random.default_rng(0)).mean_bps(t) / 1e6


def test_flash_crowd_multiplies_the_load_of_its_cells_along_its_envelope() -> None:
    sc = _scenario(
        a={"flash_crowds": [{"cells": ["c-002"], "start_s": 10, "ramp_s": 10, "hold_s": 5, "decay_s": 10, "factor": 3}]}
    )
    assert _mean(sc, 5)[:, 0].tolist() == pytest.approx([20, 20, 20, 20])
    assert _mean(sc, 15)[1, 0] == pytest.approx(40)  # half-way up the ramp
    assert _mean(sc, 22)[:, 0].tolist() == pytest.approx([20, 60, 20, 20])
    assert _mean(sc, 30)[1, 0] == pytest.approx(40)  # half-way down
    assert _mean(sc, 40)[1, 0] == pytest.approx(20)
    assert _mean(sc, 22)[1, 1] == pytest.approx(4)  # other slices untouched


def test_a_surge_adds_load_and_mobility_moves_it_without_creating_any() -> None:
    sc = _scenario(
        b={"surges": [{"cells": "all", "start_s": 0, "load_mbps": 100}]},
        a={"mobility": [{"from": ["c-001", "c-002"], "to": ["c-004"], "start_s": 0, "fraction": 0.5}]},
    )
    m = _mean(sc, 1)
    assert m[:, 1].tolist() == pytest.approx([104] * 4)
    assert m[:, 0].tolist() == pytest.approx([10, 10, 20, 40])
    assert m[:, 0].sum() == pytest.approx(80)


def test_diurnal_load_peaks_at_the_peak_hour() -> None:
    sc = _scenario(a={"diurnal": {"amplitude": 0.5, "peak_hour": 18, "start_hour": 6, "day_length_s": 240}})
    assert _mean(sc, 120)[0, 0] == pytest.approx(30)  # 18:00
    assert _mean(sc, 0)[0, 0] == pytest.approx(10)  # 06:00


def test_a_run_is_reproducible_from_its_seed_and_differs_with_another() -> None:
    def run(seed: int | None) -> np.ndarray:
        sim = Simulation(load_scenario("steady"), seed=seed)
        return np.stack([sim.advance().measurements for _ in range(20)])

    assert np.array_equal(run(None), run(None), equal_nan=True)
    assert not np.array_equal(run(None), run(7), equal_nan=True)


def test_reset_rewinds_clock_queues_quotas_and_account() -> None:
    sim = Simulation(load_scenario("steady"))
    start = sim.clock()
    first = [sim.advance().measurements for _ in range(5)]
    sim.quotas.request(0, {0: (10, 20, 5)})
    sim.advance()
    sim.reset()
    assert sim.clock() == start and sim.tick == 0 and sim.sla.ticks == 0
    assert sim.quotas.in_force(0, 0) == (0, 100, 0)
    again = [sim.advance().measurements for _ in range(5)]
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(first, again, strict=True))


def test_quotas_apply_from_the_next_tick() -> None:
    sim = Simulation(_scenario())
    sim.advance()
    sim.quotas.request(1, {0: (0, 10, 0)})
    assert sim.quotas.in_force(1, 0) == (0, 100, 0)
    r = sim.advance()
    assert sim.quotas.in_force(1, 0) == (0, 10, 0)
    assert r.measurements[1, 0, M_PRB_DL] <= 10.0 + 1e-9
    assert r.measurements[0, 0, M_PRB_DL] > 10.0


def test_quota_requests_are_checked_against_the_quotas_in_force() -> None:
    sim = Simulation(_scenario())
    sim.quotas.request(0, {0: (60, 100, 60)})
    with pytest.raises(QuotaRejected, match="add up to 110 %"):
        sim.quotas.request(0, {1: (50, 100, 50)})
    with pytest.raises(QuotaRejected, match="dedicated <= min <= max"):
        sim.quotas.request(0, {1: (50, 40, 0)})
    sim.quotas.request(0, {0: (40, 100, 40), 1: (50, 100, 50)})  # both at once fit
    assert sim.quotas.refused == 2


def test_measurements_are_in_kpm_units() -> None:
    sim = Simulation(_scenario())
    r = sim.advance()
    assert r.measurements.shape == (4, 2, len(MEASUREMENTS))
    # 20 Mbit/s offered and served (the cells are far from full) -> 20000 kbit/s
    assert r.measurements[:, 0, M_THP_DL] == pytest.approx(r.dl.served_bits[:, 0] / 0.1 / 1000)
    assert r.measurements[:, 0, M_THP_DL].mean() == pytest.approx(20000, rel=0.2)
    assert (r.measurements[..., M_DELAY_DL] >= 1.0).all()


def test_sla_account_counts_violations_shortfall_and_delay_percentiles() -> None:
    sc = _scenario()
    acc = SlaAccount(sc.slices, 2, 0.1)
    offered = np.array([[2e6, 1e5], [2e6, 1e5]])  # bits in a tick: 20 Mbit/s and 1 Mbit/s
    delivered = np.array([[0.5e6, 1e5], [2e6, 1e5]])  # cell 0 slice a gets 5 Mbit/s < min(20, 10)
    delay = np.array([[60.0, 1.0], [20.0, np.nan]])  # cell 0 slice a also too slow
    bad = acc.observe(offered, delivered, delay, np.full((2, 2), 0.25))
    assert bad.tolist() == [[True, False], [False, False]]
    rep = acc.report()
    a = rep["slices"]["a"]
    assert a["violation_s"] == 0.1 and a["throughput_violation_s"] == 0.1 and a["delay_violation_s"] == 0.1
    assert a["throughput_shortfall_mbit"] == pytest.approx(0.5)  # (10 - 5) Mbit/s for 0.1 s
    assert rep["slices"]["b"]["delay_ms"]["max"] == 1.0
    assert rep["slices"]["b"]["samples"] == 2 and rep["total"]["violation_ratio"] == 0.25


def test_delay_percentiles_are_within_the_histogram_resolution() -> None:
    sc = _scenario()
    acc = SlaAccount(sc.slices[:1], 1, 0.1)
    rng = np.random.default_rng(3)
    samples = rng.lognormal(3.0, 1.0, 20_000)
    for chunk in samples.reshape(-1, 1, 1):
        acc.observe(np.array([[1.0]]), np.array([[1.0]]), chunk, np.zeros((1, 1)))
    for q in (0.5, 0.95, 0.99):
        assert acc.delay_percentile(0, q) == pytest.approx(np.quantile(samples, q), rel=0.03)


def test_sla_metrics_are_exposed_for_prometheus() -> None:
    sim = Simulation(load_scenario("flash_crowd"))
    registry = CollectorRegistry()
    sim.sla.register(registry)
    for _ in range(10):
        sim.advance()
    text = generate_latest(registry).decode()
    assert 'ricsdk_twin_sla_violation_seconds_total{slice="embb"}' in text
    assert 'ricsdk_twin_slice_delay_ms_bucket{le="10.0",slice="urllc"}' in text
    assert 'ricsdk_twin_slice_delay_ms_count{slice="mmtc"} 80.0' in text
    assert "ricsdk_twin_ticks_total 10.0" in text
