"""Layered instructions (issue 18, item 6; ARCHITECTURE.md "Context").

Read in this order, later layers winning where they disagree, each tagged in the prompt
with its source path:

1. the user's ``$XDG_CONFIG_HOME/codetap/instructions.md`` (default ``~/.config``);
2. for each directory from the repository root down to the task's scope directory (the
   directory of ``scope.uri``; the root alone without a scope): ``AGENTS.md``,
   ``CLAUDE.md``, ``.claude/CLAUDE.md``, ``.claude/rules/*.md``,
   ``.codetap/instructions.md``, ``.codetap/rules/*.md`` (rules files sorted by name);
3. then, root down to the scope directory again, ``AGENTS.local.md`` and
   ``CLAUDE.local.md`` (private, usually untracked: read from the user's checkout, where
   they exist even when the task's snapshot lacks them).

Project instruction files are repository content read as prompt text, not configuration:
they are read whether or not the project is trusted (``codetap trust`` is about settings
that start programs or route credentials). A file that is a symlink resolving outside its
repository is skipped (a repository must not pull, say, ``~/.aws/credentials`` into what
is sent to the model).

Caps: each file at most :data:`FILE_CAP` characters (its head kept), all files together
at most :data:`TOTAL_CAP`; over the total, the *earliest* layers are cut first, because the
later ones win anyway. Every cut is listed in :attr:`Instructions.cuts` and in the prompt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

FILE_CAP = 16_000
TOTAL_CAP = 48_000
PROJECT_FILES = ("AGENTS.md", "CLAUDE.md", ".claude/CLAUDE.md", ".claude/rules/*.md",
                 ".codetap/instructions.md", ".codetap/rules/*.md")
LOCAL_FILES = ("AGENTS.local.md", "CLAUDE.local.md")


@dataclass(frozen=True, slots=True)
class Layer:
    """One instruction file: ``source`` (repository-relative POSIX path, or the absolute
    path of the user's file), its ``text`` (possibly cut) and ``size`` (characters read)."""

    source: str
    text: str
    size: int


@dataclass(frozen=True, slots=True)
class Instructions:
    """The layers found, in precedence order (last wins), and notes on what was cut."""

    layers: tuple[Layer, ...] = ()
    cuts: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sources(self) -> list[str]:
        """The source of each layer, in order."""
        return [layer.source for layer in self.layers]

    def render(self) -> str:
        """The prompt section ("" when there are no layers): a precedence note, each layer
        in an ``<instructions source="...">`` tag, then the cuts."""
        if not self.layers:
            return ""
        intro = ("Instruction files follow, most general first. Where they disagree, a "
                 "later one takes precedence over an earlier one.")
        parts = [intro]
        for layer in self.layers:
            parts.append(f'<instructions source="{layer.source}">\n{layer.text}\n</instructions>')
        if self.cuts:
            parts.append("Cut to fit: " + "; ".join(self.cuts) + ".")
        return "\n\n".join(parts)


def user_instructions_path(env: dict[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/codetap/instructions.md`` (default ``~/.config``)."""
    env = dict(os.environ) if env is None else env
    home = Path(env.get("HOME", str(Path.home())))
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "codetap" / "instructions.md"


def gather(repo: Path, scope_dir: str | None = None, *, local_root: Path | None = None,
           user_file: Path | None = None, file_cap: int = FILE_CAP,
           total_cap: int = TOTAL_CAP) -> Instructions:
    """The instruction layers for a task working in ``repo`` (its worktree).

    ``scope_dir``: the scope's directory relative to the repository root (POSIX; None or
    "" for the root; a path escaping the root counts as the root). ``local_root``: where
    the ``*.local.md`` files are read (default ``repo``). ``user_file``: default
    :func:`user_instructions_path`. Never raises for unreadable files (they are skipped).
    """
    dirs = _dirs(scope_dir)
    found: list[tuple[str, str]] = []
    user = user_file or user_instructions_path()
    text = _read(user, None)
    if text is not None:
        found.append((str(user), text))
    for rel in dirs:
        for pattern in PROJECT_FILES:
            for path in _matches(repo, rel, pattern):
                text = _read(path, repo)
                if text is not None:
                    found.append((path.relative_to(repo).as_posix(), text))
    local = local_root or repo
    for rel in dirs:
        for name in LOCAL_FILES:
            path = local / rel / name
            text = _read(path, local)
            if text is not None:
                found.append((path.relative_to(local).as_posix(), text))
    return _capped(found, file_cap, total_cap)


def _dirs(scope_dir: str | None) -> list[str]:
    parts = [p for p in (scope_dir or "").split("/") if p and p != "."]
    if ".." in parts:
        return [""]
    return ["/".join(parts[:i]) for i in range(len(parts) + 1)]


def _matches(repo: Path, rel: str, pattern: str) -> list[Path]:
    base = repo / rel
    if "*" in pattern:
        folder, _, glob = pattern.rpartition("/")
        return sorted(p for p in (base / folder).glob(glob) if p.is_file())
    return [base / pattern]


def _read(path: Path, root: Path | None) -> str | None:
    """The stripped text of ``path`` (None: absent, unreadable, empty, or a symlink out of
    ``root``)."""
    try:
        if not path.is_file():
            return None
        if root is not None and not path.resolve().is_relative_to(root.resolve()):
            return None
        text = path.read_text(errors="replace").strip()
    except OSError:
        return None
    return text or None


def _capped(found: list[tuple[str, str]], file_cap: int, total_cap: int) -> Instructions:
    cuts: list[str] = []
    sized: list[Layer] = []
    for source, text in found:
        if len(text) > file_cap:
            cuts.append(f"{source}: {len(text)} characters, first {file_cap} kept (per-file cap)")
            sized.append(Layer(source, text[:file_cap] + "\n[... cut]", len(text)))
        else:
            sized.append(Layer(source, text, len(text)))
    kept: list[Layer] = []
    room = total_cap
    for layer in reversed(sized):  # later layers win: they keep their room first
        if room <= 0:
            cuts.append(f"{layer.source}: left out ({layer.size} characters; total cap "
                        f"{total_cap})")
            continue
        if len(layer.text) > room:
            cuts.append(f"{layer.source}: first {room} characters kept (total cap {total_cap})")
            layer = Layer(layer.source, layer.text[:room] + "\n[... cut]", layer.size)
        room -= len(layer.text)
        kept.append(layer)
    return Instructions(tuple(reversed(kept)), tuple(cuts))
