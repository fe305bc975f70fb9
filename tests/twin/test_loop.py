"""Closing the loop: xApps built with ricsdk.runtime run against the twin over memory, native RMR and gRPC."""

from __future__ import annotations

import asyncio

import pytest

from ricsdk.errors import ConfigError, TransportError
from ricsdk.transport.base import Message
from ricsdk.twin import Scenario, Twin, load_scenario, scenario_from_dict
from ricsdk.twin.loop import Link, Probe, TransportKind, connect
from tests.twin.xapps import ProportionalAllocator, StaticEqualShare, Watcher


@pytest.fixture(scope="module")
def flash_crowd() -> Scenario:
    return load_scenario("flash_crowd")


def _allocator(twin: Twin) -> ProportionalAllocator:
    sc = twin.scenario
    return ProportionalAllocator(
        twin.node_ids,
        [s.snssai for s in sc.slices],
        [s.sla.max_delay_ms or 100.0 for s in sc.slices],
        [s.sla.priority for s in sc.slices],
    )


def _static(twin: Twin) -> StaticEqualShare:
    return StaticEqualShare(twin.node_ids, [s.snssai for s in twin.scenario.slices])


@pytest.mark.slow
async def test_proportional_allocator_beats_static_equal_share_in_flash_crowd_over_memory(
    flash_crowd: Scenario,
) -> None:
    """The whole flash-crowd scenario (240 s, 8 cells): fewer SLA violations, less throughput shortfall."""
    static_twin, prop_twin = Twin(flash_crowd), Twin(flash_crowd)
    static_xapp, prop_xapp = _static(static_twin), _allocator(prop_twin)
    static = await static_twin.run_with(static_xapp, "memory")
    prop = await prop_twin.run_with(prop_xapp, "memory")
    assert static["ticks"] == prop["ticks"] == flash_crowd.ticks
    assert prop["total"]["violation_s"] < 0.5 * static["total"]["violation_s"]
    assert prop["total"]["throughput_shortfall_mbit"] < static["total"]["throughput_shortfall_mbit"]
    # every control was acknowledged, one per indication, and applied
    n = flash_crowd.ticks * len(flash_crowd.cells)
    assert prop_xapp.outcomes == {"ack": n}
    assert prop["e2"]["controls_acked"] == n and prop["e2"]["controls_refused"] == 0
    assert static_xapp.outcomes == {"ack": len(flash_crowd.cells)}
    assert prop["transport"] == "memory" and prop["xapp"]["name"] == "proportional-allocator"


@pytest.mark.slow
async def test_proportional_allocator_beats_static_equal_share_over_rmr(flash_crowd: Scenario) -> None:
    """The first 90 s (the crowd arrives at 60 s) over native RMR sockets on loopback."""
    static = await (t := Twin(flash_crowd)).run_with(_static(t), "rmr", 900)
    prop = await (t := Twin(flash_crowd)).run_with(_allocator(t), "rmr", 900)
    assert prop["total"]["violation_s"] < static["total"]["violation_s"]
    assert prop["e2"]["controls_acked"] == 900 * len(flash_crowd.cells)


async def test_the_same_run_gives_the_same_report_over_every_transport(flash_crowd: Scenario) -> None:
    """Stepped mode is lockstep: the xApp's controls apply from the next tick whatever the transport."""
    reports = {}
    for kind in TransportKind:
        twin = Twin(flash_crowd)
        reports[kind] = await twin.run_with(_allocator(twin), kind, 30)
    memory = reports.pop(TransportKind.MEMORY)
    for kind, rep in reports.items():
        assert rep["slices"] == memory["slices"], kind
        assert rep["e2"]["controls_acked"] == memory["e2"]["controls_acked"] == 30 * len(flash_crowd.cells)


async def test_watcher_receives_one_indication_per_cell_and_tick_with_per_slice_values(flash_crowd: Scenario) -> None:
    twin = Twin(flash_crowd)
    app = Watcher(twin.node_ids, [s.snssai for s in flash_crowd.slices])
    report = await twin.run_with(app, "memory", 5)
    assert app.indications == 5 * len(flash_crowd.cells) == report["e2"]["indications"]
    last = {ind.e2_node: ind for ind in app.seen[-len(flash_crowd.cells) :]}
    values = twin.sim.last
    assert values is not None
    per = last["cell-003"].per_slice()
    assert set(per) == {s.snssai.key for s in flash_crowd.slices}
    assert per["1-000001"]["DRB.UEThpDl"] == round(values.measurements[2, 0, 0])


async def test_unknown_transport_kind_is_a_config_error(flash_crowd: Scenario) -> None:
    twin = Twin(flash_crowd)
    with pytest.raises(ConfigError, match="unknown transport 'carrier-pigeon'"):
        await twin.run_with(Watcher(twin.node_ids, ()), "carrier-pigeon", 1)


async def test_a_lost_message_is_reported_when_the_loop_does_not_settle(flash_crowd: Scenario) -> None:
    twin = Twin(flash_crowd)
    async with connect(twin, "memory") as link:
        await link.xapp.start()
        drain = asyncio.create_task(_drain(link.xapp))
        await link.settle(timeout=2)
        link.xapp.sent += 1  # the xApp side claims a request the twin never receives
        with pytest.raises(TransportError, match=r"did not settle .*xApp sent 1, twin handled 0"):
            await link.settle(timeout=0.2)
        await link.xapp.aclose()
        await drain


async def _drain(p: Probe, delay: float = 0.0) -> list[int]:
    got = []
    async for msg in p:
        got.append(msg.mtype)
        await asyncio.sleep(delay)
    return got


async def test_probe_counts_what_its_consumer_has_handled() -> None:
    from ricsdk.transport.memory import MemoryHub

    hub = MemoryHub()
    a, b = hub.endpoint("a"), hub.endpoint("b")
    hub.add_route(1, "b")
    pa, pb = Probe(a), Probe(b)
    await pa.start()
    await pb.start()
    link = Link(TransportKind.MEMORY, pa, pb)
    consumers = [asyncio.create_task(_drain(pa)), asyncio.create_task(_drain(pb, 0.01))]
    await pa.send(Message(1, b"x"))
    await pa.send(Message(1, b"y"))
    await asyncio.sleep(0)
    assert pb.handled < 2 and not link.settled()
    await link.settle(timeout=2)
    assert pb.handled == 2 and pa.sent == 2
    await pa.aclose()
    await pb.aclose()
    assert (await consumers[1]) == [1, 1]
    await consumers[0]


async def test_real_time_mode_paces_ticks_by_the_wall_clock() -> None:
    sc = load_scenario("steady")
    fast = scenario_from_dict({**sc.raw, "tick_ms": 20})
    twin = Twin(fast)
    app = _allocator(twin)
    app.period_ms = 20
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    report = await twin.run_with(app, "memory", 10, realtime=True)
    elapsed = loop.time() - t0
    assert elapsed >= 9 * 0.02
    assert report["ticks"] == 10 and report["e2"]["indications"] == 10 * len(fast.cells)
    assert twin.clock() - fast.start_unix_ns == 10 * 20_000_000  # virtual time still moves one tick a step
