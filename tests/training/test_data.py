"""Twin training data: labels are the RAN model's PRB need, values are what the nodes report, the exploration
covers quotas below and above demand, and a dataset is a function of its seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ricsdk.errors import ConfigError
from ricsdk.features import FeatureSpec, WindowFn
from ricsdk.runtime import handlers as h
from ricsdk.runtime.events import Indication
from ricsdk.training.baselines import MEASUREMENTS as BASELINE_MEASUREMENTS
from ricsdk.training.baselines import NoControl
from ricsdk.training.data import (
    Exploration,
    ExplorationConfig,
    NeedProbe,
    RunSpec,
    collect,
    collect_runs,
    reported_values,
    run_seeds,
)
from ricsdk.twin import Simulation, Twin, load_scenario
from ricsdk.twin.node import TickRecords
from ricsdk.twin.sim import MEASUREMENTS
from xapps.slice_prb_allocator.features import FEATURES, WINDOW


class _Recorder(NoControl):
    def __init__(self, twin: Twin) -> None:
        super().__init__(twin.node_ids, [s.snssai for s in twin.scenario.slices])
        self.seen: list[Indication] = []

    @h.on_indication()
    def on_kpm(self, ind: Indication) -> None:
        self.seen.append(ind)


def test_the_label_is_the_ran_models_prb_need() -> None:
    """A slice that ends a tick with no backlog used exactly what it needed; one left with a backlog needed more."""
    sim = Simulation(load_scenario("flash_crowd"), seed=5)
    probe = NeedProbe.install(sim)
    assert sim.model is probe
    served, short = 0, 0
    for _ in range(900):
        r = sim.advance()
        need = probe.need_pct()
        used = 100.0 * r.dl.used_prbs / sim.prbs[:, None]
        clear = r.dl.backlog_bits <= 1e-6
        np.testing.assert_allclose(need[clear], used[clear], rtol=1e-9, atol=1e-9)
        assert (need[~clear] >= used[~clear] - 1e-9).all()
        assert ((need >= 0) & (need <= 100)).all()
        served += int(clear.sum())
        short += int((~clear).sum())
    assert served > 0 and short > 0  # the crowd (from 60 s) overloads cells 3 and 4


def test_the_probe_goes_in_before_the_first_tick() -> None:
    sim = Simulation(load_scenario("steady"))
    sim.advance()
    with pytest.raises(ConfigError, match="before the first tick"):
        NeedProbe.install(sim)


async def test_reported_values_are_what_the_e2_nodes_send() -> None:
    """Indications received by an xApp over the real codecs carry exactly the values the training data uses."""
    sc = load_scenario("flash_crowd")
    twin = Twin(sc)
    app = _Recorder(twin)
    await twin.run_with(app, "memory", 12)
    sim = Simulation(sc)
    records = TickRecords(sim)
    by_tick: list[np.ndarray] = []
    for _ in range(12):
        records.update(sim.advance())
        by_tick.append(reported_values(records))
    assert len(app.seen) == 12 * len(sc.cells)
    cells = {c: i for i, c in enumerate(sc.cell_names)}
    for n, ind in enumerate(app.seen):
        values = by_tick[n // len(sc.cells)][cells[ind.e2_node]]
        per = ind.per_slice()
        for s, sl in enumerate(sc.slices):
            for m in BASELINE_MEASUREMENTS:
                want = values[s, MEASUREMENTS.index(m)]
                got = per[sl.snssai.key][m]
                assert (math.isnan(got) and math.isnan(want)) or got == want, (ind.e2_node, sl.name, m)


def test_exploration_covers_quotas_below_and_above_demand() -> None:
    sc = load_scenario("flash_crowd")
    sim = Simulation(sc, seed=1)
    probe = NeedProbe.install(sim)
    explore = Exploration(sim.shape, ExplorationConfig(), np.random.default_rng(2))
    below = above = open_ = total = 0
    need = np.zeros(sim.shape)
    for _ in range(600):
        mn, mx, ded = explore.quotas(need)
        assert ((ded >= 0) & (ded <= mn) & (mn <= mx) & (mx <= 100)).all()
        assert (mn.sum(axis=1) <= 100).all()
        sim.quotas.set_all(mn, mx, ded)
        sim.advance()
        need = probe.need_pct()
        capped = mx < 100
        below += int((capped & (mx < need - 1)).sum())
        above += int((capped & (mx > need + 1)).sum())
        open_ += int((mx == 100).sum())
        total += mx.size
    assert below / total > 0.1 and above / total > 0.1 and open_ / total > 0.1


def test_a_dataset_is_a_function_of_its_seed() -> None:
    sc = load_scenario("flash_crowd")
    cfg = ExplorationConfig()

    def runs(seed: int) -> list[RunSpec]:
        return [RunSpec(sc, *run_seeds(seed, 0, e), split, 120) for e, split in enumerate(("train", "validation"))]

    a, b = collect_runs(runs(3), FEATURES, WINDOW, cfg), collect_runs(runs(3), FEATURES, WINDOW, cfg)
    assert a.digest() == b.digest()
    assert collect_runs(runs(4), FEATURES, WINDOW, cfg).digest() != a.digest()
    assert a.x.shape[1] == len(FEATURES) and not np.isnan(a.x).any()
    assert ((a.y >= 0) & (a.y <= 100)).all()
    assert a.mask("train").sum() + a.mask("validation").sum() == len(a.y)
    assert set(a.slice_names().tolist()) == {"embb", "urllc", "mmtc"}
    # rows start once the window is ready (7 periods) and the last tick has no label
    n_rows = len(sc.cells) * len(sc.slices)
    assert len(a.y) == 2 * n_rows * (120 - (WINDOW - 1) - 1)
    assert a.meta[:, 1].min() == WINDOW - 1


def test_a_feature_the_twin_cannot_report_is_a_config_error() -> None:
    run = RunSpec(load_scenario("steady"), 1, 2, "train", 20)
    with pytest.raises(ConfigError, match=r"does not report RRC\.ConnMean"):
        collect(run, (FeatureSpec("RRC.ConnMean", WindowFn.LAST, 1),), 4, ExplorationConfig())
