"""Done-when evidence: the shipped flagship xApp closes the loop against the twin over the in-memory, gRPC and native
RMR transports and beats a static equal-share quota on SLA violation time in the flash-crowd scenario.

The flagship is ``SlicePrbAllocator.from_manifest`` with the shipped manifest, subscribed to the twin's E2 nodes
(one per cell) instead of the manifest's ``gnb-001``; model, features, mapping, rate limit and slice bounds are
as shipped. Each run covers the first 90 s of the scenario (the crowd arrives at 60 s in cells 3 and 4) so the
three transports fit in CI; ``docs/flagship-model.md`` has the whole-scenario figures.
"""

from __future__ import annotations

import pytest

from ricsdk.runtime.manifest import load_manifest
from ricsdk.training.baselines import StaticEqualShare
from ricsdk.training.evaluate import figures, for_twin
from ricsdk.twin import Scenario, Twin, load_scenario
from xapps.slice_prb_allocator.app import MANIFEST, SlicePrbAllocator

PERIODS = 900


@pytest.fixture(scope="module")
def flash_crowd() -> Scenario:
    return load_scenario("flash_crowd")


@pytest.mark.parametrize("transport", ["memory", "grpc", "rmr"])
async def test_flagship_beats_static_equal_share_in_flash_crowd(transport: str, flash_crowd: Scenario) -> None:
    twin = Twin(flash_crowd)
    app = SlicePrbAllocator.from_manifest(manifest=for_twin(load_manifest(MANIFEST), twin))
    report = await twin.run_with(app, transport, PERIODS)
    static_twin = Twin(flash_crowd)
    static = await static_twin.run_with(
        StaticEqualShare(static_twin.node_ids, [s.snssai for s in flash_crowd.slices], flash_crowd.plmn),
        transport,
        PERIODS,
    )
    flag, base = figures("flagship", report, flash_crowd), figures("static", static, flash_crowd)
    assert flag.ticks == base.ticks == PERIODS and flag.transport == transport
    assert flag.violation_s < 0.5 * base.violation_s, (flag, base)
    assert flag.throughput_shortfall_mbit < base.throughput_shortfall_mbit
    assert flag.urllc_p99_delay_ms < base.urllc_p99_delay_ms
    # the loop closed: one decision per cell and tick, controls sent and every one acknowledged and applied
    cells = len(flash_crowd.cells)
    assert app.decisions == PERIODS * cells
    assert flag.controls_refused == 0 and flag.controls_acked > (PERIODS - 8) * cells // 2
    assert report["e2"]["quotas_applied"] > 0
    assert app.withheld.get("warming-up", 0) > 0 and "inference-failed" not in app.withheld
