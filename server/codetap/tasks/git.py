"""Git operations for task workspaces, run as ``git`` subprocesses (asyncio), except the
per-step checkpoint commit (:func:`commit_all`), which runs in-process with pygit2.

Isolation contract (ARCHITECTURE.md "Tasks"): a task's snapshot includes the user's
uncommitted and untracked (not ignored) changes, and taking it never touches the user's
working tree, index or stash list: it is built in a throwaway index file
(``GIT_INDEX_FILE``) and written with ``commit-tree``. Hooks and signing are disabled for
codetap's own commits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codetap.errors import WorkspaceError
from codetap.fsmodes import DIR_MODE, private_dir, restrict

_IDENTITY = {
    "GIT_AUTHOR_NAME": "codetap", "GIT_AUTHOR_EMAIL": "codetap@localhost",
    "GIT_COMMITTER_NAME": "codetap", "GIT_COMMITTER_EMAIL": "codetap@localhost",
}
_NO_HOOKS = ["-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false"]
_FILTER_DRIVER = re.compile(r"filter\..+\.(clean|process)", re.IGNORECASE)
log = logging.getLogger(__name__)


async def git(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, input: bytes | None = None,
    check: bool = True,
) -> str:
    """Run ``git args`` in ``cwd`` and return stdout (text). WorkspaceError on failure."""
    full_env = {**os.environ, **_IDENTITY, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    proc = await asyncio.create_subprocess_exec(
        "git", *_NO_HOOKS, *args, cwd=cwd, env=full_env,
        stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(input)
    if check and proc.returncode != 0:
        raise WorkspaceError(f"git {' '.join(args)} failed in {cwd}: {err.decode(errors='replace').strip()}")
    return out.decode(errors="surrogateescape")


async def repo_root(path: Path) -> Path:
    """The top of the git working tree containing ``path``.

    Raises WorkspaceError("... is not a git repository ...") for other directories.
    """
    if not path.is_dir():
        raise WorkspaceError(f"{path} is not a directory")
    proc = await asyncio.create_subprocess_exec(
        "git", "rev-parse", "--show-toplevel", cwd=path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise WorkspaceError(
            f"{path} is not a git repository; codetap runs tasks in git worktrees. "
            f"Run `git init && git add -A && git commit -m init` there first."
        )
    return Path(out.decode().strip()).resolve()


async def snapshot(repo: Path, overlay: Mapping[str, str] | None = None) -> str:
    """Commit id of the repository as it is now, uncommitted changes included.

    ``overlay`` maps repo-relative POSIX paths to texts that replace the files' contents
    (the editor's unsaved buffers). The commit's parent is HEAD (none for an unborn HEAD).
    """
    head = (await git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False)).strip()
    git_dir = Path((await git(repo, "rev-parse", "--absolute-git-dir")).strip())
    with tempfile.TemporaryDirectory(prefix="codetap-index-") as tmp:
        index = Path(tmp) / "index"
        if (git_dir / "index").exists():
            # A copy keeps the stat cache, so only changed files get hashed.
            shutil.copyfile(git_dir / "index", index)
        env = {"GIT_INDEX_FILE": str(index)}
        await git(repo, "add", "-A", env=env)
        for rel, text in (overlay or {}).items():
            sha = (await git(repo, "hash-object", "-w", "--stdin", input=text.encode())).strip()
            await git(repo, "update-index", "--add", "--cacheinfo", f"100644,{sha},{rel}", env=env)
        tree = (await git(repo, "write-tree", env=env)).strip()
    parents = ["-p", head] if head else []
    return (await git(repo, "commit-tree", tree, *parents, "-m", "codetap snapshot")).strip()


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file changed between two commits; ``None`` text means the file is absent.

    ``special``: the change is not one of text (a symlink, submodule, binary file...), with
    a one-line description such as ``"symlink -> /etc/passwd"``; both texts are then
    ``None`` and the change is reported, never delivered as a text edit.
    """

    path: str
    base_text: str | None
    tip_text: str | None
    special: str | None = None


async def add_worktree(repo: Path, path: Path, branch: str, commit: str) -> None:
    """Create worktree ``path`` on branch ``branch`` at ``commit``.

    Leftovers of a deleted or moved data dir (whose task ids restart at 1) must not fail
    the task: registrations of worktrees whose directory is gone are pruned first
    (``git worktree prune``), and an existing ``branch`` whose tip is not ``commit`` is
    renamed aside to ``<branch>-stale-<10 hex of its tip>`` (:func:`set_aside_stale_branch`)
    so its commits are kept and never reused. The task keeps the name
    ``codetap/task-<id>`` that everything else derives from its id. Ancestry cannot tell an
    old data dir's branch from the task's own: snapshots of the same tree and HEAD in the
    same second are the same commit, so the old task's base may equal the new one. A
    task's own branch re-made after a crash is reused when its tip is the checkpoint;
    a commit past the checkpoint (a step not recorded) is kept under the stale name.

    ``path`` and its parent (the worktrees directory) are 0700 whatever the umask
    (ARCHITECTURE.md "Trust and safety"); the parent is tightened if it already existed.
    WorkspaceError if git fails; OSError if the parent cannot be created.
    """
    private_dir(path.parent)
    async with _worktrees_lock(repo):
        await git(repo, "worktree", "prune", check=False)
        await set_aside_stale_branch(repo, branch, commit)
        await git(repo, "worktree", "add", "-q", "-B", branch, str(path), commit)
    restrict(path, DIR_MODE)


_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = \
    weakref.WeakKeyDictionary()


def _worktrees_lock(repo: Path) -> asyncio.Lock:
    """One repository's worktrees are added and removed one at a time: a ``git worktree
    prune`` while another task's (a sibling sub-task's) ``worktree add`` is half done
    removes that registration, and the add fails."""
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(str(repo), asyncio.Lock())


async def set_aside_stale_branch(repo: Path, branch: str, commit: str) -> str | None:
    """Rename ``branch`` to ``<branch>-stale-<short tip>`` unless it is absent or its tip
    is ``commit``; the new name, or None if nothing was renamed. Renaming works even while
    an old worktree that still exists has it checked out (git updates that worktree's
    HEAD). WorkspaceError if the rename fails."""
    tip = (await git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}^{{commit}}",
                     check=False)).strip()
    if not tip or tip == commit:
        return None
    aside = f"{branch}-stale-{tip[:10]}"
    await git(repo, "branch", "-M", branch, aside)
    log.warning("%s: branch %s was left by another codetap data dir; renamed to %s",
                repo, branch, aside)
    return aside


async def remove_worktree(repo: Path, path: Path, branch: str | None = None) -> None:
    """Remove a worktree (and its branch if given); missing ones are ignored."""
    async with _worktrees_lock(repo):
        await git(repo, "worktree", "remove", "--force", str(path), check=False)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        await git(repo, "worktree", "prune", check=False)
    if branch:
        await git(repo, "branch", "-D", branch, check=False)


async def commit_all(worktree: Path, message: str) -> str | None:
    """Commit every change in ``worktree`` like ``git add -A && git commit``; the new
    commit id, or None if the tree is unchanged. No hooks, signing or maintenance run.

    Runs in-process with libgit2 (pygit2) on a worker thread: a task commits once per
    step, and three ``git`` processes per step (add, commit, rev-parse) cost about half of
    a step and most of its kernel time, which delays the editor's processes on the same
    CPU. Repositories whose config defines a filter driver (``filter.<name>.clean`` or
    ``.process``, e.g. Git LFS) use the ``git`` CLI instead: libgit2 does not run filter
    drivers. WorkspaceError if the commit fails (e.g. a stale ``index.lock``).
    """
    try:
        return await asyncio.to_thread(_commit_all_in_process, worktree, message)
    except _FilterDriver:
        return await _commit_all_cli(worktree, message)


class _FilterDriver(Exception):
    """The repository configures a filter driver, which only the git CLI runs."""


def _commit_all_in_process(worktree: Path, message: str) -> str | None:
    import pygit2  # here: the editor-facing process never commits (a 57 ms import)

    try:
        repo = pygit2.Repository(str(worktree))
        if any(_FILTER_DRIVER.fullmatch(entry.name) for entry in repo.config):
            raise _FilterDriver
        index = repo.index
        index.add_all()
        index.write()
        tree = index.write_tree()
        parent = repo.head.peel(pygit2.Commit)
        if parent.tree_id == tree:
            return None
        author = pygit2.Signature(_IDENTITY["GIT_AUTHOR_NAME"], _IDENTITY["GIT_AUTHOR_EMAIL"])
        return str(repo.create_commit("HEAD", author, author, message, tree, [parent.id]))
    except pygit2.GitError as exc:
        raise WorkspaceError(f"checkpoint commit failed in {worktree}: {exc}") from exc


async def _commit_all_cli(worktree: Path, message: str) -> str | None:
    await git(worktree, "add", "-A")
    try:
        await git(worktree, "-c", "maintenance.auto=false", "commit", "-q", "--no-verify",
                  "-m", message)
    except WorkspaceError:
        if not await git(worktree, "diff", "--cached", "--name-only", "HEAD"):
            return None
        raise
    return await head(worktree)


async def head(worktree: Path) -> str:
    """Commit id of HEAD in ``worktree``."""
    return (await git(worktree, "rev-parse", "HEAD")).strip()


async def reset_hard(worktree: Path, commit: str) -> None:
    """Make ``worktree`` exactly ``commit`` (tracked files reset, untracked removed).

    Also tightens the worktree directory to 0700 (one made by an older codetap)."""
    restrict(worktree, DIR_MODE)
    await git(worktree, "reset", "-q", "--hard", commit)
    await git(worktree, "clean", "-q", "-fd")


async def diff(repo: Path, base: str, tip: str) -> str:
    """Unified diff base -> tip (``git diff``), binary files noted, renames off."""
    return await git(repo, "diff", "--no-renames", "--no-color", base, tip)


async def file_changes(repo: Path, base: str, tip: str) -> list[FileChange]:
    """Files changed base -> tip with both texts; symlinks, submodules and binary files
    come with ``special`` set instead (see :mod:`codetap.tasks.changes`).

    WorkspaceError if git fails.
    """
    from codetap.tasks.changes import read_changes  # it builds on this module

    return await read_changes(repo, base, tip)
