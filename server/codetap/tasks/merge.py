"""Merging a sub-task's branch into its parent's worktree (ARCHITECTURE.md "Teams and
scheduler": sub-tasks in parallel).

A git three-way merge with the git CLI (``git merge --no-ff``: the merge base is the
commit the child was branched from). A conflicted merge is committed as it is, conflict
markers in the files, so the state the integrator role starts from is a commit like any
checkpoint and survives a crash (a resumed task resets its worktree to that commit). The
user's own tree is never touched: every command runs in the parent's worktree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codetap.errors import WorkspaceError
from codetap.tasks import git

MARKERS = ("<<<<<<< ", ">>>>>>> ")


@dataclass(frozen=True, slots=True)
class Merged:
    """A merge's result: the worktree's HEAD after it (a merge commit, or ``commit``
    itself when HEAD was its ancestor), and the paths left with conflict markers (empty:
    a clean merge)."""

    head: str
    conflicts: tuple[str, ...]


async def merge(worktree: Path, commit: str, message: str) -> Merged:
    """Merge ``commit`` into ``worktree``'s HEAD and commit the result (with ``message``;
    a conflicted result is committed with its markers, ``message`` + " (conflicts)").
    WorkspaceError if git fails for another reason than conflicts."""
    if await is_ancestor(worktree, commit, "HEAD"):
        return Merged(await git.head(worktree), ())  # merged before (a resumed task)
    await git.git(worktree, "-c", "maintenance.auto=false", "merge", "--no-ff", "--no-edit",
                  "--no-verify", "-m", message, commit, check=False)
    unmerged = await git.git(worktree, "diff", "--name-only", "--diff-filter=U", "-z")
    conflicts = tuple(sorted(p for p in unmerged.split("\0") if p))
    if not conflicts:
        if await _merging(worktree):
            raise WorkspaceError(f"git merge of {commit[:12]} stopped without conflicts")
        return Merged(await git.head(worktree), ())
    await git.git(worktree, "add", "-A")
    await git.git(worktree, "-c", "maintenance.auto=false", "commit", "-q", "--no-verify",
                  "-m", f"{message} (conflicts)")
    return Merged(await git.head(worktree), conflicts)


async def is_ancestor(worktree: Path, commit: str, of: str) -> bool:
    """Whether ``commit`` is ``of`` or one of its ancestors."""
    tip = (await git.git(worktree, "merge-base", commit, of, check=False)).strip()
    return tip == (await git.git(worktree, "rev-parse", commit)).strip()


def marked(worktree: Path, paths: tuple[str, ...] | list[str]) -> list[str]:
    """The ``paths`` that still contain conflict markers (lines starting with
    ``<<<<<<< `` or ``>>>>>>> ``)."""
    left = []
    for rel in paths:
        try:
            text = (worktree / rel).read_text(errors="replace")
        except OSError:
            continue
        if any(line.startswith(MARKERS) for line in text.splitlines()):
            left.append(rel)
    return left


async def _merging(worktree: Path) -> bool:
    out = await git.git(worktree, "rev-parse", "-q", "--verify", "MERGE_HEAD", check=False)
    return bool(out.strip())
