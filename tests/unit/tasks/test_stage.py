"""The checkpoint commit stages only the paths a step reported (real git, real files)."""

from __future__ import annotations

import os
from pathlib import Path

from codetap.tasks import git as tgit
from codetap.tasks.stage import Checkpointer, changed_paths
from tests.conftest import git, make_repo

MANY = {f"pkg{i // 50}/mod{i}.py": f"x = {i}\n" for i in range(400)}


async def worktree(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = make_repo(tmp_path / "r", files)
    base = await tgit.snapshot(repo)
    wt = tmp_path / "wt" / "task-1"
    await tgit.add_worktree(repo, wt, "codetap/task-1", base)
    return wt


def changed_in(wt: Path, commit: str) -> list[str]:
    return git(wt, "diff-tree", "-r", "--no-commit-id", "--name-only", f"{commit}^",
               commit).split()


async def test_reported_paths_only_are_committed(tmp_path: Path) -> None:
    """Two files differ from HEAD but the step reported one: only that one is in the
    commit. ``git add -A`` (the old ``index.add_all()``) would have committed both, so
    this fails if the commit stages the whole worktree."""
    wt = await worktree(tmp_path, {**MANY, "a.py": "a = 1\n", ".gitignore": "*.log\n"})
    (wt / "a.py").write_text("a = 2\n")
    (wt / "pkg3" / "mod150.py").write_text("not reported\n")
    (wt / "new" / "deep").mkdir(parents=True)
    (wt / "new" / "deep" / "n.py").write_text("n = 1\n")
    (wt / "pkg0" / "mod1.py").unlink()
    (wt / "run.log").write_text("ignored\n")
    cp = Checkpointer(wt)

    tip = await cp.commit("step 1", ["a.py", "new/deep/n.py", "pkg0/mod1.py", "run.log"])

    assert changed_in(wt, tip) == ["a.py", "new/deep/n.py", "pkg0/mod1.py"]
    assert git(wt, "show", f"{tip}:a.py") == "a = 2\n"
    assert git(wt, "rev-parse", "HEAD").strip() == tip
    assert cp.index_behind == {"a.py", "new/deep/n.py", "pkg0/mod1.py"}
    # The index is brought up to HEAD before a command runs: only the unreported change
    # is left as a difference.
    await cp.sync_index()
    assert git(wt, "status", "--porcelain").splitlines() == [" M pkg3/mod150.py"]
    assert cp.index_behind == set()


async def test_unchanged_tree_keeps_head(tmp_path: Path) -> None:
    wt = await worktree(tmp_path, {"a.py": "a = 1\n"})
    head = git(wt, "rev-parse", "HEAD").strip()
    assert await Checkpointer(wt).commit("nothing", ["a.py"]) == head
    assert await Checkpointer(wt).commit("nothing", None) == head


async def test_scan_is_git_add_all(tmp_path: Path) -> None:
    """With unknown effects (``bash``) the commit equals ``git add -A`` + ``write-tree``
    of the same worktree: modes, symlinks, deletions, untracked and ignored files."""
    wt = await worktree(tmp_path, {**MANY, "a.py": "a = 1\n", ".gitignore": "*.log\nbuild/\n",
                                   "tool.sh": "echo\n", "gone/x.py": "x\n"})
    (wt / "a.py").write_text("a = 2\n")
    os.chmod(wt / "tool.sh", 0o755)
    (wt / "link").symlink_to("a.py")
    (wt / "gone" / "x.py").unlink()
    (wt / "build").mkdir()
    (wt / "build" / "out.py").write_text("ignored\n")
    (wt / "u" / "v").mkdir(parents=True)
    (wt / "u" / "v" / "w.py").write_text("w\n")
    assert sorted(await changed_paths(wt)) == ["a.py", "gone/x.py", "link", "tool.sh",
                                               "u/v/w.py"]
    index = tmp_path / "expected-index"
    env = {"GIT_INDEX_FILE": str(index)}
    await tgit.git(wt, "read-tree", "HEAD", env=env)
    await tgit.git(wt, "add", "-A", env=env)
    expected = (await tgit.git(wt, "write-tree", env=env)).strip()

    tip = await Checkpointer(wt).commit("step 1", None)

    assert git(wt, "rev-parse", f"{tip}^{{tree}}").strip() == expected
    assert git(wt, "status", "--porcelain") == ""


async def test_edit_then_scan_leaves_a_clean_status(tmp_path: Path) -> None:
    """A path-staged step leaves the index behind; the next scan lists those paths again
    and brings the index up to HEAD."""
    wt = await worktree(tmp_path, {"a.py": "a = 1\n", "b.py": "b = 1\n"})
    cp = Checkpointer(wt)
    (wt / "a.py").write_text("a = 2\n")
    first = await cp.commit("step 1", ["a.py"])
    (wt / "b.py").write_text("b = 2\n")
    second = await cp.commit("step 2", None)
    assert changed_in(wt, first) == ["a.py"] and changed_in(wt, second) == ["b.py"]
    assert git(wt, "status", "--porcelain") == ""


async def test_attributes_still_convert_what_is_staged(tmp_path: Path) -> None:
    """Raw bytes are staged only where no attributes file or autocrlf could convert them;
    with ``text`` set, a CRLF file is stored with LF line endings, as ``git add`` does."""
    wt = await worktree(tmp_path, {"d/.gitattributes": "*.txt text\n", "d/a.txt": "a\n",
                                   "b.txt": "b\n"})
    (wt / "d" / "a.txt").write_bytes(b"one\r\ntwo\r\n")
    (wt / "b.txt").write_bytes(b"one\r\ntwo\r\n")
    tip = await Checkpointer(wt).commit("step 1", ["d/a.txt", "b.txt"])
    # (tgit.git decodes without newline translation, unlike the text-mode helper)
    assert await tgit.git(wt, "cat-file", "blob", f"{tip}:d/a.txt") == "one\ntwo\n"
    assert await tgit.git(wt, "cat-file", "blob", f"{tip}:b.txt") == "one\r\ntwo\r\n"


async def test_files_inside_a_submodule_are_not_staged(tmp_path: Path) -> None:
    """A gitlink entry stays a gitlink: a file written under it (as ``git add -A`` would
    refuse to) is skipped, not turned into a tree replacing the submodule."""
    repo = make_repo(tmp_path / "r", {"a.py": "a = 1\n"})
    fake = "1" * 40
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{fake},vendor/lib")
    git(repo, "commit", "-q", "-m", "submodule")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "HEAD")
    (wt / "vendor" / "lib").mkdir(parents=True, exist_ok=True)
    (wt / "vendor" / "lib" / "x.py").write_text("x\n")
    (wt / "a.py").write_text("a = 2\n")
    tip = await Checkpointer(wt).commit("step 1", ["vendor/lib/x.py", "a.py"])
    assert changed_in(wt, tip) == ["a.py"]
    assert git(wt, "ls-tree", tip, "vendor/lib").split()[:3] == ["160000", "commit", fake]
