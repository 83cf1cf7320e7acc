"""File modes of what codetap writes (issue 15 item 5): data dir, worktrees and caches 0700,
database files 0600, whatever the umask; older, looser paths tightened on open."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from codetap.index.cache import TagCache
from codetap.store import Store
from codetap.tasks import git as tgit
from tests.conftest import make_repo


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o000], ids=["umask022", "umask002", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


async def _write(store: Store, root: Path) -> None:
    task = await store.create_task(intent="secret source", root=root, scope=None, model="m",
                                   workflow="default")
    await store.append(task.id, 1, [("tool_result", {"output": "x" * 5000})], ("c", {"s": 1}))


async def test_new_database_and_data_dir_are_private(xdg: Path, umask: int) -> None:
    data_dir = xdg / "data" / "codetap"  # $XDG_DATA_HOME/codetap, the default data dir
    db = data_dir / "codetap.db"
    assert not data_dir.exists()
    store = await Store.open(db)
    try:
        await _write(store, xdg)
        wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
        assert wal.exists() and shm.exists(), "the store is expected to run in WAL mode"
        assert {p.name: mode(p) for p in (db, wal, shm)} == {
            db.name: 0o600, wal.name: 0o600, shm.name: 0o600}
        assert mode(data_dir) == 0o700
        leftovers = {p.name: mode(p) for p in data_dir.iterdir() if mode(p) & 0o077}
        assert leftovers == {}
    finally:
        await store.close()
    assert mode(db) == 0o600


async def test_an_older_versions_loose_data_dir_and_database_are_tightened(
    xdg: Path, umask: int,
) -> None:
    db = xdg / "data" / "codetap" / "codetap.db"
    store = await Store.open(db)
    await _write(store, xdg)
    await store.close()
    # What an older codetap left under umask 022.
    db.parent.chmod(0o755)
    db.chmod(0o644)
    wal = db.with_name(db.name + "-wal")
    wal.write_bytes(b"")
    wal.chmod(0o644)

    store = await Store.open(db)
    try:
        await _write(store, xdg)
        assert mode(db.parent) == 0o700
        assert mode(db) == 0o600 and mode(wal) == 0o600
        assert mode(db.with_name(db.name + "-shm")) == 0o600
    finally:
        await store.close()


async def test_a_configured_database_elsewhere_leaves_an_existing_directory_alone(
    tmp_path: Path, umask: int,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    store = await Store.open(shared / "codetap.db")
    try:
        await _write(store, tmp_path)
        assert mode(shared) == 0o755  # not codetap's directory: only its own files change
        assert mode(shared / "codetap.db") == 0o600
        assert mode(shared / "codetap.db-wal") == 0o600
    finally:
        await store.close()


async def test_a_missing_directory_chain_is_created_private(tmp_path: Path, umask: int) -> None:
    db = tmp_path / "a" / "b" / "codetap.db"
    store = await Store.open(db)
    await store.close()
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b"), mode(db)) == (0o700, 0o700, 0o600)


async def test_task_worktrees_are_private(tmp_path: Path, umask: int) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    base = await tgit.snapshot(repo)
    worktrees = tmp_path / "data" / "codetap" / "worktrees"
    await tgit.add_worktree(repo, worktrees / "task-1", "codetap/task-1", base)
    assert (worktrees / "task-1" / "a.py").read_text() == "x = 1\n"
    assert mode(worktrees) == 0o700 and mode(worktrees / "task-1") == 0o700
    assert mode(tmp_path / "data") == 0o700  # created here too

    # An older version's worktrees directory and worktree, resumed (reset to a checkpoint).
    worktrees.chmod(0o755)
    (worktrees / "task-1").chmod(0o755)
    await tgit.reset_hard(worktrees / "task-1", base)
    assert mode(worktrees / "task-1") == 0o700
    await tgit.add_worktree(repo, worktrees / "task-2", "codetap/task-2", base)
    assert mode(worktrees) == 0o700 and mode(worktrees / "task-2") == 0o700


def test_symbol_cache_is_private(tmp_path: Path, umask: int) -> None:
    cache_dir = tmp_path / "data" / "codetap" / "cache" / "index"
    cache = TagCache(cache_dir, tmp_path)
    cache.store({"a.py": (1, 2, b"tags")}, [])
    assert set(cache.load_keys()) == {"a.py"}
    files = {p.name: mode(p) for p in cache_dir.iterdir()}
    assert files and set(files.values()) == {0o600}, files
    assert mode(cache_dir) == 0o700 and mode(cache_dir.parent) == 0o700

    cache_dir.chmod(0o755)
    cache.path.chmod(0o644)
    TagCache(cache_dir, tmp_path)
    assert mode(cache_dir) == 0o700 and mode(cache.path) == 0o600
