"""The store's behaviour, the same on both backends (SQLite and PostgreSQL; see conftest)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from codetap.errors import TaskNotFound
from codetap.store import outbox as ob
from codetap.types import TaskState, Usage
from tests.unit.store.conftest import OpenStore


async def test_create_update_list(open_store: OpenStore, tmp_path: Path) -> None:
    store = await open_store()
    a = await store.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="default")
    b = await store.create_task(intent="b", root=tmp_path / "x", scope={"uri": "file:///x"},
                                model="m", workflow="default", priority=5, parent_id=a.id,
                                role="coder", subtask="s1")
    assert (a.id, b.id) == (1, 2) and a.state is TaskState.QUEUED
    assert (b.priority, b.parent_id, b.role, b.subtask) == (5, 1, "coder", "s1")
    b = await store.update_task(b.id, state=TaskState.RUNNING, usage=Usage(10, 5, 0.25), steps=3,
                                verification={"passed": True}, worktree=tmp_path / "wt")
    assert b.state is TaskState.RUNNING and b.usage == Usage(10, 5, 0.25) and b.steps == 3
    assert b.scope == {"uri": "file:///x"} and b.verification == {"passed": True}
    assert b.worktree == tmp_path / "wt"
    assert await store.get_task(b.id) == b == store._get(b.id)
    assert [t.id for t in await store.list_tasks()] == [2, 1]
    assert [t.id for t in await store.list_tasks(root=tmp_path)] == [1]
    assert [t.id for t in await store.list_tasks(states=[TaskState.RUNNING])] == [2]
    with pytest.raises(TaskNotFound):
        await store.get_task(99)


async def test_journal_is_append_only_and_survives_reopen(open_store: OpenStore,
                                                          tmp_path: Path) -> None:
    store = await open_store()
    t = await store.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="w")
    evs = await store.append(t.id, 1, [("model_turn", {"x": 1}), ("tool_intent", {"y": "é"})])
    assert [e.seq for e in evs] == [1, 2]
    big = {"output": "line of tool output\n" * 400}  # over 1 KiB: stored compressed
    await store.append(t.id, 1, [("tool_result", big)], ("abc123", {"step": 1}))
    await store.close()

    store = await open_store()
    evs = await store.append(t.id, 2, [("model_turn", {})])
    assert evs[0].seq == 4
    kinds = [(e.seq, e.kind, e.data) for e in await store.events(t.id)]
    assert kinds == [(1, "model_turn", {"x": 1}), (2, "tool_intent", {"y": "é"}),
                     (3, "tool_result", big), (4, "model_turn", {})]
    assert [e.seq for e in await store.events(t.id, after_seq=1, limit=2)] == [2, 3]
    cp = await store.latest_checkpoint(t.id)
    assert cp is not None and (cp.seq, cp.step, cp.commit_id, cp.state) == (3, 1, "abc123",
                                                                            {"step": 1})
    assert [c.seq for c in await store.checkpoints(t.id)] == [3]


async def test_atomic_commits_together_or_not_at_all(open_store: OpenStore,
                                                     tmp_path: Path) -> None:
    store = await open_store()
    t = await store.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="w")
    with pytest.raises(RuntimeError, match="boom"), store.atomic():
        await store.update_task(t.id, state=TaskState.RUNNING)
        await store.append(t.id, 1, [("state", {"to": "running"})], ("c1", {"s": 1}))
        raise RuntimeError("boom")
    assert (await store.get_task(t.id)).state is TaskState.QUEUED
    assert await store.events(t.id) == [] and await store.latest_checkpoint(t.id) is None
    with store.atomic():
        await store.update_task(t.id, state=TaskState.RUNNING)
        evs = await store.append(t.id, 1, [("state", {"to": "running"})], ("c1", {"s": 1}))
        evs += await store.append(t.id, 2, [("model_turn", {})])
    assert [e.seq for e in evs] == [1, 2], "a rolled-back append releases its seq numbers"
    assert (await store.get_task(t.id)).state is TaskState.RUNNING
    assert [e.seq for e in await store.events(t.id)] == [1, 2]


async def test_suggestions_upsert_and_delete_task(open_store: OpenStore, tmp_path: Path) -> None:
    store = await open_store()
    t = await store.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="w")
    await store.put_suggestions(t.id, [("h2", "b.py", "pending", {"n": 2}),
                                       ("h1", "a.py", "pending", {"n": 1})])
    await store.put_suggestions(t.id, [("h1", "a.py", "accepted", {"n": 1})])
    assert await store.suggestions(t.id) == [("h1", "a.py", "accepted", {"n": 1}),
                                             ("h2", "b.py", "pending", {"n": 2})]
    await store.append(t.id, 1, [("model_turn", {})], ("c", {}))
    await store.delete_task(t.id)
    with pytest.raises(TaskNotFound):
        await store.get_task(t.id)
    assert await store.events(t.id) == [] and await store.suggestions(t.id) == []
    assert await store.checkpoints(t.id) == []


async def test_outbox_and_task_webhooks(open_store: OpenStore, tmp_path: Path) -> None:
    store = await open_store()
    t = await store.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="w")
    hook = ob.TaskWebhook("http://127.0.0.1:9/h", "whsec_x", 30.0, ("task.ready",))
    with store.atomic():
        ob.put_task_webhook(store, t.id, hook)
    ob.put_task_webhook(store, t.id, ob.TaskWebhook("http://127.0.0.1:9/g", "whsec_x", 30.0,
                                                    None))
    assert ob.task_webhook(store, t.id) == ob.TaskWebhook("http://127.0.0.1:9/g", "whsec_x",
                                                          30.0, None)
    assert set(ob.task_webhooks(store)) == {t.id}
    now = time.time()
    row = ("msg_1", t.id, "task.ready", "http://127.0.0.1:9/g", "whsec_x", "{}", now, now - 1)
    await store.append(t.id, 1, [("state", {"to": "ready"})], outbox=[row])
    ob.add(store, [("msg_2", t.id, "task.status", "http://127.0.0.1:9/g", "whsec_x", "{}",
                    now, now + 3600)])
    due = ob.due(store, now, 10)
    assert [r.msg_id for r in due] == ["msg_1"]
    assert ob.due(store, now, 10, skip=[due[0].id]) == []
    assert ob.next_due(store, skip=[due[0].id]) == pytest.approx(now + 3600)
    ob.failed(store, due[0].id, 500, "server error", now + 5)
    assert ob.find(store, "msg_1") is not None and ob.find(store, "msg_1").attempts == 1
    ob.failed(store, due[0].id, None, "refused", None)
    assert [r.msg_id for r in ob.listing(store, dead=True)] == ["msg_1"]
    ob.requeue(store, due[0].id)
    ob.delivered(store, due[0].id, 204, now)
    found = ob.find(store, str(due[0].id))
    assert found is not None and (found.state, found.attempts, found.last_status) == (
        ob.DELIVERED, 1, 204)
    assert [r.msg_id for r in ob.listing(store)] == ["msg_2", "msg_1"]
    assert store.execute("SELECT COUNT(*) FROM outbox WHERE state = ?", (ob.PENDING,)) == [(1,)]


async def test_readonly_store_reads_and_refuses_writes(open_store: OpenStore,
                                                       tmp_path: Path) -> None:
    writer = await open_store()
    t = await writer.create_task(intent="a", root=tmp_path, scope=None, model="m", workflow="w")
    await writer.append(t.id, 1, [("model_turn", {"n": 1})])
    reader = await open_store(readonly=True)
    assert (await reader.get_task(t.id)).intent == "a"
    assert [e.data for e in await reader.events(t.id)] == [{"n": 1}]
    await writer.append(t.id, 1, [("model_turn", {"n": 2})])
    assert [e.data for e in await reader.events(t.id, after_seq=1)] == [{"n": 2}]
    with pytest.raises(Exception, match="(?i)read.?only"):
        await reader.update_task(t.id, summary="x")


async def test_front_readers_on_either_backend(open_store: OpenStore, store_url: str | None,
                                               tmp_path: Path) -> None:
    """The front's journal reader and the metrics scan read through store.readconn."""
    from codetap.lsp.journal import JournalReader
    from codetap.metrics import JournalCollector

    store = await open_store()
    t = await store.create_task(intent="a", root=tmp_path, scope=None, model="m1", workflow="w")
    await store.append(t.id, 1, [
        ("model_turn", {"usage": {"input_tokens": 7, "output_tokens": 3, "cost_usd": 0.5}}),
        ("tool_result", {"name": "read", "output": "x" * 3000})])
    path = tmp_path / "db" / "codetap.db"
    reader = JournalReader(path, store_url)
    collector = JournalCollector(path, store_url)
    try:
        rows, more = await reader.after(t.id, 0, 1)
        assert [r[0] for r in rows] == [1] and more
        one = await reader.one(t.id, 2)
        assert one is not None and one[3] == "tool_result" and one[4]["output"] == "x" * 3000
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for m in collector.collect() for s in m.samples}
        assert samples[("codetap_steps_total", (("model", "m1"), ("role", "coder")))] == 1
        assert samples[("codetap_tool_calls_total", (("outcome", "ok"), ("tool", "read")))] == 1
        await store.append(t.id, 2, [("model_turn", {})])
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for m in collector.collect() for s in m.samples}
        assert samples[("codetap_steps_total", (("model", "m1"), ("role", "coder")))] == 2
    finally:
        reader._conn.close()
        collector.close()
