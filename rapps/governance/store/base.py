"""One storage interface over SQLite and PostgreSQL: ingest, lineage queries, registry, policies.

Theory of operation
-------------------
:class:`SqlStore` holds all SQL, written once with ``?`` placeholders and the schema tokens of
:mod:`rapps.governance.store.schema`; a :class:`Dialect` rewrites placeholders and tokens for the database and
the subclasses open connections. Every method is synchronous and thread-safe: the server calls them through
``asyncio.to_thread``. Two connections are used: a *writer* (ingest, registry, policies; one transaction per
call, serialised by a lock) and a *reader* (queries; its own lock). SQLite runs in WAL mode so the reader never
waits for the writer.

Ingest stores one :class:`~rapps.governance.chain.BatchPlan` per transaction: the decision rows, the integrity
events, the chain watermarks and tails, and the aggregates (``model_stats``, ``slice_windows``) that make model
statistics and slice lifecycles cheap. Aggregates are sums, minima and maxima, so they do not depend on the
order records arrive in.
"""

from __future__ import annotations

import abc
import base64
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from rapps.governance.chain import STREAM_NAMES, BatchPlan, ChainSnapshot, IntervalSet
from rapps.governance.errors import NotFoundError, StoreError
from rapps.governance.rows import SLOT_NAMES, Row, policies_json
from rapps.governance.schemas import (
    AliasEvent,
    DecisionPage,
    DecisionSummary,
    Governing,
    IntegrityEventOut,
    LifecycleSpan,
    ModelRefOut,
    ModelStats,
    ModelVersionOut,
    PolicyOut,
    Rollback,
    SliceLifecycle,
)
from rapps.governance.store.schema import MIGRATIONS
from ricsdk.errors import LineageError
from ricsdk.lineage import DecisionRecord, decode_payload
from ricsdk.lineage.encoding import HASH_SIZE

__all__ = ["DECISION_COLUMNS", "Dialect", "IngestCounts", "SqlStore", "StoredDecision", "summarize"]

log = structlog.get_logger("rapps.governance.store")

DECISION_COLUMNS = (
    "instance, sequence, stream, timestamp_ns, decision_id, e2_node, cell, slice_id, model_name, model_version, "
    "slot, payload"
)
_N_DECISION_COLUMNS = 12
_SUMMARY_COLUMNS = "id, stream, payload"


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one database spells placeholders and the schema tokens."""

    name: str
    placeholder: str
    id_column: str
    blob: str
    least: str
    greatest: str

    def sql(self, text: str) -> str:
        text = (
            text.replace("{ID}", self.id_column)
            .replace("{BLOB}", self.blob)
            .replace("{LEAST}", self.least)
            .replace("{GREATEST}", self.greatest)
        )
        return text.replace("?", self.placeholder) if self.placeholder != "?" else text


@dataclass(frozen=True, slots=True)
class IngestCounts:
    stored: int
    events: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A stored decision: its summary, the decoded record and the canonical payload."""

    id: int
    summary: DecisionSummary
    record: DecisionRecord
    payload: bytes


def _model_ref(name: str, version: str, digest: str, slot: int) -> ModelRefOut:
    return ModelRefOut(name=name, version=version, digest=digest, slot=SLOT_NAMES.get(slot, str(slot)))


def summarize(record: DecisionRecord, stream: int) -> DecisionSummary:
    """The summary of a decoded record."""
    return DecisionSummary(
        instance=record.instance,
        sequence=record.sequence,
        stream=STREAM_NAMES.get(stream, str(stream)),
        timestamp_ns=record.timestamp_ns,
        decision_id=record.decision_id,
        e2_node=record.e2_node,
        cell=record.cell,
        slice_id=record.slice_id,
        model=ModelRefOut(
            name=record.model.name,
            version=record.model.version,
            digest=record.model.digest,
            slot=record.model.slot.value,
        ),
        action_sent=None if record.action is None else record.action.sent,
        policy_ids=list(record.policy_ids),
        cpu_ns=record.cpu_ns,
        hash=record.hash.hex(),
    )


def _decode(payload: bytes) -> DecisionRecord:
    try:
        return decode_payload(payload)[0]
    except LineageError as exc:
        raise StoreError(f"stored payload does not decode: {exc}") from exc


def _summary(row: Sequence[Any]) -> DecisionSummary:
    return summarize(_decode(bytes(row[2])), int(row[1]))


class SqlStore(abc.ABC):
    """The storage interface (see the module docstring). Subclasses implement ``_connect`` and friends.

    ``window_ns`` is the bucket of ``slice_windows`` (lifecycle resolution of alternations within a bucket).
    ``clock`` gives ingest and registry times (ns since the epoch).
    """

    dialect: Dialect

    def __init__(self, *, window_ns: int = 60_000_000_000, clock: Callable[[], int] = time.time_ns) -> None:
        self.window_ns = window_ns
        self.clock = clock
        self._writer: Any = None
        self._reader: Any = None
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()

    # connections -----------------------------------------------------------------------------------------

    @abc.abstractmethod
    def _connect(self) -> Any:
        """A new connection to the database (the writer's or the reader's)."""

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN")

    def _commit(self, conn: Any) -> None:
        conn.execute("COMMIT")

    def _rollback(self, conn: Any) -> None:
        conn.execute("ROLLBACK")

    @abc.abstractmethod
    def _errors(self) -> tuple[type[BaseException], ...]:
        """The driver's exception types that mean the database failed (mapped to StoreError)."""

    def _executemany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the data lives (path or DSN without password), for logs."""

    def open(self) -> None:
        """Connect, apply migrations. Idempotent."""
        if self._writer is not None:
            return
        try:
            self._writer = self._connect()
            self._reader = self._connect()
        except self._errors() as exc:
            self.close()
            raise StoreError(f"cannot open the store {self.describe()}: {exc}") from exc
        self.migrate()

    def close(self) -> None:
        for conn in (self._writer, self._reader):
            if conn is not None:
                try:
                    conn.close()
                except self._errors() as exc:
                    log.warning("closing a store connection failed", error=str(exc))
        self._writer = self._reader = None

    def _sql(self, text: str) -> str:
        return self.dialect.sql(text)

    @contextmanager
    def _write(self) -> Iterator[Any]:
        if self._writer is None:
            raise StoreError("store is not open")
        with self._write_lock:
            conn = self._writer
            try:
                self._begin(conn)
                yield conn
                self._commit(conn)
            except BaseException as exc:
                try:
                    self._rollback(conn)
                except self._errors() as rollback_exc:
                    log.error("rollback failed", error=str(rollback_exc))
                if isinstance(exc, self._errors()):
                    raise StoreError(f"store write failed: {exc}") from exc
                raise

    @contextmanager
    def _read(self) -> Iterator[Any]:
        if self._reader is None:
            raise StoreError("store is not open")
        with self._read_lock:
            try:
                yield self._reader
            except self._errors() as exc:
                raise StoreError(f"store query failed: {exc}") from exc

    def _fetchall(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = conn.execute(self._sql(sql), tuple(params))
        rows: list[Any] = cur.fetchall()
        return rows

    def _fetchone(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = conn.execute(self._sql(sql), tuple(params))
        return cur.fetchone()

    # migrations ------------------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply pending migrations; returns the schema version."""
        with self._write() as conn:
            conn.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "description TEXT NOT NULL, applied_ns BIGINT NOT NULL)"
                )
            )
            row = self._fetchone(conn, "SELECT max(version) FROM schema_migrations")
            current = int(row[0]) if row and row[0] is not None else 0
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                for statement in migration.statements:
                    conn.execute(self._sql(statement))
                conn.execute(
                    self._sql("INSERT INTO schema_migrations (version, description, applied_ns) VALUES (?, ?, ?)"),
                    (migration.version, migration.description, self.clock()),
                )
                log.info("store migrated", store=self.describe(), version=migration.version)
                current = migration.version
        return current

    def schema_version(self) -> int:
        with self._read() as conn:
            row = self._fetchone(conn, "SELECT max(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0

    # ingest ----------------------------------------------------------------------------------------------

    def load_chains(self) -> list[ChainSnapshot]:
        """Every instance's committed chain state: stored sequences as intervals, and the tails per log."""
        out: list[ChainSnapshot] = []
        with self._read() as conn:
            chains = self._fetchall(conn, "SELECT instance, contiguous FROM chains ORDER BY instance")
            tails: dict[str, dict[int, tuple[int, bytes]]] = {}
            for instance, stream, sequence, digest in self._fetchall(
                conn, "SELECT instance, stream, sequence, hash FROM chain_tails"
            ):
                tails.setdefault(instance, {})[int(stream)] = (int(sequence), bytes(digest))
            for instance, contiguous in chains:
                intervals = IntervalSet([(0, int(contiguous))] if contiguous >= 0 else [])
                for (sequence,) in self._fetchall(
                    conn,
                    "SELECT sequence FROM decisions WHERE instance = ? AND sequence > ? ORDER BY sequence",
                    (instance, contiguous),
                ):
                    intervals.add(int(sequence))
                out.append(ChainSnapshot(instance, intervals.intervals(), tails.get(instance, {})))
        return out

    def stored_hash(self, instance: str, sequence: int) -> bytes | None:
        """The hash of a stored record (for duplicate and fork detection); uses the writer connection."""
        if self._writer is None:
            raise StoreError("store is not open")
        with self._write_lock:
            cur = self._writer.execute(
                self._sql("SELECT payload FROM decisions WHERE instance = ? AND sequence = ?"), (instance, sequence)
            )
            row = cur.fetchone()
        return None if row is None else bytes(row[0])[-HASH_SIZE:]

    def _insert_decisions(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        placeholders = ", ".join("?" * _N_DECISION_COLUMNS)
        self._executemany(conn, self._sql(f"INSERT INTO decisions ({DECISION_COLUMNS}) VALUES ({placeholders})"), rows)

    def ingest(
        self,
        plan: BatchPlan,
        watermarks: Callable[[str], tuple[int, int]],
    ) -> IngestCounts:
        """Store a plan in one transaction. ``watermarks(instance)`` gives (contiguous, highest) *after* the plan
        (the caller computes them from the verifier and the plan)."""
        now = self.clock()
        stream = plan.stream
        rows = plan.rows
        decision_rows = [
            (
                r.instance,
                r.sequence,
                stream,
                r.timestamp_ns,
                r.decision_id,
                r.e2_node,
                r.cell,
                r.slice_id,
                r.model_name,
                r.model_version,
                r.slot,
                r.payload,
            )
            for r in rows
        ]
        per_instance: dict[str, int] = {}
        for r in rows:
            per_instance[r.instance] = per_instance.get(r.instance, 0) + 1
        for event in plan.events:
            per_instance.setdefault(event.instance, 0)
        with self._write() as conn:
            if decision_rows:
                self._insert_decisions(conn, decision_rows)
            if plan.events:
                self._executemany(
                    conn,
                    self._sql(
                        "INSERT INTO integrity_events (observed_ns, kind, instance, sequence, stream, detail, hash, "
                        "payload, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    ),
                    [
                        (now, e.kind.value, e.instance, e.sequence, e.stream, e.detail, e.hash, e.payload, plan.source)
                        for e in plan.events
                    ],
                )
            for instance, count in per_instance.items():
                contiguous, highest = watermarks(instance)
                conn.execute(
                    self._sql(
                        "INSERT INTO chains (instance, contiguous, highest, records, first_ingest_ns, last_ingest_ns) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (instance) DO UPDATE SET "
                        "contiguous = excluded.contiguous, highest = excluded.highest, "
                        "records = chains.records + excluded.records, last_ingest_ns = excluded.last_ingest_ns"
                    ),
                    (instance, contiguous, highest, count, now, now),
                )
            for instance, (sequence, digest) in plan.tails.items():
                conn.execute(
                    self._sql(
                        "INSERT INTO chain_tails (instance, stream, sequence, hash) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (instance, stream) DO UPDATE SET "
                        "sequence = excluded.sequence, hash = excluded.hash"
                    ),
                    (instance, stream, sequence, digest),
                )
            if rows:
                self._aggregate(conn, rows)
        return IngestCounts(len(rows), len(plan.events), plan.duplicates)

    def _aggregate(self, conn: Any, rows: list[Row]) -> None:
        stats: dict[tuple[str, str, str, int], list[int]] = {}
        windows: dict[tuple[str, int, str, str, str, int, str], list[int]] = {}
        window = self.window_ns
        for r in rows:
            ts = r.timestamp_ns
            action = r.action
            key = (r.model_name, r.model_version, r.model_digest, r.slot)
            s = stats.get(key)
            if s is None:
                s = stats[key] = [0, 0, 0, 0, ts, ts]
            s[0] += 1
            if action == 1:
                s[1] += 1
            elif action == 0:
                s[2] += 1
            s[3] += r.cpu_ns
            if ts < s[4]:
                s[4] = ts
            elif ts > s[5]:
                s[5] = ts
            wkey = (r.slice_id, ts - ts % window, *key, policies_json(r.policy_ids))
            w = windows.get(wkey)
            if w is None:
                w = windows[wkey] = [0, 0, ts, ts]
            w[0] += 1
            if action == 1:
                w[1] += 1
            if ts < w[2]:
                w[2] = ts
            elif ts > w[3]:
                w[3] = ts
        self._executemany(
            conn,
            self._sql(
                "INSERT INTO model_stats (model_name, model_version, model_digest, slot, decisions, sent, withheld, "
                "cpu_ns, first_ns, last_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (model_name, model_version, model_digest, slot) DO UPDATE SET "
                "decisions = model_stats.decisions + excluded.decisions, sent = model_stats.sent + excluded.sent, "
                "withheld = model_stats.withheld + excluded.withheld, cpu_ns = model_stats.cpu_ns + excluded.cpu_ns, "
                "first_ns = {LEAST}(model_stats.first_ns, excluded.first_ns), "
                "last_ns = {GREATEST}(model_stats.last_ns, excluded.last_ns)"
            ),
            [(*key, *values) for key, values in stats.items()],
        )
        self._executemany(
            conn,
            self._sql(
                "INSERT INTO slice_windows (slice_id, bucket_ns, model_name, model_version, model_digest, slot, "
                "policy_ids, decisions, sent, first_ns, last_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (slice_id, bucket_ns, model_name, model_version, model_digest, slot, policy_ids) "
                "DO UPDATE SET decisions = slice_windows.decisions + excluded.decisions, "
                "sent = slice_windows.sent + excluded.sent, "
                "first_ns = {LEAST}(slice_windows.first_ns, excluded.first_ns), "
                "last_ns = {GREATEST}(slice_windows.last_ns, excluded.last_ns)"
            ),
            [(*key, *values) for key, values in windows.items()],
        )

    # lineage queries -------------------------------------------------------------------------------------

    def decisions_by_slice(
        self, slice_id: str, start_ns: int, end_ns: int, *, limit: int = 100, after: tuple[int, int] | None = None
    ) -> DecisionPage:
        """Decisions of a slice with ``start_ns <= timestamp < end_ns``, in time order, keyset-paginated."""
        params: list[Any] = [slice_id, start_ns, end_ns]
        cursor_sql = ""
        if after is not None:
            cursor_sql = " AND (timestamp_ns > ? OR (timestamp_ns = ? AND id > ?))"
            params += [after[0], after[0], after[1]]
        with self._read() as conn:
            rows = self._fetchall(
                conn,
                f"SELECT {_SUMMARY_COLUMNS} FROM decisions WHERE slice_id = ? AND timestamp_ns >= ? "
                f"AND timestamp_ns < ?{cursor_sql} ORDER BY timestamp_ns, id LIMIT ?",
                [*params, limit + 1],
            )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [_summary(r) for r in rows]
        next_cursor = f"{items[-1].timestamp_ns}:{rows[-1][0]}" if more and rows else None
        return DecisionPage(items=items, next_cursor=next_cursor)

    def governing(self, slice_id: str, at_ns: int, *, e2_node: str | None = None, cell: str | None = None) -> Governing:
        """The model version governing ``slice_id`` at ``at_ns``: that of the latest active or canary decision
        for the slice at or before ``at_ns`` (optionally only on one E2 node / cell), and since when."""
        filters = ""
        params: list[Any] = [slice_id, at_ns]
        if e2_node is not None:
            filters += " AND e2_node = ?"
            params.append(e2_node)
        if cell is not None:
            filters += " AND cell = ?"
            params.append(cell)
        with self._read() as conn:
            row = self._fetchone(
                conn,
                f"SELECT {_SUMMARY_COLUMNS} FROM decisions WHERE slice_id = ? AND timestamp_ns <= ? AND slot <> 2"
                f"{filters} ORDER BY timestamp_ns DESC, id DESC LIMIT 1",
                params,
            )
            if row is None:
                return Governing(slice_id=slice_id, at_ns=at_ns, model=None, decision=None, since_ns=None)
            decision = _summary(row)
            model = decision.model
            other = self._fetchone(
                conn,
                "SELECT max(last_ns) FROM slice_windows WHERE slice_id = ? AND slot <> 2 AND first_ns <= ? "
                "AND NOT (model_name = ? AND model_version = ? AND model_digest = ?)",
                (slice_id, at_ns, model.name, model.version, model.digest),
            )
            before = other[0] if other and other[0] is not None else None
            since = self._fetchone(
                conn,
                "SELECT min(first_ns) FROM slice_windows WHERE slice_id = ? AND slot <> 2 AND model_name = ? "
                "AND model_version = ? AND model_digest = ? AND last_ns > ? AND first_ns <= ?",
                (slice_id, model.name, model.version, model.digest, -1 if before is None else before, at_ns),
            )
        since_ns = since[0] if since and since[0] is not None else decision.timestamp_ns
        return Governing(slice_id=slice_id, at_ns=at_ns, model=model, decision=decision, since_ns=since_ns)

    def decision(self, instance: str, sequence: int) -> StoredDecision:
        with self._read() as conn:
            row = self._fetchone(
                conn,
                f"SELECT {_SUMMARY_COLUMNS} FROM decisions WHERE instance = ? AND sequence = ?",
                (instance, sequence),
            )
        if row is None:
            raise NotFoundError(f"decision {instance}/{sequence}")
        payload = bytes(row[2])
        record = _decode(payload)
        return StoredDecision(int(row[0]), summarize(record, int(row[1])), record, payload)

    def decisions_by_id(self, decision_id: str, *, limit: int = 20) -> list[DecisionSummary]:
        """Decisions carrying ``decision_id`` (the runtime's id; not unique across instances). No index serves
        this lookup (it would slow ingest down), so it scans: meant for audits, not for hot paths."""
        with self._read() as conn:
            rows = self._fetchall(
                conn, f"SELECT {_SUMMARY_COLUMNS} FROM decisions WHERE decision_id = ? LIMIT ?", (decision_id, limit)
            )
        return [_summary(r) for r in rows]

    def previous_in_log(self, instance: str, stream: str, sequence: int) -> tuple[int, bytes] | None:
        """The stored record of the same instance and log just before ``sequence``: (sequence, hash)."""
        code = {name: code for code, name in STREAM_NAMES.items()}.get(stream, 0)
        with self._read() as conn:
            row = self._fetchone(
                conn,
                "SELECT sequence, payload FROM decisions WHERE instance = ? AND stream = ? AND sequence < ? "
                "ORDER BY sequence DESC LIMIT 1",
                (instance, code, sequence),
            )
        return None if row is None else (int(row[0]), bytes(row[1])[-HASH_SIZE:])

    def model_stats(self, name: str | None = None, version: str | None = None) -> list[ModelStats]:
        where, params = self._model_filter(name, version)
        with self._read() as conn:
            rows = self._fetchall(
                conn,
                "SELECT model_name, model_version, model_digest, slot, decisions, sent, withheld, cpu_ns, first_ns, "
                f"last_ns FROM model_stats{where} ORDER BY model_name, model_version, slot",
                params,
            )
            slices = {
                (r[0], r[1], r[2], int(r[3])): int(r[4])
                for r in self._fetchall(
                    conn,
                    "SELECT model_name, model_version, model_digest, slot, count(DISTINCT slice_id) FROM slice_windows"
                    f"{where} GROUP BY model_name, model_version, model_digest, slot",
                    params,
                )
            }
        out = []
        for mname, mversion, digest, slot, decisions, sent, withheld, cpu_ns, first_ns, last_ns in rows:
            out.append(
                ModelStats(
                    model=_model_ref(mname, mversion, digest, int(slot)),
                    decisions=int(decisions),
                    sent=int(sent),
                    withheld=int(withheld),
                    no_action=int(decisions) - int(sent) - int(withheld),
                    cpu_ns=int(cpu_ns),
                    cpu_us_per_decision=round(int(cpu_ns) / int(decisions) / 1000.0, 3) if decisions else 0.0,
                    first_ns=int(first_ns),
                    last_ns=int(last_ns),
                    slices=slices.get((mname, mversion, digest, int(slot)), 0),
                )
            )
        return out

    @staticmethod
    def _model_filter(name: str | None, version: str | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if name is not None:
            clauses.append("model_name = ?")
            params.append(name)
        if version is not None:
            clauses.append("model_version = ?")
            params.append(version)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def slice_windows(self, slice_id: str) -> list[tuple[Any, ...]]:
        with self._read() as conn:
            return [
                tuple(r)
                for r in self._fetchall(
                    conn,
                    "SELECT model_name, model_version, model_digest, slot, policy_ids, decisions, first_ns, last_ns "
                    "FROM slice_windows WHERE slice_id = ? ORDER BY first_ns, last_ns",
                    (slice_id,),
                )
            ]

    def slices_of_model(self, name: str, version: str) -> list[str]:
        with self._read() as conn:
            rows = self._fetchall(
                conn,
                "SELECT DISTINCT slice_id FROM slice_windows WHERE model_name = ? AND model_version = ? ORDER BY 1",
                (name, version),
            )
        return [r[0] for r in rows]

    def lifecycle(self, slice_id: str) -> SliceLifecycle:
        """A slice's history: first and last seen, governing and shadow spans, and rollbacks among them."""
        windows = self.slice_windows(slice_id)
        if not windows:
            raise NotFoundError(f"slice {slice_id}")
        governing: list[LifecycleSpan] = []
        shadow: list[LifecycleSpan] = []
        for name, version, digest, slot, policies, decisions, first_ns, last_ns in windows:
            spans = shadow if int(slot) == 2 else governing
            model = _model_ref(name, version, digest, int(slot))
            policy_ids = json.loads(policies)
            last = spans[-1] if spans else None
            if last is not None and last.model == model and last.policy_ids == policy_ids and first_ns >= last.first_ns:
                last.last_ns = max(last.last_ns, int(last_ns))
                last.decisions += int(decisions)
            else:
                spans.append(
                    LifecycleSpan(
                        model=model,
                        policy_ids=policy_ids,
                        first_ns=int(first_ns),
                        last_ns=int(last_ns),
                        decisions=int(decisions),
                    )
                )
        rollbacks = find_rollbacks(governing)
        return SliceLifecycle(
            slice_id=slice_id,
            first_seen_ns=min(int(w[6]) for w in windows),
            last_seen_ns=max(int(w[7]) for w in windows),
            decisions=sum(int(w[5]) for w in windows),
            governing=governing,
            shadow=shadow,
            rollbacks=rollbacks,
        )

    def recent_payloads(self, name: str, version: str, limit: int) -> list[bytes]:
        """Payloads of the latest ``limit`` decisions of a model version (all slots), newest first."""
        with self._read() as conn:
            rows = self._fetchall(
                conn,
                "SELECT payload FROM decisions WHERE model_name = ? AND model_version = ? "
                "ORDER BY timestamp_ns DESC LIMIT ?",
                (name, version, limit),
            )
        return [bytes(r[0]) for r in rows]

    def slice_payloads(self, slice_id: str, start_ns: int, end_ns: int, limit: int) -> list[bytes]:
        with self._read() as conn:
            rows = self._fetchall(
                conn,
                "SELECT payload FROM decisions WHERE slice_id = ? AND timestamp_ns >= ? AND timestamp_ns <= ? "
                "ORDER BY timestamp_ns DESC, id DESC LIMIT ?",
                (slice_id, start_ns, end_ns, limit),
            )
        return [bytes(r[0]) for r in rows]

    def decision_timeline(self, name: str, version: str, buckets: int = 48) -> list[tuple[int, int]]:
        with self._read() as conn:
            rows = self._fetchall(
                conn,
                "SELECT bucket_ns, sum(decisions) FROM slice_windows WHERE model_name = ? AND model_version = ? "
                "GROUP BY bucket_ns ORDER BY bucket_ns",
                (name, version),
            )
        series = [(int(b), int(n)) for b, n in rows]
        if len(series) <= buckets:
            return series
        step = -(-len(series) // buckets)
        return [(series[i][0], sum(n for _, n in series[i : i + step])) for i in range(0, len(series), step)]

    # chains and integrity --------------------------------------------------------------------------------

    def chains(self) -> list[tuple[str, int, int, int]]:
        with self._read() as conn:
            return [
                (r[0], int(r[1]), int(r[2]), int(r[3]))
                for r in self._fetchall(conn, "SELECT instance, contiguous, highest, records FROM chains ORDER BY 1")
            ]

    def integrity_events(
        self, instance: str | None = None, *, sequence: int | None = None, limit: int = 1000
    ) -> list[IntegrityEventOut]:
        clauses: list[str] = []
        params: list[Any] = []
        if instance is not None:
            clauses.append("instance = ?")
            params.append(instance)
        if sequence is not None:
            clauses.append("sequence = ?")
            params.append(sequence)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        with self._read() as conn:
            rows = self._fetchall(
                conn,
                "SELECT id, observed_ns, kind, instance, sequence, stream, detail, hash, source, "
                f"payload IS NOT NULL FROM integrity_events{where} ORDER BY id LIMIT ?",
                [*params, limit],
            )
        return [
            IntegrityEventOut(
                id=int(r[0]),
                observed_ns=int(r[1]),
                kind=r[2],
                instance=r[3],
                sequence=int(r[4]),
                stream=STREAM_NAMES.get(int(r[5]), str(r[5])),
                detail=r[6],
                hash=None if r[7] is None else bytes(r[7]).hex(),
                source=r[8],
                payload_stored=bool(r[9]),
            )
            for r in rows
        ]

    def count_integrity_events(self, instance: str) -> int:
        with self._read() as conn:
            row = self._fetchone(conn, "SELECT count(*) FROM integrity_events WHERE instance = ?", (instance,))
        return int(row[0])

    def iter_chain(self, instance: str, page: int = 5000) -> Iterator[tuple[Any, ...]]:
        """Every stored record of an instance in sequence order, in pages, as rows of ``DECISION_COLUMNS``."""
        last = -1
        while True:
            with self._read() as conn:
                rows = self._fetchall(
                    conn,
                    f"SELECT {DECISION_COLUMNS} FROM decisions WHERE instance = ? AND sequence > ? "
                    "ORDER BY sequence LIMIT ?",
                    (instance, last, page),
                )
            if not rows:
                return
            for r in rows:
                yield tuple(r)
            last = int(rows[-1][1])

    # registry --------------------------------------------------------------------------------------------

    def put_model_version(
        self, name: str, version: str, digest: str, manifest: dict[str, Any], artifact: bytes, created_by: str
    ) -> None:
        now = self.clock()
        with self._write() as conn:
            if self._fetchone(conn, "SELECT 1 FROM models WHERE name = ? AND version = ?", (name, version)):
                raise StoreError(f"model {name} version {version} already registered; versions are immutable")
            if not self._fetchone(conn, "SELECT 1 FROM artifacts WHERE digest = ?", (digest,)):
                conn.execute(
                    self._sql("INSERT INTO artifacts (digest, size_bytes, data, created_ns) VALUES (?, ?, ?, ?)"),
                    (digest, len(artifact), artifact, now),
                )
            conn.execute(
                self._sql(
                    "INSERT INTO models (name, version, digest, manifest, size_bytes, created_ns, created_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                (name, version, digest, json.dumps(manifest, sort_keys=True), len(artifact), now, created_by),
            )

    def _version_out(self, conn: Any, row: Sequence[Any]) -> ModelVersionOut:
        name, version, digest, manifest, size, created_ns, created_by = row
        aliases = [
            r[0]
            for r in self._fetchall(
                conn, "SELECT alias FROM model_aliases WHERE name = ? AND version = ? ORDER BY alias", (name, version)
            )
        ]
        doc = json.loads(manifest)
        training = doc.get("training") if isinstance(doc.get("training"), dict) else {}
        return ModelVersionOut(
            name=name,
            version=version,
            digest=digest,
            size_bytes=int(size),
            created_ns=int(created_ns),
            created_by=created_by,
            aliases=aliases,
            manifest=doc,
            training=training,
        )

    _VERSION_COLUMNS = "name, version, digest, manifest, size_bytes, created_ns, created_by"

    def model_names(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in self._fetchall(conn, "SELECT DISTINCT name FROM models ORDER BY name")]

    def model_versions(self, name: str | None = None) -> list[ModelVersionOut]:
        where, params = (" WHERE name = ?", [name]) if name is not None else ("", [])
        with self._read() as conn:
            rows = self._fetchall(
                conn, f"SELECT {self._VERSION_COLUMNS} FROM models{where} ORDER BY name, created_ns", params
            )
            return [self._version_out(conn, r) for r in rows]

    def model_version(self, name: str, version: str) -> ModelVersionOut:
        with self._read() as conn:
            row = self._fetchone(
                conn, f"SELECT {self._VERSION_COLUMNS} FROM models WHERE name = ? AND version = ?", (name, version)
            )
            if row is None:
                raise NotFoundError(f"model {name} version {version}")
            return self._version_out(conn, row)

    def model_by_digest(self, digest: str) -> ModelVersionOut | None:
        with self._read() as conn:
            row = self._fetchone(
                conn,
                f"SELECT {self._VERSION_COLUMNS} FROM models WHERE digest = ? ORDER BY created_ns LIMIT 1",
                (digest,),
            )
            return None if row is None else self._version_out(conn, row)

    def artifact(self, digest: str) -> bytes:
        with self._read() as conn:
            row = self._fetchone(conn, "SELECT data FROM artifacts WHERE digest = ?", (digest,))
        if row is None:
            raise NotFoundError(f"artifact {digest}")
        return bytes(row[0])

    def set_alias(self, name: str, alias: str, version: str, by: str) -> AliasEvent:
        now = self.clock()
        with self._write() as conn:
            if not self._fetchone(conn, "SELECT 1 FROM models WHERE name = ? AND version = ?", (name, version)):
                raise NotFoundError(f"model {name} version {version}")
            prev = self._fetchone(conn, "SELECT version FROM model_aliases WHERE name = ? AND alias = ?", (name, alias))
            conn.execute(
                self._sql(
                    "INSERT INTO model_aliases (name, alias, version, updated_ns) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (name, alias) DO UPDATE SET "
                    "version = excluded.version, updated_ns = excluded.updated_ns"
                ),
                (name, alias, version, now),
            )
            previous = None if prev is None else prev[0]
            conn.execute(
                self._sql(
                    "INSERT INTO alias_events (name, alias, version, previous, at_ns, by) VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (name, alias, version, previous, now, by),
            )
        return AliasEvent(name=name, alias=alias, version=version, previous=previous, at_ns=now, by=by)

    def resolve_alias(self, name: str, alias: str) -> str:
        with self._read() as conn:
            row = self._fetchone(conn, "SELECT version FROM model_aliases WHERE name = ? AND alias = ?", (name, alias))
        if row is None:
            raise NotFoundError(f"alias {alias} of model {name}")
        return str(row[0])

    def alias_history(self, name: str) -> list[AliasEvent]:
        with self._read() as conn:
            rows = self._fetchall(
                conn,
                "SELECT name, alias, version, previous, at_ns, by FROM alias_events WHERE name = ? ORDER BY id",
                (name,),
            )
        return [AliasEvent(name=r[0], alias=r[1], version=r[2], previous=r[3], at_ns=int(r[4]), by=r[5]) for r in rows]

    # policies --------------------------------------------------------------------------------------------

    def put_policy(self, policy_id: str, slice_id: str, body: dict[str, Any]) -> PolicyOut:
        now = self.clock()
        with self._write() as conn:
            conn.execute(
                self._sql(
                    "INSERT INTO policies (policy_id, slice_id, body, updated_ns) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (policy_id) DO UPDATE SET slice_id = excluded.slice_id, body = excluded.body, "
                    "updated_ns = excluded.updated_ns"
                ),
                (policy_id, slice_id, json.dumps(body, sort_keys=True), now),
            )
        return PolicyOut(policy_id=policy_id, slice_id=slice_id, body=body, updated_ns=now)

    def policies(self, ids: Sequence[str] | None = None) -> list[PolicyOut]:
        with self._read() as conn:
            rows = self._fetchall(conn, "SELECT policy_id, slice_id, body, updated_ns FROM policies ORDER BY 1")
        wanted = None if ids is None else set(ids)
        return [
            PolicyOut(policy_id=r[0], slice_id=r[1], body=json.loads(r[2]), updated_ns=int(r[3]))
            for r in rows
            if wanted is None or r[0] in wanted
        ]

    # bulk path (benchmarks, imports) ---------------------------------------------------------------------

    def bulk_load(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert prepared decision tuples (column order of ``decisions`` without ``id``) in one transaction,
        bypassing verification and aggregates: for building large test databases only."""
        with self._write() as conn:
            self._insert_decisions(conn, list(rows))


def find_rollbacks(spans: Sequence[LifecycleSpan]) -> list[Rollback]:
    """Switches back to a model version that governed before the one it replaces first governed.

    For spans A, B, A (in time order) the switch B -> A is a rollback; A, B, C is not, nor is a policy change
    under the same model."""
    out: list[Rollback] = []
    first_seen: dict[tuple[str, str, str], int] = {}
    previous: LifecycleSpan | None = None
    for span in spans:
        key = (span.model.name, span.model.version, span.model.digest)
        if previous is not None:
            prev_key = (previous.model.name, previous.model.version, previous.model.digest)
            if key != prev_key and key in first_seen and first_seen[key] < first_seen[prev_key]:
                out.append(
                    Rollback(
                        at_ns=span.first_ns,
                        from_model=previous.model,
                        to_model=span.model,
                        from_span=previous,
                        to_span=span,
                    )
                )
        first_seen.setdefault(key, span.first_ns)
        previous = span
    return out


def payload_b64(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")
