"""A synchronous read-only connection for the front's own readers (the journal replay of
:mod:`codetap.lsp.journal`, the metrics scan of :mod:`codetap.metrics`), on either backend.

These readers run in worker threads (``asyncio.to_thread``) beside the async store, so they
hold a plain connection of their own: SQLite ``mode=ro`` (WAL lets it read while the runtime
worker writes) or a PostgreSQL connection whose transactions are read-only. SQL is written
once with ``?`` placeholders (see :meth:`codetap.store.base.Store.execute`).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol


class ReadConn(Protocol):
    """``query(sql, args)`` -> rows as tuples; ``close()``. Thread-safe."""

    dialect: str

    def query(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one ``SELECT`` (``?`` placeholders)."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class _SqliteRead:
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     check_same_thread=False, timeout=2.0)
        self._lock = threading.Lock()

    def query(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return [tuple(r) for r in self._conn.execute(sql, args).fetchall()]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _PgRead:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._conn: Any = None

    def _connect(self) -> Any:
        import psycopg
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5,
                                         options="-c default_transaction_read_only=on")
        return self._conn

    def query(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        from codetap.store.postgres import pg_sql
        with self._lock:
            for attempt in (1, 2):  # a connection that died while idle is replaced once
                try:
                    return list(self._connect().execute(pg_sql(sql), args).fetchall())
                except psycopg.OperationalError:
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def connect_readonly(path: Path, url: str | None = None) -> ReadConn:
    """A read-only connection to the PostgreSQL database at ``url`` when given (connected
    on first query), else to the SQLite file at ``path`` (sqlite3.OperationalError when it
    cannot be opened)."""
    return _PgRead(url) if url else _SqliteRead(path)
