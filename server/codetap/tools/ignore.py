"""Walking a workspace the way git sees it: skip ``.git`` and what ``.gitignore`` ignores.

``.gitignore`` files are honoured at every level (patterns relative to their directory,
deeper files overriding shallower ones, ``!`` negation), parsed with ``pathspec``'s
git-compatible rules. Global excludes and ``.git/info/exclude`` are not read. Symlinked
directories are not followed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

SKIP_DIRS = frozenset({".git"})


class IgnoreRules:
    """The ``.gitignore`` rules in force below ``workspace``, loaded lazily per directory."""

    def __init__(self, workspace: Path, gitignore: bool = True) -> None:
        self.workspace = workspace
        self.gitignore = gitignore
        self._specs: dict[str, GitIgnoreSpec | None] = {}

    def _spec(self, rel_dir: str) -> GitIgnoreSpec | None:
        if rel_dir not in self._specs:
            file = self.workspace / rel_dir / ".gitignore"
            spec = None
            if file.is_file():
                try:
                    lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
                    from pathspec import GitIgnoreSpec  # on first use: start-up cost

                    spec = GitIgnoreSpec.from_lines(lines)
                except (OSError, ValueError):
                    spec = None
            self._specs[rel_dir] = spec
        return self._specs[rel_dir]

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """True if workspace-relative POSIX path ``rel`` is ignored (``.git`` always is)."""
        parts = PurePosixPath(rel).parts
        if any(p in SKIP_DIRS for p in parts):
            return True
        if not self.gitignore:
            return False
        verdict = False
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]) or ".")
            if spec is None:
                continue
            sub = "/".join(parts[depth:]) + ("/" if is_dir else "")
            result = spec.check_file(sub)
            if result.include is not None:
                verdict = result.include
        return verdict


def walk_files(workspace: Path, base: Path) -> Iterator[str]:
    """Yield workspace-relative POSIX paths of files under ``base`` that git would not ignore.

    ``base`` must be inside ``workspace`` (a directory or a single file). Ignored
    directories are pruned, symlinks (to files or directories) are skipped, unreadable
    directories are passed over. Order: depth-first with the entries of each directory
    sorted by name, files and directories mixed (so ``a/b`` comes before ``a.txt``), the
    order ``rg --sort path`` prints. A ``base`` that is itself git-ignored was asked for
    explicitly, so ``.gitignore`` is not applied below it (as ripgrep does for the named
    directory itself).
    """
    if base.is_file():
        yield base.relative_to(workspace).as_posix()
        return
    start = base.relative_to(workspace).as_posix()
    rules = IgnoreRules(workspace)
    if start != "." and rules.ignored(start, is_dir=True):
        rules = IgnoreRules(workspace, gitignore=False)
    yield from _walk(base, "" if start == "." else start + "/", rules)


def _walk(directory: Path, prefix: str, rules: IgnoreRules) -> Iterator[str]:
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            continue
        rel = prefix + entry.name
        if entry.is_dir():
            if not rules.ignored(rel, is_dir=True):
                yield from _walk(Path(entry.path), rel + "/", rules)
        elif entry.is_file() and not rules.ignored(rel, is_dir=False):
            yield rel
