from __future__ import annotations

from pathlib import Path

import pytest

from codetap.errors import WorkspaceError
from codetap.tasks import git as tgit
from tests.conftest import git, make_repo


async def test_snapshot_includes_uncommitted_and_untracked_without_touching_user_state(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n", "b.txt": "two\n"})
    (repo / "a.txt").write_text("one changed\n")
    (repo / "new.txt").write_text("untracked\n")
    git(repo, "add", "b.txt")
    (repo / "b.txt").write_text("two staged then edited\n")
    (repo / ".gitignore").write_text("ignored.txt\n")
    (repo / "ignored.txt").write_text("secret\n")
    status_before = git(repo, "status", "--porcelain")
    index_before = (repo / ".git" / "index").read_bytes()

    commit = await tgit.snapshot(repo, {"c.txt": "from the editor buffer\n"})

    assert git(repo, "status", "--porcelain") == status_before
    assert (repo / ".git" / "index").read_bytes() == index_before
    assert git(repo, "stash", "list") == ""
    assert git(repo, "show", f"{commit}:a.txt") == "one changed\n"
    assert git(repo, "show", f"{commit}:b.txt") == "two staged then edited\n"
    assert git(repo, "show", f"{commit}:new.txt") == "untracked\n"
    assert git(repo, "show", f"{commit}:c.txt") == "from the editor buffer\n"
    assert "ignored.txt" not in git(repo, "ls-tree", "--name-only", commit)
    assert git(repo, "rev-parse", f"{commit}^").strip() == git(repo, "rev-parse", "HEAD").strip()


async def test_worktree_commit_diff_reset(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n"})
    base = await tgit.snapshot(repo)
    wt = tmp_path / "wt" / "task-1"
    await tgit.add_worktree(repo, wt, "codetap/task-1", base)
    assert await tgit.commit_all(wt, "nothing") is None
    (wt / "a.txt").write_text("uno\n")
    (wt / "d.txt").write_text("new\n")
    tip = await tgit.commit_all(wt, "step 1")
    assert tip and git(repo, "rev-parse", "codetap/task-1").strip() == tip
    d = await tgit.diff(repo, base, tip)
    assert "-one\n+uno\n" in d and "+new\n" in d
    changes = {c.path: (c.base_text, c.tip_text) for c in await tgit.file_changes(repo, base, tip)}
    assert changes == {"a.txt": ("one\n", "uno\n"), "d.txt": (None, "new\n")}
    (wt / "junk").write_text("x")
    await tgit.reset_hard(wt, base)
    assert (wt / "a.txt").read_text() == "one\n" and not (wt / "junk").exists()


async def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a git repository"):
        await tgit.repo_root(tmp_path)


async def test_commit_all_is_add_all_and_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n", "gone.txt": "x\n", ".gitignore": "*.log\n"})
    base = await tgit.snapshot(repo)
    wt = tmp_path / "wt" / "task-1"
    await tgit.add_worktree(repo, wt, "codetap/task-1", base)
    (wt / "gone.txt").unlink()
    (wt / "sub").mkdir()
    (wt / "sub" / "new.txt").write_text("new\n")
    (wt / "build.log").write_text("ignored\n")

    tip = await tgit.commit_all(wt, "step 1")

    assert tip is not None
    assert git(wt, "ls-tree", "-r", "--name-only", tip).split() == [".gitignore", "a.txt",
                                                                     "sub/new.txt"]
    assert git(wt, "log", "-1", "--format=%an <%ae>|%cn|%s|%P", tip).strip() == (
        f"codetap <codetap@localhost>|codetap|step 1|{base}")
    assert git(wt, "status", "--porcelain") == ""
    assert git(wt, "rev-parse", "HEAD").strip() == tip
    assert await tgit.commit_all(wt, "step 2") is None


async def test_commit_all_runs_filter_drivers_through_the_git_cli(tmp_path: Path) -> None:
    # libgit2 does not run filter drivers (Git LFS is one): such repositories must commit
    # what `git add` would, the cleaned content.
    repo = make_repo(tmp_path / "r", {".gitattributes": "*.up filter=upper\n"})
    git(repo, "config", "filter.upper.clean", "tr a-z A-Z")
    git(repo, "config", "filter.upper.smudge", "cat")
    base = await tgit.snapshot(repo)
    wt = tmp_path / "wt" / "task-1"
    await tgit.add_worktree(repo, wt, "codetap/task-1", base)
    (wt / "x.up").write_text("shout\n")

    tip = await tgit.commit_all(wt, "step 1")

    assert tip is not None and git(wt, "show", f"{tip}:x.up") == "SHOUT\n"
    assert await tgit.commit_all(wt, "step 2") is None


async def test_commit_all_reports_a_locked_index(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n"})
    base = await tgit.snapshot(repo)
    wt = tmp_path / "wt" / "task-1"
    await tgit.add_worktree(repo, wt, "codetap/task-1", base)
    index = Path(git(wt, "rev-parse", "--git-path", "index").strip())
    (wt / index.parent / "index.lock").write_text("")
    (wt / "a.txt").write_text("uno\n")

    with pytest.raises(WorkspaceError, match="checkpoint commit failed"):
        await tgit.commit_all(wt, "step 1")
