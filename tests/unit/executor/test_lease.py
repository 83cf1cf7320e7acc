"""Task leases and fencing tokens (codetap.store.lease) on a real database file, with two
store connections playing two owners (two nodes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codetap.store import Store
from codetap.store import lease as leases
from codetap.types import TaskState


async def _two(tmp_path: Path) -> tuple[Store, Store, int]:
    a = await Store.open(tmp_path / "codetap.db")
    b = await Store.open(tmp_path / "codetap.db")
    task = await a.create_task(intent="x", root=tmp_path, scope=None, model="m",
                               workflow="default")
    return a, b, task.id


async def test_takeover_increments_the_token_and_fences_the_stale_owner(tmp_path: Path) -> None:
    a, b, tid = await _two(tmp_path)
    try:
        first = leases.acquire(a, tid, "node-a", 30.0)
        assert first.token == 1
        old = leases.FencedStore(a, first)
        await old.append(tid, 1, [("model_turn", {"n": 1})], ("c1", {"step": 1}))
        with pytest.raises(leases.LeaseHeld, match="node-a"):
            leases.acquire(b, tid, "node-b", 30.0)
        second = leases.acquire(b, tid, "node-b", 30.0, steal=True)
        assert second.token == 2
        new = leases.FencedStore(b, second)
        with pytest.raises(leases.Fenced, match=r"taken over by attempt 2 \(node-b\)"):
            await old.append(tid, 2, [("model_turn", {"n": 2})], ("c2", {"step": 2}))
        with pytest.raises(leases.Fenced):
            await old.update_task(tid, state=TaskState.FAILED, error="stale")
        with pytest.raises(leases.Fenced):
            leases.renew(a, first)
        # The stale owner wrote nothing: no event, no checkpoint, no row change.
        assert [e.data for e in await b.events(tid)] == [{"n": 1}]
        assert [c.commit_id for c in await b.checkpoints(tid)] == ["c1"]
        assert (await b.get_task(tid)).state is TaskState.QUEUED
        events = await new.append(tid, 2, [("model_turn", {"n": 2})])
        assert [e.seq for e in events] == [2]
        assert leases.release(b, second) and leases.current(b, tid) is None
        with pytest.raises(leases.Fenced, match="lease released"):
            await new.update_task(tid, steps=3)
    finally:
        await a.close()
        await b.close()


async def test_an_expired_lease_is_taken_without_steal(tmp_path: Path) -> None:
    a, b, tid = await _two(tmp_path)
    try:
        first = leases.acquire(a, tid, "node-a", 5.0, now=1000.0)
        with pytest.raises(leases.LeaseHeld):
            leases.acquire(b, tid, "node-b", 5.0, now=1004.0)
        leases.fence(a, first, now=1004.0)  # a heartbeat extends it to 1009
        with pytest.raises(leases.LeaseHeld):
            leases.acquire(b, tid, "node-b", 5.0, now=1008.0)
        second = leases.acquire(b, tid, "node-b", 5.0, now=1010.0)
        assert second.token == 2 and leases.current(a, tid) == (2, "node-b", 1015.0)
    finally:
        await a.close()
        await b.close()


async def test_checkpoint_bundle_is_written_with_the_checkpoint(tmp_path: Path) -> None:
    a, b, tid = await _two(tmp_path)
    try:
        lease = leases.acquire(a, tid, "node-a", 30.0)
        fenced = leases.FencedStore(a, lease, bundle=lambda commit: f"objects {commit}".encode())
        await fenced.append(tid, 1, [("tool_result", {})], ("c1", {"step": 1}))
        assert leases.load_bundle(b, tid) == ("c1", b"objects c1")
        leases.acquire(b, tid, "node-b", 30.0, steal=True)
        with pytest.raises(leases.Fenced):
            await fenced.append(tid, 2, [("tool_result", {})], ("c2", {"step": 2}))
        assert leases.load_bundle(b, tid) == ("c1", b"objects c1")
    finally:
        await a.close()
        await b.close()
