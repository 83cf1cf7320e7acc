"""The ``team`` workflow on a real repository: planner -> 3 coders in parallel child tasks
-> merge in plan order (one conflict, resolved by the integrator) -> tester -> reviewer
(changes requested once) -> coder -> tester -> reviewer; and kill -9 of the process running
the tasks during the fan-out and in the middle of the merge.

One scripted model server on loopback per role (:mod:`tests.unit.tasks.team_server`), so
each role's requests are observable; the coders' replies are chosen by the sub-task in the
conversation, so parallel children and resumed ones get the same replies."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_repo
from tests.unit.tasks.team_server import ScriptedModel, call, serving

from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.store.faults import ENV as FAULT_ENV
from codetap.types import TaskState

ROOT = Path(__file__).resolve().parents[2]
FILES = {"a.py": "A = 1\n", "b.py": "B = 2\n", "shared.py": "X = 0\n"}
SUBTASKS = [
    {"intent": "Set A to ten", "files": ["a.py", "shared.py"]},
    {"intent": "Set B to twenty", "files": ["b.py"]},
    {"intent": "Set X to three", "files": ["shared.py"]},
]
ROLES = ("planner", "coder", "tester", "reviewer")


def edit(path: str, old: str, new: str) -> dict[str, Any]:
    return call("edit", path=path, old_string=old, new_string=new)


def reads(*paths: str) -> dict[str, Any]:
    return {"tool_calls": [{"name": "read", "arguments": {"path": p}} for p in paths]}


def scripts() -> dict[str, list[tuple[str, list[dict[str, Any]]]]]:
    return {
        "planner": [("", [call("finish", summary="three independent edits",
                                subtasks=SUBTASKS, acceptance=["A, B and X set"])])],
        "coder": [
            ("## Merge conflict", [call("read", path="shared.py"),
                                   call("write", path="shared.py", content="X = 13\n"),
                                   call("finish", summary="kept both: X is 13")]),
            ("requested changes", [call("read", path="a.py"), edit("a.py", "A = 10", "A = 11"),
                                   call("finish", summary="A is eleven per review")]),
            ("Set A to ten", [reads("a.py", "shared.py"), edit("a.py", "A = 1", "A = 10"),
                              edit("shared.py", "X = 0", "X = 1"),
                              call("finish", summary="A is ten")]),
            ("Set B to twenty", [reads("b.py"), edit("b.py", "B = 2", "B = 20"),
                                 call("finish", summary="B is twenty")]),
            ("Set X to three", [reads("shared.py"), edit("shared.py", "X = 0", "X = 3"),
                                call("finish", summary="X is three")]),
        ],
        "tester": [("", [call("finish", summary="checks pass", passed=True)])],
        "reviewer": [
            ("per review", [call("finish", summary="good", verdict="approve", comments=[])]),
            ("", [call("finish", summary="A should be eleven", verdict="changes_requested",
                       comments=[{"path": "a.py", "line": 1, "comment": "A = 11"}])]),
        ],
    }


def config_for(urls: dict[str, str], cap: int | None = None) -> Config:
    # Replies are stateless, so a retried request (a connection lost on a loaded
    # machine) gets the same reply.
    models = {r: ModelConfig(r, "openai", model=r, base_url=u, max_retries=2)
              for r, u in urls.items()}
    table: dict[str, Any] = {"roles": {r: {"model": r} for r in ROLES if r != "coder"}}
    if cap is not None:
        table["scheduler"] = {"max_concurrent_tasks": cap}
    return dataclasses.replace(Config.load(), default_model="coder", models=models,
                               user_table=table)


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, ScriptedModel]]:
    async with serving(scripts(), delay_s=0.05) as out:
        yield out


def urls(servers: dict[str, ScriptedModel]) -> dict[str, str]:
    return {r: s.base_url for r, s in servers.items()}


async def outcome(rt: Runtime, parent: int) -> dict[str, Any]:
    task = await rt.wait(parent)
    events = await rt.store.events(parent)
    children = [t for t in await rt.store.list_tasks() if t.parent_id == parent]
    child_turns = {t.subtask: sum(1 for e in await rt.store.events(t.id)
                                  if e.kind == "model_turn") for t in children}
    return {"task": task, "events": events, "diff": await rt.diff(parent),
            "children": sorted(children, key=lambda t: t.id), "child_turns": child_turns,
            "kinds": [e.kind for e in events]}


async def test_team_run_with_a_merge_conflict(xdg: Path, tmp_path: Path,
                                              servers: dict[str, ScriptedModel]) -> None:
    servers["coder"].delay_s = 0.3  # children's runs overlap by far more than their starts
    repo = make_repo(tmp_path / "repo", FILES)
    rt = await Runtime.open(config_for(urls(servers), cap=3))
    try:
        start = await rt.start_task("make the team change", repo, workflow="team")
        out = await outcome(rt, start.id)
    finally:
        await rt.close()
    task = out["task"]
    assert task.state is TaskState.READY, task.error
    assert (repo / "a.py").read_text() == "A = 1\n"  # the user's tree is untouched
    diff = out["diff"]
    assert "+A = 11" in diff and "+B = 20" in diff and "+X = 13" in diff and "<<<<" not in diff
    children = out["children"]
    assert [c.role for c in children] == ["coder"] * 3
    assert [c.state for c in children] == [TaskState.READY] * 3
    assert all(c.base_commit == start.base_commit for c in children)
    assert [c.intent.splitlines()[0] for c in children] == [s["intent"] for s in SUBTASKS]
    assert "Task: make the team change" in children[0].intent  # the task's message
    assert "Files: a.py, shared.py" in children[0].intent
    events = out["events"]
    fan = [e.data for e in events if e.kind == "fanout"]
    assert len(fan) == 1 and [c["task_id"] for c in fan[0]["children"]] == \
        [c.id for c in children]
    merges = [e.data for e in events if e.kind == "merge"]
    assert [(m["task_id"], m["conflict"]) for m in merges] == [
        (children[0].id, False), (children[1].id, False), (children[2].id, True)]
    conflict = [e.data for e in events if e.kind == "merge_conflict"]
    assert len(conflict) == 1 and conflict[0]["paths"] == ["shared.py"]
    integrate = [e.data for e in events if e.kind == "handoff" and e.data.get("integrate")]
    assert len(integrate) == 1 and "Set X to three" in integrate[0]["context"]
    assert "shared.py" in integrate[0]["context"]
    hand = [(e.data["from_role"], e.data["to_role"]) for e in events
            if e.kind == "handoff" and not e.data.get("integrate")]
    assert hand == [("planner", "coder"), ("coder", "tester"), ("tester", "reviewer"),
                    ("reviewer", "coder"), ("coder", "tester"), ("tester", "reviewer")]
    # Each role's requests, on its own server: children 2 or 3 turns each, run once.
    coder = servers["coder"]
    assert [coder.count(s["intent"]) for s in SUBTASKS] == [4, 3, 3]
    assert coder.count("## Merge conflict") == 3 and coder.count("requested changes") == 3
    assert servers["planner"].count("") == 1
    assert servers["tester"].count("") == 2
    assert servers["reviewer"].count("") == 1 and servers["reviewer"].count("per review") == 1
    # The children ran at the same time: each one's first request came before any
    # child's last.
    firsts = [min(t for m, n, t in coder.requests if m == s["intent"]) for s in SUBTASKS]
    lasts = [max(t for m, n, t in coder.requests if m == s["intent"]) for s in SUBTASKS]
    assert max(firsts) < min(lasts)


async def test_team_with_a_cap_of_one_does_not_deadlock(
        xdg: Path, tmp_path: Path, servers: dict[str, ScriptedModel]) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    rt = await Runtime.open(config_for(urls(servers), cap=1))
    try:
        start = await rt.start_task("make the team change", repo, workflow="team")
        out = await asyncio.wait_for(outcome(rt, start.id), 120)
        peak = rt.scheduler.peak
    finally:
        await rt.close()
    assert out["task"].state is TaskState.READY, out["task"].error
    assert peak == 1
    assert "+X = 13" in out["diff"]


CHILD = """
import asyncio, json, sys
from pathlib import Path
from tests.e2e.test_team import config_for
from codetap.runtime import Runtime

async def main():
    rt = await Runtime.open(config_for(json.loads(sys.argv[2]), cap=3))
    try:
        task = await rt.start_task("make the team change", Path(sys.argv[1]), workflow="team")
        await rt.wait(task.id)
    finally:
        await rt.close()

asyncio.run(main())
"""


@pytest.mark.parametrize("point", [
    "fanout_child_created#2",   # during the fan-out: 2 of 3 children created
    "after_fanout",             # children listed in the journal, none started
    "after_checkpoint#4",       # children running (a step of one of them checkpointed)
    "after_git_merge#2",        # mid-merge: sub-task 2 merged in git, not journaled
    "after_merge_conflict",     # sub-task 3's conflict committed, integrator not started
    "after_handoff#2",          # the hand-off after the merge (coder -> tester)
])
async def test_kill9_during_fanout_and_merge(xdg: Path, tmp_path: Path, point: str,
                                             servers: dict[str, ScriptedModel]) -> None:
    config = config_for(urls(servers), cap=3)
    clean = make_repo(tmp_path / "clean", FILES)
    rt = await Runtime.open(config)
    try:
        want = await outcome(rt, (await rt.start_task("make the team change", clean,
                                                      workflow="team")).id)
    finally:
        await rt.close()
    assert want["task"].state is TaskState.READY, want["task"].error
    repo = make_repo(tmp_path / "repo", FILES)
    env = {**os.environ, FAULT_ENV: point, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(repo), json.dumps(urls(servers)), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(child.communicate(), 120)
    if child.returncode != -9:
        rt = await Runtime.open(config)
        try:
            rows = [(t.id, t.state.value, t.error) for t in await rt.store.list_tasks()]
        finally:
            await rt.close()
        pytest.fail(f"not killed at {point} (rc {child.returncode}); tasks: {rows}\n"
                    + err.decode()[-3000:])
    parent = want["task"].id + 4  # the clean run made a parent and 3 children
    rt = await Runtime.open(config)
    try:
        got = await asyncio.wait_for(outcome(rt, parent), 120)
    finally:
        await rt.close()
    assert got["task"].state is TaskState.READY, got["task"].error
    assert got["diff"] == want["diff"]
    assert [c.subtask.split(".")[1] for c in got["children"]] == ["1", "2", "3"]
    assert got["child_turns"].values() and sorted(got["child_turns"].values()) == \
        sorted(want["child_turns"].values())
    assert got["kinds"].count("fanout") == 1
    merges = [e.data["subtask"] for e in got["events"] if e.kind == "merge"]
    assert merges == [c.subtask for c in got["children"]]
    assert got["kinds"].count("merge_conflict") == 1
    assert [e.data["to"] for e in got["events"] if e.kind == "state"].count("interrupted") == 1
