"""Registration with the OSC App Manager (appmgr), the way xapp-frame-py does it.

Theory of operation
-------------------
Once the xApp's transport is up, it registers: up to ``tries`` (5) attempts, ``interval_s`` (2 s) apart, of
``POST {base}/register`` where ``base`` defaults to ``http://service-<ns>-appmgr-http.<ns>:8080/ric/v1`` with
``<ns>`` the platform namespace (``PLT_NAMESPACE``, default ``ricplt``). 200 or 201 is success. The body is::

    {"appName": $HOSTNAME, "appVersion": <descriptor version>, "configPath": "",
     "appInstanceName": <descriptor name>, "httpEndpoint": "ip:port", "rmrEndpoint": "ip:port",
     "config": "<the whole descriptor file, as a JSON string>"}

The endpoints come from the Kubernetes service variables ``SERVICE_<NS>_<HOST>_HTTP_PORT`` and
``..._RMR_PORT`` (``tcp://ip:port``), with ``<NS>`` the xApp namespace (``ricxapp``) and ``<HOST>`` the host
name, upper-cased with ``-`` turned into ``_``. Because ``config`` is not empty, appmgr does not call back
for the configuration; it hands the descriptor to rtmgr, which builds the xApp's routes from it (including
the A1 policy routes of ``policies``). On stop the xApp sends ``POST {base}/deregister`` with ``appName``
and ``appInstanceName``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

import httpx
import structlog

from ricsdk.errors import ConfigError, TransportError
from ricsdk.runtime.config import XAppConfig

__all__ = [
    "DEFAULT_PLATFORM_NAMESPACE",
    "DEFAULT_XAPP_NAMESPACE",
    "AppmgrClient",
    "AppmgrConfig",
    "AppmgrStats",
    "Registration",
    "RegistrationError",
    "appmgr_base_url",
    "service_endpoint",
]

log = structlog.get_logger(__name__)

DEFAULT_PLATFORM_NAMESPACE: Final = "ricplt"
DEFAULT_XAPP_NAMESPACE: Final = "ricxapp"
_OK: Final = frozenset({200, 201})


def appmgr_base_url(namespace: str = DEFAULT_PLATFORM_NAMESPACE) -> str:
    """appmgr's REST base in the platform namespace ``namespace`` (service ``service-<ns>-appmgr-http``)."""
    return f"http://service-{namespace}-appmgr-http.{namespace}:8080/ric/v1"


def service_endpoint(environ: Mapping[str, str], namespace: str, host: str, kind: str) -> str:
    """``ip:port`` from the Kubernetes variable ``SERVICE_<NS>_<HOST>_<KIND>_PORT`` (``tcp://ip:port``), or ""."""
    var = f"SERVICE_{namespace}_{host}_{kind}_PORT".upper().replace("-", "_")
    value = environ.get(var, "").strip()
    if "://" in value:
        value = value.split("://", 1)[1]
    return value.rstrip("/")


class RegistrationError(TransportError):
    """appmgr did not accept a (de)registration; ``status`` is the last HTTP status (0: no answer)."""

    def __init__(self, message: str, *, status: int = 0, attempts: int = 0) -> None:
        self.status = status
        self.attempts = attempts
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Registration:
    """What the xApp tells appmgr about itself."""

    app_name: str
    app_version: str
    app_instance_name: str
    http_endpoint: str
    rmr_endpoint: str
    config: str
    config_path: str = ""

    @classmethod
    def from_config(
        cls,
        config: XAppConfig,
        environ: Mapping[str, str] | None = None,
        *,
        xapp_namespace: str = DEFAULT_XAPP_NAMESPACE,
    ) -> Registration:
        """From the descriptor and the environment: ``appName`` is ``$HOSTNAME`` (the chart sets it to the
        xApp name), falling back to the descriptor name when the variable is missing."""
        env = os.environ if environ is None else environ
        host = env.get("HOSTNAME", "").strip() or config.name
        return cls(
            app_name=host,
            app_version=config.version,
            app_instance_name=config.name,
            http_endpoint=service_endpoint(env, xapp_namespace, host, "http"),
            rmr_endpoint=service_endpoint(env, xapp_namespace, host, "rmr"),
            config=config.text,
        )

    def register_body(self) -> dict[str, str]:
        return {
            "appName": self.app_name,
            "appVersion": self.app_version,
            "configPath": self.config_path,
            "appInstanceName": self.app_instance_name,
            "httpEndpoint": self.http_endpoint,
            "rmrEndpoint": self.rmr_endpoint,
            "config": self.config,
        }

    def deregister_body(self) -> dict[str, str]:
        return {"appName": self.app_name, "appInstanceName": self.app_instance_name}


@dataclass(frozen=True, slots=True)
class AppmgrConfig:
    base_url: str = appmgr_base_url()
    tries: int = 5
    interval_s: float = 2.0
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"must be an http(s) URL, got {self.base_url!r}", field="appmgr.base_url")
        if self.tries < 1:
            raise ConfigError("must be at least 1", field="appmgr.tries")
        if self.interval_s < 0 or self.timeout_s <= 0:
            raise ConfigError("intervals and timeouts must be positive", field="appmgr")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppmgrConfig:
        """``RICSDK_APPMGR_URL`` if set, else the default URL in ``PLT_NAMESPACE`` (default ``ricplt``)."""
        env = os.environ if environ is None else environ
        url = env.get("RICSDK_APPMGR_URL", "").strip()
        return cls(base_url=url or appmgr_base_url(env.get("PLT_NAMESPACE", "").strip() or DEFAULT_PLATFORM_NAMESPACE))


@dataclass(slots=True)
class AppmgrStats:
    register_attempts: int = 0
    register_failures: int = 0
    registered: int = 0
    deregistered: int = 0
    deregister_failures: int = 0


class AppmgrClient:
    """Registers and deregisters one xApp. ``http`` (optional) is a client the caller owns; otherwise a short-
    lived client is used per call. ``sleep`` is injected so tests do not wait between tries."""

    def __init__(
        self,
        config: AppmgrConfig | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config or AppmgrConfig()
        self.stats = AppmgrStats()
        self.registered = False
        self._http = http
        self._sleep = sleep

    async def _post(self, path: str, body: Mapping[str, str]) -> int:
        url = f"{self.config.base_url.rstrip('/')}/{path}"
        if self._http is not None:
            resp = await self._http.post(url, json=body, timeout=self.config.timeout_s)
        else:
            async with httpx.AsyncClient(timeout=self.config.timeout_s) as client:
                resp = await client.post(url, json=body)
        return resp.status_code

    async def register(self, reg: Registration) -> None:
        """Register, retrying; raises :class:`RegistrationError` when every try failed."""
        body = reg.register_body()
        status = 0
        for attempt in range(1, self.config.tries + 1):
            self.stats.register_attempts += 1
            try:
                status = await self._post("register", body)
            except httpx.HTTPError as exc:
                status = 0
                log.warning("appmgr registration failed", attempt=attempt, error=str(exc) or type(exc).__name__)
            else:
                if status in _OK:
                    self.registered = True
                    self.stats.registered += 1
                    log.info("registered with appmgr", app=reg.app_name, instance=reg.app_instance_name)
                    return
                log.warning("appmgr refused the registration", attempt=attempt, status=status)
            if attempt < self.config.tries:
                await self._sleep(self.config.interval_s)
        self.stats.register_failures += 1
        raise RegistrationError(
            f"appmgr registration of {reg.app_name} failed after {self.config.tries} tries",
            status=status,
            attempts=self.config.tries,
        )

    async def deregister(self, reg: Registration) -> None:
        """One deregistration request; raises :class:`RegistrationError` when it was not accepted."""
        try:
            status = await self._post("deregister", reg.deregister_body())
        except httpx.HTTPError as exc:
            self.stats.deregister_failures += 1
            raise RegistrationError(f"appmgr deregistration failed: {exc}", attempts=1) from exc
        if status not in (*_OK, 204):
            self.stats.deregister_failures += 1
            raise RegistrationError(f"appmgr refused the deregistration (HTTP {status})", status=status, attempts=1)
        self.registered = False
        self.stats.deregistered += 1
        log.info("deregistered from appmgr", app=reg.app_name)
