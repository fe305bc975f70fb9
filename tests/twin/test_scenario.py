"""Scenario files: the shipped ones load; mistakes are reported with the file and the path inside it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ricsdk.e2.common import Snssai
from ricsdk.errors import ConfigError
from ricsdk.twin.scenario import SliceType, load_scenario, scenario_from_dict, shipped_scenarios

BASE: dict[str, Any] = {
    "name": "t",
    "cells": [{"name": "cell", "count": 3, "prbs": 106, "bandwidth_mhz": 40}],
    "slices": [
        {"name": "embb", "sst": 1, "sd": "000001", "type": "eMBB", "sla": {"min_throughput_mbps": 10}},
        {"name": "urllc", "sst": 2, "type": "URLLC", "sla": {"max_delay_ms": 5, "priority": 1}},
    ],
    "traffic": {"embb": {"load_mbps": 20}},
}


def _with(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d.update(changes)
    return d


def test_shipped_scenarios_load() -> None:
    assert set(shipped_scenarios()) >= {"steady", "diurnal", "flash_crowd", "ddos", "mobility"}
    for name in shipped_scenarios():
        sc = load_scenario(name)
        assert sc.name == name
        assert sc.cells and sc.slices and any(t is not None for t in sc.traffic)


def test_a_scenario_reads_with_defaults_and_expanded_cell_groups() -> None:
    sc = scenario_from_dict(BASE, "mem.yaml")
    assert sc.cell_names == ("cell-001", "cell-002", "cell-003")
    assert sc.slices[0].snssai == Snssai.of(1, 1) and sc.slices[1].snssai == Snssai.of(2)
    assert sc.slices[1].type is SliceType.URLLC
    assert sc.slices[1].base_delay_ms == 1.0  # the URLLC default
    assert sc.slices[1].sla.max_delay_ms == 5.0 and sc.slices[0].sla.max_delay_ms is None
    assert sc.traffic[1] is None  # urllc has no traffic entry
    assert sc.tick_ms == 100 and sc.ticks == 6000
    assert sc.plmn == b"\x00\xf1\x10"


def test_start_time_accepts_iso_timestamps_and_unix_seconds(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(
        "name: t\nstart_time: 2026-03-01T12:00:00Z\n"
        "cells: [{name: c, prbs: 10, bandwidth_mhz: 5}]\n"
        "slices: [{name: a, sst: 1, type: mMTC}]\ntraffic: {a: {load_mbps: 1}}\n"
    )
    assert load_scenario(f).start_unix_ns == 1772366400 * 10**9
    assert scenario_from_dict(_with(start_time=12.5)).start_unix_ns == 12_500_000_000


def test_schema_errors_name_the_file_and_every_offending_path(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(
        "name: t\ncells: [{name: c, prbs: 999, bandwidth_mhz: 5}]\n"
        "slices: [{name: a, sst: 1, type: eMBB, sla: {max_delay_ms: -1}}]\n"
        "traffic: {a: {load_mbps: 1, colour: red}}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}:cells[0].prbs:")
    assert "slices[0].sla.max_delay_ms" in msg
    assert "traffic.a: Additional properties are not allowed ('colour'" in msg
    assert err.value.source == str(f) and err.value.field == "cells[0].prbs"


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        (_with(traffic={"video": {"load_mbps": 1}}), "traffic.video", "no slice named 'video'"),
        (
            _with(
                traffic={"embb": {"load_mbps": 1, "flash_crowds": [{"cells": ["cel-*"], "start_s": 1, "factor": 2}]}}
            ),
            "traffic.embb.flash_crowds[0].cells[0]",
            "'cel-*' matches no cell",
        ),
        (
            _with(
                traffic={
                    "embb": {
                        "load_mbps": 1,
                        "mobility": [{"from": ["cell-001"], "to": ["cell-00*"], "start_s": 0, "fraction": 0.5}],
                    }
                }
            ),
            "traffic.embb.mobility[0]",
            "share cells",
        ),
        (
            _with(slices=[*BASE["slices"], {"name": "dup", "sst": 2, "type": "mMTC"}]),
            "slices[2]",
            "S-NSSAI 2 is already used by slice 'urllc'",
        ),
        (
            _with(
                slices=[{"name": "a", "sst": 1, "type": "eMBB", "initial_quota": {"min": 10, "max": 5}}],
                traffic={"a": {"load_mbps": 1}},
            ),
            "slices[0].initial_quota",
            "dedicated <= min <= max",
        ),
        (
            _with(
                slices=[
                    {"name": "a", "sst": 1, "type": "eMBB", "initial_quota": {"min": 60, "dedicated": 60}},
                    {"name": "b", "sst": 2, "type": "eMBB", "initial_quota": {"min": 60, "dedicated": 60}},
                ],
                traffic={"a": {"load_mbps": 1}},
            ),
            "slices",
            "add up to 120 %",
        ),
        (_with(cells=[{"name": "c", "prbs": 1, "bandwidth_mhz": 1}] * 2), "cells[1].name", "defined twice"),
        (_with(plmn="12"), "plmn", "does not match"),
    ],
)
def test_semantic_errors_name_their_path(data: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(data, "s.yaml")
    assert err.value.field == field
    assert text in str(err.value)
    assert str(err.value).startswith(f"s.yaml:{field}:")


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    f = tmp_path / "broken.yaml"
    f.write_text("name: t\ncells: [\n  {name: c\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: not valid YAML at line \d+"):
        load_scenario(f)


def test_a_missing_file_lists_the_shipped_scenarios(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="shipped scenarios: ddos, diurnal, flash_crowd"):
        load_scenario(tmp_path / "nope.yaml")


def test_with_seed_changes_only_the_seed() -> None:
    sc = load_scenario("steady")
    other = sc.with_seed(99)
    assert other.seed == 99 and other.cells == sc.cells and other.slices == sc.slices
