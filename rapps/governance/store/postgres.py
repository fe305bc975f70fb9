"""The PostgreSQL store (psycopg 3), used when a DSN is configured: for scale and for several readers.

Transactions are explicit (``BEGIN`` / ``COMMIT`` on autocommit connections), the same as SQLite's, so the SQL
of :class:`~rapps.governance.store.base.SqlStore` runs unchanged; placeholders become ``%s``. Decision rows go
in with ``COPY`` (the chain verifier has already established that each is new; one ingesting governance
process per database), the other statements with ``executemany`` in pipeline mode. A committed transaction
is durable as the server's ``synchronous_commit`` says (``on`` by default).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from rapps.governance.errors import StoreError
from rapps.governance.store.base import DECISION_COLUMNS, Dialect, SqlStore

__all__ = ["PostgresStore"]

POSTGRES = Dialect(
    name="postgresql",
    placeholder="%s",
    id_column="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    blob="BYTEA",
    least="LEAST",
    greatest="GREATEST",
)


class PostgresStore(SqlStore):
    """A :class:`SqlStore` in a PostgreSQL database named by a libpq DSN or URL."""

    dialect = POSTGRES

    def __init__(self, dsn: str, *, window_ns: int = 60_000_000_000, clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__(window_ns=window_ns, clock=clock)
        self.dsn = dsn

    def describe(self) -> str:
        return "postgresql:" + re.sub(r"(password=|:)([^@\s]+)@", r"\1***@", self.dsn)

    def _errors(self) -> tuple[type[BaseException], ...]:
        import psycopg

        return (psycopg.Error,)

    def _connect(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise StoreError("PostgreSQL needs psycopg 3: pip install 'psycopg[binary]'") from exc
        return psycopg.connect(self.dsn, autocommit=True)

    def _insert_decisions(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        # COPY: the verifier has established that every row is new (one ingesting process per database)
        with conn.cursor() as cur, cur.copy(f"COPY decisions ({DECISION_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _executemany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(sql, rows)
