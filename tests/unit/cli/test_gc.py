"""``codetap gc`` keeps (and lists) ready tasks nobody reviewed unless ``--yes`` is given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from codetap.daemon.control import stop
from codetap.daemon.paths import DaemonPaths
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.types import TaskState
from tests.conftest import git, make_repo
from tests.unit.agent.test_task_run import CALC, TEST, fix_session, open_runtime


def codetap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codetap", *args], capture_output=True,
                          text=True, env=dict(os.environ), timeout=120, check=False)


async def test_gc_warns_before_pruning_unreviewed_ready_tasks(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TEST})
    model = ModelConfig(name="rec", provider="replay", path=str(fix_session(tmp_path / "s")))
    runtime: Runtime = await open_runtime(xdg, model)
    try:
        ids = []
        for intent in ("unreviewed [bold]task[/]", "reviewed task", "discarded task"):
            task = await runtime.start_task(intent, repo)
            assert (await runtime.wait(task.id)).state is TaskState.READY
            ids.append(task.id)
        unreviewed, reviewed, discarded = ids
        await runtime.set_suggestion_status(
            reviewed, [("h1", "calc.py", "rejected", {"uri": "file:///x"})])
        await runtime.discard(discarded)
        worktree = (await runtime.get_task(unreviewed)).worktree
    finally:
        await runtime.close()
    assert worktree is not None and worktree.is_dir()
    try:
        check_gc(repo, worktree, unreviewed, reviewed, discarded)
    finally:
        stop(DaemonPaths.from_env())


def check_gc(repo: Path, worktree: Path, unreviewed: int, reviewed: int, discarded: int) -> None:
    """`codetap gc` through the daemon it starts (the one owner of tasks)."""
    dry = codetap("gc", "--days", "0", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would prune 2 task(s): {reviewed}, {discarded}" in dry.stdout
    assert f"  {unreviewed}  unreviewed [bold]task[/]" in dry.stdout
    assert "would keep 1 ready task(s)" in dry.stdout and "codetap gc --days 0 --yes" in dry.stdout

    kept = codetap("gc", "--days", "0")
    assert f"pruned 2 task(s): {reviewed}, {discarded}" in kept.stdout
    assert "kept 1 ready task(s) nobody reviewed" in kept.stdout
    assert worktree.is_dir() and f"codetap/task-{unreviewed}" in git(repo, "branch", "--list")
    assert f"codetap/task-{reviewed}\n" not in git(repo, "branch", "--list") + "\n"

    done = codetap("gc", "--days", "0", "--include-unreviewed")
    assert f"pruned 1 task(s): {unreviewed}" in done.stdout and "kept" not in done.stdout
    assert not worktree.exists()
    assert "codetap/task-" not in git(repo, "branch", "--list")
