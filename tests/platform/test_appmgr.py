"""appmgr registration as xapp-frame-py does it, against a fake appmgr over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ricsdk.runtime.appmgr import (
    AppmgrClient,
    AppmgrConfig,
    Registration,
    RegistrationError,
    appmgr_base_url,
    service_endpoint,
)
from ricsdk.runtime.config import XAppConfig
from tests.platform.conftest import FakeAppmgr

DESCRIPTOR = {
    "name": "slice-prb",
    "version": "2.0.1",
    "messaging": {"ports": [{"name": "rmrdata", "container": "c", "port": 4560, "policies": [20008]}]},
    "controls": {"a": 1},
}
ENV = {
    "HOSTNAME": "slice-prb",
    "SERVICE_RICXAPP_SLICE_PRB_HTTP_PORT": "tcp://10.96.1.7:8080",
    "SERVICE_RICXAPP_SLICE_PRB_RMR_PORT": "tcp://10.96.1.8:4560",
}


def _config(tmp_path: Path, **changes: object) -> XAppConfig:
    path = tmp_path / "config-file.json"
    path.write_text(json.dumps({**DESCRIPTOR, **changes}, indent=2) + "\n")
    return XAppConfig.load(path)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_default_url_is_the_platform_appmgr_service() -> None:
    assert AppmgrConfig().base_url == "http://service-ricplt-appmgr-http.ricplt:8080/ric/v1"
    assert appmgr_base_url("ric") == "http://service-ric-appmgr-http.ric:8080/ric/v1"
    assert AppmgrConfig.from_env({"PLT_NAMESPACE": "ric2"}).base_url == appmgr_base_url("ric2")
    assert AppmgrConfig.from_env({"RICSDK_APPMGR_URL": "http://am:1/ric/v1"}).base_url == "http://am:1/ric/v1"


def test_endpoints_come_from_the_kubernetes_service_variables(tmp_path: Path) -> None:
    assert service_endpoint(ENV, "ricxapp", "slice-prb", "http") == "10.96.1.7:8080"
    assert service_endpoint({}, "ricxapp", "slice-prb", "rmr") == ""
    reg = Registration.from_config(_config(tmp_path), ENV)
    assert (reg.http_endpoint, reg.rmr_endpoint) == ("10.96.1.7:8080", "10.96.1.8:4560")
    # without $HOSTNAME the descriptor name stands in
    assert Registration.from_config(_config(tmp_path), {}).app_name == "slice-prb"


async def test_register_body_is_what_xapp_frame_py_sends(appmgr: FakeAppmgr, tmp_path: Path) -> None:
    cfg = _config(tmp_path, name="slice-prb-a")  # appName is $HOSTNAME, appInstanceName the descriptor name
    reg = Registration.from_config(cfg, ENV)
    client = AppmgrClient(AppmgrConfig(base_url=appmgr.url), sleep=Sleeps())
    await client.register(reg)
    (body,) = appmgr.registered
    assert set(body) == {
        "appName",
        "appVersion",
        "configPath",
        "appInstanceName",
        "httpEndpoint",
        "rmrEndpoint",
        "config",
    }
    assert body["appName"] == "slice-prb"
    assert body["appVersion"] == "2.0.1"
    assert body["configPath"] == ""
    assert body["appInstanceName"] == "slice-prb-a"
    assert body["httpEndpoint"] == "10.96.1.7:8080"
    assert body["rmrEndpoint"] == "10.96.1.8:4560"
    assert isinstance(body["config"], str)  # the whole descriptor file, as a JSON string
    assert body["config"] == cfg.path.read_text()
    assert json.loads(body["config"]) == {**DESCRIPTOR, "name": "slice-prb-a"}
    assert client.registered


async def test_registration_retries_two_seconds_apart_until_accepted(appmgr: FakeAppmgr, tmp_path: Path) -> None:
    appmgr.refuse_first = 2
    appmgr.status = 200
    sleeps = Sleeps()
    client = AppmgrClient(AppmgrConfig(base_url=appmgr.url), sleep=sleeps)
    await client.register(Registration.from_config(_config(tmp_path), ENV))
    assert appmgr.attempts == 3
    assert sleeps.calls == [2.0, 2.0]
    assert client.stats.register_attempts == 3 and client.stats.registered == 1


async def test_registration_gives_up_after_five_tries(appmgr: FakeAppmgr, tmp_path: Path) -> None:
    appmgr.refuse_first = 99
    sleeps = Sleeps()
    client = AppmgrClient(AppmgrConfig(base_url=appmgr.url), sleep=sleeps)
    with pytest.raises(RegistrationError) as info:
        await client.register(Registration.from_config(_config(tmp_path), ENV))
    assert appmgr.attempts == 5
    assert sleeps.calls == [2.0] * 4
    assert (info.value.status, info.value.attempts) == (503, 5)
    assert not client.registered


async def test_tries_and_interval_are_configurable_and_unreachable_appmgr_counts_as_a_failed_try(
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    client = AppmgrClient(
        AppmgrConfig(base_url=f"http://127.0.0.1:{port}/ric/v1", tries=3, interval_s=0.5), sleep=sleeps
    )
    with pytest.raises(RegistrationError) as info:
        await client.register(Registration.from_config(_config(tmp_path), ENV))
    assert info.value.status == 0
    assert sleeps.calls == [0.5, 0.5]


async def test_deregistration_names_the_app_and_instance(appmgr: FakeAppmgr, tmp_path: Path) -> None:
    reg = Registration.from_config(_config(tmp_path), ENV)
    client = AppmgrClient(AppmgrConfig(base_url=appmgr.url), sleep=Sleeps())
    await client.register(reg)
    await client.deregister(reg)
    assert appmgr.deregistered == [{"appName": "slice-prb", "appInstanceName": "slice-prb"}]
    assert not client.registered
