"""Disk full while writing a checkpoint: a clear StoreError, the previous checkpoint intact,
the task stopped cleanly and resumable once space is back.

The database lives on a tiny tmpfs (``mount -t tmpfs -o size=...``, needs root); without
root, SQLite's ``max_page_count`` pragma emulates SQLITE_FULL instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from codetap.config import Config
from codetap.errors import StoreError
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.store import Store
from codetap.types import TaskState
from tests.conftest import make_repo


@dataclasses.dataclass
class SmallDisk:
    dir: Path
    mounted: bool

    def fill(self, leave: int) -> Path:
        """Fill the filesystem until ``leave`` bytes are free (tmpfs only)."""
        filler = self.dir / "filler"
        st = os.statvfs(self.dir)
        free = st.f_bavail * st.f_frsize
        filler.write_bytes(b"\0" * max(0, free - leave))
        return filler


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    d = tmp_path / "small"
    d.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(d)], capture_output=True, check=False,
    ).returncode == 0
    try:
        yield SmallDisk(d, mounted)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(d)], check=False)


async def _limit(store: Store, disk: SmallDisk) -> Path | None:
    """Leave little room: fill the tmpfs, or cap the page count."""
    if disk.mounted:
        return disk.fill(leave=48 * 1024)
    pages = (await (await store._conn.execute("PRAGMA page_count")).fetchone())[0]
    store._w.execute(f"PRAGMA max_page_count = {pages + 4}")
    return None


async def test_store_disk_full_keeps_previous_checkpoint(small_disk: SmallDisk) -> None:
    store = await Store.open(small_disk.dir / "codetap.db")
    task = await store.create_task(intent="x", root=small_disk.dir, scope=None, model="m",
                                   workflow="default")
    await store.append(task.id, 1, [("model_turn", {"n": 1})], ("c1", {"step": 1}))
    filler = await _limit(store, small_disk)
    big = {"content": os.urandom(300_000).hex()}  # incompressible: entries are zlib-packed
    with pytest.raises(StoreError, match="disk full.*previous checkpoint is intact"):
        await store.append(task.id, 2, [("tool_intent", big)], ("c2", {"step": 2}))
    cp = await store.latest_checkpoint(task.id)
    assert cp is not None and (cp.step, cp.commit_id) == (1, "c1")
    assert [e.seq for e in await store.events(task.id)] == [1]
    if filler is not None:
        filler.unlink()
        events = await store.append(task.id, 2, [("tool_intent", big)], ("c2", {"step": 2}))
        assert [e.seq for e in events] == [2]
    await store.close()
    with sqlite3.connect(small_disk.dir / "codetap.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_task_stops_cleanly_on_disk_full_and_resumes(
    small_disk: SmallDisk, xdg: Path, tmp_path: Path,
) -> None:
    if not small_disk.mounted:
        pytest.skip("needs root to mount a tmpfs")
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    session = tmp_path / "s.jsonl"
    content = os.urandom(200_000).hex()  # incompressible enough: entries are zlib-packed
    turns = [
        {"tool_calls": [{"name": "read", "arguments": {"path": "a.txt"}}]},
        {"tool_calls": [{"name": "write", "arguments": {"path": "big.txt",
                                                         "content": content}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
    ]
    session.write_text("".join(json.dumps(t) + "\n" for t in turns))
    model = ModelConfig("replay", "replay", path=str(session))
    config = dataclasses.replace(Config.load(), models={"replay": model}, default_model="replay",
                                 db_path=small_disk.dir / "codetap.db")
    rt = await Runtime.open(config)
    filler = small_disk.fill(leave=160 * 1024)
    try:
        task = await rt.wait((await rt.start_task("big", repo)).id)
        assert task.state is TaskState.FAILED
        assert task.error is not None and "disk full" in task.error
        cp = await rt.store.latest_checkpoint(task.id)
        assert cp is not None and cp.step == 1
        filler.unlink()
        task = await rt.wait((await rt.resume(task.id)).id)
        assert task.state is TaskState.READY, task.error
        assert content[:1000] in await rt.diff(task.id)
    finally:
        await rt.close()
