"""Journal news for every front end of a PostgreSQL store: LISTEN/NOTIFY with catch-up.

On one machine the runtime worker tells its front process of each journal entry over their
socketpair. Scaled out, tasks run on other nodes, so the news travels through PostgreSQL:
each append sends ``NOTIFY codetap_events, '<task_id>:<last seq>'`` in its transaction
(delivered at commit), each task row write ``NOTIFY codetap_tasks, '<task_id>'``.

A notification is only a wake-up; the entries themselves are read from ``events`` after the
last ``seq`` a subscriber has seen, so a subscriber gets every entry, in order, once, even
when notifications are lost: the listening connection is dedicated, checked every few
seconds when idle, and reconnected with backoff after a loss; once listening again, every
subscription catches up from its last ``seq`` (LISTEN comes before the catch-up read, so an
entry committed in between is seen by one or the other, and the seq check drops the copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg

from codetap.errors import StoreError
from codetap.store.base import Event

if TYPE_CHECKING:
    from codetap.store.postgres import PostgresStore

log = logging.getLogger(__name__)
EVENTS_CHANNEL = "codetap_events"
TASKS_CHANNEL = "codetap_tasks"


class Subscription:
    """The journal entries of one task (``task_id``) or of every task (None), in order per
    task, each once: ``async for event in subscription``. Close it with :meth:`close`."""

    def __init__(self, feed: EventFeed, task_id: int | None, last: dict[int, int]) -> None:
        self.feed = feed
        self.task_id = task_id
        self.last = last  # task id -> the last seq delivered
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self._dirty: set[int] = set(last) if task_id is not None else set()
        self._wake = asyncio.Event()
        self._wake.set()
        self._worker = asyncio.create_task(self._work(), name="codetap-feed-subscription")

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.queue.get()

    def news(self, task_id: int, seq: int | None) -> None:
        """Entries of ``task_id`` up to ``seq`` (None: maybe some) were committed."""
        if self.task_id is not None and task_id != self.task_id:
            return
        if seq is None or seq > self.last.get(task_id, 0):
            self._dirty.add(task_id)
            self._wake.set()

    async def _work(self) -> None:
        backoff = 0.05
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                task_id = self._dirty.pop()
                try:
                    events = await self.feed.store.events(task_id, self.last.get(task_id, 0))
                except (StoreError, psycopg.Error) as exc:
                    # The reader failed (the server is away): the feed's catch-up after it
                    # reconnects wakes us too; meanwhile retry with backoff.
                    log.debug("event feed: reading task %s failed: %s", task_id, exc)
                    self._dirty.add(task_id)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                backoff = 0.05
                for ev in events:
                    if ev.seq > self.last.get(task_id, 0):
                        self.last[task_id] = ev.seq
                        self.queue.put_nowait(ev)

    async def close(self) -> None:
        """Stop delivering."""
        self.feed._subs.discard(self)
        self._worker.cancel()
        with contextlib.suppress(BaseException):
            await self._worker


class EventFeed:
    """LISTEN on a dedicated connection to the store's database and wake the
    :class:`Subscription` s; also calls task watchers (:meth:`watch_tasks`) with the id of
    each task whose row was written (None after a reconnect: anything may have changed).

    ``connected`` is set while listening, ``down`` while not; ``reconnects`` counts the
    connections after the first; ``backend_pid`` is the listening connection's server pid.
    """

    def __init__(self, url: str, store: PostgresStore, *, idle_check_s: float = 5.0) -> None:
        self.url = url
        self.store = store
        self.idle_check_s = idle_check_s
        self.connected = asyncio.Event()
        self.down = asyncio.Event()
        self.down.set()
        self.reconnects = 0
        self.backend_pid: int | None = None
        self._subs: set[Subscription] = set()
        self._task_watchers: list[Callable[[int | None], None]] = []
        self._runner: asyncio.Task[None] | None = None
        self._connections = 0

    async def start(self) -> None:
        """Start listening; StoreUnavailable if no connection is made within the store's
        ``reconnect_s``."""
        from codetap.store.base import StoreUnavailable
        self._runner = asyncio.create_task(self._run(), name="codetap-event-feed")
        try:
            await asyncio.wait_for(self.connected.wait(), timeout=self.store.reconnect_s)
        except TimeoutError:
            await self.close()
            raise StoreUnavailable("cannot LISTEN on PostgreSQL: no connection") from None

    async def subscribe(self, task_id: int | None = None, after: int = 0) -> Subscription:
        """Entries of ``task_id`` with ``seq > after``; with ``task_id`` None, entries of
        every task appended from now on."""
        if task_id is not None:
            last = {task_id: after}
        else:
            last = await self._maxima()
        sub = Subscription(self, task_id, last)
        self._subs.add(sub)
        return sub

    def watch_tasks(self, callback: Callable[[int | None], None]) -> None:
        """Call ``callback(task_id)`` when a task's row is written (news only: a lost
        notification shows as ``callback(None)`` after the reconnect)."""
        self._task_watchers.append(callback)

    async def close(self) -> None:
        """Stop listening and close every subscription."""
        for sub in list(self._subs):
            await sub.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(BaseException):
                await self._runner
            self._runner = None

    async def _maxima(self) -> dict[int, int]:
        rows = await self.store._read("SELECT task_id, MAX(seq) FROM events GROUP BY task_id", ())
        return {int(r[0]): int(r[1]) for r in rows}

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True,
                                                             connect_timeout=5)
            except psycopg.OperationalError as exc:
                log.debug("event feed: cannot connect: %s", exc)
                await asyncio.sleep(delay)  # backoff between connection attempts
                delay = min(delay * 2, 2.0)
                continue
            try:
                await self._listen(conn)
                delay = 0.05
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                log.warning("event feed: listening connection lost (%s); reconnecting",
                            str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
            finally:
                self.connected.clear()
                self.down.set()
                self.backend_pid = None
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
        await conn.execute(f"LISTEN {TASKS_CHANNEL}")
        self.backend_pid = conn.info.backend_pid
        self._connections += 1
        if self._connections > 1:
            self.reconnects += 1
        await self._catch_up()
        self.down.clear()
        self.connected.set()
        while True:
            async for note in conn.notifies(timeout=self.idle_check_s):
                self._dispatch(note.channel, note.payload)
            await conn.execute("SELECT 1")  # an idle connection may be dead: find out

    async def _catch_up(self) -> None:
        """After (re)connecting: wake every subscription whose task may have news."""
        maxima: dict[int, int] | None = None
        for sub in list(self._subs):
            if sub.task_id is not None:
                sub.news(sub.task_id, None)
                continue
            if maxima is None:
                try:
                    maxima = await self._maxima()
                except (StoreError, psycopg.Error):
                    maxima = {}
            for task_id, seq in maxima.items():
                sub.news(task_id, seq)
        if self._connections > 1:
            for watcher in list(self._task_watchers):
                watcher(None)

    def _dispatch(self, channel: str, payload: str) -> None:
        try:
            if channel == EVENTS_CHANNEL:
                task, _, seq = payload.partition(":")
                for sub in list(self._subs):
                    sub.news(int(task), int(seq))
            elif channel == TASKS_CHANNEL:
                for watcher in list(self._task_watchers):
                    watcher(int(payload))
        except ValueError:
            log.warning("event feed: unexpected payload %r on %s", payload, channel)
