"""The governance REST API (FastAPI, OpenAPI at ``/openapi.json`` and ``/docs``).

Every route under ``/v1`` except ``/v1/health`` needs a bearer token with the route's scope (``read`` for
queries, reports and downloads, ``write`` for uploads, aliases and policies); a missing or unknown token gets
401 with ``WWW-Authenticate: Bearer``, a token without the scope 403. Store calls run in worker threads.

Times in query parameters (``start``, ``end``, ``at``) are either integers (ns since the Unix epoch) or
ISO-8601 date-times (``2026-11-28T03:00:00Z``; a time without zone is UTC).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rapps.governance.auth import Principal, TokenAuth
from rapps.governance.errors import AuthError, NotFoundError, RegistryError, StoreError
from rapps.governance.html import render_report
from rapps.governance.ingest import Ingestor
from rapps.governance.registry import ALIAS_PATTERN, normalize_digest, register
from rapps.governance.reports import ReportBuilder
from rapps.governance.schemas import (
    ActionOut,
    AliasEvent,
    AliasSet,
    ChainInfo,
    ChainVerification,
    DecisionPage,
    DecisionProvenance,
    DecisionSummary,
    Governing,
    IntegrityEventOut,
    ModelReport,
    ModelStats,
    ModelUpload,
    ModelVersionOut,
    PolicyIn,
    PolicyOut,
    SliceLifecycle,
)
from rapps.governance.store import SqlStore
from rapps.governance.store.base import payload_b64
from rapps.governance.verify import verify_stored_chain
from ricsdk.lineage import GENESIS_HASH

__all__ = ["create_app", "parse_time"]

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <token>")


def parse_time(value: str, name: str) -> int:
    """ns since the epoch from an integer or an ISO-8601 date-time; 422 otherwise."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HTTPException(422, f"{name}: not an integer ns time nor an ISO-8601 date-time: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000) * 1000


def create_app(
    store: SqlStore,
    auth: TokenAuth,
    reports: ReportBuilder,
    *,
    ingestor: Ingestor | None = None,
    max_upload_bytes: int = 256 * 1024 * 1024,
) -> FastAPI:
    """The REST application over an open store."""
    app = FastAPI(
        title="ricsdk governance",
        version="1",
        description="Decision lineage, model registry and reports of the ricsdk governance rApp.",
    )

    def scope(name: str) -> Callable[..., Principal]:
        def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
            header = f"{credentials.scheme} {credentials.credentials}" if credentials is not None else None
            return auth.require(header, name)

        return check

    reader = Depends(scope("read"))
    writer = Depends(scope("write"))

    async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)

    @app.exception_handler(NotFoundError)
    async def _missing(request: Request, exc: NotFoundError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(RegistryError)
    async def _refused(request: Request, exc: RegistryError) -> Response:
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=422)

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.get("/v1/health", tags=["service"])
    async def health() -> dict[str, Any]:
        """Liveness and readiness (no token needed)."""
        version = await run(store.schema_version)
        return {"status": "ok", "store": store.dialect.name, "schema_version": version}

    # lineage ---------------------------------------------------------------------------------------------

    @app.get("/v1/decisions", response_model=DecisionPage, tags=["lineage"], dependencies=[reader])
    async def decisions(
        slice_id: str,
        start: str = "0",
        end: Annotated[str | None, Query(description="exclusive; default: no end")] = None,
        limit: Annotated[int, Query(ge=1, le=10000)] = 100,
        after: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    ) -> DecisionPage:
        """Decisions of a slice in a time range, in time order."""
        cursor = None
        if after:
            ts, _, row_id = after.partition(":")
            if not (ts.lstrip("-").isdigit() and row_id.isdigit()):
                raise HTTPException(422, "after: not a cursor")
            cursor = (int(ts), int(row_id))
        end_ns = parse_time(end, "end") if end is not None else 2**63 - 1
        return await run(
            store.decisions_by_slice, slice_id, parse_time(start, "start"), end_ns, limit=limit, after=cursor
        )

    @app.get(
        "/v1/decisions/by-id/{decision_id}",
        response_model=list[DecisionSummary],
        tags=["lineage"],
        dependencies=[reader],
    )
    async def decisions_by_id(decision_id: str) -> list[DecisionSummary]:
        """Decisions carrying a runtime decision id (a table scan: for audits)."""
        return await run(store.decisions_by_id, decision_id)

    @app.get(
        "/v1/decisions/{instance}/{sequence}",
        response_model=DecisionProvenance,
        tags=["lineage"],
        dependencies=[reader],
    )
    async def provenance(instance: str, sequence: int) -> DecisionProvenance:
        """One decision with its full provenance: inputs, output, action, chain link, model, policies, events."""
        stored = await run(store.decision, instance, sequence)
        record = stored.record
        previous = await run(store.previous_in_log, instance, stored.summary.stream, sequence)
        linked: bool | None = None
        if previous is not None:
            linked = record.prev_hash == previous[1]
        elif record.prev_hash == GENESIS_HASH:
            linked = True
        try:
            registry = await run(store.model_by_digest, normalize_digest(record.model.digest))
        except RegistryError:
            registry = None
        policies = await run(store.policies, list(record.policy_ids)) if record.policy_ids else []
        events = await run(store.integrity_events, instance, sequence=sequence)
        body = stored.payload[:-32]
        return DecisionProvenance(
            decision=stored.summary,
            input_digest=record.input_digest,
            features=None if record.features is None else list(record.features),
            output=list(record.output),
            action=None
            if record.action is None
            else ActionOut(
                min_prb_pct=record.action.min_prb_pct,
                max_prb_pct=record.action.max_prb_pct,
                dedicated_prb_pct=record.action.dedicated_prb_pct,
                sent=record.action.sent,
                reason=record.action.reason,
            ),
            stage_ns=record.stage_timings(),
            prev_hash=record.prev_hash.hex(),
            hash_verified=hashlib.sha256(body).digest() == record.hash,
            linked_to_previous=linked,
            previous_sequence=None if previous is None else previous[0],
            registry=registry,
            policies=policies,
            integrity_events=events,
            payload_b64=payload_b64(stored.payload),
        )

    @app.get("/v1/slices/{slice_id}/governing", response_model=Governing, tags=["lineage"], dependencies=[reader])
    async def governing(slice_id: str, at: str, e2_node: str | None = None, cell: str | None = None) -> Governing:
        """The model version governing a slice at a time (optionally on one E2 node / cell)."""
        return await run(store.governing, slice_id, parse_time(at, "at"), e2_node=e2_node, cell=cell)

    @app.get("/v1/slices/{slice_id}/lifecycle", response_model=SliceLifecycle, tags=["lineage"], dependencies=[reader])
    async def lifecycle(slice_id: str) -> SliceLifecycle:
        """A slice's history: first seen, model versions and policies in force over time, rollbacks."""
        return await run(store.lifecycle, slice_id)

    @app.get("/v1/models/stats", response_model=list[ModelStats], tags=["lineage"], dependencies=[reader])
    async def model_stats(name: str | None = None, version: str | None = None) -> list[ModelStats]:
        """Per model version (and slot) statistics."""
        return await run(store.model_stats, name, version)

    @app.get("/v1/chains", response_model=list[ChainInfo], tags=["integrity"], dependencies=[reader])
    async def chains() -> list[ChainInfo]:
        """Every instance's chain: contiguous and highest stored sequence, records, integrity events."""
        out = []
        for instance, contiguous, highest, records in await run(store.chains):
            tails = ingestor.verifier.tails(instance) if ingestor is not None else {}
            out.append(
                ChainInfo(
                    instance=instance,
                    contiguous=contiguous,
                    highest=highest,
                    records=records,
                    tails={("main" if k == 1 else "overflow"): v[0] for k, v in tails.items()},
                    integrity_events=await run(store.count_integrity_events, instance),
                )
            )
        return out

    @app.get(
        "/v1/chains/{instance}/verify", response_model=ChainVerification, tags=["integrity"], dependencies=[reader]
    )
    async def verify(instance: str) -> ChainVerification:
        """Re-verify everything stored for an instance (payloads, hashes, links, sequences, column copies)."""
        return await run(verify_stored_chain, store, instance)

    @app.get("/v1/integrity", response_model=list[IntegrityEventOut], tags=["integrity"], dependencies=[reader])
    async def integrity(
        instance: str | None = None, sequence: int | None = None, limit: Annotated[int, Query(ge=1, le=100000)] = 1000
    ) -> list[IntegrityEventOut]:
        """Integrity events stored at ingest (gaps, forks, reorders, broken links, bad hashes)."""
        return await run(store.integrity_events, instance, sequence=sequence, limit=limit)

    # registry --------------------------------------------------------------------------------------------

    @app.post(
        "/v1/registry/models/{name}/versions",
        response_model=ModelVersionOut,
        status_code=201,
        tags=["registry"],
    )
    async def upload(name: str, body: ModelUpload, principal: Principal = writer) -> ModelVersionOut:
        """Register a model version: manifest plus ONNX (base64); the digest is verified."""
        try:
            artifact = base64.b64decode(body.artifact_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise HTTPException(422, f"artifact_b64: not base64: {exc}") from exc
        if len(artifact) > max_upload_bytes:
            raise HTTPException(413, f"artifact of {len(artifact)} bytes exceeds {max_upload_bytes}")
        return await run(register, store, body.manifest, artifact, created_by=principal.name, name=name)

    @app.get("/v1/registry/models", response_model=list[ModelVersionOut], tags=["registry"], dependencies=[reader])
    async def models(name: str | None = None) -> list[ModelVersionOut]:
        """Registered model versions (of one model with ``name``)."""
        return await run(store.model_versions, name)

    @app.get(
        "/v1/registry/models/{name}/versions/{version}",
        response_model=ModelVersionOut,
        tags=["registry"],
        dependencies=[reader],
    )
    async def model_version(name: str, version: str) -> ModelVersionOut:
        return await run(store.model_version, name, version)

    def _artifact_response(data: bytes, digest: str) -> Response:
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise StoreError(f"stored artifact {digest} has digest {actual}")
        return Response(
            data,
            media_type="application/octet-stream",
            headers={
                "X-Ricsdk-Digest": digest,
                "Digest": "sha-256=" + base64.b64encode(hashlib.sha256(data).digest()).decode(),
            },
        )

    @app.get("/v1/registry/models/{name}/versions/{version}/artifact", tags=["registry"], dependencies=[reader])
    async def model_artifact(
        name: str, version: str, digest: Annotated[str, Query(description="the digest the caller expects")]
    ) -> Response:
        """The ONNX bytes of a version, only if its digest is the one asked for (409 otherwise)."""
        entry = await run(store.model_version, name, version)
        if entry.digest != normalize_digest(digest):
            raise HTTPException(409, f"{name} {version} has digest {entry.digest}, not {digest}")
        return _artifact_response(await run(store.artifact, entry.digest), entry.digest)

    @app.get("/v1/registry/artifacts/{digest}", tags=["registry"], dependencies=[reader])
    async def artifact(digest: str) -> Response:
        """An artifact by digest (digest-pinned download)."""
        wanted = normalize_digest(digest)
        return _artifact_response(await run(store.artifact, wanted), wanted)

    @app.put("/v1/registry/models/{name}/aliases/{alias}", response_model=AliasEvent, tags=["registry"])
    async def set_alias(name: str, alias: str, body: AliasSet, principal: Principal = writer) -> AliasEvent:
        """Point an alias (champion, challenger, ...) at a version."""
        if not ALIAS_PATTERN.match(alias):
            raise HTTPException(422, f"alias {alias!r} must match {ALIAS_PATTERN.pattern}")
        return await run(store.set_alias, name, alias, body.version, principal.name)

    @app.get(
        "/v1/registry/models/{name}/aliases/{alias}",
        response_model=ModelVersionOut,
        tags=["registry"],
        dependencies=[reader],
    )
    async def get_alias(name: str, alias: str) -> ModelVersionOut:
        version = await run(store.resolve_alias, name, alias)
        return await run(store.model_version, name, version)

    @app.get(
        "/v1/registry/models/{name}/aliases",
        response_model=list[AliasEvent],
        tags=["registry"],
        dependencies=[reader],
    )
    async def alias_history(name: str) -> list[AliasEvent]:
        """Every alias change of a model, oldest first."""
        return await run(store.alias_history, name)

    # policies and reports --------------------------------------------------------------------------------

    @app.put("/v1/policies/{policy_id}", response_model=PolicyOut, tags=["policies"], dependencies=[writer])
    async def put_policy(policy_id: str, body: PolicyIn) -> PolicyOut:
        """Store a slice SLA policy (KPI bounds over manifest feature names) that reports judge slices by."""
        return await run(store.put_policy, policy_id, body.slice_id, body.model_dump())

    @app.get("/v1/policies", response_model=list[PolicyOut], tags=["policies"], dependencies=[reader])
    async def get_policies() -> list[PolicyOut]:
        return await run(store.policies)

    @app.get("/v1/reports/models/{name}/{version}", response_model=ModelReport, tags=["reports"], dependencies=[reader])
    async def report(name: str, version: str) -> ModelReport:
        """A model version's report as JSON."""
        return await run(reports.build, name, version)

    @app.get(
        "/v1/reports/models/{name}/{version}/html",
        response_class=HTMLResponse,
        tags=["reports"],
        dependencies=[reader],
    )
    async def report_html(name: str, version: str) -> HTMLResponse:
        """A model version's report as an HTML page with inline SVG plots."""
        built = await run(reports.build, name, version)
        return HTMLResponse(render_report(built))

    return app
