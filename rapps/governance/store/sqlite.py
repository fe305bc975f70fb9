"""The SQLite store: one file in WAL mode, the default (embedded, zero set-up).

``synchronous=NORMAL`` in WAL mode: a committed transaction survives a process crash; a power loss can undo the
last transactions since the last checkpoint, never corrupt the file. Ingest acknowledges only what is committed,
so a reporter re-sends what a power loss undid (``docs/governance.md``, "Storage").
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rapps.governance.store.base import Dialect, SqlStore

__all__ = ["SqliteStore"]

SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    id_column="INTEGER PRIMARY KEY",
    blob="BLOB",
    least="min",
    greatest="max",
)


class SqliteStore(SqlStore):
    """A :class:`SqlStore` in a SQLite file (created, with its directory, on ``open()``)."""

    dialect = SQLITE

    def __init__(
        self,
        path: str | Path,
        *,
        window_ns: int = 60_000_000_000,
        clock: Callable[[], int] = time.time_ns,
        cache_mib: int = 64,
    ) -> None:
        super().__init__(window_ns=window_ns, clock=clock)
        self.path = Path(path)
        self._cache_mib = cache_mib

    def describe(self) -> str:
        return f"sqlite:{self.path}"

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)

    def _connect(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA cache_size=-{self._cache_mib * 1024}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA wal_autocheckpoint=16384")
        return conn

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")
