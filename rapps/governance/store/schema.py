"""The governance schema, one for SQLite and PostgreSQL, as an ordered list of migrations.

Statements use four tokens that each dialect replaces: ``{ID}`` (an auto-numbered primary key), ``{BLOB}``
(bytes), ``{LEAST}`` and ``{GREATEST}`` (two-argument min/max). A store applies, in one transaction each, every
migration above the highest version recorded in ``schema_migrations``; migrations are append-only.

Tables
------
``decisions``          one row per stored record: the canonical payload (authoritative: answers are decoded
                       from it, and stored-chain verification re-hashes and re-decodes it) and copies of the
                       fields that queries filter on; unique by (instance, sequence)
``integrity_events``   gaps, forks, reorders, broken links, bad hashes and undecodable payloads, with the payload
                       when the record itself was not stored
``chains``             per instance: highest contiguous and highest stored sequence, record count
``chain_tails``        per instance and spool log: the last sequence and hash (where the next record must link)
``model_stats``        per model version and slot: decisions, actions sent / withheld, CPU time, first / last seen
``slice_windows``      per slice, time bucket, model version, slot and policy set: decisions and first / last
                       time, from which a slice's lifecycle is rebuilt whatever order records arrived in
``artifacts``          ONNX artifacts by sha256 digest
``models``             registered model versions (name, version, digest, manifest)
``model_aliases``      alias -> version per model name; ``alias_events`` keeps every change
``policies``           slice SLA policies (KPI bounds over named features) by policy id
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIGRATIONS", "Migration"]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "lineage, integrity events, chains, aggregates, registry, policies",
        (
            """CREATE TABLE decisions (
                id {ID},
                instance TEXT NOT NULL,
                sequence BIGINT NOT NULL,
                stream SMALLINT NOT NULL,
                timestamp_ns BIGINT NOT NULL,
                decision_id TEXT NOT NULL,
                e2_node TEXT NOT NULL,
                cell TEXT NOT NULL,
                slice_id TEXT NOT NULL,
                model_name TEXT NOT NULL,
                model_version TEXT NOT NULL,
                slot SMALLINT NOT NULL,
                payload {BLOB} NOT NULL
            )""",
            "CREATE UNIQUE INDEX ux_decisions_identity ON decisions (instance, sequence)",
            "CREATE INDEX ix_decisions_slice_time ON decisions (slice_id, timestamp_ns, id)",
            "CREATE INDEX ix_decisions_model_time ON decisions (model_name, model_version, timestamp_ns)",
            """CREATE TABLE integrity_events (
                id {ID},
                observed_ns BIGINT NOT NULL,
                kind TEXT NOT NULL,
                instance TEXT NOT NULL,
                sequence BIGINT NOT NULL,
                stream SMALLINT NOT NULL,
                detail TEXT NOT NULL,
                hash {BLOB},
                payload {BLOB},
                source TEXT NOT NULL
            )""",
            "CREATE INDEX ix_integrity_instance ON integrity_events (instance, sequence)",
            """CREATE TABLE chains (
                instance TEXT PRIMARY KEY,
                contiguous BIGINT NOT NULL,
                highest BIGINT NOT NULL,
                records BIGINT NOT NULL,
                first_ingest_ns BIGINT NOT NULL,
                last_ingest_ns BIGINT NOT NULL
            )""",
            """CREATE TABLE chain_tails (
                instance TEXT NOT NULL,
                stream SMALLINT NOT NULL,
                sequence BIGINT NOT NULL,
                hash {BLOB} NOT NULL,
                PRIMARY KEY (instance, stream)
            )""",
            """CREATE TABLE model_stats (
                model_name TEXT NOT NULL,
                model_version TEXT NOT NULL,
                model_digest TEXT NOT NULL,
                slot SMALLINT NOT NULL,
                decisions BIGINT NOT NULL,
                sent BIGINT NOT NULL,
                withheld BIGINT NOT NULL,
                cpu_ns BIGINT NOT NULL,
                first_ns BIGINT NOT NULL,
                last_ns BIGINT NOT NULL,
                PRIMARY KEY (model_name, model_version, model_digest, slot)
            )""",
            """CREATE TABLE slice_windows (
                slice_id TEXT NOT NULL,
                bucket_ns BIGINT NOT NULL,
                model_name TEXT NOT NULL,
                model_version TEXT NOT NULL,
                model_digest TEXT NOT NULL,
                slot SMALLINT NOT NULL,
                policy_ids TEXT NOT NULL,
                decisions BIGINT NOT NULL,
                sent BIGINT NOT NULL,
                first_ns BIGINT NOT NULL,
                last_ns BIGINT NOT NULL,
                PRIMARY KEY (slice_id, bucket_ns, model_name, model_version, model_digest, slot, policy_ids)
            )""",
            "CREATE INDEX ix_slice_windows_model ON slice_windows (model_name, model_version, slice_id)",
            """CREATE TABLE artifacts (
                digest TEXT PRIMARY KEY,
                size_bytes BIGINT NOT NULL,
                data {BLOB} NOT NULL,
                created_ns BIGINT NOT NULL
            )""",
            """CREATE TABLE models (
                name TEXT NOT NULL,
                version TEXT NOT NULL,
                digest TEXT NOT NULL,
                manifest TEXT NOT NULL,
                size_bytes BIGINT NOT NULL,
                created_ns BIGINT NOT NULL,
                created_by TEXT NOT NULL,
                PRIMARY KEY (name, version)
            )""",
            "CREATE INDEX ix_models_digest ON models (digest)",
            """CREATE TABLE model_aliases (
                name TEXT NOT NULL,
                alias TEXT NOT NULL,
                version TEXT NOT NULL,
                updated_ns BIGINT NOT NULL,
                PRIMARY KEY (name, alias)
            )""",
            """CREATE TABLE alias_events (
                id {ID},
                name TEXT NOT NULL,
                alias TEXT NOT NULL,
                version TEXT NOT NULL,
                previous TEXT,
                at_ns BIGINT NOT NULL,
                by TEXT NOT NULL
            )""",
            """CREATE TABLE policies (
                policy_id TEXT PRIMARY KEY,
                slice_id TEXT NOT NULL,
                body TEXT NOT NULL,
                updated_ns BIGINT NOT NULL
            )""",
        ),
    ),
)
