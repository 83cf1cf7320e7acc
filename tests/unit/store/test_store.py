from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codetap.errors import StoreError, TaskNotFound
from codetap.store import Store
from codetap.store.schema import SCHEMA_VERSION
from codetap.types import TaskState, Usage


async def test_create_update_list(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db" / "codetap.db")
    a = await store.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="default")
    b = await store.create_task(intent="b", root=tmp_path / "x", scope={"uri": "file:///x"},
                                model="m", workflow="default")
    assert (a.id, b.id) == (1, 2) and a.state is TaskState.QUEUED
    b = await store.update_task(b.id, state=TaskState.RUNNING, usage=Usage(10, 5, 0.25), steps=3)
    assert b.state is TaskState.RUNNING and b.usage == Usage(10, 5, 0.25) and b.steps == 3
    assert b.scope == {"uri": "file:///x"}
    assert [t.id for t in await store.list_tasks()] == [2, 1]
    assert [t.id for t in await store.list_tasks(root=tmp_path)] == [1]
    assert [t.id for t in await store.list_tasks(states=[TaskState.RUNNING])] == [2]
    with pytest.raises(TaskNotFound):
        await store.get_task(99)
    await store.close()


async def test_journal_is_append_only_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "codetap.db"
    store = await Store.open(path)
    t = await store.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="w")
    evs = await store.append(t.id, 1, [("model_turn", {"x": 1}), ("tool_intent", {"y": "é"})])
    assert [e.seq for e in evs] == [1, 2]
    await store.append(t.id, 1, [("tool_result", {"z": 2})], ("abc123", {"step": 1}))
    await store.close()

    store = await Store.open(path)
    evs = await store.append(t.id, 2, [("model_turn", {})])
    assert evs[0].seq == 4
    kinds = [(e.seq, e.kind, e.data) for e in await store.events(t.id)]
    assert kinds[:3] == [(1, "model_turn", {"x": 1}), (2, "tool_intent", {"y": "é"}),
                         (3, "tool_result", {"z": 2})]
    cp = await store.latest_checkpoint(t.id)
    assert cp is not None and (cp.seq, cp.step, cp.commit_id, cp.state) == (3, 1, "abc123", {"step": 1})
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    await store.close()


async def test_unreadable_database_is_a_clear_error_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "codetap.db"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="unreadable"):
        await Store.open(path)
    assert path.read_bytes() == garbage


async def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "codetap.db"
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        await Store.open(path)


async def test_locked_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "codetap.db"
    await (await Store.open(path)).close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked"):
            await Store.open(path)
    finally:
        con.execute("ROLLBACK")
        con.close()
