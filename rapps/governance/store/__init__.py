"""Governance storage: one interface (:class:`SqlStore`), SQLite by default, PostgreSQL with a DSN."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rapps.governance.store.base import IngestCounts, SqlStore, StoredDecision
from rapps.governance.store.postgres import PostgresStore
from rapps.governance.store.sqlite import SqliteStore

__all__ = ["IngestCounts", "PostgresStore", "SqlStore", "SqliteStore", "StoredDecision", "open_store"]


def open_store(database: str, *, window_ns: int = 60_000_000_000, clock: Callable[[], int] = time.time_ns) -> SqlStore:
    """A store (not yet opened) for ``database``: a ``postgresql://`` / ``postgres://`` URL or a libpq
    ``key=value`` DSN selects PostgreSQL; ``sqlite:///path`` or a plain path selects SQLite."""
    if database.startswith(("postgresql://", "postgres://")) or ("=" in database and "host" in database):
        return PostgresStore(database, window_ns=window_ns, clock=clock)
    path = database.removeprefix("sqlite://").removeprefix("sqlite:")
    return SqliteStore(Path(path), window_ns=window_ns, clock=clock)
