"""A standalone A1-P v2 endpoint (O-RAN A1AP v02.00 shapes) that delivers policies to the xApp.

Theory of operation
-------------------
Without the OSC A1 mediator (standalone mode: the twin, a lab, a RIC without the mediator), the xApp itself is
the A1 policy producer's peer. :class:`A1PolicyServer` holds the policy types it supports and the instances
created through it, and serves, relative to ``{apiRoot}/A1-P/v2``:

==========  ===============================================  ==============================================
GET         ``/policytypes``                                 the type ids, as *strings*
GET         ``/policytypes/{typeId}``                        ``{policySchema, statusSchema}``
GET         ``/policytypes/{typeId}/policies``               the policy ids
PUT         ``/policytypes/{typeId}/policies/{policyId}``     201 + ``Location`` on create, 200 on update;
                                                             ``?notificationDestination=<URI>``
GET         ``/policytypes/{typeId}/policies/{policyId}``     the policy object
DELETE      ``/policytypes/{typeId}/policies/{policyId}``     204
GET         ``.../{policyId}/status``                        the PolicyStatusObject
==========  ===============================================  ==============================================

A PUT body is parsed and validated against the type's draft-07 ``policySchema`` and then its ``validate``
hook (what a schema cannot express); anything malformed is answered 400 with a ProblemDetails body
(``application/problem+json``, as every error here) whose ``detail`` names the offending field, and counted.
An accepted policy is stored and handed to the sink as a :class:`~ricsdk.a1.mediator.PolicyRequest` (the same
``CREATE``/``UPDATE``/``DELETE`` operations the mediator sends over RMR, so the runtime routes both paths to the
same ``@on_policy`` handlers). Deliveries are serialised in arrival order. The sink answers with an
:class:`EnforceStatus`, which becomes the instance's status (``NOT_ENFORCED``/``OTHER_REASON`` when the
handler failed or timed out); when the status changes and the PUT named a ``notificationDestination``, the
PolicyStatusObject is POSTed there in the background (the consumer answers 204). A sink raising
:class:`A1Unavailable` turns the request into a 503 and nothing is stored.

The server is an ASGI app (:attr:`A1PolicyServer.app`, routes relative to the A1-P root) that the runtime
mounts on the xApp's HTTP server or serves on a port of its own (:meth:`A1PolicyServer.root_app`).
``start()``/``aclose()`` bound the life of the notification client and tasks; nothing runs before ``start()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import jsonschema  # type: ignore[import-untyped]
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ricsdk.a1 import slice_sla
from ricsdk.a1.mediator import PolicyRequest
from ricsdk.errors import A1PayloadError, ConfigError, TransportError

__all__ = [
    "A1_ROOT",
    "PROBLEM_JSON",
    "SLICE_SLA",
    "A1PolicyServer",
    "A1PolicyType",
    "A1ServerConfig",
    "A1ServerStats",
    "A1Unavailable",
    "EnforceStatus",
    "PolicySink",
    "problem",
]

log = structlog.get_logger(__name__)

A1_ROOT: Final = "/A1-P/v2"
PROBLEM_JSON: Final = "application/problem+json"
_MAX_POLICY_ID: Final = 256

DEFAULT_STATUS_SCHEMA: Final[Mapping[str, Any]] = slice_sla.STATUS_SCHEMA


class EnforceStatus(enum.Enum):
    ENFORCED = "ENFORCED"
    NOT_ENFORCED = "NOT_ENFORCED"


class A1Unavailable(TransportError):
    """Raised by a sink that cannot take policies now (the xApp is not running): the request gets a 503."""


#: Where accepted policy operations go; answers whether the xApp enforces the policy.
PolicySink = Callable[[PolicyRequest], Awaitable[EnforceStatus]]


def problem(status: int, title: str, detail: str = "", headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A ProblemDetails response (RFC 7807, as A1AP uses it)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


@dataclass(frozen=True, slots=True)
class A1PolicyType:
    """A policy type the xApp serves: integer id (exposed as a string), draft-07 schemas, extra validation."""

    type_id: int
    schema: Mapping[str, Any]
    status_schema: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_STATUS_SCHEMA))
    validate: Callable[[Any], object] | None = None
    _validator: jsonschema.Draft7Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.type_id <= 2147483647:
            raise ConfigError(f"policy type id must be 1..2147483647, got {self.type_id}", field="type_id")
        try:
            jsonschema.Draft7Validator.check_schema(self.schema)
        except jsonschema.SchemaError as exc:
            raise ConfigError(f"policy schema of type {self.type_id} is not draft-07: {exc.message}") from exc
        object.__setattr__(self, "_validator", jsonschema.Draft7Validator(self.schema))

    def check(self, payload: object) -> None:
        """Schema first, then the type's own checks; raises :class:`A1PayloadError` naming the field."""
        errors = sorted(self._validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
        if errors:
            err = errors[0]
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".")
            raise A1PayloadError(f"{where or 'policy'}: {err.message}", payload=payload)
        if self.validate is not None:
            self.validate(payload)


#: The slice SLA type (20008) with its semantic checks.
SLICE_SLA: Final = A1PolicyType(slice_sla.TYPE_ID, slice_sla.SCHEMA, slice_sla.STATUS_SCHEMA, slice_sla.parse)


@dataclass(frozen=True, slots=True)
class A1ServerConfig:
    max_body_bytes: int = 1 << 20
    max_policies: int = 1024
    delivery_timeout_s: float = 5.0
    notify_timeout_s: float = 5.0
    max_pending_notifications: int = 256

    def __post_init__(self) -> None:
        if min(self.max_body_bytes, self.max_policies, self.max_pending_notifications) < 1:
            raise ConfigError("limits must be at least 1", field="a1")
        if self.delivery_timeout_s <= 0 or self.notify_timeout_s <= 0:
            raise ConfigError("timeouts must be positive", field="a1")


@dataclass(slots=True)
class A1ServerStats:
    requests: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    rejected_malformed: int = 0
    rejected_schema: int = 0
    rejected_full: int = 0
    rejected_unavailable: int = 0
    not_found: int = 0
    method_not_allowed: int = 0
    delivery_failures: int = 0
    notifications_sent: int = 0
    notifications_failed: int = 0
    notifications_dropped: int = 0


@dataclass(slots=True)
class _Instance:
    type_id: int
    policy_id: str
    payload: dict[str, Any]
    status: dict[str, str]
    notification_destination: str | None = None


def _status_object(status: EnforceStatus) -> dict[str, str]:
    if status is EnforceStatus.ENFORCED:
        return {"enforceStatus": "ENFORCED"}
    return {"enforceStatus": "NOT_ENFORCED", "enforceReason": "OTHER_REASON"}


def _valid_destination(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class A1PolicyServer:
    def __init__(
        self,
        types: Iterable[A1PolicyType],
        sink: PolicySink,
        *,
        config: A1ServerConfig | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config or A1ServerConfig()
        self.types: dict[str, A1PolicyType] = {}
        for t in types:
            if str(t.type_id) in self.types:
                raise ConfigError(f"policy type {t.type_id} given twice", field="types")
            self.types[str(t.type_id)] = t
        self.stats = A1ServerStats()
        self._sink = sink
        self._given_http = http
        self._http: httpx.AsyncClient | None = None
        self._policies: dict[tuple[int, str], _Instance] = {}
        self._lock = asyncio.Lock()
        self._notifications: set[asyncio.Task[None]] = set()
        self.app = self._build()

    # -- lifecycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._http is None:
            self._http = self._given_http or httpx.AsyncClient(timeout=self.config.notify_timeout_s)

    async def aclose(self) -> None:
        pending = list(self._notifications)
        if pending:
            _, still = await asyncio.wait(pending, timeout=self.config.notify_timeout_s)
            for t in still:
                t.cancel()
            for t in still:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
        http, self._http = self._http, None
        if http is not None and http is not self._given_http:
            await http.aclose()

    def root_app(self, prefix: str = A1_ROOT) -> FastAPI:
        """An app serving only this endpoint under ``prefix`` (a port of its own)."""
        root = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        root.mount(prefix, self.app)
        return root

    # -- read access ----------------------------------------------------------------------------------------
    def policy(self, type_id: int, policy_id: str) -> Mapping[str, Any] | None:
        inst = self._policies.get((type_id, policy_id))
        return None if inst is None else inst.payload

    def status(self, type_id: int, policy_id: str) -> Mapping[str, str] | None:
        inst = self._policies.get((type_id, policy_id))
        return None if inst is None else dict(inst.status)

    # -- HTTP ------------------------------------------------------------------------------------------------
    def _build(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.exception_handler(StarletteHTTPException)
        async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
            if exc.status_code == 404:
                self.stats.not_found += 1
            elif exc.status_code == 405:
                self.stats.method_not_allowed += 1
            return problem(exc.status_code, str(exc.detail), headers=exc.headers)

        app.add_api_route("/policytypes", self._get_types, methods=["GET"])
        app.add_api_route("/policytypes/{type_id}", self._get_type, methods=["GET"])
        app.add_api_route("/policytypes/{type_id}/policies", self._get_policies, methods=["GET"])
        app.add_api_route("/policytypes/{type_id}/policies/{policy_id}", self._get_policy, methods=["GET"])
        app.add_api_route("/policytypes/{type_id}/policies/{policy_id}", self._put_policy, methods=["PUT"])
        app.add_api_route("/policytypes/{type_id}/policies/{policy_id}", self._delete_policy, methods=["DELETE"])
        app.add_api_route("/policytypes/{type_id}/policies/{policy_id}/status", self._get_status, methods=["GET"])
        return app

    def _type(self, type_id: str) -> A1PolicyType | JSONResponse:
        ptype = self.types.get(type_id)
        if ptype is None:
            self.stats.not_found += 1
            return problem(404, "Not Found", f"policy type {type_id!r} is not supported")
        return ptype

    def _instance(self, type_id: str, policy_id: str) -> _Instance | JSONResponse:
        ptype = self._type(type_id)
        if isinstance(ptype, JSONResponse):
            return ptype
        inst = self._policies.get((ptype.type_id, policy_id))
        if inst is None:
            self.stats.not_found += 1
            return problem(404, "Not Found", f"policy {policy_id!r} of type {type_id} does not exist")
        return inst

    async def _get_types(self) -> Response:
        self.stats.requests += 1
        return JSONResponse(list(self.types))

    async def _get_type(self, type_id: str) -> Response:
        self.stats.requests += 1
        ptype = self._type(type_id)
        if isinstance(ptype, JSONResponse):
            return ptype
        return JSONResponse({"policySchema": dict(ptype.schema), "statusSchema": dict(ptype.status_schema)})

    async def _get_policies(self, type_id: str) -> Response:
        self.stats.requests += 1
        ptype = self._type(type_id)
        if isinstance(ptype, JSONResponse):
            return ptype
        return JSONResponse([pid for (tid, pid) in self._policies if tid == ptype.type_id])

    async def _get_policy(self, type_id: str, policy_id: str) -> Response:
        self.stats.requests += 1
        inst = self._instance(type_id, policy_id)
        return inst if isinstance(inst, JSONResponse) else JSONResponse(inst.payload)

    async def _get_status(self, type_id: str, policy_id: str) -> Response:
        self.stats.requests += 1
        inst = self._instance(type_id, policy_id)
        return inst if isinstance(inst, JSONResponse) else JSONResponse(inst.status)

    def _malformed(self, detail: str) -> JSONResponse:
        self.stats.rejected_malformed += 1
        log.warning("A1 request rejected", detail=detail)
        return problem(400, "Bad Request", detail)

    async def _put_policy(self, type_id: str, policy_id: str, request: Request) -> Response:
        self.stats.requests += 1
        ptype = self._type(type_id)
        if isinstance(ptype, JSONResponse):
            return ptype
        if not 0 < len(policy_id) <= _MAX_POLICY_ID or not policy_id.isprintable():
            return self._malformed(f"policyId must be 1..{_MAX_POLICY_ID} printable characters")
        destination = request.query_params.get("notificationDestination")
        if destination is not None and not _valid_destination(destination):
            return self._malformed(f"notificationDestination must be an absolute http(s) URI, got {destination!r}")
        raw = await request.body()
        if len(raw) > self.config.max_body_bytes:
            return self._malformed(f"policy of {len(raw)} bytes exceeds {self.config.max_body_bytes} bytes")
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            return self._malformed(f"body is not JSON: {exc}")
        if not isinstance(payload, dict):
            return self._malformed("the policy object must be a JSON object")
        try:
            ptype.check(payload)
        except A1PayloadError as exc:
            self.stats.rejected_schema += 1
            log.warning("A1 policy refused by its schema", policy_type=ptype.type_id, error=str(exc))
            return problem(400, "Bad Request", str(exc))
        key = (ptype.type_id, policy_id)
        async with self._lock:
            old = self._policies.get(key)
            if old is None and len(self._policies) >= self.config.max_policies:
                self.stats.rejected_full += 1
                return problem(507, "Insufficient Storage", f"at most {self.config.max_policies} policies")
            operation = "CREATE" if old is None else "UPDATE"
            try:
                status = await self._deliver(PolicyRequest(operation, ptype.type_id, policy_id, payload))
            except A1Unavailable as exc:
                self.stats.rejected_unavailable += 1
                return problem(503, "Service Unavailable", str(exc) or "the xApp cannot take policies now")
            status_obj = _status_object(status)
            changed = old is None or old.status != status_obj
            inst = _Instance(
                ptype.type_id,
                policy_id,
                payload,
                status_obj,
                destination if destination is not None else (old.notification_destination if old else None),
            )
            self._policies[key] = inst
        if changed and inst.notification_destination:
            self._notify(inst)
        if old is None:
            self.stats.created += 1
            location = str(request.url.replace(query=""))
            return JSONResponse(payload, status_code=201, headers={"Location": location})
        self.stats.updated += 1
        return JSONResponse(payload, status_code=200)

    async def _delete_policy(self, type_id: str, policy_id: str) -> Response:
        self.stats.requests += 1
        async with self._lock:
            inst = self._instance(type_id, policy_id)
            if isinstance(inst, JSONResponse):
                return inst
            try:
                await self._deliver(PolicyRequest("DELETE", inst.type_id, policy_id, {}))
            except A1Unavailable as exc:
                self.stats.rejected_unavailable += 1
                return problem(503, "Service Unavailable", str(exc) or "the xApp cannot take policies now")
            self._policies.pop((inst.type_id, policy_id), None)
        self.stats.deleted += 1
        return Response(status_code=204)

    # -- delivery and notification ------------------------------------------------------------------------------
    async def _deliver(self, req: PolicyRequest) -> EnforceStatus:
        try:
            return await asyncio.wait_for(self._sink(req), self.config.delivery_timeout_s)
        except A1Unavailable:
            raise
        except TimeoutError:
            self.stats.delivery_failures += 1
            log.warning("A1 policy handler timed out", policy_type=req.policy_type_id, policy=req.policy_instance_id)
        except Exception:
            self.stats.delivery_failures += 1
            log.exception("A1 policy handler failed", policy_type=req.policy_type_id, policy=req.policy_instance_id)
        return EnforceStatus.NOT_ENFORCED

    def _notify(self, inst: _Instance) -> None:
        if len(self._notifications) >= self.config.max_pending_notifications:
            self.stats.notifications_dropped += 1
            log.warning("A1 status notification dropped: too many pending", policy=inst.policy_id)
            return
        task = asyncio.create_task(self._post_status(inst.notification_destination or "", dict(inst.status), inst))
        self._notifications.add(task)
        task.add_done_callback(self._notifications.discard)

    async def _post_status(self, uri: str, status: dict[str, str], inst: _Instance) -> None:
        http = self._http
        if http is None:
            self.stats.notifications_dropped += 1
            log.warning("A1 status notification dropped: server not started", policy=inst.policy_id)
            return
        try:
            resp = await http.post(uri, json=status, timeout=self.config.notify_timeout_s)
        except httpx.HTTPError as exc:
            self.stats.notifications_failed += 1
            log.warning("A1 status notification failed", uri=uri, error=str(exc) or type(exc).__name__)
            return
        if resp.status_code >= 300:
            self.stats.notifications_failed += 1
            log.warning("A1 status notification refused", uri=uri, status=resp.status_code)
            return
        self.stats.notifications_sent += 1
