"""XAppConfig from the descriptor, and the watcher that applies ConfigMap updates through reconfigure."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from ricsdk.errors import ConfigError
from ricsdk.runtime.config import ConfigWatcher, XAppConfig
from ricsdk.runtime.platform import PlatformConfig, PlatformServer, descriptor_of
from ricsdk.runtime.runner import RunnerConfig, XAppRunner
from ricsdk.runtime.xapp import XApp
from tests.platform.conftest import RmrTrio

DESCRIPTOR: dict[str, Any] = {
    "name": "slice-prb",
    "version": "1.0.0",
    "messaging": {
        "ports": [
            {"name": "http", "container": "c", "port": 8081},
            {"name": "rmrdata", "container": "c", "port": 4570, "policies": [20008, 20009]},
            {"name": "rmrroute", "container": "c", "port": 4561},
        ]
    },
    "controls": {"window": 8, "guard": {"max_step": 10}},
}


def write(path: Path, doc: object, *, bump_ns: int = 0) -> None:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    if bump_ns:  # same-size rewrites within one clock tick must still look changed
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump_ns))


def test_the_descriptor_is_located_by_config_file_then_xapp_descriptor_path(tmp_path: Path) -> None:
    write(tmp_path / "config-file.json", DESCRIPTOR)
    other = tmp_path / "other.json"
    write(other, {**DESCRIPTOR, "name": "explicit"})
    assert XAppConfig.from_env({"XAPP_DESCRIPTOR_PATH": str(tmp_path)}).name == "slice-prb"
    both = {"XAPP_DESCRIPTOR_PATH": str(tmp_path), "CONFIG_FILE": str(other)}
    assert XAppConfig.from_env(both).name == "explicit"
    with pytest.raises(ConfigError, match="CONFIG_FILE"):
        XAppConfig.from_env({})
    with pytest.raises(ConfigError, match="cannot read"):
        XAppConfig.from_env({"XAPP_DESCRIPTOR_PATH": str(tmp_path / "missing")})


def test_controls_ports_and_policies_come_from_the_descriptor(tmp_path: Path) -> None:
    write(tmp_path / "config-file.json", DESCRIPTOR)
    cfg = XAppConfig.load(tmp_path / "config-file.json")
    assert (cfg.name, cfg.version) == ("slice-prb", "1.0.0")
    assert cfg.controls == {"window": 8, "guard": {"max_step": 10}}
    assert (cfg.http_port, cfg.rmr_data_port) == (8081, 4570)
    assert cfg.policies == (20008, 20009)
    # a top-level rmr object wins over messaging.ports (appmgr's parseConfig); xapp_name is the older key
    legacy = {"xapp_name": "old", "version": "0.1", "rmr": {"policies": [7]}, "messaging": DESCRIPTOR["messaging"]}
    cfg = XAppConfig.parse(json.dumps(legacy).encode())
    assert (cfg.name, cfg.policies, cfg.controls) == ("old", (7,), {})
    # defaults: http 8080, rmrdata 4560 (or the older rmr-data name)
    cfg = XAppConfig.parse(b'{"name":"n","version":"1","messaging":{"ports":[{"name":"rmr-data","port":4599}]}}')
    assert (cfg.http_port, cfg.rmr_data_port) == (8080, 4599)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{broken", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"version": "1"}', "name"),
        (b'{"name": "n"}', "version"),
        (b'{"name": "n", "version": "1", "controls": []}', "controls"),
        (b'{"name": "n", "version": "1", "rmr": {"policies": ["x"]}}', "rmr.policies"),
        (b'{"name":"n","version":"1","messaging":{"ports":[{"name":"http","port":70000}]}}', "http"),
    ],
)
def test_invalid_descriptors_raise_config_errors_naming_the_problem(raw: bytes, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        XAppConfig.parse(raw, "config-file.json")


def test_importing_the_module_reads_no_environment() -> None:
    import importlib

    import ricsdk.runtime.config as mod

    saved = {k: os.environ.pop(k) for k in ("CONFIG_FILE", "XAPP_DESCRIPTOR_PATH") if k in os.environ}
    try:
        importlib.reload(mod)  # nothing is located or read at import
    finally:
        os.environ.update(saved)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Mapping[str, Any]] = []
        self.refuse = False

    async def __call__(self, controls: Mapping[str, Any]) -> None:
        if self.refuse:
            raise ValueError("window must be positive")
        self.calls.append(controls)


async def test_watcher_applies_changed_controls_and_keeps_the_old_ones_on_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "config-file.json"
    write(path, DESCRIPTOR)
    rec = Recorder()
    watcher = ConfigWatcher(XAppConfig.load(path), rec, interval_s=60, clock=lambda: 1234.5)
    await watcher.start()
    try:
        assert not await watcher.check()  # unchanged
        write(path, {**DESCRIPTOR, "controls": {"window": 16}}, bump_ns=1_000_000)
        assert await watcher.check()
        assert rec.calls == [{"window": 16}]
        assert watcher.current.controls == {"window": 16} and watcher.last_applied_at == 1234.5

        write(path, "{half a file", bump_ns=2_000_000)
        assert not await watcher.check()
        assert watcher.stats.invalid == 1 and "not JSON" in watcher.last_error
        assert watcher.current.controls == {"window": 16}

        rec.refuse = True
        write(path, {**DESCRIPTOR, "controls": {"window": -1}}, bump_ns=3_000_000)
        assert not await watcher.check()
        assert watcher.stats.rejected == 1 and "window must be positive" in watcher.last_error
        assert watcher.current.controls == {"window": 16}

        rec.refuse = False
        write(path, {**DESCRIPTOR, "controls": {"window": 16}}, bump_ns=4_000_000)  # back to what is in force
        assert not await watcher.check()
        path.unlink()
        assert not await watcher.check()
        assert watcher.stats.unreadable == 1
        assert (watcher.stats.reloads, len(rec.calls)) == (1, 1)
    finally:
        await watcher.aclose()


async def test_a_configmap_symlink_swap_reconfigures_the_running_xapp(rmr_trio: RmrTrio, tmp_path: Path) -> None:
    """The kubelet's atomic writer: config-file.json -> ..data/config-file.json, ..data -> a new directory."""
    mount = tmp_path / "config"
    mount.mkdir()
    for i, window in enumerate((8, 32)):
        d = mount / f"..v{i}"
        d.mkdir()
        write(d / "config-file.json", {**DESCRIPTOR, "controls": {"window": window}})
    (mount / "..data").symlink_to("..v0")
    (mount / "config-file.json").symlink_to("..data/config-file.json")

    class Windowed(XApp):
        name = "windowed"

        def __init__(self) -> None:
            super().__init__()
            self.window = 0
            self.reconfigured = asyncio.Event()

        async def reconfigure(self, config: Mapping[str, Any]) -> None:
            self.window = int(config["window"])
            self.reconfigured.set()

    cfg = XAppConfig.from_env({"XAPP_DESCRIPTOR_PATH": str(mount)})
    app = Windowed()
    runner = XAppRunner(app, rmr_trio.xapp, config=RunnerConfig(app_config=cfg.controls))
    watcher = ConfigWatcher.for_runner(cfg, runner, interval_s=0.02)
    async with runner:
        await watcher.start()
        async with PlatformServer(
            runner, config=PlatformConfig(host="127.0.0.1", port=0), descriptor=descriptor_of(watcher)
        ) as platform:
            tmp_link = mount / "..data_tmp"
            tmp_link.symlink_to("..v1")
            tmp_link.replace(mount / "..data")  # rename over: the swap the kubelet does
            await asyncio.wait_for(app.reconfigured.wait(), 5)
            async with httpx.AsyncClient(base_url=platform.url) as client:
                served = (await client.get("/ric/v1/config")).json()
        await watcher.aclose()
        assert app.window == 32
        assert runner.context.config == {"window": 32}  # what handlers read through ctx.config
        assert served[0]["config"]["controls"] == {"window": 32}
