"""The PostgreSQL backend of the store (``[store] url = "postgresql://..."``), for scale-out:
several nodes write the same database (ARCHITECTURE.md "Scale-out").

Like the SQLite backend, writes go through ONE synchronous connection (psycopg 3, autocommit,
transactions opened by hand), so :meth:`PostgresStore.atomic` keeps its meaning: the writes of
several store calls made without yielding to the event loop commit together. A write costs
round trips to the server (0.05-0.2 ms each on a local socket) and blocks the loop meanwhile,
as SQLite's commit does. Reads that may return many rows (a journal, checkpoints,
suggestions) use an asyncio connection pool (psycopg_pool) and never block the loop.

Each journal append also sends ``NOTIFY codetap_events, '<task_id>:<last seq>'`` and each
task row write ``NOTIFY codetap_tasks, '<task_id>'``, inside their transaction: PostgreSQL
delivers them at commit, to every listening front end (:mod:`codetap.store.notify`).

When the server goes away: a write that starts while the writer connection is known to be
broken, or whose ``BEGIN`` finds it dead, reconnects first. Calls made outside
:meth:`atomic` wait for the server with exponential backoff up to ``reconnect_s`` (30 s by
default) and then go on; a transaction cannot be replayed by the store, so a connection lost
inside one raises :class:`~codetap.store.base.StoreUnavailable` and nothing of it is kept.
:meth:`wait_available` lets a caller wait for the server before starting over
(:mod:`codetap.store.retry`).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from codetap.errors import StoreError, TaskNotFound
from codetap.redact import redact_json
from codetap.store.base import (
    CHECKPOINT_UPSERT,
    EVENT_INSERT,
    SUGGESTION_UPSERT,
    TASK_COLUMNS,
    Checkpoint,
    Event,
    Store,
    StoreUnavailable,
    TaskRow,
    _dumps,
    decode_data,
    encode_data,
    iter_statements,
    now_rfc3339,
    task_query,
    task_row,
    update_columns,
)
from codetap.store.notify import EVENTS_CHANNEL, TASKS_CHANNEL
from codetap.store.pg_schema import MIGRATION_LOCK, PG_MIGRATIONS, PG_SCHEMA_VERSION
from codetap.types import JSON, TaskState

if TYPE_CHECKING:
    from codetap.store.notify import EventFeed

_T = TypeVar("_T")
CONNECT_TIMEOUT_S = 5
#: How long a read waits for a reader connection (the server away: then StoreUnavailable).
READ_WAIT_S = 3.0
_LOST = (psycopg.OperationalError, psycopg.InterfaceError)


@functools.lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def describe(url: str) -> str:
    """``host:port/dbname`` of a connection string, never its password."""
    try:
        d = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL (unparsable url)"
    return f"{d.get('host') or 'localhost'}:{d.get('port') or 5432}/{d.get('dbname') or ''}"


class _BeginFailed(Exception):
    """BEGIN itself failed on a dead connection: nothing of the transaction was sent."""


class _Unreachable(StoreUnavailable):
    """A (re)connection attempt failed: nothing was sent."""


class PostgresStore(Store):
    """The PostgreSQL backend of :class:`~codetap.store.base.Store`. Open with
    :meth:`Store.open` (``url=``); one instance per process."""

    dialect = "postgresql"

    def __init__(self, url: str, writer: psycopg.Connection[Any], pool: AsyncConnectionPool,
                 *, readonly: bool, reconnect_s: float) -> None:
        self.url = url
        self.path = Path(describe(url))
        self._w = writer
        self._pool = pool
        self._readonly = readonly
        self.reconnect_s = reconnect_s
        self._next_seq: dict[int, int] = {}
        self._feed: EventFeed | None = None
        self._depth = 0  # nesting of atomic()

    # -- connections -----------------------------------------------------------

    @staticmethod
    def _kwargs(readonly: bool) -> dict[str, Any]:
        # connect_timeout: a host that does not answer must not hold the event loop long.
        kw: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S}
        if readonly:
            kw["options"] = "-c default_transaction_read_only=on"
        return kw

    @classmethod
    async def connect(cls, url: str, *, readonly: bool = False,
                      reconnect_s: float = 30.0) -> PostgresStore:
        """Connect (waiting up to ``reconnect_s`` for the server), migrate unless
        ``readonly``, and open the reader pool. StoreUnavailable when the server cannot be
        reached, StoreError for a database from a newer codetap."""
        writer = await _connect_waiting(url, cls._kwargs(readonly), reconnect_s)
        try:
            if readonly:
                _check_version(writer, url)
            else:
                _migrate(writer, url)
        except BaseException:
            writer.close()
            raise
        pool = AsyncConnectionPool(url, kwargs=cls._kwargs(readonly), min_size=1, max_size=4,
                                   open=False, check=AsyncConnectionPool.check_connection,
                                   name="codetap-readers")
        try:
            await pool.open(wait=True, timeout=max(reconnect_s, 1.0))
        except (PoolTimeout, psycopg.Error) as exc:
            writer.close()
            await pool.close()
            raise StoreUnavailable(f"cannot open readers on {describe(url)}: {exc}") from None
        return cls(url, writer, pool, readonly=readonly, reconnect_s=reconnect_s)

    async def close(self) -> None:
        """Stop the event feed, close the reader pool and the writer."""
        if self._feed is not None:
            await self._feed.close()
            self._feed = None
        await self._pool.close()
        self._w.close()

    def _broken(self) -> bool:
        return self._w.closed or self._w.broken

    def _reconnect_once(self) -> None:
        self._next_seq.clear()  # another node may have written meanwhile
        with contextlib.suppress(Exception):
            self._w.close()
        try:
            self._w = psycopg.connect(self.url, **self._kwargs(self._readonly))
        except _LOST as exc:
            raise _Unreachable(f"PostgreSQL at {describe(self.url)} is unreachable: "
                               f"{_first_line(exc)}") from None

    async def wait_available(self) -> None:
        """Return once the writer connection works: one that looks sound is checked with a
        round trip (a restarted server is noticed only when a connection is used), a
        broken one replaced as :meth:`_writer_ready` does. StoreUnavailable when the server
        stays away for ``reconnect_s``. Inside a transaction it only reconnects a broken
        writer (a round trip there would belong to the transaction)."""
        if not self._broken() and not self._in_tx():
            try:
                self._w.execute("SELECT 1")
            except _LOST:
                with contextlib.suppress(Exception):
                    self._w.close()
        await self._writer_ready()

    async def _writer_ready(self) -> None:
        """Return once the writer connection is not known broken, reconnecting with
        exponential backoff (50 ms doubling to 2 s) for up to ``reconnect_s``;
        StoreUnavailable after that."""
        if not self._broken():
            return
        try:
            async for attempt in AsyncRetrying(
                    stop=stop_after_delay(self.reconnect_s),
                    wait=wait_exponential(multiplier=0.05, max=2.0),
                    retry=retry_if_exception_type(StoreUnavailable), reraise=True):
                with attempt:
                    self._reconnect_once()
        except StoreUnavailable as exc:
            raise StoreUnavailable(f"{exc} (for {self.reconnect_s:g} s)") from None

    def _in_tx(self) -> bool:
        """Inside :meth:`atomic` (even on a broken connection: then every call fails
        rather than committing apart from the enclosing transaction) or a transaction."""
        return self._depth > 0 or (not self._broken() and self._w.info.transaction_status in (
            TransactionStatus.INTRANS, TransactionStatus.INERROR))

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """A transaction on the writer, or the enclosing one. Errors mapped: a lost
        connection StoreUnavailable, a full disk StoreError; others as psycopg raises them."""
        if self._in_tx():
            with _mapped(self.url):
                yield
            return
        if self._broken():
            self._reconnect_once()
        try:
            self._w.execute("BEGIN")
        except _LOST:
            self._reconnect_once()  # a connection that died while idle: nothing was sent
            try:
                self._w.execute("BEGIN")
            except _LOST as exc:
                raise _BeginFailed(str(exc)) from None
        try:
            with _mapped(self.url):
                yield
                self._w.execute("COMMIT")
        except BaseException:
            if not self._broken():
                with contextlib.suppress(psycopg.Error):
                    self._w.execute("ROLLBACK")
            raise

    async def _write(self, fn: Callable[[], _T]) -> _T:
        """Run the synchronous write ``fn`` in its own transaction, or in the enclosing one.
        Outside a transaction, a server that is away is waited for (see the module doc)."""
        if self._in_tx():
            with _mapped(self.url):
                return fn()
        deadline = time.monotonic() + self.reconnect_s
        while True:
            await self._writer_ready()
            try:
                with self._tx():
                    return fn()
            except (_BeginFailed, _Unreachable) as exc:
                if time.monotonic() > deadline:
                    raise StoreUnavailable(f"PostgreSQL at {describe(self.url)} is "
                                           f"unreachable: {exc}") from None
                with contextlib.suppress(Exception):
                    self._w.close()

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """See :meth:`codetap.store.base.Store.atomic`."""
        try:
            with self._tx():
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
        except _BeginFailed as exc:
            self._next_seq.clear()
            raise StoreUnavailable(f"PostgreSQL at {describe(self.url)} is unreachable: "
                                   f"{exc}") from None
        except BaseException:
            self._next_seq.clear()
            raise

    async def _read(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        for attempt in (1, 2):
            try:
                async with self._pool.connection(timeout=READ_WAIT_S) as conn:
                    cur = await conn.execute(pg_sql(sql), args)
                    return list(await cur.fetchall())
            except PoolTimeout:  # an OperationalError too: the server is away
                raise StoreUnavailable(f"PostgreSQL at {describe(self.url)} is unreachable: "
                                       f"no connection within {READ_WAIT_S:g} s") from None
            except _LOST as exc:
                if attempt == 2:
                    raise StoreUnavailable(f"PostgreSQL at {describe(self.url)}: "
                                           f"{_first_line(exc)}") from None
        raise AssertionError("unreachable")

    # -- tasks -----------------------------------------------------------------

    async def create_task(
        self, *, intent: str, root: Path, scope: JSON | None, model: str, workflow: str,
        priority: int = 0, parent_id: int | None = None, role: str | None = None,
        subtask: str | None = None,
    ) -> TaskRow:
        """See :meth:`codetap.store.base.Store.create_task`."""
        ts = now_rfc3339()

        def write() -> TaskRow:
            row = self._w.execute(
                pg_sql(f"INSERT INTO tasks (intent, state, root, scope, model, workflow, "
                       f"created_at, updated_at, priority, parent_id, role, subtask) "
                       f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {TASK_COLUMNS}"),
                (intent, TaskState.QUEUED.value, str(root), _dumps(scope) if scope else None,
                 model, workflow, ts, ts, priority, parent_id, role, subtask)).fetchone()
            assert row is not None
            self._notify_task(row[0])
            return task_row(row)
        return await self._write(write)

    def _notify_task(self, task_id: int) -> None:
        self._w.execute("SELECT pg_notify(%s, %s)", (TASKS_CHANNEL, str(task_id)))

    async def get_task(self, task_id: int) -> TaskRow:
        """See :meth:`codetap.store.base.Store.get_task`."""
        rows = await self._read(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))
        if not rows:
            raise TaskNotFound(task_id)
        return task_row(rows[0])

    def _get(self, task_id: int) -> TaskRow:
        rows = self.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))
        if not rows:
            raise TaskNotFound(task_id)
        return task_row(rows[0])

    async def list_tasks(
        self, root: Path | None = None, states: Sequence[TaskState] | None = None
    ) -> list[TaskRow]:
        """See :meth:`codetap.store.base.Store.list_tasks`."""
        return [task_row(r) for r in await self._read(*task_query(root, states))]

    async def update_task(self, task_id: int, **fields: Any) -> TaskRow:
        """See :meth:`codetap.store.base.Store.update_task`."""
        cols = update_columns(fields)
        sets = ", ".join(f"{k} = %s" for k in cols)

        def write() -> TaskRow:
            row = self._w.execute(
                f"UPDATE tasks SET {sets} WHERE id = %s RETURNING {TASK_COLUMNS}",
                (*cols.values(), task_id)).fetchone()
            if row is None:
                raise TaskNotFound(task_id)
            self._notify_task(task_id)
            return task_row(row)
        return await self._write(write)

    async def delete_task(self, task_id: int) -> None:
        """See :meth:`codetap.store.base.Store.delete_task`."""
        def write() -> None:
            for table in ("events", "checkpoints", "suggestions"):
                self._w.execute(f"DELETE FROM {table} WHERE task_id = %s", (task_id,))
            self._w.execute("DELETE FROM tasks WHERE id = %s", (task_id,))
        await self._write(write)
        self._next_seq.pop(task_id, None)

    # -- journal ---------------------------------------------------------------

    def _seq(self, task_id: int) -> int:
        if task_id not in self._next_seq:
            row = self._w.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE task_id = %s",
                                  (task_id,)).fetchone()
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
        from codetap.store.outbox import INSERT as OUTBOX_INSERT
        entries = list(entries)
        if checkpoint is not None:
            checkpoint = (checkpoint[0], redact_json(checkpoint[1]))

        def write() -> list[Event]:
            seq = self._seq(task_id)
            ts = time.time()
            events = [Event(task_id, seq + i, step, ts, k, redact_json(d))
                      for i, (k, d) in enumerate(entries)]
            last = events[-1].seq if events else seq - 1
            self._next_seq[task_id] = seq + len(events)
            try:
                with self._w.pipeline(), self._w.cursor() as cur:
                    if events:
                        cur.executemany(pg_sql(EVENT_INSERT), [
                            (e.task_id, e.seq, e.step, e.ts, e.kind, _bytes(encode_data(e.data)))
                            for e in events])
                    if checkpoint is not None:
                        cur.execute(pg_sql(CHECKPOINT_UPSERT), (
                            task_id, last, step, checkpoint[0], _dumps(checkpoint[1])))
                    if outbox:
                        cur.executemany(pg_sql(OUTBOX_INSERT), outbox)
                    if events:
                        cur.execute("SELECT pg_notify(%s, %s)",
                                    (EVENTS_CHANNEL, f"{task_id}:{last}"))
            except BaseException:
                self._next_seq.pop(task_id, None)
                raise
            return events
        try:
            return await self._write(write)
        except StoreError as exc:
            if "disk full" in str(exc):
                raise StoreError(f"disk full while writing the journal of task {task_id}; "
                                 "nothing of this step was saved and the previous checkpoint "
                                 "is intact. Free some space, then resume the task.") from None
            raise

    async def events(self, task_id: int, after_seq: int = 0,
                     limit: int | None = None) -> list[Event]:
        """See :meth:`codetap.store.base.Store.events`."""
        rows = await self._read(
            "SELECT task_id, seq, step, ts, kind, data FROM events WHERE task_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?", (task_id, after_seq, limit))
        return [Event(r[0], r[1], r[2], r[3], r[4], decode_data(r[5])) for r in rows]

    async def checkpoints(self, task_id: int) -> list[Checkpoint]:
        """See :meth:`codetap.store.base.Store.checkpoints`."""
        rows = await self._read("SELECT task_id, seq, step, commit_id, state FROM checkpoints "
                                "WHERE task_id = ? ORDER BY seq", (task_id,))
        return [Checkpoint(r[0], r[1], r[2], r[3], _json(r[4])) for r in rows]

    async def latest_checkpoint(self, task_id: int) -> Checkpoint | None:
        """See :meth:`codetap.store.base.Store.latest_checkpoint`."""
        rows = await self._read("SELECT task_id, seq, step, commit_id, state FROM checkpoints "
                                "WHERE task_id = ? ORDER BY seq DESC LIMIT 1", (task_id,))
        r = rows[0] if rows else None
        return Checkpoint(r[0], r[1], r[2], r[3], _json(r[4])) if r else None

    # -- suggestions -----------------------------------------------------------

    async def put_suggestions(self, task_id: int,
                              rows: Iterable[tuple[str, str, str, JSON]]) -> None:
        """See :meth:`codetap.store.base.Store.put_suggestions`."""
        values = [(task_id, h, p, s, _dumps(d)) for h, p, s, d in rows]
        if values:
            await self._write(lambda: self._w.cursor().executemany(pg_sql(SUGGESTION_UPSERT),
                                                                   values))

    async def suggestions(self, task_id: int) -> list[tuple[str, str, str, JSON]]:
        """See :meth:`codetap.store.base.Store.suggestions`."""
        rows = await self._read("SELECT hunk_id, path, status, data FROM suggestions "
                                "WHERE task_id = ? ORDER BY path, hunk_id", (task_id,))
        return [(r[0], r[1], r[2], _json(r[3])) for r in rows]

    # -- SQL of other modules ----------------------------------------------------

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """See :meth:`codetap.store.base.Store.execute`."""
        with self._sync_tx():
            cur = self._w.execute(pg_sql(sql), args)
            return list(cur.fetchall()) if cur.description is not None else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """See :meth:`codetap.store.base.Store.executemany`."""
        if rows:
            with self._sync_tx(), self._w.cursor() as cur:
                cur.executemany(pg_sql(sql), rows)

    @contextlib.contextmanager
    def _sync_tx(self) -> Iterator[None]:
        try:
            with self._tx():
                yield
        except _BeginFailed as exc:
            raise StoreUnavailable(f"PostgreSQL at {describe(self.url)} is unreachable: "
                                   f"{exc}") from None

    # -- news ------------------------------------------------------------------------

    async def feed(self) -> EventFeed:
        """This store's :class:`~codetap.store.notify.EventFeed` (LISTEN/NOTIFY on a
        dedicated connection), started on the first call."""
        if self._feed is None:
            from codetap.store.notify import EventFeed
            self._feed = EventFeed(self.url, self)
            await self._feed.start()
        return self._feed


@contextlib.contextmanager
def _mapped(url: str) -> Iterator[None]:
    try:
        yield
    except pg_errors.DiskFull:
        raise StoreError(f"disk full on PostgreSQL at {describe(url)}; nothing of this step "
                         "was saved and the previous checkpoint is intact.") from None
    except _LOST as exc:
        raise StoreUnavailable(f"connection to PostgreSQL at {describe(url)} lost during a "
                               f"write ({_first_line(exc)}); the write was not confirmed and "
                               "is not kept (unless the loss came during COMMIT)") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _json(text: str) -> JSON:
    import json
    data: JSON = json.loads(text)
    return data


async def _connect_waiting(url: str, kwargs: dict[str, Any],
                           wait_s: float) -> psycopg.Connection[Any]:
    import asyncio
    try:
        async for attempt in AsyncRetrying(
                stop=stop_after_delay(wait_s), wait=wait_exponential(multiplier=0.05, max=2.0),
                retry=retry_if_exception_type(psycopg.OperationalError), reraise=True):
            with attempt:
                return await asyncio.to_thread(psycopg.connect, url, **kwargs)
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"cannot connect to PostgreSQL at {describe(url)}: "
                               f"{_first_line(exc)}") from None
    raise AssertionError("unreachable")


def _version(conn: psycopg.Connection[Any]) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def _check_version(conn: psycopg.Connection[Any], url: str) -> None:
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    version = 0
    if row and row[0]:
        found = conn.execute("SELECT version FROM schema_version").fetchone()
        version = int(found[0]) if found else 0
    if version == 0:
        raise StoreError(f"the codetap database at {describe(url)} is empty; start the daemon "
                         "(the one writer) once to create it")
    if version > PG_SCHEMA_VERSION:
        raise StoreError(f"database {describe(url)} has schema {version}, newer than this "
                         f"codetap ({PG_SCHEMA_VERSION}); upgrade codetap")


def _migrate(conn: psycopg.Connection[Any], url: str) -> None:
    """Apply the missing :data:`PG_MIGRATIONS` under an advisory lock (nodes starting at once
    migrate once); StoreError for a database from a newer codetap."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        version = _version(conn)
        if version > PG_SCHEMA_VERSION:
            raise StoreError(f"database {describe(url)} has schema {version}, newer than this "
                             f"codetap ({PG_SCHEMA_VERSION}); upgrade codetap")
        for i in range(version, PG_SCHEMA_VERSION):
            for stmt in iter_statements(PG_MIGRATIONS[i]):
                conn.execute(stmt)
        if version == 0:
            conn.execute("INSERT INTO schema_version VALUES (%s)", (PG_SCHEMA_VERSION,))
        elif version < PG_SCHEMA_VERSION:
            conn.execute("UPDATE schema_version SET version = %s", (PG_SCHEMA_VERSION,))
