"""The repo map: the most important definitions of the workspace within a token budget.

Rendering: one block per file, the file's relative path followed by its selected
definitions as ``<line>: <source line>`` (indentation kept, long lines cut), files in rank
order, definitions in line order. Tokens are estimated as ``len(text) / 4``; the number
of definitions is found by binary search so the map lands within 15% of ``max_tokens``
whenever the workspace has enough definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from codetap.index.index import SymbolIndex
from codetap.index.memory import release_free_memory
from codetap.index.rank import rank_definitions
from codetap.index.tags import Tag

MAX_LINE_CHARS = 100
TOLERANCE = 0.15


def estimate_tokens(text: str) -> int:
    """Token estimate used for budgets: one token per 4 characters, rounded up."""
    return (len(text) + 3) // 4


class _Lines:
    """Source lines of files, read once per render."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, list[str] | None] = {}

    def get(self, rel: str, line: int) -> str | None:
        if rel not in self._files:
            try:
                text = (self.root / rel).read_text(encoding="utf-8", errors="replace")
                self._files[rel] = text.splitlines()
            except OSError:
                self._files[rel] = None
        lines = self._files[rel]
        if lines is None or not 0 < line <= len(lines):
            return None
        return lines[line - 1].rstrip()


def _render(
    groups: Sequence[tuple[str, str]],
    defs: Mapping[str, Mapping[str, tuple[Tag, ...]]],
    lines: _Lines,
) -> str:
    by_file: dict[str, list[Tag]] = {}
    for rel, name in groups:
        by_file.setdefault(rel, []).extend(defs[name][rel])
    blocks = []
    for rel, tags in by_file.items():
        out = [f"{rel}:"]
        for line in sorted({t.line for t in tags}):
            text = lines.get(rel, line)
            if text is None:
                text = " ".join(f"{t.category} {t.name}" for t in tags if t.line == line)
            if len(text) > MAX_LINE_CHARS:
                text = text[:MAX_LINE_CHARS] + "…"
            out.append(f"{line:>5}: {text}")
        blocks.append("\n".join(out))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def render_repo_map(
    index: SymbolIndex,
    max_tokens: int = 1024,
    files: Iterable[str] = (),
    names: Iterable[str] = (),
) -> str:
    """Render the repo map of a built ``index`` in about ``max_tokens`` tokens.

    ``files`` (relative paths) and ``names`` (identifiers) are what the task mentions;
    they personalise the ranking (see :mod:`codetap.index.rank`). Returns ``""`` when
    nothing is indexed. The result is at most ``max_tokens * 1.15`` tokens, and at least
    ``max_tokens * 0.85`` unless the full map is smaller. CPU-bound (tens of ms to a
    second on large workspaces): async callers run it in a thread. Raises ValueError for
    a non-positive budget.
    """
    if max_tokens <= 0:
        raise ValueError("max_tokens must be positive")
    try:
        return _render_map(index, max_tokens, files, names)
    finally:
        release_free_memory()


def _render_map(index: SymbolIndex, max_tokens: int, files: Iterable[str],
                names: Iterable[str]) -> str:
    tables = index.name_tables()
    # A definition costs at least one token: more than max_tokens of them never fit.
    ranked = rank_definitions(tables, files, names, limit=max_tokens)
    tags_of = tables.defs
    lines = _Lines(index.root)

    costs: dict[int, int] = {}

    def cost(n: int) -> int:
        if n not in costs:
            costs[n] = estimate_tokens(_render(ranked[:n], tags_of, lines))
        return costs[n]

    return _render(ranked[:fit_prefix(cost, len(ranked), max_tokens)], tags_of, lines)


def fit_prefix(cost: Callable[[int], int], count: int, max_tokens: int) -> int:
    """How many of ``count`` ranked entries to render: the longest prefix whose ``cost``
    (tokens of the first n rendered; never decreasing in n) is within ``max_tokens``, or
    one more entry's prefix if it overshoots by less than that one undershoots, within
    :data:`TOLERANCE`. At most ``max_tokens`` entries (each costs at least one token)."""
    # Galloping up from a small prefix finds the same boundary as a bisection of
    # [0, cap] while rendering (and reading the files of) far fewer entries.
    cap = min(count, max_tokens)
    lo, hi = 0, min(cap, 32)
    while cost(hi) <= max_tokens:
        if hi == cap:
            return cap
        lo, hi = hi, min(cap, hi * 2)
    while lo < hi - 1:
        mid = (lo + hi) // 2
        if cost(mid) <= max_tokens:
            lo = mid
        else:
            hi = mid
    # lo fits, hi does not: take hi if it overshoots by less than lo undershoots.
    if cost(hi) - max_tokens < max_tokens - cost(lo) and cost(hi) <= max_tokens * (1 + TOLERANCE):
        return hi
    return lo
