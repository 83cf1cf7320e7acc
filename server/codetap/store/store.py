"""The SQLite backend of the store (:class:`codetap.store.base.Store`), the embedded default.

It holds tasks, the append-only event journal, checkpoints, suggestions.

One connection is the only writer (ARCHITECTURE.md "Durability"). It is a plain sqlite3
connection used on the event loop's thread: a WAL commit with ``synchronous=NORMAL`` takes
tens of microseconds, less than handing the work to another thread and back (which costs
0.05-0.3 ms per hop), so the per-step journal write stays cheap. Queries that may return
many rows (task lists, a task's journal) go through a second, aiosqlite connection and do
not block the loop. SQLite runs in
WAL mode with ``synchronous=NORMAL``: a commit survives ``kill -9`` of the process (it is in
the WAL file); only a power loss can drop the newest commits. ``[store] synchronous =
"full"`` adds an fsync of the WAL per commit, so those survive too.

Checkpoints hold small agent state (step, usage, plan, read state, message count) plus the
worktree commit; the conversation itself is rebuilt from the journal, so nothing is saved
twice and storage grows linearly with the journal.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from codetap.errors import StoreError, TaskNotFound
from codetap.fsmodes import private_dir, private_sqlite
from codetap.redact import redact_json
from codetap.store.base import (
    COMPRESS_OVER,
    TASK_COLUMNS,
    Checkpoint,
    Event,
    Store,
    StoreUnavailable,
    TaskRow,
    _dumps,
    decode_data,
    encode_data,
    now_rfc3339,
    task_query,
    task_row,
    update_columns,
)
from codetap.store.schema import MIGRATIONS, SCHEMA_VERSION
from codetap.types import JSON, TaskState

__all__ = ["COMPRESS_OVER", "Checkpoint", "Event", "SqliteStore", "Store", "StoreUnavailable",
           "TaskRow", "decode_data", "encode_data", "now_rfc3339"]

_TASK_COLUMNS = TASK_COLUMNS
_task = task_row


class SqliteStore(Store):
    """The SQLite backend of :class:`~codetap.store.base.Store` (the embedded default).
    Open with :meth:`Store.open`; one instance per process.

    Raises StoreError when the file is unreadable, not a database, locked by another
    writer, or from a newer schema; it never resets an existing database.
    """

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, writer: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._w = writer
        self.path = path
        self._next_seq: dict[int, int] = {}

    @classmethod
    async def connect(cls, path: Path, synchronous: str = "normal") -> SqliteStore:
        """Open (creating if needed) and migrate the database at ``path``.

        ``synchronous``: SQLite's ``PRAGMA synchronous`` in WAL mode, ``"normal"`` (a
        commit survives a crash of the process, a power loss can drop the newest ones) or
        ``"full"`` (an fsync of the WAL per commit). ``[store] synchronous`` in the config.

        File modes (ARCHITECTURE.md "Trust and safety"): the database and its ``-wal`` /
        ``-shm`` are 0600 and directories created for it 0700, whatever the umask; an
        existing directory named ``codetap`` (the default data directory) is tightened to
        0700, an older version's 0644 database files to 0600.
        """
        try:
            private_dir(path.parent, tighten=path.parent.name == "codetap")
            private_sqlite(path)
        except OSError as exc:
            raise StoreError(f"cannot create database {path}: {exc}") from None
        try:
            writer = sqlite3.connect(path, isolation_level=None, timeout=2.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        try:
            _setup(writer, path, synchronous)
            conn = await aiosqlite.connect(path, isolation_level=None, timeout=2.0)
        except sqlite3.OperationalError as exc:
            writer.close()
            if "locked" in str(exc):
                raise StoreError(
                    f"database {path} is locked by another process (is another codetap "
                    "daemon running? see `codetap daemon status`)"
                ) from None
            raise StoreError(f"cannot use database {path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            writer.close()
            raise StoreError(
                f"database {path} is unreadable ({exc}); it was left untouched. "
                "Move it aside to start with an empty one."
            ) from None
        except BaseException:
            writer.close()
            raise
        return cls(conn, writer, path)

    @classmethod
    async def connect_readonly(cls, path: Path) -> SqliteStore:
        """Open an existing database for reading only (the daemon's front process: the
        runtime worker is the one writer). Both connections are SQLite ``mode=ro``: any
        write raises ``sqlite3.OperationalError`` (attempt to write a readonly database).
        StoreError when the file is missing or unreadable."""
        uri = f"{path.resolve().as_uri().replace('file://', 'file:', 1)}?mode=ro"
        try:
            writer = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=2.0)
            writer.execute("PRAGMA user_version").fetchone()
            conn = await aiosqlite.connect(uri, uri=True, isolation_level=None, timeout=2.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path} for reading: {exc}") from None
        return cls(conn, writer, path)

    async def close(self) -> None:
        """Close both connections (the last one checkpoints the WAL)."""
        await self._conn.close()
        self._w.close()

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around the writes made inside (a task's row update, its journal
        entry and its webhook outbox rows): committed together at the end, rolled back
        together on an exception. Only for synchronous stretches of store calls (these
        methods never yield to the event loop), so no other coroutine's write joins it.
        On a failure, sequence numbers reserved inside are released; a full disk raises
        StoreError (the previous checkpoint is intact)."""
        try:
            with _transaction(self._w):
                yield
        except BaseException as exc:
            self._next_seq.clear()
            if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
                raise StoreError(
                    f"disk full while writing to {self.path}; nothing of this step was "
                    "saved and the previous checkpoint is intact. Free some space, then "
                    "resume the task.") from None
            raise

    # -- tasks -----------------------------------------------------------------

    async def create_task(
        self, *, intent: str, root: Path, scope: JSON | None, model: str, workflow: str,
        priority: int = 0, parent_id: int | None = None, role: str | None = None,
        subtask: str | None = None,
    ) -> TaskRow:
        """Insert a ``queued`` task and return it (a sub-task names its ``parent_id``)."""
        ts = now_rfc3339()
        cur = self._w.execute(
            "INSERT INTO tasks (intent, state, root, scope, model, workflow, created_at, "
            "updated_at, priority, parent_id, role, subtask) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (intent, TaskState.QUEUED.value, str(root), _dumps(scope) if scope else None,
             model, workflow, ts, ts, priority, parent_id, role, subtask),
        )
        assert cur.lastrowid is not None
        return self._get(cur.lastrowid)

    async def get_task(self, task_id: int) -> TaskRow:
        """The task ``task_id``; TaskNotFound if there is none."""
        return self._get(task_id)

    def _get(self, task_id: int) -> TaskRow:
        row = self._w.execute(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?",
                              (task_id,)).fetchone()
        if row is None:
            raise TaskNotFound(task_id)
        return _task(row)

    async def list_tasks(
        self, root: Path | None = None, states: Sequence[TaskState] | None = None
    ) -> list[TaskRow]:
        """Tasks, newest first, optionally filtered by repository root and states."""
        return [_task(r) for r in self._w.execute(*task_query(root, states))]

    async def update_task(self, task_id: int, **fields: Any) -> TaskRow:
        """Set columns of a task (``usage=Usage`` and ``state=TaskState`` accepted)."""
        cols = update_columns(fields)
        sets = ", ".join(f"{k} = ?" for k in cols)
        self._w.execute(f"UPDATE tasks SET {sets} WHERE id = ?", (*cols.values(), task_id))
        return self._get(task_id)

    async def delete_task(self, task_id: int) -> None:
        """Remove a task with its journal, checkpoints and suggestions (used by gc)."""
        with _transaction(self._w):
            for table in ("events", "checkpoints", "suggestions"):
                self._w.execute(f"DELETE FROM {table} WHERE task_id = ?", (task_id,))
            self._w.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
        self._next_seq.pop(task_id, None)

    # -- journal ---------------------------------------------------------------

    async def _seq(self, task_id: int) -> int:
        if task_id not in self._next_seq:
            row = self._w.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE task_id = ?", (task_id,)
            ).fetchone()
            self._next_seq[task_id] = (row[0] if row else 0) + 1
        return self._next_seq[task_id]

    async def append(
        self,
        task_id: int,
        step: int,
        entries: Iterable[tuple[str, JSON]],
        checkpoint: tuple[str | None, JSON] | None = None,
        outbox: Sequence[tuple[Any, ...]] = (),
    ) -> list[Event]:
        """See :meth:`codetap.store.base.Store.append`."""
        seq = await self._seq(task_id)
        ts = time.time()
        # Known secret values never reach the database, nor the listeners of these events.
        events = [Event(task_id, seq + i, step, ts, k, redact_json(d))
                  for i, (k, d) in enumerate(entries)]
        if checkpoint is not None:
            checkpoint = (checkpoint[0], redact_json(checkpoint[1]))
        rows = [(e.task_id, e.seq, e.step, e.ts, e.kind, encode_data(e.data)) for e in events]
        last = events[-1].seq if events else seq - 1
        cp_row = None if checkpoint is None else (
            task_id, last, step, checkpoint[0], _dumps(checkpoint[1]))
        self._next_seq[task_id] = seq + len(events)  # reserved before awaiting: no reuse
        try:
            _write(self._w, rows, cp_row, outbox)
        except BaseException as exc:
            self._next_seq.pop(task_id, None)
            if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
                raise StoreError(
                    f"disk full while writing the journal of task {task_id} to {self.path}; "
                    "nothing of this step was saved and the previous checkpoint is intact. "
                    "Free some space, then resume the task."
                ) from None
            raise
        return events

    async def events(self, task_id: int, after_seq: int = 0,
                     limit: int | None = None) -> list[Event]:
        """The task's journal in order, entries with ``seq > after_seq`` (at most ``limit``)."""
        cur = await self._conn.execute(
            "SELECT task_id, seq, step, ts, kind, data FROM events WHERE task_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?", (task_id, after_seq, -1 if limit is None else limit),
        )
        return [Event(r[0], r[1], r[2], r[3], r[4], decode_data(r[5])) for r in await cur.fetchall()]

    async def checkpoints(self, task_id: int) -> list[Checkpoint]:
        """All checkpoints of a task, oldest first (rolled-back ones included)."""
        cur = await self._conn.execute(
            "SELECT task_id, seq, step, commit_id, state FROM checkpoints WHERE task_id = ? "
            "ORDER BY seq", (task_id,),
        )
        return [Checkpoint(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in await cur.fetchall()]

    async def latest_checkpoint(self, task_id: int) -> Checkpoint | None:
        """The newest checkpoint of a task, or None."""
        cur = await self._conn.execute(
            "SELECT task_id, seq, step, commit_id, state FROM checkpoints WHERE task_id = ? "
            "ORDER BY seq DESC LIMIT 1", (task_id,),
        )
        r = await cur.fetchone()
        return Checkpoint(r[0], r[1], r[2], r[3], json.loads(r[4])) if r else None

    # -- suggestions -----------------------------------------------------------

    async def put_suggestions(self, task_id: int, rows: Iterable[tuple[str, str, str, JSON]]) -> None:
        """Upsert ``(hunk_id, path, status, data)`` suggestion rows of a task."""
        with _transaction(self._w):
            self._w.executemany(
                "INSERT OR REPLACE INTO suggestions VALUES (?, ?, ?, ?, ?)",
                [(task_id, h, p, s, _dumps(d)) for h, p, s, d in rows],
            )

    async def suggestions(self, task_id: int) -> list[tuple[str, str, str, JSON]]:
        """``(hunk_id, path, status, data)`` rows of a task."""
        cur = await self._conn.execute(
            "SELECT hunk_id, path, status, data FROM suggestions WHERE task_id = ? ORDER BY path, hunk_id",
            (task_id,),
        )
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in await cur.fetchall()]


    # -- SQL of other modules ----------------------------------------------------

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement on the writer connection; its rows (see :meth:`Store.execute`)."""
        return [tuple(r) for r in self._w.execute(sql, args).fetchall()]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement per row on the writer connection (see :meth:`Store.executemany`)."""
        self._w.executemany(sql, rows)


def _write(conn: sqlite3.Connection, rows: list[tuple[Any, ...]],
           checkpoint: tuple[Any, ...] | None, outbox: Sequence[tuple[Any, ...]] = ()) -> None:
    """Journal rows, an optional checkpoint row and outbox rows in one transaction."""
    from codetap.store.outbox import INSERT
    with _transaction(conn):
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
        if checkpoint is not None:
            conn.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?)", checkpoint)
        if outbox:
            conn.executemany(INSERT, outbox)


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[None]:
    if conn.in_transaction:  # inside Store.atomic(): part of the enclosing transaction
        yield
        return
    conn.execute(begin)
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _setup(conn: sqlite3.Connection, path: Path, synchronous: str = "normal") -> None:
    """WAL mode and migrations; StoreError for a database from a newer codetap."""
    if synchronous not in ("normal", "full"):
        raise StoreError(f"[store] synchronous must be \"normal\" or \"full\", not {synchronous!r}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys=ON")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database {path} has schema {version}, newer than this codetap "
            f"({SCHEMA_VERSION}); upgrade codetap"
        )
    for i in range(version, SCHEMA_VERSION):
        with _transaction(conn, "BEGIN IMMEDIATE"):
            for stmt in _statements(MIGRATIONS[i]):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version={i + 1}")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
