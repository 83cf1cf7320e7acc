"""A task's repo map from the ranking stored for a nearby commit (issue 23 item 2).

:func:`task_repo_map` is what the runtime asks for at a task's first model turn (new or
resumed). In a git worktree whose HEAD, or one of its last :data:`HISTORY` first-parent
ancestors, has a stored model (:mod:`codetap.index.mapstore`), the map is that commit's
ranking with the worktree's differences applied, and nothing else is read: the files that
differ from the commit (``git diff --name-only`` plus untracked files) are parsed, their
definitions replace theirs in the ranking (kept at their rank; definitions gone from
them are dropped), the definitions of the names the task mentions come first, and only
the source lines shown are read. The ranking is thus the modelled commit's, not
recomputed: a file's new definitions are shown only when mentioned. Otherwise (no git, no
model, or more than :data:`MAX_CHANGED` changed files) the whole index is built and
ranked (:func:`codetap.index.render_repo_map`), and when the worktree is clean the
model of its tree is stored for the next task.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pygit2

from codetap.index.index import MAX_FILE_BYTES, SymbolIndex
from codetap.index.languages import language_for_path
from codetap.index.mapstore import Entry, MapStore, model_from_tables
from codetap.index.repomap import estimate_tokens, fit_prefix, render_repo_map
from codetap.index.walk import SKIP_DIRS
from codetap.index.worker import file_rows

HISTORY = 64
MAX_CHANGED = 256
MAX_LINE_CHARS = 100


def task_repo_map(root: Path, cache_dir: Path, names: Iterable[str] = (),
                  max_tokens: int = 1024) -> str:
    """The repo map of ``root`` in about ``max_tokens`` tokens, personalised to ``names``
    (identifiers the task mentions); ``""`` when nothing is indexed. Fast (tens of ms)
    when a model of a nearby commit is stored in ``cache_dir``; else a full index build
    and ranking (seconds on 10^4 files). Raises ValueError for a non-positive budget,
    ``sqlite3.Error`` for an unusable cache."""
    if max_tokens <= 0:
        raise ValueError("max_tokens must be positive")
    root = Path(os.path.realpath(root))
    names = [n for n in names if n]
    store = MapStore(cache_dir)
    quick = quick_repo_map(root, store, names, max_tokens)
    if quick is not None:
        return quick
    index = SymbolIndex(root, cache_dir, watch=False)
    index.build()
    text = render_repo_map(index, max_tokens=max_tokens, names=names)
    history = _history(root)
    if history and _changed(root, history[0][0]) == []:
        store.store(history[0][1], model_from_tables(index.name_tables()))
    return text


def quick_repo_map(root: Path, store: MapStore, names: Sequence[str],
                   max_tokens: int) -> str | None:
    """The map from a stored model of HEAD or a recent first-parent ancestor, or None
    when there is none (or git fails, or too much changed)."""
    history = _history(root)
    found = store.first_stored([tree for _, tree in history])
    if found is None:
        return None
    tree, ranked = found
    commit = next(c for c, t in history if t == tree)
    changed = _changed(root, commit)
    if changed is None or len(changed) > MAX_CHANGED:
        return None
    new_defs = {rel: _definitions(root, rel) for rel in changed}
    mentioned = set(names)
    extra = store.defs_of(tree, mentioned) if mentioned else {}
    entries = _apply(ranked, new_defs, mentioned, extra)
    return render_entries(entries, root, max_tokens)


def _apply(ranked: list[Entry], new_defs: dict[str, dict[str, tuple[int, ...]]],
           mentioned: set[str], extra: dict[str, list[tuple[str, tuple[int, ...]]]]
           ) -> list[Entry]:
    kept: list[Entry] = []
    for rel, name, lines in ranked:
        if rel in new_defs:
            now = new_defs[rel].get(name)
            if now is None:
                continue
            lines = now
        kept.append((rel, name, lines))
    if not mentioned:
        return kept
    first = [e for e in kept if e[1] in mentioned]
    seen = {(rel, name) for rel, name, _ in first}
    more: list[Entry] = []
    for name, places in extra.items():
        more.extend((rel, name, lines) for rel, lines in places
                    if rel not in new_defs and (rel, name) not in seen)
    for rel, defs in new_defs.items():
        more.extend((rel, name, defs[name]) for name in mentioned
                    if name in defs and (rel, name) not in seen)
    more.sort()
    return first + more + [e for e in kept if e[1] not in mentioned]


def _definitions(root: Path, rel: str) -> dict[str, tuple[int, ...]]:
    """name -> definition lines of one changed file ({} if gone or not indexable)."""
    if language_for_path(rel) is None or any(p in SKIP_DIRS for p in rel.split("/")[:-1]):
        return {}
    try:
        st = os.lstat(root / rel)
    except OSError:
        return {}
    if st.st_size > MAX_FILE_BYTES:
        return {}
    rows = file_rows(root, rel) or []
    out: dict[str, set[int]] = {}
    for name, kind, _category, line, _column, _end in rows:
        if kind == "def":
            out.setdefault(name, set()).add(line)
    return {name: tuple(sorted(lines)) for name, lines in out.items()}


def render_entries(entries: Sequence[Entry], root: Path, max_tokens: int) -> str:
    """The map text of the prefix of ``entries`` that
    :func:`codetap.index.repomap.fit_prefix` picks for ``max_tokens``; same layout as
    :func:`codetap.index.render_repo_map`."""
    texts: dict[str, list[str] | None] = {}
    costs: dict[int, int] = {}

    def cost(n: int) -> int:
        if n not in costs:
            costs[n] = estimate_tokens(_render(entries[:n], root, texts))
        return costs[n]

    return _render(entries[:fit_prefix(cost, len(entries), max_tokens)], root, texts)


def _render(entries: Sequence[Entry], root: Path, texts: dict[str, list[str] | None]) -> str:
    by_file: dict[str, dict[int, str]] = {}
    for rel, name, lines in entries:
        per = by_file.setdefault(rel, {})
        for line in lines:
            per.setdefault(line, name)
    blocks = []
    for rel, per in by_file.items():
        if rel not in texts:
            try:
                texts[rel] = (root / rel).read_text("utf-8", "replace").splitlines()
            except OSError:
                texts[rel] = None
        source = texts[rel]
        out = [f"{rel}:"]
        for line in sorted(per):
            text = source[line - 1].rstrip() if source and 0 < line <= len(source) else per[line]
            if len(text) > MAX_LINE_CHARS:
                text = text[:MAX_LINE_CHARS] + "…"
            out.append(f"{line:>5}: {text}")
        blocks.append("\n".join(out))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _history(root: Path) -> list[tuple[str, str]]:
    """(commit, tree) of HEAD and its first-parent ancestors (at most :data:`HISTORY`),
    newest first; [] if ``root`` is not the top of a git worktree or has no commit."""
    if not (root / ".git").exists():
        return []
    try:
        repo = pygit2.Repository(str(root))
        walker = repo.walk(repo.head.target, pygit2.enums.SortMode.NONE)
        walker.simplify_first_parent()
        out: list[tuple[str, str]] = []
        for commit in walker:
            out.append((str(commit.id), str(commit.tree_id)))
            if len(out) >= HISTORY:
                break
    except (pygit2.GitError, KeyError, ValueError, OSError):
        return []
    return out


def _changed(root: Path, commit: str) -> list[str] | None:
    """Indexable paths whose worktree content may differ from ``commit``, sorted: what
    ``git status`` reports (staged, unstaged, untracked; not ignored) plus what differs
    between ``commit`` and HEAD. None if git fails.

    libgit2's status (pygit2) rather than git's: it compares stat data to the
    nanosecond, so a freshly checked-out worktree is not re-read and hashed (git re-reads
    the "racily clean" files written in the index's second: ~0.3 s at 10^4 files).
    """
    try:
        repo = pygit2.Repository(str(root))
        status = repo.status(untracked_files="all", ignored=False)
        paths = {path for path, flags in status.items()
                 if flags not in (pygit2.enums.FileStatus.CURRENT,
                                  pygit2.enums.FileStatus.IGNORED)}
        head = repo.head.peel(pygit2.Commit)
        if str(head.id) != commit:
            base = repo.get(commit)
            if not isinstance(base, pygit2.Commit):
                return None
            for delta in repo.diff(base.tree, head.tree).deltas:
                paths.add(delta.old_file.path)
                paths.add(delta.new_file.path)
    except (pygit2.GitError, KeyError, ValueError, OSError):
        return None
    return sorted(p for p in paths if language_for_path(p) is not None
                  and not any(part in SKIP_DIRS for part in p.split("/")[:-1]))
