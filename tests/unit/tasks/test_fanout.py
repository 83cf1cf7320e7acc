"""Fan-out stages: the merge of a child's branch, a failed child (the parent fails naming
it, and a resume runs only that child again), a cancelled child (skipped), cancelling the
parent (its children are cancelled), and the cost limit counting the children (their steps wait for it).

Models are the scripted loopback servers of :mod:`tests.unit.tasks.team_server`, one per
role, with the team workflow's scripts of :mod:`tests.e2e.test_team`."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from codetap.config import Limits
from codetap.runtime import Runtime
from codetap.tasks import merge
from codetap.types import JSON, TaskState
from tests.conftest import git, make_repo
from tests.e2e.test_team import FILES, SUBTASKS, config_for, scripts
from tests.unit.tasks.team_server import ScriptedModel, serving

INTENT = "make the team change"


async def test_merge_clean_then_conflicted_then_again(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"x.txt": "0\n", "y.txt": "0\n"})
    base = git(repo, "rev-parse", "HEAD").strip()
    tips = {}
    for name, path, text in (("one", "x.txt", "1\n"), ("two", "x.txt", "2\n"),
                             ("three", "y.txt", "3\n")):
        git(repo, "checkout", "-q", "-b", name, base)
        (repo / path).write_text(text)
        git(repo, "commit", "-qam", name)
        tips[name] = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "--detach", base)
    clean = await merge.merge(repo, tips["one"], "merge one")
    assert clean.conflicts == () and (repo / "x.txt").read_text() == "1\n"
    assert git(repo, "rev-parse", "HEAD^2").strip() == tips["one"]
    again = await merge.merge(repo, tips["one"], "merge one")  # a resumed task
    assert again.head == clean.head
    bad = await merge.merge(repo, tips["two"], "merge two")
    assert bad.conflicts == ("x.txt",)
    assert merge.marked(repo, bad.conflicts) == ["x.txt"]
    assert git(repo, "status", "--porcelain").strip() == ""  # committed, markers and all
    assert "(conflicts)" in git(repo, "log", "-1", "--format=%s")
    (repo / "x.txt").write_text("12\n")
    assert merge.marked(repo, bad.conflicts) == []
    git(repo, "commit", "-qam", "resolved")
    third = await merge.merge(repo, tips["three"], "merge three")
    assert third.conflicts == () and (repo / "y.txt").read_text() == "3\n"


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, ScriptedModel]]:
    async with serving(scripts()) as out:
        yield out


class Seen:
    """A runtime listener that sets ``fanout`` when a ``fanout`` entry is journaled."""

    def __init__(self) -> None:
        self.fanout = asyncio.Event()

    def task_updated(self, task: Any) -> None:
        pass

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        if kind == "fanout":
            self.fanout.set()

    def question(self, q: Any) -> None:
        pass


def script_of(server: ScriptedModel, marker: str) -> list[dict[str, Any]]:
    return next(turns for m, turns in server.script if m == marker)


async def children(rt: Runtime, parent: int) -> list[Any]:
    return sorted((t for t in await rt.store.list_tasks() if t.parent_id == parent),
                  key=lambda t: t.id)


async def test_failed_child_fails_the_parent_and_resume_reruns_only_it(
        xdg: Path, tmp_path: Path, servers: dict[str, ScriptedModel]) -> None:
    coder = servers["coder"]
    good = list(script_of(coder, "Set B to twenty"))
    script_of(coder, "Set B to twenty")[:] = [{"status": 500}]
    repo = make_repo(tmp_path / "repo", FILES)
    rt = await Runtime.open(config_for({r: s.base_url for r, s in servers.items()}))
    try:
        parent = await rt.wait((await rt.start_task(INTENT, repo, workflow="team")).id)
        first = await children(rt, parent.id)
        assert parent.state is TaskState.FAILED
        assert f"sub-task {first[1].subtask} (task {first[1].id}) ended failed" in parent.error
        assert [c.state for c in first] == [TaskState.READY, TaskState.FAILED, TaskState.READY]
        events = await rt.store.events(parent.id)
        assert not any(e.kind == "merge" for e in events)  # nothing merged before all ended
        before = {s["intent"]: coder.count(s["intent"]) for s in SUBTASKS}
        script_of(coder, "Set B to twenty")[:] = good
        await rt.resume(parent.id)
        parent = await rt.wait(parent.id)
        again = await children(rt, parent.id)
    finally:
        await rt.close()
    assert parent.state is TaskState.READY, parent.error
    assert [c.id for c in again] == [c.id for c in first]
    assert all(c.state is TaskState.READY for c in again)
    after = {s["intent"]: coder.count(s["intent"]) for s in SUBTASKS}
    assert after["Set A to ten"] == before["Set A to ten"]
    assert after["Set X to three"] == before["Set X to three"]
    assert after["Set B to twenty"] == before["Set B to twenty"] + len(good)


async def test_cancelled_child_is_skipped(xdg: Path, tmp_path: Path,
                                          servers: dict[str, ScriptedModel]) -> None:
    servers["coder"].delay_s = 0.3
    repo = make_repo(tmp_path / "repo", FILES)
    rt = await Runtime.open(config_for({r: s.base_url for r, s in servers.items()}))
    seen = Seen()
    rt.subscribe(seen)
    try:
        start = await rt.start_task(INTENT, repo, workflow="team")
        await asyncio.wait_for(seen.fanout.wait(), 30)
        kids = await children(rt, start.id)
        await rt.cancel(kids[2].id)  # the conflicting one: without it, no conflict
        parent = await rt.wait(start.id)
        events = await rt.store.events(start.id)
        diff = await rt.diff(start.id)
    finally:
        await rt.close()
    assert parent.state is TaskState.READY, parent.error
    merges = [e.data for e in events if e.kind == "merge"]
    assert [m.get("skipped") for m in merges] == [None, None, "cancelled"]
    assert not any(e.kind == "merge_conflict" for e in events)
    hand = next(e.data for e in events if e.kind == "handoff" and e.data["from_role"] == "coder")
    assert "cancelled, not merged" in hand["data"]["summary"]
    assert "+X = 1" in diff and "X = 3" not in diff


async def test_cancelling_the_parent_cancels_its_children(
        xdg: Path, tmp_path: Path, servers: dict[str, ScriptedModel]) -> None:
    servers["coder"].delay_s = 0.5
    repo = make_repo(tmp_path / "repo", FILES)
    rt = await Runtime.open(config_for({r: s.base_url for r, s in servers.items()}, cap=2))
    seen = Seen()
    rt.subscribe(seen)
    try:
        start = await rt.start_task(INTENT, repo, workflow="team")
        await asyncio.wait_for(seen.fanout.wait(), 30)
        await rt.cancel(start.id)
        kids = await children(rt, start.id)
        parent = await rt.get_task(start.id)
        running = rt.scheduler.running
    finally:
        await rt.close()
    assert parent.state is TaskState.CANCELLED
    assert [c.state for c in kids] == [TaskState.CANCELLED] * 3
    assert running == 0


async def test_the_cost_limit_counts_the_children(xdg: Path, tmp_path: Path,
                                                  servers: dict[str, ScriptedModel]) -> None:
    config = config_for({r: s.base_url for r, s in servers.items()})
    # 100 input tokens at $100 per million: $0.01 a turn. The planner's turn and the
    # children's 10 are over $0.06 even with all 3 children's requests in flight at once, so
    # some child's request waits for the parent's limit (the parent's own cost counted).
    models = {n: dataclasses.replace(m, input_price_per_mtok=100.0)
              for n, m in config.models.items()}
    config = dataclasses.replace(config, models=models,
                                 limits=Limits(max_cost_usd=0.06))
    repo = make_repo(tmp_path / "repo", FILES)
    rt = await Runtime.open(config)
    waited: list[tuple[int, JSON]] = []
    wait = asyncio.Event()

    class Budget(Seen):
        def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
            if kind == "waiting_budget":
                waited.append((task_id, data))
                wait.set()

    rt.subscribe(Budget())
    try:
        start = await rt.start_task(INTENT, repo, workflow="team")
        await asyncio.wait_for(wait.wait(), 30)
        kid_id, data = waited[0]
        waiting_row = await rt.get_task(kid_id)
        shown = rt.waiting_reason(waiting_row)
        # The user raises the limit; the waiting children go on.
        rt.config = dataclasses.replace(rt.config, limits=Limits(max_cost_usd=10.0))
        parent = await asyncio.wait_for(rt.wait(start.id), 60)
        kids = await children(rt, parent.id)
    finally:
        await rt.close()
    assert waiting_row.parent_id == start.id and data["window"] == "task"
    assert data["limit_usd"] == 0.06 and data["spent_usd"] >= 0.06
    assert shown == data["reason"] and shown.startswith("task budget reached: $0.0")
    assert [c.state for c in kids] == [TaskState.READY] * 3
    assert parent.state is TaskState.READY, parent.error
    assert sum(c.usage.cost_usd for c in kids) == pytest.approx(0.10)