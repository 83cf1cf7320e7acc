"""The store interface (:class:`Store`) and the rows it returns, shared by both backends.

Two backends implement it (ARCHITECTURE.md "Scale-out"): :mod:`codetap.store.store`
(SQLite, the embedded default) and :mod:`codetap.store.postgres` (PostgreSQL, chosen by
``[store] url = "postgresql://..."``). :meth:`Store.open` and :meth:`Store.open_readonly`
pick the backend. Callers use only the methods named here; SQL that a module issues itself
goes through :meth:`Store.execute` / :meth:`Store.executemany`, written once in the subset
both dialects understand (``?`` placeholders, ``INSERT ... ON CONFLICT``).
"""

from __future__ import annotations

import abc
import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codetap.errors import StoreError
from codetap.types import JSON, TaskState, Usage

if TYPE_CHECKING:
    from codetap.store.notify import EventFeed

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

COMPRESS_OVER = 1024


class StoreUnavailable(StoreError):
    """The database server cannot be reached, or the connection broke during a call
    (PostgreSQL only). A write that raises it was not confirmed: nothing of it is visible
    unless the connection broke while COMMIT was under way, and a journal append retried
    after such a loss is refused by the ``(task_id, seq)`` key rather than duplicated."""


def encode_data(data: JSON) -> str | bytes:
    """A journal entry's ``data`` column: compact JSON text, or for entries over 1 KiB
    (tool output, file texts) the zlib-compressed JSON as a BLOB. Tool output compresses
    3-5x, which keeps the database smaller than the payload it holds."""
    text = _dumps(data)
    if len(text) <= COMPRESS_OVER:
        return text
    return zlib.compress(text.encode(), 1)


def decode_data(value: str | bytes) -> JSON:
    """Inverse of :func:`encode_data`. Bytes starting with ``x`` (0x78, every zlib stream
    codetap writes) are compressed; other bytes are JSON text (PostgreSQL's ``bytea``
    column holds both: JSON text never starts with ``x``)."""
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes) and value[:1] == b"x":
        value = zlib.decompress(value)
    data: JSON = json.loads(value)
    return data


def now_rfc3339() -> str:
    """Current UTC time as RFC 3339 with milliseconds, e.g. ``2026-11-20T23:10:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One row of ``tasks`` (ids are small integers, shown as strings on the wire)."""

    id: int
    intent: str
    state: TaskState
    root: Path
    worktree: Path | None
    branch: str
    base_commit: str
    tip_commit: str | None
    scope: JSON | None
    model: str
    workflow: str
    steps: int
    usage: Usage
    created_at: str
    updated_at: str
    ended_at: str | None
    summary: str | None
    error: str | None
    verification: JSON | None = None
    repo_url: str | None = None
    remote: JSON | None = None
    pull_request_url: str | None = None
    parent_id: int | None = None
    role: str | None = None
    subtask: str | None = None
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Event:
    """One journal entry. ``ts`` is Unix time in seconds; ``data`` is a JSON object."""

    task_id: int
    seq: int
    step: int
    ts: float
    kind: str
    data: JSON


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Agent state after a step: ``seq`` is the last journal entry it covers."""

    task_id: int
    seq: int
    step: int
    commit_id: str | None
    state: JSON


TASK_COLUMNS = (
    "id, intent, state, root, worktree, branch, base_commit, tip_commit, scope, model, workflow, "
    "steps, input_tokens, output_tokens, cost_usd, created_at, updated_at, ended_at, summary, error, "
    "verification, repo_url, remote, pull_request_url, parent_id, role, subtask, priority"
)

#: The upsert of a checkpoint row ``(task_id, seq, step, commit_id, state)``, both dialects.
CHECKPOINT_UPSERT = (
    "INSERT INTO checkpoints (task_id, seq, step, commit_id, state) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (task_id, seq) DO UPDATE SET step = excluded.step, "
    "commit_id = excluded.commit_id, state = excluded.state")
#: The upsert of a suggestion row ``(task_id, hunk_id, path, status, data)``, both dialects.
SUGGESTION_UPSERT = (
    "INSERT INTO suggestions (task_id, hunk_id, path, status, data) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (task_id, hunk_id) DO UPDATE SET path = excluded.path, "
    "status = excluded.status, data = excluded.data")
EVENT_INSERT = "INSERT INTO events (task_id, seq, step, ts, kind, data) VALUES (?, ?, ?, ?, ?, ?)"


def task_row(row: Sequence[Any]) -> TaskRow:
    """A ``SELECT {TASK_COLUMNS}`` row as a :class:`TaskRow`."""
    r = tuple(row)
    return TaskRow(
        id=r[0], intent=r[1], state=TaskState(r[2]), root=Path(r[3]),
        worktree=Path(r[4]) if r[4] else None, branch=r[5], base_commit=r[6], tip_commit=r[7],
        scope=json.loads(r[8]) if r[8] else None, model=r[9], workflow=r[10], steps=r[11],
        usage=Usage(r[12], r[13], r[14]), created_at=r[15], updated_at=r[16], ended_at=r[17],
        summary=r[18], error=r[19], verification=json.loads(r[20]) if r[20] else None,
        repo_url=r[21], remote=json.loads(r[22]) if r[22] else None, pull_request_url=r[23],
        parent_id=r[24], role=r[25], subtask=r[26], priority=r[27],
    )


def update_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """``update_task`` keyword arguments as column values (``usage=Usage`` spread over its
    three columns, ``state=TaskState`` as its value, paths as text, JSON fields encoded),
    ``updated_at`` set to now."""
    cols: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "usage":
            cols.update(input_tokens=value.input_tokens, output_tokens=value.output_tokens,
                        cost_usd=value.cost_usd)
        elif key == "state":
            cols["state"] = TaskState(value).value
        elif key in ("root", "worktree"):
            cols[key] = str(value) if value is not None else None
        elif key in ("scope", "verification", "remote"):
            cols[key] = _dumps(value) if value is not None else None
        else:
            cols[key] = value
    cols["updated_at"] = now_rfc3339()
    return cols


def task_query(root: Path | None, states: Sequence[TaskState] | None) -> tuple[str, list[Any]]:
    """``list_tasks``'s SELECT (``?`` placeholders, newest first) and its arguments."""
    sql, args = f"SELECT {TASK_COLUMNS} FROM tasks WHERE 1=1", []
    if root is not None:
        sql += " AND root = ?"
        args.append(str(root))
    if states:
        sql += f" AND state IN ({','.join('?' * len(states))})"
        args.extend(s.value for s in states)
    return sql + " ORDER BY id DESC", args


class Store(abc.ABC):
    """The codetap database: tasks, the append-only event journal, checkpoints, suggestions,
    and the webhook tables. One instance per process; open it with :meth:`open`.

    Writes happen on one writer connection, synchronously: none of the write methods yields
    to the event loop between its statements, which is what lets :meth:`atomic` group the
    writes of several calls into one transaction. Errors: StoreError (the database is
    unusable, from a newer codetap, or a disk is full), :class:`StoreUnavailable` (the
    PostgreSQL server went away), TaskNotFound.
    """

    #: The SQLite file (for PostgreSQL: the configured ``db_path``, unused).
    path: Path
    #: ``"sqlite"`` or ``"postgresql"``.
    dialect: str

    @classmethod
    async def open(cls, path: Path, synchronous: str = "normal", *,
                   url: str | None = None) -> Store:
        """Open (creating and migrating if needed) the database: PostgreSQL when ``url``
        (``[store] url``, ``postgresql://...``) is given, else the SQLite file at ``path``
        with ``PRAGMA synchronous`` = ``synchronous`` (``[store] synchronous``). StoreError
        when it cannot be used; a database is never reset."""
        if url:
            from codetap.store.postgres import PostgresStore
            return await PostgresStore.connect(url)
        from codetap.store.store import SqliteStore
        return await SqliteStore.connect(path, synchronous)

    @classmethod
    async def open_readonly(cls, path: Path, *, url: str | None = None) -> Store:
        """Open an existing database for reading only (the daemon's front process and the
        CLI's reading commands; the runtime worker is the one writer). Writes raise the
        backend's error. StoreError when missing or unreadable."""
        if url:
            from codetap.store.postgres import PostgresStore
            return await PostgresStore.connect(url, readonly=True)
        from codetap.store.store import SqliteStore
        return await SqliteStore.connect_readonly(path)

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the connections (and the event feed, if one was started)."""

    @abc.abstractmethod
    def atomic(self) -> AbstractContextManager[None]:
        """One transaction around the writes made inside (a task's row update, its journal
        entry and its webhook outbox rows): committed together at the end, rolled back
        together on an exception. Only for synchronous stretches of store calls. On a
        failure, sequence numbers reserved inside are released; a full disk raises
        StoreError, a lost PostgreSQL connection StoreUnavailable."""

    async def wait_available(self) -> None:
        """Return once the database can be written again after a StoreUnavailable
        (PostgreSQL: reconnecting with backoff, StoreUnavailable when it stays away; see
        :mod:`codetap.store.retry`). SQLite is never away: returns at once."""

    # -- tasks -----------------------------------------------------------------

    @abc.abstractmethod
    async def create_task(
        self, *, intent: str, root: Path, scope: JSON | None, model: str, workflow: str,
        priority: int = 0, parent_id: int | None = None, role: str | None = None,
        subtask: str | None = None,
    ) -> TaskRow:
        """Insert a ``queued`` task and return it (a sub-task names its ``parent_id``)."""

    @abc.abstractmethod
    async def get_task(self, task_id: int) -> TaskRow:
        """The task ``task_id``; TaskNotFound if there is none."""

    @abc.abstractmethod
    def _get(self, task_id: int) -> TaskRow:
        """:meth:`get_task` without awaiting (on the writer connection, so it sees the
        writes of the enclosing :meth:`atomic`); TaskNotFound."""

    @abc.abstractmethod
    async def list_tasks(
        self, root: Path | None = None, states: Sequence[TaskState] | None = None
    ) -> list[TaskRow]:
        """Tasks, newest first, optionally filtered by repository root and states."""

    @abc.abstractmethod
    async def update_task(self, task_id: int, **fields: Any) -> TaskRow:
        """Set columns of a task (``usage=Usage`` and ``state=TaskState`` accepted);
        returns the row as written."""

    @abc.abstractmethod
    async def delete_task(self, task_id: int) -> None:
        """Remove a task with its journal, checkpoints and suggestions (used by gc)."""

    # -- journal ---------------------------------------------------------------

    @abc.abstractmethod
    async def append(
        self,
        task_id: int,
        step: int,
        entries: Iterable[tuple[str, JSON]],
        checkpoint: tuple[str | None, JSON] | None = None,
        outbox: Sequence[tuple[Any, ...]] = (),
    ) -> list[Event]:
        """Append journal entries (and optionally a checkpoint) in ONE transaction.

        ``entries`` are ``(kind, data)``; ``checkpoint`` is ``(commit_id, state)`` and covers
        the entries appended here. ``outbox``: webhook messages reporting these entries,
        rows of :data:`codetap.store.outbox.INSERT`, written in the same transaction (so a
        kill -9 keeps both or neither). Returns the events with their sequence numbers
        (1, 2, ... per task, no gaps). Known secret values are redacted before writing.
        """

    @abc.abstractmethod
    async def events(self, task_id: int, after_seq: int = 0,
                     limit: int | None = None) -> list[Event]:
        """The task's journal in order, entries with ``seq > after_seq`` (at most
        ``limit`` of them when given)."""

    @abc.abstractmethod
    async def checkpoints(self, task_id: int) -> list[Checkpoint]:
        """All checkpoints of a task, oldest first (rolled-back ones included)."""

    @abc.abstractmethod
    async def latest_checkpoint(self, task_id: int) -> Checkpoint | None:
        """The newest checkpoint of a task, or None."""

    # -- suggestions -----------------------------------------------------------

    @abc.abstractmethod
    async def put_suggestions(self, task_id: int,
                              rows: Iterable[tuple[str, str, str, JSON]]) -> None:
        """Upsert ``(hunk_id, path, status, data)`` suggestion rows of a task."""

    @abc.abstractmethod
    async def suggestions(self, task_id: int) -> list[tuple[str, str, str, JSON]]:
        """``(hunk_id, path, status, data)`` rows of a task, by path then hunk id."""

    # -- SQL of other modules (outbox, webhooks, metrics) -----------------------

    @abc.abstractmethod
    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on the writer connection (inside the enclosing :meth:`atomic`
        if any) and return its rows (``[]`` for a statement without). ``sql`` uses ``?``
        placeholders and the SQL both SQLite and PostgreSQL accept (``ON CONFLICT``
        upserts, no ``INSERT OR REPLACE``, no ``rowid`` but on ``events``)."""

    @abc.abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of ``rows`` (same rules as :meth:`execute`)."""

    # -- news for other processes ------------------------------------------------

    async def feed(self) -> EventFeed | None:
        """The journal's news for front ends in other processes: an
        :class:`~codetap.store.notify.EventFeed` (PostgreSQL: LISTEN/NOTIFY, started on
        first call, one per store), or None where the runtime worker's own listeners carry
        the news (SQLite: the daemon forwards each entry to its front process)."""
        return None


def iter_statements(script: str) -> Iterator[str]:
    """The ``;``-separated statements of a migration script, stripped, empty ones dropped."""
    return (s.strip() for s in script.split(";") if s.strip())
