"""A follow-up message on a finished task: the conversation and the branch go on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from codetap.config import Config
from codetap.errors import InvalidTransition
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import session


def edit(old: str, new: str) -> dict[str, object]:
    return {"tool_calls": [{"name": "edit", "arguments": {
        "path": "calc.py", "old_string": old, "new_string": new}}]}


async def test_message_continues_a_ready_task(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": "A = 1\nB = 2\n"})
    turns = session(tmp_path / "s.jsonl", [
        {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
        edit("A = 1", "A = 10"),
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "first"}}]},
        edit("B = 2", "B = 20"),
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "second"}}]},
    ])
    config = dataclasses.replace(Config.load(), default_model="replay",
                                 models={"replay": ModelConfig("replay", "replay",
                                                               path=str(turns))})
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("ten", repo)).id)
        assert task.state is TaskState.READY and task.summary == "first"
        with pytest.raises(InvalidTransition):
            await rt.answer(task.id, "no question pending")
        queued = await rt.message(task.id, "now make B twenty")
        assert queued.state is TaskState.QUEUED and queued.ended_at is None
        task = await rt.wait(task.id)
        assert task.state is TaskState.READY, task.error
        assert task.summary == "second" and task.branch == queued.branch
        diff = await rt.diff(task.id)
        assert "+A = 10" in diff and "+B = 20" in diff
        events = await rt.store.events(task.id)
        users = [e.data for e in events if e.kind == "user"]
        assert users[-1] == {"content": "now make B twenty", "follow_up": True}
        await rt.discard(task.id)
        with pytest.raises(InvalidTransition):
            await rt.message(task.id, "too late")
    finally:
        await rt.close()
