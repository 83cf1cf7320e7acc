"""No silent fallback: a task whose bash cannot be sandboxed says so in its journal."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.tools.sandbox import SandboxSettings
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import session


@pytest.mark.parametrize(("mode", "ran"), [("auto", True), ("required", False)])
async def test_missing_bubblewrap_is_journaled_on_the_task(
        xdg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, ran: bool) -> None:
    monkeypatch.setenv("CODETAP_BWRAP", str(tmp_path / "no-such-bwrap"))
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    turns = session(tmp_path / "s.jsonl", [
        {"tool_calls": [{"name": "bash", "arguments": {"command": "echo hi > b.txt"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
    ])
    config = dataclasses.replace(Config.load(), default_model="replay",
                                 models={"replay": ModelConfig("replay", "replay",
                                                               path=str(turns))},
                                 sandbox=SandboxSettings(mode=mode))  # type: ignore[arg-type]
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
        assert task.state is TaskState.READY, task.error
        events = await rt.store.events(task.id)
    finally:
        await rt.close()
    warnings = [e.data["message"] for e in events if e.kind == "warning"]
    assert any("sandbox: NOT available" in w for w in warnings), warnings
    [result] = [e.data for e in events if e.kind == "tool_result" and e.data["name"] == "bash"]
    assert result["is_error"] is (not ran)
    assert task.worktree is not None and (task.worktree / "b.txt").exists() is ran
