"""Which files of a workspace the index looks at.

Source files in a supported language, skipping VCS and tool directories, virtualenvs,
symlinks and what ``.gitignore`` excludes. In a git work tree the list comes from
``git ls-files --cached --others --exclude-standard`` (git's own ignore rules); elsewhere a
directory walk applies the ``.gitignore`` files it meets, roughly as git does (last
matching pattern wins, ``!`` re-includes, trailing ``/`` means directories only, a pattern
with an inner ``/`` is anchored to its ``.gitignore``'s directory), matched with wcmatch.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wcmatch import glob

from codetap.index.languages import language_for_path

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", ".venv", ".tox", ".nox", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", ".eggs",
})
_FLAGS = glob.GLOBSTAR | glob.DOTGLOB


@dataclass(frozen=True, slots=True)
class _Rule:
    base: str  # directory of the .gitignore, "" for the root, else ending with "/"
    matcher: glob.WcMatcher[str]
    negated: bool
    dir_only: bool


def _parse_gitignore(text: str, base: str) -> list[_Rule]:
    rules: list[_Rule] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated or line.startswith("\\"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.strip("/") if dir_only else line
        anchored = "/" in line
        line = line.lstrip("/")
        if not line:
            continue
        pattern = line if anchored else f"**/{line}"
        rules.append(_Rule(base, glob.compile(pattern, flags=_FLAGS), negated, dir_only))
    return rules


def _ignored(rules: list[_Rule], rel: str, is_dir: bool) -> bool:
    result = False
    for rule in rules:
        if rule.dir_only and not is_dir:
            continue
        if rule.base and not rel.startswith(rule.base):
            continue
        if rule.matcher.match(rel[len(rule.base):]):
            result = not rule.negated
    return result


def _walk(root: Path) -> list[str]:
    out: list[str] = []
    stack: list[tuple[str, list[_Rule]]] = [("", [])]
    while stack:
        rel_dir, inherited = stack.pop()
        try:
            entries = list(os.scandir(root / rel_dir if rel_dir else root))
        except OSError:
            continue
        rules = inherited
        names = {e.name for e in entries}
        if "pyvenv.cfg" in names and rel_dir:
            continue
        if ".gitignore" in names:
            try:
                text = (root / rel_dir / ".gitignore").read_text("utf-8", "replace")
            except OSError:
                text = ""
            rules = inherited + _parse_gitignore(text, rel_dir)
        for entry in entries:
            rel = f"{rel_dir}{entry.name}"
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in SKIP_DIRS and not _ignored(rules, rel, True):
                    stack.append((rel + "/", rules))
            elif language_for_path(entry.name) and not _ignored(rules, rel, False):
                out.append(rel)
    return out


def _git_files(root: Path) -> list[str] | None:
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, timeout=60, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    out = []
    for raw in proc.stdout.split(b"\0"):
        rel = raw.decode("utf-8", "surrogateescape")
        if not rel or rel.endswith("/") or not language_for_path(rel):
            continue
        if any(part in SKIP_DIRS for part in rel.split("/")[:-1]):
            continue
        out.append(rel)
    return out


def list_source_files(root: Path) -> list[str]:
    """Workspace-relative POSIX paths of the indexable files under ``root``, sorted.

    Files are not opened or stat'ed here (the index checks size and type). Returns ``[]``
    for a missing or unreadable ``root``.
    """
    files = _git_files(root) if (root / ".git").exists() else None
    if files is None:
        files = _walk(root)
    return sorted(files)
