"""Workflows with several roles on different (replayed) models: the review loop, plan ->
execute, plan approval, role configuration, and kill -9 at a hand-off.

Each model name has its own replay session, so what each role asked for is observable:
the journal's ``model_turn`` entries name the role and the model, and the replay turn a
role got depends on its model's turn count across the task."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from codetap.agent import teams_config
from codetap.config import Config
from codetap.errors import ConfigError
from codetap.models.base import ModelConfig
from codetap.runtime import Question, Runtime
from codetap.store.faults import ENV as FAULT_ENV
from codetap.types import JSON, TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import session

ROOT = Path(__file__).resolve().parents[3]


def call(name: str, **arguments: Any) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def edit(old: str, new: str) -> dict[str, object]:
    return call("edit", path="calc.py", old_string=old, new_string=new)


def team_config(sessions: dict[str, Path], default: str, roles: JSON) -> Config:
    models = {n: ModelConfig(n, "replay", path=str(p)) for n, p in sessions.items()}
    return dataclasses.replace(Config.load(), default_model=default, models=models,
                               user_table={"roles": roles})


def review_sessions(tmp: Path) -> dict[str, Path]:
    cheap = session(tmp / "cheap.jsonl", [
        call("read", path="calc.py"),
        edit("A = 1", "A = 10"),
        call("finish", summary="A is ten"),
        call("read", path="calc.py"),
        edit("B = 2", "B = 20"),
        call("finish", summary="B is twenty too"),
    ])
    strong = session(tmp / "strong.jsonl", [
        call("read", path="calc.py"),
        call("finish", summary="B must change too", verdict="changes_requested",
             comments=[{"path": "calc.py", "line": 2, "comment": "make B twenty"}]),
        call("finish", summary="good", verdict="approve", comments=[]),
    ])
    return {"cheap": cheap, "strong": strong}


def turns(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.data.get("role"), e.data["model"]) for e in events if e.kind == "model_turn"]


async def run_review(rt: Runtime, repo: Path) -> tuple[Any, list[Any], str]:
    task = await rt.wait((await rt.start_task("make A ten", repo, workflow="review")).id)
    return task, await rt.store.events(task.id), await rt.diff(task.id)


async def test_review_requests_changes_once_then_approves(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": "A = 1\nB = 2\n"})
    config = team_config(review_sessions(tmp_path), "cheap", {"reviewer": {"model": "strong"}})
    rt = await Runtime.open(config)
    try:
        task, events, diff = await run_review(rt, repo)
    finally:
        await rt.close()
    assert task.state is TaskState.READY, task.error
    assert task.summary == "B is twenty too"
    assert "+A = 10" in diff and "+B = 20" in diff
    assert turns(events) == [("coder", "cheap")] * 3 + [("reviewer", "strong")] * 2 + \
        [("coder", "cheap")] * 3 + [("reviewer", "strong")]
    hand = [e.data for e in events if e.kind == "handoff"]
    assert [(h["from_role"], h["to_role"], h["round"]) for h in hand] == [
        ("coder", "reviewer", 0), ("reviewer", "coder", 1), ("coder", "reviewer", 0)]
    assert hand[1]["data"]["verdict"] == "changes_requested"
    assert "calc.py:2: make B twenty" in hand[1]["context"]
    assert hand[1]["context"].startswith("Task: make A ten")
    assert "A is ten" in hand[0]["context"] and "calc.py" in hand[0]["context"]
    # The reviewer's second conversation starts from the hand-off, not the first one.
    second_review = [e for e in events if e.kind == "model_turn"][-1]
    assert second_review.data["message"]["tool_calls"][0]["arguments"]["verdict"] == "approve"


async def test_review_gives_up_after_max_rounds(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": "A = 1\nB = 2\n"})
    cheap = session(tmp_path / "c.jsonl", [call("finish", summary=f"try {i}") for i in range(3)])
    no = call("finish", summary="no", verdict="changes_requested", comments=[])
    strong = session(tmp_path / "s.jsonl", [no, no, no])
    rt = await Runtime.open(team_config({"cheap": cheap, "strong": strong}, "cheap",
                                        {"reviewer": {"model": "strong"}}))
    try:
        task, events, _ = await run_review(rt, repo)
    finally:
        await rt.close()
    assert task.state is TaskState.READY, task.error
    assert [r for r, _ in turns(events)] == ["coder", "reviewer"] * 3
    assert task.summary == "try 2"


def plan_turn(summary: str) -> dict[str, object]:
    return call("finish", summary=summary, subtasks=[
        {"intent": "make A ten", "files": ["calc.py"]}], acceptance=["A == 10"])


async def test_plan_execute_on_two_models(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": "A = 1\nB = 2\n"})
    strong = session(tmp_path / "strong.jsonl", [call("grep", pattern="A"),
                                                  plan_turn("edit calc.py")])
    cheap = session(tmp_path / "cheap.jsonl", [edit("A = 1", "A = 10"),
                                                call("finish", summary="done as planned")])
    rt = await Runtime.open(team_config({"cheap": cheap, "strong": strong}, "cheap",
                                        {"planner": {"model": "strong"}}))
    try:
        task = await rt.wait((await rt.start_task("ten", repo, workflow="plan-execute")).id)
        events = await rt.store.events(task.id)
        report = await rt.store.get_task(task.id)
    finally:
        await rt.close()
    assert report.state is TaskState.READY, report.error
    assert turns(events) == [("planner", "strong")] * 2 + [("coder", "cheap")] * 2
    hand = [e.data for e in events if e.kind == "handoff"]
    assert hand[0]["data"]["subtasks"] == [{"intent": "make A ten", "files": ["calc.py"]}]
    assert "1. make A ten (files: calc.py)" in hand[0]["context"]
    assert "- A == 10" in hand[0]["context"]
    # The planner had no editing tools: its requests offered none.
    prompts = [e.data for e in events if e.kind == "system_prompt"]
    assert len(prompts) == 2 and "planner" in prompts[0]["content"]


class Approver:
    """Answers approval questions from a list, in order."""

    def __init__(self, rt: Runtime, answers: list[str]) -> None:
        self.rt, self.answers = rt, answers
        self.asked: list[Question] = []

    def task_updated(self, task: Any) -> None:
        pass

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        pass

    def question(self, q: Question) -> None:
        self.asked.append(q)
        asyncio.get_running_loop().create_task(self.rt.answer(q.task_id,
                                                              self.answers.pop(0)))


async def test_plan_waits_for_approval(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": "A = 1\nB = 2\n"})
    model = session(tmp_path / "m.jsonl", [
        plan_turn("first plan"), plan_turn("second plan, with B"),
        edit("A = 1", "A = 10"), call("finish", summary="coded")])
    rt = await Runtime.open(team_config({"m": model}, "m", {}))
    approver = Approver(rt, ["also change B", "approve"])
    rt.subscribe(approver)
    try:
        task = await rt.wait((await rt.start_task("ten", repo, workflow="plan")).id)
        events = await rt.store.events(task.id)
    finally:
        await rt.close()
    assert task.state is TaskState.READY, task.error
    assert [q.kind for q in approver.asked] == ["approval", "approval"]
    assert "first plan" in approver.asked[0].question
    decisions = [e.data for e in events if e.kind == "plan_approval"]
    assert [(d["approved"], d["answer"]) for d in decisions] == [
        (False, "also change B"), (True, "approve")]
    feedback = [e.data for e in events if e.kind == "user" and e.data.get("approval_feedback")]
    assert len(feedback) == 1 and "also change B" in feedback[0]["content"]
    states = [e.data["to"] for e in events if e.kind == "state"]
    assert states.count("waiting") == 2
    hand = [e.data for e in events if e.kind == "handoff"]
    assert len(hand) == 1 and hand[0]["data"]["summary"] == "second plan, with B"
    assert [r for r, _ in turns(events)] == ["planner", "planner", "coder", "coder"]


CHILD = """
import asyncio, dataclasses, sys
from pathlib import Path
from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime

async def main():
    models = {n: ModelConfig(n, "replay", path=sys.argv[2] + f"/{n}.jsonl")
              for n in ("cheap", "strong")}
    config = dataclasses.replace(Config.load(), default_model="cheap", models=models,
                                 user_table={"roles": {"reviewer": {"model": "strong"}}})
    rt = await Runtime.open(config)
    try:
        task = await rt.start_task("make A ten", Path(sys.argv[1]), workflow="review")
        await rt.wait(task.id)
    finally:
        await rt.close()

asyncio.run(main())
"""


@pytest.mark.parametrize("hit", [1, 2, 3])
async def test_kill_at_handoff_resumes_at_the_right_stage(xdg: Path, tmp_path: Path,
                                                          hit: int) -> None:
    sessions = review_sessions(tmp_path)
    config = team_config(sessions, "cheap", {"reviewer": {"model": "strong"}})
    clean = make_repo(tmp_path / "clean", {"calc.py": "A = 1\nB = 2\n"})
    rt = await Runtime.open(config)
    try:
        _, want_events, want_diff = await run_review(rt, clean)
    finally:
        await rt.close()
    repo = make_repo(tmp_path / "repo", {"calc.py": "A = 1\nB = 2\n"})
    env = {**os.environ, FAULT_ENV: f"after_handoff#{hit}", "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(repo), str(tmp_path), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode == -9, err[-2000:]
    rt = await Runtime.open(config)
    try:
        task = await rt.wait(2)
        events = await rt.store.events(2)
        diff = await rt.diff(2)
    finally:
        await rt.close()
    assert task.state is TaskState.READY, task.error
    assert diff == want_diff
    assert turns(events) == turns(want_events)
    assert [e.data["to_role"] for e in events if e.kind == "handoff"] == \
        [e.data["to_role"] for e in want_events if e.kind == "handoff"]
    assert [e.data["to"] for e in events if e.kind == "state"].count("interrupted") == 1


def test_role_config_and_role_files(xdg: Path, tmp_path: Path) -> None:
    base = team_config({"m": tmp_path / "m.jsonl", "big": tmp_path / "b.jsonl"}, "m", {
        "coder": {"model": "big", "limits": {"max_steps": 7}, "summary_model": "m"},
        "docs": {"prompt": "write docs", "tools": ["read", "write"]},
    })
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / ".codetap" / "roles").mkdir(parents=True)
    (repo / ".codetap" / "roles" / "reviewer.md").write_text(
        "---\nname: reviewer\ndescription: strict\nmodel: big\ntools: [read, grep]\n---\n"
        "Be strict.\n")
    roles, warnings = teams_config.roles(base, base.limits, repo, trusted=False)
    assert roles["coder"].model == "big" and roles["coder"].limits.max_steps == 7
    assert roles["coder"].summary_model == "m"
    assert roles["docs"].tools == ("read", "write", "finish") and roles["docs"].verify
    assert roles["reviewer"].model is None and "reviewer.md" in warnings[0]
    roles, warnings = teams_config.roles(base, base.limits, repo, trusted=True)
    assert warnings == [] and roles["reviewer"].model == "big"
    assert roles["reviewer"].system_prompt == "Be strict."
    assert roles["reviewer"].tools == ("read", "grep", "finish")
    assert roles["reviewer"].handoff == "verdict"
    bad = dataclasses.replace(base, user_table={"roles": {"coder": {"model": "nope"}}})
    with pytest.raises(ConfigError, match="nope"):
        teams_config.roles(bad, bad.limits)
    flows = teams_config.workflows(dataclasses.replace(base, user_table={"workflows": {
        "mine": {"stages": [{"role": "docs"}, {"role": "reviewer", "max_rounds": 1,
                                                "on_changes_requested": "docs"}]}}}))
    assert [s.role for s in flows["mine"].stages] == ["docs", "reviewer"]
    assert set(flows) >= {"default", "plan-execute", "review", "plan", "mine"}
