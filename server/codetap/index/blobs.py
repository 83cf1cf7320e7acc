"""Content keys for the tag cache: the git blob id of each file that is clean in its
worktree, so every worktree of a repository (and every task) shares tags parsed once.

``git ls-files -s -z`` gives the index's blob id per path; ``git diff-files --name-only -z``
names the tracked files whose worktree content may differ from the index (git compares
stat data and re-reads racily clean entries), and those get no key. Untracked files get no
key either: they are indexed by path, as before.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_TIMEOUT_S = 30.0


def clean_blob_ids(root: Path) -> dict[str, str]:
    """Repo-relative POSIX path -> blob id (hex) of every tracked file under ``root`` whose
    worktree content equals the index's. ``{}`` when ``root`` is not the top of a git
    worktree or git fails (the index then works by path alone)."""
    if not (root / ".git").exists():
        return {}
    staged = _git(root, "ls-files", "-s", "-z")
    dirty = _git(root, "diff-files", "--name-only", "-z")
    if staged is None or dirty is None:
        return {}
    changed = set(dirty.split("\0"))
    out: dict[str, str] = {}
    for record in staged.split("\0"):
        meta, _, path = record.partition("\t")
        fields = meta.split()
        # Regular files at stage 0 only (no symlinks, submodules or conflicts).
        if len(fields) == 3 and fields[0] in ("100644", "100755") and fields[2] == "0" \
                and path not in changed:
            out[path] = fields[1]
    return out


def _git(root: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        proc = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True,
                              timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.decode(errors="surrogateescape") if proc.returncode == 0 else None
