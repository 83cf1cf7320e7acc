"""Ranking symbol names against a search query (substring first, then fuzzy)."""

from __future__ import annotations

from collections.abc import Iterable


def _subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(ch in it for ch in needle)


def match_score(query: str, name: str) -> int | None:
    """How well ``name`` matches ``query`` (lower is better), or None for no match.

    0 exact, 1 exact ignoring case, 2 prefix, 3 substring, 4 fuzzy: the query's
    characters appear in order (all ignoring case except 0).
    """
    if name == query:
        return 0
    q, n = query.lower(), name.lower()
    if n == q:
        return 1
    if n.startswith(q):
        return 2
    if q in n:
        return 3
    if len(q) > 1 and _subsequence(q, n):
        return 4
    return None


def rank_names(query: str, names: Iterable[str]) -> list[str]:
    """Names matching ``query``, best first (score, then length, then alphabetical)."""
    scored = []
    for name in names:
        score = match_score(query, name)
        if score is not None:
            scored.append((score, len(name), name))
    scored.sort()
    return [name for _, _, name in scored]
