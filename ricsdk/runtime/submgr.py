"""E2 subscriptions through the OSC Subscription Manager's REST API.

Theory of operation
-------------------
In the OSC RIC an xApp does not send RICsubscriptionRequest itself: it asks the Subscription Manager (submgr),
which allocates the E2 instance id, talks to the E2 node through E2T, has rtmgr route the indications to the
xApp, and tells the xApp the outcome over HTTP. One :class:`SubmgrSubscriber` call does this for one
:class:`~ricsdk.runtime.subscriptions.KpmSubscriptionSpec`:

1. ``POST {base}/subscriptions`` with ``SubscriptionParams``: the xApp's ``ClientEndpoint`` (where submgr
   calls back, and the RMR port it routes to), ``Meid`` (the E2 node), ``RANFunctionID``,
   ``E2SubscriptionDirectives`` and one ``SubscriptionDetails`` entry whose ``EventTriggers`` and
   ``ActionDefinition`` are the APER bytes of the KPM event trigger and action definition as integer arrays,
   with the xApp's own ``XappEventInstanceId``. submgr answers 201 ``{SubscriptionId, SubscriptionInstances}``.
2. submgr ``POST``s a ``SubscriptionResponse`` to ``http://<Host>:<HTTPPort>/ric/v1/subscriptions/response``
   (the xApp's HTTP server forwards it to :meth:`SubmgrSubscriber.handle_response`). Each instance maps the
   ``XappEventInstanceId`` to the ``E2EventInstanceId``: the RICrequestID instance id (requestor id 123) and
   RMR ``sub_id`` of every indication that follows. An ``E2EventInstanceId`` of 0 is a failure, with
   ``ErrorCause``, ``ErrorSource`` and ``TimeoutType``.

The notification may arrive *before* the POST returns, so notifications are kept by ``SubscriptionId`` (a
bounded buffer) and the subscriber looks there once it knows its id.

submgr deduplicates identical requests, so the ``SubscriptionId`` and ``XappEventInstanceId`` of each spec are
persisted in a JSON state file (written atomically) and, after a restart, the request is resent with the
same ``SubscriptionId``; if submgr no longer knows it (404) the id is forgotten and a fresh subscription made.
``unsubscribe`` is ``DELETE {base}/subscriptions/{SubscriptionId}`` (204); submgr sends no notification for
deletes. Nothing here touches the network or the disk before the first call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import structlog

from ricsdk.e2 import e2ap
from ricsdk.e2.kpm import EventTrigger
from ricsdk.errors import ConfigError, RemoteProtocolError
from ricsdk.runtime.subscriptions import (
    OSC_REQUESTOR_ID,
    ActiveSubscription,
    KpmSubscriptionSpec,
    SubscriptionError,
)

__all__ = [
    "DEFAULT_SUBMGR_URL",
    "ClientEndpoint",
    "SubmgrConfig",
    "SubmgrNotificationError",
    "SubmgrStats",
    "SubmgrSubscriber",
    "SubmgrSubscriptionError",
    "SubscriptionInstance",
    "parse_subscription_response",
]

log = structlog.get_logger(__name__)

#: submgr's REST base inside the OSC RIC (headless Service, subscription server on 8088).
DEFAULT_SUBMGR_URL: Final = "http://service-ricplt-submgr-http.ricplt:8088/ric/v1"
_STATE_VERSION: Final = 1
_MAX_NOTIFICATION_BYTES: Final = 1 << 20
_ERROR_SOURCES: Final = frozenset({"SUBMGR", "RTMGR", "DBAAS", "ASN1", "E2Node"})
_TIMEOUT_TYPES: Final = frozenset({"E2-Timeout", "RTMGR-Timeout", "DBAAS-Timeout"})


class SubmgrSubscriptionError(SubscriptionError):
    """submgr reported a failed subscription (``E2EventInstanceId`` 0) or refused the request.

    ``error_cause``, ``error_source`` (SUBMGR, RTMGR, DBAAS, ASN1, E2Node) and ``timeout_type`` (E2-Timeout,
    RTMGR-Timeout, DBAAS-Timeout: worth a retry) are submgr's; ``status`` is the HTTP status when the
    request itself was refused.
    """

    def __init__(
        self,
        message: str,
        *,
        subscription_id: str = "",
        error_cause: str = "",
        error_source: str = "",
        timeout_type: str = "",
        status: int = 0,
    ) -> None:
        self.subscription_id = subscription_id
        self.error_cause = error_cause
        self.error_source = error_source
        self.timeout_type = timeout_type
        self.status = status
        detail = ", ".join(
            f"{k}={v}" for k, v in (("source", error_source), ("cause", error_cause), ("timeout", timeout_type)) if v
        )
        super().__init__(f"{message} ({detail})" if detail else message)


class SubmgrNotificationError(RemoteProtocolError):
    """A subscription notification from submgr that does not follow ``SubscriptionResponse``."""


@dataclass(frozen=True, slots=True)
class ClientEndpoint:
    """Where submgr reaches the xApp: ``Host`` (e.g. ``service-ricxapp-<name>-http.ricxapp``), ports."""

    host: str
    http_port: int
    rmr_port: int

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("must not be empty", field="client_endpoint.host")
        for name in ("http_port", "rmr_port"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v <= 65535:
                raise ConfigError(f"must be 0..65535, got {v!r}", field=f"client_endpoint.{name}")

    @classmethod
    def for_xapp(
        cls, name: str, *, namespace: str = "ricxapp", http_port: int = 8080, rmr_port: int = 4560
    ) -> ClientEndpoint:
        """The chart's HTTP Service of xApp ``name``: ``service-<namespace>-<name>-http.<namespace>``."""
        return cls(f"service-{namespace}-{name}-http.{namespace}", http_port, rmr_port)

    def to_json(self) -> dict[str, Any]:
        return {"Host": self.host, "HTTPPort": self.http_port, "RMRPort": self.rmr_port}


@dataclass(frozen=True, slots=True)
class SubmgrConfig:
    """``base_url`` is submgr's REST base; ``state_file`` keeps SubscriptionIds across restarts (None: kept
    in memory only). ``e2_timeout_s``/``e2_retries``: ``E2SubscriptionDirectives`` (submgr's defaults are
    2 s and 2). ``response_timeout_s`` bounds the wait for the notification."""

    base_url: str = DEFAULT_SUBMGR_URL
    state_file: Path | None = None
    e2_timeout_s: int = 2
    e2_retries: int = 2
    rmr_routing_needed: bool = True
    response_timeout_s: float = 15.0
    request_timeout_s: float = 5.0
    notification_buffer: int = 256

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"must be an http(s) URL, got {self.base_url!r}", field="submgr.base_url")
        if not 1 <= self.e2_timeout_s <= 10:
            raise ConfigError("E2TimeoutTimerValue must be 1..10", field="submgr.e2_timeout_s")
        if not 0 <= self.e2_retries <= 10:
            raise ConfigError("E2RetryCount must be 0..10", field="submgr.e2_retries")
        if self.response_timeout_s <= 0 or self.request_timeout_s <= 0:
            raise ConfigError("timeouts must be positive", field="submgr")
        if self.notification_buffer < 1:
            raise ConfigError("must be at least 1", field="submgr.notification_buffer")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SubmgrConfig:
        """``RICSDK_SUBMGR_URL`` and ``RICSDK_SUBMGR_STATE`` (the state file), each optional."""
        env = os.environ if environ is None else environ
        url = env.get("RICSDK_SUBMGR_URL", "").strip()
        state = env.get("RICSDK_SUBMGR_STATE", "").strip()
        return cls(base_url=url or DEFAULT_SUBMGR_URL, state_file=Path(state) if state else None)


@dataclass(frozen=True, slots=True)
class SubscriptionInstance:
    """One ``SubscriptionInstance`` of a notification."""

    xapp_event_instance_id: int
    e2_event_instance_id: int
    error_cause: str = ""
    error_source: str = ""
    timeout_type: str = ""

    @property
    def ok(self) -> bool:
        return self.e2_event_instance_id != 0


def _uint16(doc: Mapping[str, Any], key: str, where: str) -> int:
    v = doc.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 65535:
        raise SubmgrNotificationError(f"{where}.{key} must be an integer 0..65535, got {v!r}")
    return v


def _opt_str(doc: Mapping[str, Any], key: str, where: str) -> str:
    v = doc.get(key, "")
    if v is None:
        return ""
    if not isinstance(v, str):
        raise SubmgrNotificationError(f"{where}.{key} must be a string, got {v!r}")
    return v


def parse_subscription_response(body: object) -> tuple[str, tuple[SubscriptionInstance, ...]]:
    """Validate a ``SubscriptionResponse`` (a decoded JSON value); returns the id and its instances."""
    if not isinstance(body, dict):
        raise SubmgrNotificationError("SubscriptionResponse must be a JSON object")
    sid = body.get("SubscriptionId")
    if isinstance(sid, int) and not isinstance(sid, bool):
        sid = str(sid)
    if not isinstance(sid, str) or not sid:
        raise SubmgrNotificationError(f"SubscriptionId must be a non-empty string, got {sid!r}")
    raw = body.get("SubscriptionInstances")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise SubmgrNotificationError("SubscriptionInstances must be an array")
    out = []
    for i, item in enumerate(raw):
        where = f"SubscriptionInstances[{i}]"
        if not isinstance(item, dict):
            raise SubmgrNotificationError(f"{where} must be an object")
        source = _opt_str(item, "ErrorSource", where)
        timeout = _opt_str(item, "TimeoutType", where)
        if source and source not in _ERROR_SOURCES:
            log.warning("submgr notification with an unknown ErrorSource", error_source=source)
        if timeout and timeout not in _TIMEOUT_TYPES:
            log.warning("submgr notification with an unknown TimeoutType", timeout_type=timeout)
        out.append(
            SubscriptionInstance(
                _uint16(item, "XappEventInstanceId", where),
                _uint16(item, "E2EventInstanceId", where),
                _opt_str(item, "ErrorCause", where),
                source,
                timeout,
            )
        )
    return sid, tuple(out)


@dataclass(slots=True)
class SubmgrStats:
    requests: int = 0
    request_failures: int = 0
    subscribed: int = 0
    failed: int = 0
    timeouts: int = 0
    resent: int = 0
    stale_ids: int = 0
    deleted: int = 0
    delete_failures: int = 0
    notifications: int = 0
    notifications_malformed: int = 0
    notifications_evicted: int = 0
    state_writes: int = 0
    state_errors: int = 0


@dataclass(frozen=True, slots=True)
class _Saved:
    subscription_id: str
    xapp_event_instance_id: int
    meid: str
    ran_function_id: int

    def to_json(self) -> dict[str, Any]:
        return {
            "subscription_id": self.subscription_id,
            "xapp_event_instance_id": self.xapp_event_instance_id,
            "meid": self.meid,
            "ran_function_id": self.ran_function_id,
        }


def _int_array(data: bytes) -> list[int]:
    return list(data)


class SubmgrSubscriber:
    """A :class:`~ricsdk.runtime.subscriptions.Subscriber` backed by the OSC Subscription Manager.

    ``client_endpoint`` is the endpoint itself or a callable giving it at subscribe time (useful when the HTTP
    server binds an ephemeral port). ``http`` (optional) is a client the caller owns and closes.
    """

    def __init__(
        self,
        config: SubmgrConfig,
        client_endpoint: ClientEndpoint | Callable[[], ClientEndpoint],
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.stats = SubmgrStats()
        self._endpoint = client_endpoint
        self._http = http
        self._notified: OrderedDict[str, dict[int, SubscriptionInstance]] = OrderedDict()
        self._changed = asyncio.Condition()
        self._state: dict[str, _Saved] | None = None
        self._state_lock = asyncio.Lock()

    # -- the REST body -------------------------------------------------------------------------------------
    @property
    def client_endpoint(self) -> ClientEndpoint:
        ep = self._endpoint
        return ep if isinstance(ep, ClientEndpoint) else ep()

    def subscription_params(
        self, spec: KpmSubscriptionSpec, xapp_event_instance_id: int, subscription_id: str | None = None
    ) -> dict[str, Any]:
        """The ``SubscriptionParams`` body for ``spec`` (KPM trigger and action definition as APER bytes)."""
        codec = spec.codec
        trigger = codec.encode_event_trigger(EventTrigger(spec.period_ms))
        definition = codec.encode_action_definition(spec.action_definition())
        body: dict[str, Any] = {}
        if subscription_id:
            body["SubscriptionId"] = subscription_id
        body.update(
            {
                "ClientEndpoint": self.client_endpoint.to_json(),
                "Meid": spec.e2_node,
                "RANFunctionID": spec.ran_function_id,
                "E2SubscriptionDirectives": {
                    "E2TimeoutTimerValue": self.config.e2_timeout_s,
                    "E2RetryCount": self.config.e2_retries,
                    "RMRRoutingNeeded": self.config.rmr_routing_needed,
                },
                "SubscriptionDetails": [
                    {
                        "XappEventInstanceId": xapp_event_instance_id,
                        "EventTriggers": _int_array(trigger),
                        "ActionToBeSetupList": [
                            {
                                "ActionID": spec.action_id,
                                "ActionType": "report",
                                "ActionDefinition": _int_array(definition),
                                "SubsequentAction": {"SubsequentActionType": "continue", "TimeToWait": "zero"},
                            }
                        ],
                    }
                ],
            }
        )
        return body

    # -- notifications ---------------------------------------------------------------------------------------
    async def handle_response(self, body: object) -> None:
        """A ``SubscriptionResponse`` POSTed by submgr (the HTTP server calls this); malformed bodies raise
        :class:`SubmgrNotificationError` after being counted."""
        try:
            sid, instances = parse_subscription_response(body)
        except SubmgrNotificationError:
            self.stats.notifications_malformed += 1
            raise
        self.stats.notifications += 1
        log.info(
            "submgr notification",
            subscription_id=sid,
            instances=[(i.xapp_event_instance_id, i.e2_event_instance_id) for i in instances],
        )
        async with self._changed:
            slot = self._notified.pop(sid, {})
            for inst in instances:
                slot[inst.xapp_event_instance_id] = inst
            self._notified[sid] = slot
            while len(self._notified) > self.config.notification_buffer:
                self._notified.popitem(last=False)
                self.stats.notifications_evicted += 1
            self._changed.notify_all()

    async def _await_instance(self, sid: str, xid: int) -> SubscriptionInstance:
        def ready() -> bool:
            return xid in self._notified.get(sid, {})

        async with self._changed:
            async with asyncio.timeout(self.config.response_timeout_s):
                await self._changed.wait_for(ready)
            slot = self._notified.pop(sid)
            inst = slot.pop(xid)
            if slot:
                self._notified[sid] = slot
            return inst

    # -- state file ----------------------------------------------------------------------------------------
    async def _load_state(self) -> dict[str, _Saved]:
        if self._state is not None:
            return self._state
        self._state = {}
        path = self.config.state_file
        if path is None:
            return self._state
        try:
            raw = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return self._state
        except OSError as exc:
            self.stats.state_errors += 1
            log.warning("submgr state file unreadable; starting without saved subscriptions", error=str(exc))
            return self._state
        try:
            doc = json.loads(raw)
            entries = doc["subscriptions"] if isinstance(doc, dict) else None
            if not isinstance(entries, dict):
                raise ValueError("no 'subscriptions' object")
            for key, e in entries.items():
                saved = _Saved(
                    str(e["subscription_id"]),
                    int(e["xapp_event_instance_id"]),
                    str(e["meid"]),
                    int(e["ran_function_id"]),
                )
                if not saved.subscription_id or not 0 <= saved.xapp_event_instance_id <= 65535:
                    raise ValueError(f"entry {key!r} out of range")
                self._state[str(key)] = saved
        except (ValueError, KeyError, TypeError) as exc:
            self.stats.state_errors += 1
            self._state = {}
            log.warning("submgr state file is corrupt; starting without saved subscriptions", error=str(exc))
        return self._state

    def _write_state(self, snapshot: dict[str, Any]) -> None:
        path = self.config.state_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(snapshot, indent=1, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    async def _save(self) -> None:
        state = self._state or {}
        snapshot = {"version": _STATE_VERSION, "subscriptions": {k: v.to_json() for k, v in state.items()}}
        try:
            await asyncio.to_thread(self._write_state, snapshot)
            self.stats.state_writes += 1
        except OSError as exc:
            self.stats.state_errors += 1
            log.warning("submgr state file not written; ids survive only in memory", error=str(exc))

    @staticmethod
    def _key(spec: KpmSubscriptionSpec) -> str:
        return f"{spec.e2_node}/{spec.name}"

    def _free_xid(self, state: Mapping[str, _Saved]) -> int:
        used = {s.xapp_event_instance_id for s in state.values()}
        for xid in range(1, 65536):
            if xid not in used:
                return xid
        raise SubscriptionError("no free XappEventInstanceId (65535 subscriptions saved)")

    # -- Subscriber protocol ---------------------------------------------------------------------------------
    async def _post(self, body: Mapping[str, Any]) -> httpx.Response:
        url = f"{self.config.base_url.rstrip('/')}/subscriptions"
        self.stats.requests += 1
        try:
            if self._http is not None:
                return await self._http.post(url, json=body, timeout=self.config.request_timeout_s)
            async with httpx.AsyncClient(timeout=self.config.request_timeout_s) as client:
                return await client.post(url, json=body)
        except httpx.HTTPError as exc:
            self.stats.request_failures += 1
            raise SubscriptionError(f"submgr at {url} not reachable: {exc or type(exc).__name__}") from exc

    async def subscribe(self, spec: KpmSubscriptionSpec) -> ActiveSubscription:
        async with self._state_lock:
            state = await self._load_state()
            key = self._key(spec)
            saved = state.get(key)
            if saved is not None and (saved.meid, saved.ran_function_id) != (spec.e2_node, spec.ran_function_id):
                log.info("saved subscription does not match the spec; subscribing afresh", subscription=spec.name)
                saved = None
            xid = saved.xapp_event_instance_id if saved is not None else self._free_xid(state)
            if saved is not None:  # a late notification of an earlier attempt must not answer this one
                self._notified.get(saved.subscription_id, {}).pop(xid, None)
            resp = await self._post(self.subscription_params(spec, xid, saved.subscription_id if saved else None))
            if resp.status_code == 404 and saved is not None:
                self.stats.stale_ids += 1
                log.info(
                    "submgr no longer knows the saved id; subscribing afresh", subscription_id=saved.subscription_id
                )
                state.pop(key, None)
                await self._save()
                saved = None
                resp = await self._post(self.subscription_params(spec, xid))
            sid = self._accepted(spec, resp)
            if saved is not None:
                self.stats.resent += 1
            state[key] = _Saved(sid, xid, spec.e2_node, spec.ran_function_id)
            await self._save()
        try:
            inst = await self._await_instance(sid, xid)
        except TimeoutError as exc:
            self.stats.timeouts += 1
            raise SubmgrSubscriptionError(
                f"no notification from submgr for {spec.name} on {spec.e2_node} within "
                f"{self.config.response_timeout_s} s",
                subscription_id=sid,
            ) from exc
        if not inst.ok:
            self.stats.failed += 1
            async with self._state_lock:
                state.pop(key, None)
                await self._save()
            raise SubmgrSubscriptionError(
                f"submgr could not subscribe {spec.name} on {spec.e2_node}",
                subscription_id=sid,
                error_cause=inst.error_cause,
                error_source=inst.error_source,
                timeout_type=inst.timeout_type,
            )
        self.stats.subscribed += 1
        rid = e2ap.RicRequestId(OSC_REQUESTOR_ID, inst.e2_event_instance_id)
        log.info(
            "subscribed through submgr",
            subscription=spec.name,
            e2_node=spec.e2_node,
            subscription_id=sid,
            e2_instance_id=inst.e2_event_instance_id,
        )
        return ActiveSubscription(spec, rid, inst.e2_event_instance_id, spec.codec, handle=sid)

    def _accepted(self, spec: KpmSubscriptionSpec, resp: httpx.Response) -> str:
        if resp.status_code not in (200, 201):
            self.stats.request_failures += 1
            reason = {400: "invalid request", 404: "unknown subscription id", 503: "E2 node not available"}
            raise SubmgrSubscriptionError(
                f"submgr refused {spec.name} on {spec.e2_node}: HTTP {resp.status_code} "
                f"({reason.get(resp.status_code, 'error')}) {resp.text[:200]}",
                status=resp.status_code,
            )
        try:
            sid, _ = parse_subscription_response(resp.json())
        except (ValueError, SubmgrNotificationError) as exc:
            self.stats.request_failures += 1
            raise SubmgrSubscriptionError(
                f"submgr answered {spec.name} with a malformed SubscriptionResponse: {exc}", status=resp.status_code
            ) from exc
        return sid

    async def unsubscribe(self, sub: ActiveSubscription) -> None:
        sid = sub.handle
        if not sid:
            raise SubscriptionError(f"subscription {sub.spec.name} has no submgr SubscriptionId")
        url = f"{self.config.base_url.rstrip('/')}/subscriptions/{sid}"
        try:
            if self._http is not None:
                resp = await self._http.delete(url, timeout=self.config.request_timeout_s)
            else:
                async with httpx.AsyncClient(timeout=self.config.request_timeout_s) as client:
                    resp = await client.delete(url)
        except httpx.HTTPError as exc:
            self.stats.delete_failures += 1
            raise SubscriptionError(f"submgr at {url} not reachable: {exc or type(exc).__name__}") from exc
        if resp.status_code not in (200, 204, 404):
            self.stats.delete_failures += 1
            raise SubmgrSubscriptionError(
                f"submgr refused to delete {sub.spec.name}: HTTP {resp.status_code}", status=resp.status_code
            )
        if resp.status_code == 404:
            log.info("submgr did not know the subscription any more", subscription_id=sid)
        self.stats.deleted += 1
        async with self._state_lock:
            state = await self._load_state()
            if state.pop(self._key(sub.spec), None) is not None:
                await self._save()
        log.info("unsubscribed through submgr", subscription=sub.spec.name, subscription_id=sid)
