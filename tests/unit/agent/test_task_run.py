"""A whole task on a temporary git repository with a replay model (real tools, git, SQLite)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from pathlib import Path

from codetap.config import Config, Limits
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.types import TaskState
from tests.conftest import git, make_repo

CALC = "def add(a, b):\n    return a - b\n"
TEST = (
    "import unittest\nfrom calc import add\n\n\nclass T(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n\n"
    "if __name__ == '__main__':\n    unittest.main()\n"
)
RUN_TESTS = "python3 -m unittest -q test_calc"


def session(path: Path, turns: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(t) for t in turns) + "\n")
    return path


def fix_session(path: Path) -> Path:
    return session(path, [
        {"tool_calls": [{"name": "grep", "arguments": {"pattern": "def add"}},
                        {"name": "glob", "arguments": {"pattern": "*.py"}}]},
        {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
        {"tool_calls": [{"name": "edit", "arguments": {
            "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}}]},
        {"tool_calls": [{"name": "bash", "arguments": {"command": RUN_TESTS}}]},
        {"text": "fixed", "tool_calls": [{"name": "finish", "arguments": {"summary": "add adds"}}]},
    ])


async def open_runtime(xdg: Path, model: ModelConfig, limits: Limits | None = None) -> Runtime:
    config = Config.load()
    config = dataclasses.replace(config, models={model.name: model}, default_model=model.name,
                                 limits=limits or Limits())
    return await Runtime.open(config)


async def test_full_task_greps_reads_edits_runs_tests(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TEST})
    (repo / "notes.txt").write_text("user's uncommitted work\n")
    git(repo, "stash", "list")
    status_before = git(repo, "status", "--porcelain")
    model = ModelConfig("replay", "replay", path=str(fix_session(tmp_path / "s.jsonl")),
                        input_price_per_mtok=1.0, output_price_per_mtok=2.0)
    rt = await open_runtime(xdg, model)
    try:
        task = await rt.start_task("make add add", repo)
        task = await rt.wait(task.id)
        assert task.state is TaskState.READY, task.error
        assert task.summary == "add adds" and task.steps == 5
        assert task.usage.input_tokens > 0 and task.usage.cost_usd > 0
        diff = await rt.diff(task.id)
        assert "-    return a - b\n+    return a + b\n" in diff
        assert diff.count("diff --git") == 1
        events = await rt.store.events(task.id)
    finally:
        await rt.close()

    assert task.branch == "codetap/task-1"
    assert git(repo, "rev-parse", "codetap/task-1").strip() == task.tip_commit
    assert git(repo, "show", "codetap/task-1:calc.py") == CALC.replace("a - b", "a + b")
    # the snapshot included the user's uncommitted file; the user's tree is untouched
    assert git(repo, "show", "codetap/task-1:notes.txt") == "user's uncommitted work\n"
    assert (repo / "calc.py").read_text() == CALC
    assert git(repo, "status", "--porcelain") == status_before
    assert git(repo, "stash", "list") == ""

    kinds = [e.kind for e in events]
    assert kinds.count("model_turn") == 5
    assert kinds.count("tool_intent") == kinds.count("tool_result") == 6
    intents = [e for e in events if e.kind == "tool_intent"]
    results = [e for e in events if e.kind == "tool_result"]
    assert [e.data["name"] for e in intents] == ["grep", "glob", "read", "edit", "bash", "finish"]
    for intent in intents:
        result = next(r for r in results if r.data["call_id"] == intent.data["call_id"])
        assert result.seq > intent.seq
    bash = next(r for r in results if r.data["name"] == "bash")
    assert bash.data["meta"]["exit_code"] == 0 and "OK" in bash.data["output"]
    states = [(e.data["from"], e.data["to"]) for e in events if e.kind == "state"]
    assert states[-1] == ("running", "ready")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    db = sqlite3.connect(Config.load().db_path)
    assert db.execute("SELECT COUNT(*) FROM checkpoints WHERE task_id=1").fetchone()[0] == 5


async def test_step_limit_fails_task_with_reason(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    loop = [{"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]}] * 10
    model = ModelConfig("replay", "replay", path=str(session(tmp_path / "s.jsonl", loop)))
    rt = await open_runtime(xdg, model, Limits(max_steps=3))
    try:
        task = await rt.wait((await rt.start_task("loop", repo)).id)
    finally:
        await rt.close()
    assert task.state is TaskState.FAILED and task.steps == 3
    assert task.error == "step limit reached (3 steps)"


async def test_cost_limit_waits_and_cancel_ends_the_wait(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    turn = {"tool_calls": [{"name": "glob", "arguments": {"pattern": "*"}}],
            "usage": {"input_tokens": 1_000_000, "output_tokens": 0}}
    model = ModelConfig("replay", "replay", path=str(session(tmp_path / "s.jsonl", [turn] * 5)),
                        input_price_per_mtok=1.0)
    rt = await open_runtime(xdg, model, Limits(max_cost_usd=2.5, max_tokens=10**9))
    waited = asyncio.Event()
    rt.subscribe(OnKind("waiting_budget", waited))
    try:
        start = await rt.start_task("spend", repo)
        await asyncio.wait_for(waited.wait(), 30)
        row = await rt.get_task(start.id)
        reason = rt.waiting_reason(row)
        task = await rt.cancel(start.id)
    finally:
        await rt.close()
    assert row.state is TaskState.RUNNING and row.steps == 3
    assert reason == "task budget reached: $3.00 of $2.50; raise [limits] max_cost_usd or cancel"
    assert task.state is TaskState.CANCELLED and task.steps == 3


class OnKind:
    """Sets ``event`` when a journal entry of ``kind`` is reported."""

    def __init__(self, kind: str, event: asyncio.Event) -> None:
        self.kind, self.event = kind, event

    def task_updated(self, task: object) -> None:
        pass

    def task_event(self, task_id: int, seq: int, kind: str, data: object) -> None:
        if kind == self.kind:
            self.event.set()

    def question(self, q: object) -> None:
        pass


async def test_model_error_fails_task_clearly(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    one = [{"tool_calls": [{"name": "glob", "arguments": {"pattern": "*"}}]}]
    model = ModelConfig("replay", "replay", path=str(session(tmp_path / "s.jsonl", one)))
    rt = await open_runtime(xdg, model)
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
    finally:
        await rt.close()
    assert task.state is TaskState.FAILED
    assert task.error is not None and "replay session exhausted after 1 turns" in task.error


async def test_tool_errors_are_results_not_crashes(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    turns = [
        {"tool_calls": [{"name": "read", "arguments": {"path": "../../etc/passwd"}},
                        {"name": "nosuchtool", "arguments": {}},
                        {"name": "edit", "arguments": {"path": "calc.py"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "gave up"}}]},
    ]
    model = ModelConfig("replay", "replay", path=str(session(tmp_path / "s.jsonl", turns)))
    rt = await open_runtime(xdg, model)
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
        results = [e.data for e in await rt.store.events(task.id) if e.kind == "tool_result"]
    finally:
        await rt.close()
    assert task.state is TaskState.READY
    assert [r["is_error"] for r in results[:3]] == [True, True, True]
    assert "leaves the workspace" in results[0]["output"]
    assert "unknown tool 'nosuchtool'" in results[1]["output"]
    assert "old_string" in results[2]["output"]


async def test_project_instructions_reach_the_system_prompt(xdg: Path, tmp_path: Path) -> None:
    from codetap.agent.context import system_prompt
    repo = make_repo(tmp_path / "repo", {"AGENTS.md": "Use tabs.\n",
                                         ".codetap/instructions.md": "Never touch vendor/.\n"})
    prompt = system_prompt("ROLE", repo)
    assert prompt.startswith("ROLE") and "Use tabs." in prompt and "Never touch vendor/." in prompt


async def test_not_a_git_repository(xdg: Path, tmp_path: Path) -> None:
    import pytest

    from codetap.errors import WorkspaceError
    model = ModelConfig("replay", "replay", path=str(fix_session(tmp_path / "s.jsonl")))
    rt = await open_runtime(xdg, model)
    try:
        with pytest.raises(WorkspaceError, match="not a git repository"):
            await rt.start_task("x", tmp_path)
        assert await rt.list_tasks() == []
    finally:
        await rt.close()


async def test_unusable_replay_file_fails_the_task_clearly(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"tool_calls": "not a list"}\n')
    rt = await open_runtime(xdg, ModelConfig("replay", "replay", path=str(bad)))
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
    finally:
        await rt.close()
    assert task.state is TaskState.FAILED
    assert task.error is not None and "bad.jsonl" in task.error and "internal" not in task.error
