"""PostgreSQL-only behaviour of the store: its migrations, journal news for other processes
(LISTEN/NOTIFY with catch-up) and what happens when the server goes away."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from codetap.errors import StoreError
from codetap.store import Event, Store, StoreUnavailable
from codetap.store.notify import Subscription
from codetap.store.pg_schema import PG_SCHEMA_VERSION
from codetap.store.postgres import PostgresStore
from tests.pg_fixture import PgServer  # the fixtures come from conftest.py

WAIT = 20.0


async def _open(url: str, tmp_path: Path, *, readonly: bool = False) -> PostgresStore:
    store = await (Store.open_readonly(tmp_path / "unused.db", url=url) if readonly
                   else Store.open(tmp_path / "unused.db", url=url))
    assert isinstance(store, PostgresStore)
    return store


async def _take(sub: Subscription, n: int) -> list[Event]:
    return [await asyncio.wait_for(sub.__anext__(), WAIT) for _ in range(n)]


def _dbname(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_migrations_are_versioned_and_a_newer_schema_is_refused(
        pg_url: str, tmp_path: Path) -> None:
    store = await _open(pg_url, tmp_path)
    await store.close()
    store = await _open(pg_url, tmp_path)  # a second open migrates nothing
    await store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (PG_SCHEMA_VERSION,)]
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'tasks' "
            "ORDER BY ordinal_position")]
        assert cols[-4:] == ["parent_id", "role", "subtask", "priority"]
        conn.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(StoreError, match="newer"):
        await _open(pg_url, tmp_path)


async def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="127.0.0.1:9/"):
        await PostgresStore.connect("postgresql://postgres@127.0.0.1:9/nothing", reconnect_s=0.3)


async def test_notify_delivers_events_to_a_second_store(pg_url: str, tmp_path: Path) -> None:
    writer = await _open(pg_url, tmp_path)
    front = await _open(pg_url, tmp_path, readonly=True)
    try:
        t = await writer.create_task(intent="a", root=tmp_path, scope=None, model="m",
                                     workflow="w")
        await writer.append(t.id, 1, [("model_turn", {"n": 1})])
        feed = await front.feed()
        updated: list[int | None] = []
        feed.watch_tasks(updated.append)
        one = await feed.subscribe(t.id, after=1)
        every = await feed.subscribe()
        await writer.append(t.id, 2, [("tool_intent", {"n": 2}), ("tool_result", {"n": 3})])
        u = await writer.create_task(intent="b", root=tmp_path, scope=None, model="m",
                                     workflow="w")
        await writer.append(u.id, 1, [("model_turn", {"other": True})])
        got = await _take(one, 2)
        assert [(e.task_id, e.seq, e.data) for e in got] == [(t.id, 2, {"n": 2}),
                                                             (t.id, 3, {"n": 3})]
        seen = {(e.task_id, e.seq) for e in await _take(every, 3)}
        assert seen == {(t.id, 2), (t.id, 3), (u.id, 1)}
        await writer.update_task(t.id, summary="s")
        for _ in range(200):
            if t.id in updated:
                break
            await asyncio.sleep(0.05)  # polling a callback list filled by the feed
        assert u.id in updated and t.id in updated
        assert one.queue.empty() and every.queue.empty()
    finally:
        await front.close()
        await writer.close()


async def test_events_appended_while_the_listener_is_down_arrive_after_reconnect(
        pg_server: PgServer, pg_url: str, tmp_path: Path) -> None:
    writer = await _open(pg_url, tmp_path)
    front = await _open(pg_url, tmp_path, readonly=True)
    db = _dbname(pg_url)
    try:
        t = await writer.create_task(intent="a", root=tmp_path, scope=None, model="m",
                                     workflow="w")
        feed = await front.feed()
        sub = await feed.subscribe(t.id)
        await writer.append(t.id, 1, [("model_turn", {"i": 0})])
        assert [e.seq for e in await _take(sub, 1)] == [1]
        # Keep the listener out while entries are written: no new connection is allowed
        # to the database (the writer's and the readers' open ones go on).
        pg_server.admin(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
        try:
            pid = feed.backend_pid
            pg_server.admin(f"SELECT pg_terminate_backend({pid})")
            await asyncio.wait_for(feed.down.wait(), WAIT)
            for i in range(1, 6):
                await writer.append(t.id, i, [("model_turn", {"i": i})])
            assert feed.down.is_set() and sub.queue.empty()
        finally:
            pg_server.admin(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
        got = await _take(sub, 5)
        assert [(e.seq, e.data["i"]) for e in got] == [(i + 1, i) for i in range(1, 6)]
        assert feed.reconnects == 1 and feed.backend_pid not in (None, pid)
        await writer.append(t.id, 7, [("model_turn", {"i": 6})])
        assert [e.seq for e in await _take(sub, 1)] == [7], "nothing delivered twice"
    finally:
        await front.close()
        await writer.close()


async def test_server_restart_under_writes(pg_server: PgServer, pg_url: str,
                                           tmp_path: Path) -> None:
    """A write in flight when the server stops raises StoreUnavailable; writes issued while
    it is away wait for it; everything confirmed is there afterwards, and a front's feed
    delivers every entry once, in order."""
    writer = await _open(pg_url, tmp_path)
    front = await _open(pg_url, tmp_path, readonly=True)
    try:
        t = await writer.create_task(intent="a", root=tmp_path, scope=None, model="m",
                                     workflow="w")
        sub = await (await front.feed()).subscribe(t.id)
        confirmed: list[int] = []
        failures: list[str] = []
        warm, done = asyncio.Event(), asyncio.Event()
        restarted = False

        async def write() -> None:
            after = 0
            while not done.is_set():
                try:
                    evs = await writer.append(t.id, 1, [("model_turn", {"n": len(confirmed)})])
                    confirmed.append(evs[0].seq)
                except StoreUnavailable as exc:
                    failures.append(str(exc))
                if len(confirmed) >= 20:
                    warm.set()
                after = after + 1 if restarted else 0
                if after >= 20:
                    done.set()
                await asyncio.sleep(0)

        writing = asyncio.create_task(write())
        await asyncio.wait_for(warm.wait(), WAIT)
        before = writer._w.info.backend_pid
        await asyncio.to_thread(pg_server.restart)
        restarted = True
        await asyncio.wait_for(done.wait(), 60)
        await writing
        assert writer._w.info.backend_pid != before, "the writer did not reconnect"
        rows = [e.seq for e in await writer.events(t.id)]
        assert set(confirmed) <= set(rows), "a confirmed write was lost"
        assert rows == list(range(1, len(rows) + 1))
        assert len(rows) - len(confirmed) <= len(failures)
        assert all("PostgreSQL" in f for f in failures)
        got = await _take(sub, len(rows))
        assert [e.seq for e in got] == rows
    finally:
        await front.close()
        await writer.close()


async def test_a_connection_lost_inside_atomic_fails_the_whole_transaction(
        pg_server: PgServer, pg_url: str, tmp_path: Path) -> None:
    store = await _open(pg_url, tmp_path)
    try:
        t = await store.create_task(intent="a", root=tmp_path, scope=None, model="m",
                                    workflow="w")
        await store.append(t.id, 1, [("model_turn", {})])
        with pytest.raises(StoreUnavailable, match="lost during a write"), store.atomic():
            await store.update_task(t.id, summary="half")
            pg_server.admin(f"SELECT pg_terminate_backend({store._w.info.backend_pid})")
            await store.append(t.id, 2, [("model_turn", {"lost": True})])
        # The next call outside a transaction reconnects; nothing of the lost one is there.
        assert (await store.get_task(t.id)).summary is None
        assert [e.seq for e in await store.events(t.id)] == [1]
        evs = await store.append(t.id, 2, [("model_turn", {"again": True})])
        assert [e.seq for e in evs] == [2]
    finally:
        await store.close()
