"""A task's journal writes ride out PostgreSQL going away (codetap.store.retry): a write made
while the server is down waits and is written once; a lost write that had committed (the
connection broke during COMMIT) is found by reading the journal back, not written twice."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from codetap.store import Event, Store, StoreUnavailable, TaskRow
from codetap.store.retry import journaled, write_through
from codetap.tasks.engine import TaskJournal
from codetap.types import JSON
from tests.pg_fixture import PgServer  # the fixtures come from conftest.py

ENTRIES: list[tuple[str, JSON]] = [("model_turn", {"n": 2, "text": "secret-free"}),
                                   ("tool_intent", {"call_id": "c2", "name": "bash"})]


async def _task(store: Store, tmp_path: Path) -> TaskRow:
    t = await store.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="w")
    await store.append(t.id, 1, [("user", {"content": "go"})])
    return t


async def test_a_lost_write_that_had_committed_is_not_written_again(
        pg_url: str, tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "unused.db", url=pg_url)
    try:
        t = await _task(store, tmp_path)
        writes = 0

        async def write() -> list[Event]:
            nonlocal writes
            writes += 1
            events = await store.append(t.id, 2, ENTRIES)
            if writes == 1:  # committed, but the acknowledgement is lost with the connection
                raise StoreUnavailable("connection lost during COMMIT")
            return events

        got = await write_through(store, write, lambda: journaled(store, t.id, 1, [(2, ENTRIES)]),
                                  "test")
        assert writes == 1
        assert [(e.seq, e.kind) for e in got] == [(2, "model_turn"), (3, "tool_intent")]
        assert [e.seq for e in await store.events(t.id)] == [1, 2, 3]
        assert await journaled(store, t.id, 3, [(2, ENTRIES)]) is None
        assert await journaled(store, t.id, 1, [(3, ENTRIES)]) is None, "step differs"
    finally:
        await store.close()


async def test_a_journal_write_while_the_server_is_down_waits_and_is_written_once(
        pg_server: PgServer, pg_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="codetap.store.retry")
    store = await Store.open(tmp_path / "unused.db", url=pg_url)
    told: list[int] = []
    try:
        t = await _task(store, tmp_path)

        async def updated(task: TaskRow) -> None:
            pass

        journal = TaskJournal(store, t, tmp_path, lambda i, seq, k, d: told.append(seq), updated)
        journal.seen = 1
        await asyncio.to_thread(pg_server.stop, "fast")
        try:
            writing = asyncio.create_task(journal.record(2, list(ENTRIES)))
            for _ in range(400):  # until the write says it waits (its log line)
                if writing.done() or _waiting(caplog):
                    break
                await asyncio.wait({writing}, timeout=0.05)
            assert not writing.done(), f"the write did not wait: {writing.exception()!r}"
            assert _waiting(caplog)
        finally:
            await asyncio.to_thread(pg_server.start)
        await asyncio.wait_for(writing, 40)
        assert told == [2, 3] and journal.seen == 3 and journal.held == []
        events = await store.events(t.id)
        assert [(e.seq, e.kind) for e in events] == [(1, "user"), (2, "model_turn"),
                                                     (3, "tool_intent")]
    finally:
        await store.close()


def _waiting(caplog: pytest.LogCaptureFixture) -> bool:
    return any("waiting for the store" in r.getMessage() for r in caplog.records)
