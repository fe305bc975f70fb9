"""The digital twin: a simulated RAN of cells, slices and traffic that speaks real E2 (see docs/twin.md).

::

    from ricsdk.twin import Twin, load_scenario

    twin = Twin(load_scenario("flash_crowd"))
    report = await twin.run_with(my_xapp, "memory", periods=600)

The Gymnasium environment lives in :mod:`ricsdk.twin.gym` (it needs the ``gymnasium`` package).
"""

from ricsdk.twin.loop import TransportKind
from ricsdk.twin.node import TwinConfig, TwinNode
from ricsdk.twin.scenario import Scenario, load_scenario, scenario_from_dict, shipped_scenarios
from ricsdk.twin.sim import MEASUREMENTS, Simulation, TickResult, VirtualClock
from ricsdk.twin.sla import SlaAccount
from ricsdk.twin.twin import Twin, TwinState, TwinStats

__all__ = [
    "MEASUREMENTS",
    "Scenario",
    "Simulation",
    "SlaAccount",
    "TickResult",
    "TransportKind",
    "Twin",
    "TwinConfig",
    "TwinNode",
    "TwinState",
    "TwinStats",
    "VirtualClock",
    "load_scenario",
    "scenario_from_dict",
    "shipped_scenarios",
]
