"""The xApp descriptor (``config-file.json``) as configuration, and its reload without a restart.

Theory of operation
-------------------
The OSC onboarder templates the descriptor into the ``configmap-ricxapp-<name>-appconfig`` ConfigMap, mounted
at ``/opt/ric/config``, and the chart sets ``XAPP_DESCRIPTOR_PATH=/opt/ric/config``; images may instead set
``CONFIG_FILE`` to the file itself. :meth:`XAppConfig.from_env` looks at ``CONFIG_FILE`` first, then
``XAPP_DESCRIPTOR_PATH/config-file.json``, and is called at the edge (the xApp's ``main``), never at import.

The xApp's own configuration is the descriptor's free-form ``controls`` section (the part ``dms_cli onboard``
validates against the xApp's ``schema.json``). The rest of the descriptor tells the runtime its name, version,
ports and A1 policy types.

When the ConfigMap changes, the kubelet swaps the mounted files. :class:`ConfigWatcher` polls the file's
``stat`` (inode, size, mtime) every ``interval_s``; when it changed and the content differs, it parses the
file and calls ``app.reconfigure(controls)``. A file that does not parse, or a ``reconfigure`` that raises,
is logged and counted and the previous configuration stays in force; the xApp keeps running either way.
``check()`` performs one poll, so tests step it instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import structlog

from ricsdk.errors import ConfigError

if TYPE_CHECKING:
    from ricsdk.runtime.runner import XAppRunner

__all__ = [
    "CONFIG_FILE_NAME",
    "ConfigWatcher",
    "ConfigWatcherStats",
    "XAppConfig",
]

log = structlog.get_logger(__name__)

CONFIG_FILE_NAME: Final = "config-file.json"
DEFAULT_HTTP_PORT: Final = 8080
DEFAULT_RMR_DATA_PORT: Final = 4560
_MAX_DESCRIPTOR_BYTES: Final = 4 << 20


def _int_list(value: object, source: str, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ConfigError("must be a list of integers", source=source, field=where)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class XAppConfig:
    """One parsed descriptor. ``text`` is the file exactly as read (appmgr registration sends it)."""

    path: Path
    text: str
    descriptor: Mapping[str, Any]
    name: str
    version: str
    controls: Mapping[str, Any]
    digest: str = field(default="", compare=False)

    # -- loading -------------------------------------------------------------------------------------------
    @classmethod
    def locate(cls, environ: Mapping[str, str]) -> Path:
        """The descriptor path from ``CONFIG_FILE`` or ``XAPP_DESCRIPTOR_PATH`` (a directory)."""
        explicit = environ.get("CONFIG_FILE", "").strip()
        if explicit:
            return Path(explicit)
        directory = environ.get("XAPP_DESCRIPTOR_PATH", "").strip()
        if directory:
            return Path(directory) / CONFIG_FILE_NAME
        raise ConfigError("neither CONFIG_FILE nor XAPP_DESCRIPTOR_PATH is set", source="environment")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> XAppConfig:
        return cls.load(cls.locate(os.environ if environ is None else environ))

    @classmethod
    def load(cls, path: Path | str) -> XAppConfig:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the descriptor: {exc.strerror or exc}", source=str(path)) from exc
        return cls.parse(raw, path)

    @classmethod
    def parse(cls, raw: bytes, path: Path | str = CONFIG_FILE_NAME) -> XAppConfig:
        path = Path(path)
        source = str(path)
        if len(raw) > _MAX_DESCRIPTOR_BYTES:
            raise ConfigError(f"descriptor of {len(raw)} bytes is too large", source=source)
        try:
            text = raw.decode("utf-8")
            doc = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(f"descriptor is not JSON: {exc}", source=source) from exc
        if not isinstance(doc, dict):
            raise ConfigError("descriptor must be a JSON object", source=source)
        name = doc.get("name", doc.get("xapp_name"))
        if not isinstance(name, str) or not name:
            raise ConfigError("descriptor needs a non-empty 'name' (or 'xapp_name')", source=source, field="name")
        version = doc.get("version")
        if not isinstance(version, str) or not version:
            raise ConfigError("descriptor needs a non-empty 'version'", source=source, field="version")
        controls = doc.get("controls", {})
        if not isinstance(controls, dict):
            raise ConfigError("'controls' must be a JSON object", source=source, field="controls")
        cfg = cls(path, text, doc, name, version, controls, hashlib.sha256(raw).hexdigest())
        _ = cfg.policies, cfg.http_port, cfg.rmr_data_port  # malformed lists and ports fail here, not later
        return cfg

    # -- derived facts -------------------------------------------------------------------------------------
    def _ports(self) -> list[Mapping[str, Any]]:
        messaging = self.descriptor.get("messaging")
        ports = messaging.get("ports") if isinstance(messaging, dict) else None
        return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []

    def port(self, *names: str, default: int) -> int:
        """The ``messaging.ports`` entry with the first of ``names`` that exists, else ``default``."""
        by_name = {p.get("name"): p for p in self._ports()}
        for n in names:
            entry = by_name.get(n)
            if entry is not None:
                value = entry.get("port")
                if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 65535:
                    raise ConfigError(
                        f"port must be an integer 1..65535, got {value!r}", source=str(self.path), field=n
                    )
                return value
        return default

    @property
    def http_port(self) -> int:
        return self.port("http", default=DEFAULT_HTTP_PORT)

    @property
    def rmr_data_port(self) -> int:
        """The RMR data port: the ``rmrdata`` entry (``rmr-data`` in older descriptors), default 4560."""
        return self.port("rmrdata", "rmr-data", default=DEFAULT_RMR_DATA_PORT)

    @property
    def policies(self) -> tuple[int, ...]:
        """A1 policy type ids: from a top-level ``rmr`` object if present (appmgr then ignores the ports)."""
        source = str(self.path)
        rmr = self.descriptor.get("rmr")
        if isinstance(rmr, dict):
            return _int_list(rmr.get("policies"), source, "rmr.policies")
        out: list[int] = []
        for i, p in enumerate(self._ports()):
            for tid in _int_list(p.get("policies"), source, f"messaging.ports[{i}].policies"):
                if tid not in out:
                    out.append(tid)
        return tuple(out)


@dataclass(slots=True)
class ConfigWatcherStats:
    checks: int = 0
    reloads: int = 0
    invalid: int = 0
    rejected: int = 0
    unreadable: int = 0


#: The callback that applies new controls (normally ``runner.app.reconfigure``).
Reconfigure = Callable[[Mapping[str, Any]], Awaitable[None]]


class ConfigWatcher:
    """Polls the descriptor and applies changed ``controls`` through ``reconfigure``.

    ``on_applied`` (optional) is called with each configuration that ``reconfigure`` accepted, e.g. to update
    ``runner.context.config``. ``sleep`` and ``clock`` are injected so tests can step time.
    """

    def __init__(
        self,
        initial: XAppConfig,
        reconfigure: Reconfigure,
        *,
        interval_s: float = 5.0,
        on_applied: Callable[[XAppConfig], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval_s <= 0:
            raise ConfigError("must be > 0", field="interval_s")
        self.current = initial
        self.path = initial.path
        self.stats = ConfigWatcherStats()
        self.last_error = ""
        self.last_applied_at: float | None = None
        self._reconfigure = reconfigure
        self._interval = interval_s
        self._on_applied = on_applied
        self._sleep = sleep
        self._clock = clock
        self._seen: tuple[int, int, int] | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_runner(cls, initial: XAppConfig, runner: XAppRunner, **kwargs: Any) -> ConfigWatcher:
        """A watcher that calls ``runner.app.reconfigure`` and keeps ``runner.context.config`` current."""

        def applied(cfg: XAppConfig) -> None:
            runner.context.config = cfg.controls

        return cls(initial, runner.app.reconfigure, on_applied=applied, **kwargs)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    async def start(self) -> None:
        """Remember the file as it is now and poll it in a background task."""
        if self._task is not None:
            return
        self._seen = self._stat()
        self._task = asyncio.create_task(self._run(), name=f"config-watch-{self.current.name}")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await self._sleep(self._interval)
            try:
                await self.check()
            except Exception:  # check() handles the expected failures; anything else must not end the watch
                log.exception("config watcher check failed", path=str(self.path))

    async def check(self) -> bool:
        """One poll; True when a new configuration was applied."""
        self.stats.checks += 1
        seen = self._stat()
        if seen is None:
            if self._seen is not None:
                self.stats.unreadable += 1
                log.warning("descriptor disappeared; keeping the configuration in force", path=str(self.path))
            self._seen = None
            return False
        if seen == self._seen:
            return False
        self._seen = seen
        try:
            new = XAppConfig.load(self.path)
        except ConfigError as exc:
            self.stats.invalid += 1
            self.last_error = str(exc)
            log.warning("descriptor changed but is invalid; keeping the configuration in force", error=str(exc))
            return False
        if new.digest == self.current.digest:
            return False
        try:
            await self._reconfigure(new.controls)
        except Exception as exc:
            self.stats.rejected += 1
            self.last_error = f"reconfigure refused: {exc}"
            log.warning("xApp refused the new configuration; keeping the one in force", error=str(exc))
            return False
        self.current = new
        self.last_error = ""
        self.last_applied_at = self._clock()
        self.stats.reloads += 1
        if self._on_applied is not None:
            self._on_applied(new)
        log.info("configuration reloaded", path=str(self.path), digest=new.digest[:12])
        return True
