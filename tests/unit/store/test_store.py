"""SQLite-specific behaviour of the store: the file, its modes and its errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codetap.errors import StoreError
from codetap.store import Store
from codetap.store.schema import SCHEMA_VERSION


async def test_sqlite_runs_in_wal_mode_at_the_current_schema(tmp_path: Path) -> None:
    """SQLite only (the behaviour shared with PostgreSQL is in test_backends.py)."""
    path = tmp_path / "codetap.db"
    store = await Store.open(path)
    t = await store.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="w")
    await store.append(t.id, 1, [("model_turn", {"x": 1})], ("abc123", {"step": 1}))
    await store.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


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
