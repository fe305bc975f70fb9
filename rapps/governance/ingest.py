"""Ingest: verify and store batches of lineage payloads, and the gRPC ``LineageService`` in front of it.

:class:`Ingestor` is synchronous and serialises batches (the verifier's plan and the store's transaction must
see batches one at a time); the servicer runs it in a worker thread so the event loop keeps serving REST.
Integrity events are logged at warning level with the record they name and stored (never dropped).
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import structlog

from rapps.governance.auth import TokenAuth
from rapps.governance.chain import ChainVerifier
from rapps.governance.errors import AuthError, StoreError
from rapps.governance.store import IngestCounts, SqlStore

__all__ = ["IngestStats", "Ingestor", "LineageServicer"]

log = structlog.get_logger("rapps.governance.ingest")

# Imported by name: the generated modules are not type-checked (see ricsdk._proto.build).
lineage_pb2: Any = importlib.import_module("ricsdk._proto.lineage.v1.lineage_pb2")
lineage_pb2_grpc: Any = importlib.import_module("ricsdk._proto.lineage.v1.lineage_pb2_grpc")


@dataclass(slots=True)
class IngestStats:
    batches: int = 0
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    integrity_events: int = 0
    refused_calls: int = 0


class Ingestor:
    """Chain verification plus storage, one batch at a time."""

    def __init__(self, store: SqlStore, verifier: ChainVerifier | None = None) -> None:
        self.store = store
        self.verifier = verifier if verifier is not None else ChainVerifier()
        self.stats = IngestStats()
        self._lock = threading.Lock()

    def open(self) -> None:
        """Load the committed chain state (the store must be open)."""
        with self._lock:
            self.verifier.load(self.store.load_chains())

    def ingest(
        self, stream: int, payloads: Sequence[bytes], source: str = ""
    ) -> tuple[IngestCounts, dict[str, tuple[int, int]]]:
        """Verify and store one batch; returns the counts and the watermarks of the instances it touched."""
        with self._lock:
            plan = self.verifier.plan(stream, payloads, self.store.stored_hash, source)
            marks = self.verifier.preview(plan)
            counts = self.store.ingest(plan, lambda instance: marks.get(instance, (-1, -1)))
            self.verifier.commit(plan)
            self.stats.batches += 1
            self.stats.received += plan.received
            self.stats.stored += counts.stored
            self.stats.duplicates += counts.duplicates
            self.stats.integrity_events += counts.events
        for event in plan.events:
            log.warning(
                "lineage integrity event stored",
                kind=event.kind.value,
                instance=event.instance,
                sequence=event.sequence,
                stream=event.stream,
                detail=event.detail,
                source=source,
            )
        return counts, marks

    def watermark(self, instance: str) -> tuple[int, int]:
        with self._lock:
            return self.verifier.watermark(instance)

    def instances(self) -> list[str]:
        with self._lock:
            return self.verifier.instances()


def _authorization(context: Any) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key.lower() == "authorization":
            return str(value)
    return None


class LineageServicer(lineage_pb2_grpc.LineageServiceServicer):  # type: ignore[misc]
    """``LineageService`` over :class:`Ingestor` with bearer-token checks (scope ``ingest``)."""

    def __init__(self, ingestor: Ingestor, auth: TokenAuth, *, max_batch_records: int = 65536) -> None:
        self.ingestor = ingestor
        self.auth = auth
        self.max_batch_records = max_batch_records

    async def _check(self, context: Any) -> str:
        try:
            return self.auth.require(_authorization(context), "ingest").name
        except AuthError as exc:
            self.ingestor.stats.refused_calls += 1
            log.warning("lineage call refused", reason=str(exc), peer=context.peer())
            code = grpc.StatusCode.UNAUTHENTICATED if exc.status == 401 else grpc.StatusCode.PERMISSION_DENIED
            await context.abort(code, str(exc))
            raise  # abort raises; this line keeps type checkers honest

    def _ack(self, marks: dict[str, tuple[int, int]], counters: tuple[int, int, int, int, int]) -> Any:
        received, stored, duplicates, events, _ = counters
        return lineage_pb2.IngestAck(
            instances=[
                lineage_pb2.InstanceAck(instance=inst, contiguous=c, highest=h)
                for inst, (c, h) in sorted(marks.items())
            ],
            received=received,
            stored=stored,
            duplicates=duplicates,
            integrity_events=events,
        )

    async def Ingest(self, request_iterator: Any, context: Any) -> Any:
        who = await self._check(context)
        marks: dict[str, tuple[int, int]] = {}
        received = stored = duplicates = events = 0
        async for batch in request_iterator:
            if batch.stream not in (1, 2):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown spool stream {batch.stream}")
            if len(batch.payloads) > self.max_batch_records:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"batch of {len(batch.payloads)} records exceeds {self.max_batch_records}",
                )
            source = f"{who}@{context.peer()} {batch.source}".strip()
            try:
                counts, batch_marks = await asyncio.to_thread(
                    self.ingestor.ingest, batch.stream, list(batch.payloads), source
                )
            except StoreError as exc:
                log.error("lineage batch not stored", error=str(exc), source=source)
                await context.abort(grpc.StatusCode.UNAVAILABLE, f"store failed: {exc}")
            received += len(batch.payloads)
            stored += counts.stored
            duplicates += counts.duplicates
            events += counts.events
            marks.update(batch_marks)
        return self._ack(marks, (received, stored, duplicates, events, 0))

    async def Watermarks(self, request: Any, context: Any) -> Any:
        await self._check(context)
        instances = list(request.instances) or self.ingestor.instances()
        marks = {inst: self.ingestor.watermark(inst) for inst in instances}
        return self._ack(marks, (0, 0, 0, 0, 0))
