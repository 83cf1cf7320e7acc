"""A task's commits as a git bundle, so a node that did not make them can resume from them.

A checkpoint names a commit made in the owner node's worktree; another node (a retry after
the first one died) or the head (to show the diff) does not have it. The owner saves
``git bundle create - HEAD --not --remotes --tags`` (the task's own commits: the rest
comes from the repository URL) with each checkpoint (:class:`codetap.store.lease.
FencedStore`); the next owner fetches it into its own mirror (see gitbundle(1)).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from codetap.tasks.remote import run_git

RESUME_REF = "refs/codetap/resume/task-{id}"


def make_bundle(worktree: Path, commit: str) -> bytes | None:
    """Bundle bytes of the commits of HEAD in ``worktree`` that the remote's branches and
    tags do not have, when HEAD is ``commit`` (the checkpoint just made); None when HEAD is
    elsewhere or nothing is new. Runs git synchronously (a few ms) and reads nothing from
    the store: it runs inside the checkpoint's transaction, before its first statement."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=worktree, capture_output=True,
                          text=True, check=False)
    if head.returncode != 0 or head.stdout.strip() != commit:
        return None
    out = subprocess.run(["git", "bundle", "create", "-q", "-", "HEAD", "--not", "--remotes",
                          "--tags"], cwd=worktree, capture_output=True, check=False)
    return out.stdout if out.returncode == 0 and out.stdout else None


async def import_bundle(mirror: Path, task_id: int, data: bytes) -> str | None:
    """Fetch the bundle's HEAD into ``mirror`` under ``refs/codetap/resume/task-<id>``
    (its objects become available to worktrees of the mirror); git's error text, or None
    when it worked."""
    with tempfile.NamedTemporaryFile(suffix=".bundle", dir=mirror) as f:
        f.write(data)
        f.flush()
        code, _, err = await run_git(mirror, "fetch", "-q", f.name,
                                     f"+HEAD:{RESUME_REF.format(id=task_id)}")
    return None if code == 0 else (err or f"git fetch exit code {code}")
