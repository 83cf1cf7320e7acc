"""What each step's checkpoint commit contains, in a whole task (replay model, real tools,
git, SQLite): an edit step commits the file it reported; a bash step commits what git's
status finds, and the bash command sees a worktree whose git state is committed."""

from __future__ import annotations

from pathlib import Path

from codetap.models.base import ModelConfig
from codetap.types import TaskState
from tests.conftest import git, make_repo
from tests.unit.agent.test_task_run import CALC, open_runtime, session

SIDE = "echo side > side.txt"


async def test_each_step_commits_what_it_changed(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "other.py": "o = 1\n"})
    turns: list[dict[str, object]] = [
        {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
        {"tool_calls": [{"name": "edit", "arguments": {
            "path": "calc.py", "old_string": "a - b", "new_string": "a + b"}}]},
        {"tool_calls": [{"name": "bash", "arguments": {"command":
            "git status --porcelain > /tmp/x-$$ && mv /tmp/x-$$ status.txt && "
            "mkdir -p d && echo hi > d/new.txt && rm other.py"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
    ]
    model = ModelConfig("replay", "replay", path=str(session(tmp_path / "s.jsonl", turns)))
    rt = await open_runtime(xdg, model)
    try:
        task = await rt.start_task("fix add", repo)
        task = await rt.wait(task.id)
        assert task.state is TaskState.READY, task.error
    finally:
        await rt.close()

    log = git(repo, "log", "--format=%s", "--name-status", f"{task.base_commit}..codetap/task-1")
    steps = [block.strip().splitlines() for block in log.split("codetap task 1 ")[1:]]
    assert steps == [
        ["step 3", "", "A\td/new.txt", "D\tother.py", "A\tstatus.txt"],
        ["step 2", "", "M\tcalc.py"],
    ]
    # The bash command ran after the edit step: its `git status` saw a committed worktree
    # (the index was brought up to HEAD first), so it listed nothing.
    assert git(repo, "show", "codetap/task-1:status.txt") == ""
