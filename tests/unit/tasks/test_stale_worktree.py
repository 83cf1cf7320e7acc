"""A worktree registration or branch left in the user's repository by a deleted data dir
(task ids restart at 1) does not fail the next task, and the old branch's commits are
kept under ``<branch>-stale-<hash>``, never reused."""

from __future__ import annotations

import shutil
from pathlib import Path

from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.tasks import git as tgit
from codetap.types import TaskState
from tests.conftest import git, make_repo
from tests.unit.agent.test_task_run import CALC, TEST, fix_session, open_runtime


async def test_a_branch_from_a_deleted_data_dir_is_set_aside(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n"})
    old = tmp_path / "old-data" / "worktrees" / "task-1"
    await tgit.add_worktree(repo, old, "codetap/task-1", await tgit.snapshot(repo))
    (old / "a.txt").write_text("old task's work\n")
    old_tip = await tgit.commit_all(old, "step 1")
    assert old_tip is not None
    shutil.rmtree(tmp_path / "old-data")
    assert (repo / ".git" / "worktrees" / "task-1").exists()

    (repo / "a.txt").write_text("user's new state\n")
    base = await tgit.snapshot(repo)
    new = tmp_path / "new-data" / "worktrees" / "task-1"
    await tgit.add_worktree(repo, new, "codetap/task-1", base)

    assert git(repo, "rev-parse", "codetap/task-1").strip() == base
    assert (new / "a.txt").read_text() == "user's new state\n"
    aside = f"codetap/task-1-stale-{old_tip[:10]}"
    assert git(repo, "rev-parse", aside).strip() == old_tip  # the old work is kept
    listed = git(repo, "worktree", "list", "--porcelain")
    assert str(old) not in listed and str(new) in listed


async def test_a_branch_still_checked_out_elsewhere_is_set_aside(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n"})
    elsewhere = tmp_path / "moved-data" / "task-1"  # an old data dir that still exists
    await tgit.add_worktree(repo, elsewhere, "codetap/task-1", await tgit.snapshot(repo))
    old_tip = git(repo, "rev-parse", "codetap/task-1").strip()
    (repo / "b.txt").write_text("new\n")
    base = await tgit.snapshot(repo)
    await tgit.add_worktree(repo, tmp_path / "data" / "task-1", "codetap/task-1", base)
    assert git(repo, "rev-parse", "codetap/task-1").strip() == base
    assert git(repo, "rev-parse", f"codetap/task-1-stale-{old_tip[:10]}").strip() == old_tip
    assert (elsewhere / "a.txt").exists()  # a worktree that exists is left alone


async def test_the_task_s_own_branch_is_reused_when_its_worktree_is_remade(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n"})
    path = tmp_path / "data" / "task-1"
    await tgit.add_worktree(repo, path, "codetap/task-1", await tgit.snapshot(repo))
    (path / "a.txt").write_text("step 1\n")
    checkpoint = await tgit.commit_all(path, "step 1")
    assert checkpoint is not None
    shutil.rmtree(path)  # a crash during the worktree's re-creation, say
    await tgit.add_worktree(repo, path, "codetap/task-1", checkpoint)
    assert git(repo, "rev-parse", "codetap/task-1").strip() == checkpoint
    assert "stale" not in git(repo, "branch", "--list")
    (path / "a.txt").write_text("step 2, never checkpointed\n")
    unrecorded = await tgit.commit_all(path, "step 2")
    assert unrecorded is not None
    shutil.rmtree(path)
    await tgit.add_worktree(repo, path, "codetap/task-1", checkpoint)
    assert git(repo, "rev-parse", "codetap/task-1").strip() == checkpoint
    assert git(repo, "rev-parse", f"codetap/task-1-stale-{unrecorded[:10]}").strip() == \
        unrecorded


async def test_deleting_the_data_dir_does_not_fail_the_next_task(xdg: Path,
                                                                 tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TEST})
    model = ModelConfig(name="rec", provider="replay", path=str(fix_session(tmp_path / "s")))

    async def one_task() -> tuple[int, TaskState, str | None]:
        runtime: Runtime = await open_runtime(xdg, model)
        try:
            task = await runtime.start_task("make add add", repo)
            task = await runtime.wait(task.id)
            return task.id, task.state, task.error
        finally:
            await runtime.close()

    first = await one_task()
    assert first[:2] == (1, TaskState.READY), first
    shutil.rmtree(xdg / "data" / "codetap")
    second = await one_task()
    assert second[:2] == (1, TaskState.READY), second
    branches = git(repo, "branch", "--list", "codetap/*")
    assert "codetap/task-1-stale-" in branches
