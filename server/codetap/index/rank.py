"""Ranking definitions for the repo map: a file graph and personalized PageRank.

In the spirit of aider's repo map: file A links to file B when A references a name that
B defines; the link weight grows with the number of references (square root, so one
chatty file does not dominate) and with how distinctive the name is. PageRank over that
graph, personalised towards the files and identifiers the task mentions, scores files;
each file's score then flows along its links to the (file, name) definitions it uses.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

from codetap.index.languages import language_for_path
from codetap.index.tags import Tag

DAMPING = 0.85
MAX_ITERATIONS = 100
TOLERANCE = 1e-8
COMMON_NAME_FILES = 5  # a name defined in more files than this says little
USELESS_NAME_FILES = 50  # ... and in more than this, nothing
# Languages where calling a method needs an explicit receiver (self.f(), obj.f()), so a
# bare call f() never means a method; Java and C++ have an implicit ``this``.
EXPLICIT_RECEIVER = frozenset({"python", "javascript", "typescript", "tsx", "go", "rust"})


def pagerank(
    edges: Mapping[str, Mapping[str, float]],
    nodes: Iterable[str],
    personalization: Mapping[str, float] | None = None,
    damping: float = DAMPING,
) -> dict[str, float]:
    """Personalized PageRank by power iteration (Page et al. 1998; Haveliwala 2002).

    ``edges[src][dst]`` is a non-negative weight; ``personalization`` (any positive
    weights, normalised here; uniform when empty or None) is both the teleport
    distribution and where the rank of dangling nodes goes. Returns node -> score,
    scores summing to 1 (empty dict for no nodes).
    """
    node_list = sorted(set(nodes) | set(edges) | {d for out in edges.values() for d in out})
    if not node_list:
        return {}
    where = {n: i for i, n in enumerate(node_list)}
    size = len(node_list)
    weights = {where[n]: w for n, w in (personalization or {}).items() if w > 0 and n in where}
    total = sum(weights.values())
    teleport = [0.0] * size
    for i in range(size):
        teleport[i] = weights.get(i, 0.0) / total if total > 0 else 1.0 / size
    # Row-normalised adjacency as parallel lists: (src, [(dst, share of src's rank)]).
    links: list[tuple[int, list[tuple[int, float]]]] = []
    for src, dsts in edges.items():
        norm = sum(w for w in dsts.values() if w > 0)
        if norm > 0:
            links.append((where[src], [(where[d], w / norm) for d, w in dsts.items() if w > 0]))
    has_out = [False] * size
    for i, _ in links:
        has_out[i] = True
    rank = [1.0 / size] * size
    for _ in range(MAX_ITERATIONS):
        dangling = sum(r for r, linked in zip(rank, has_out, strict=True) if not linked)
        base = 1.0 - damping + damping * dangling
        new = [base * t for t in teleport]
        for src_i, out_links in links:
            share = damping * rank[src_i]
            for dst, w in out_links:
                new[dst] += share * w
        delta = sum(abs(a - b) for a, b in zip(new, rank, strict=True))
        rank = new
        if delta < TOLERANCE * size:
            break
    return dict(zip(node_list, rank, strict=True))


def _name_weight(name: str, n_defining: int, mentioned: bool) -> float:
    # Long compound identifiers (snake_case, camelCase) rarely collide by accident; short
    # plain words (type, get, run) are often builtins or unrelated methods.
    weight = 1.0
    if len(name) >= 8 and ("_" in name.strip("_") or name.lower() != name != name.upper()):
        weight *= 10.0
    if mentioned:
        weight *= 10.0
    if name.startswith("_"):
        weight *= 0.1
    if n_defining > COMMON_NAME_FILES:
        weight *= 0.1
    return weight


def _reference_counts(
    rel: str, tags: tuple[Tag, ...], defines: Mapping[str, set[str]]
) -> Counter[tuple[str, bool]]:
    """(name, bare) -> count of references to defined names; ``bare`` marks a call without
    receiver in a language where methods need one (so it cannot mean a method)."""
    explicit = language_for_path(rel) in EXPLICIT_RECEIVER
    return Counter(
        (t.name, explicit and t.category == "call")
        for t in tags if t.kind == "ref" and t.name in defines
    )


def rank_definitions(
    files: Mapping[str, tuple[Tag, ...]],
    personalize_files: Iterable[str] = (),
    personalize_names: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """(rel_path, name) definitions ordered most important first.

    Every defined (file, name) appears once. Definitions of ``personalize_names`` come
    first, then by the rank flowing to them, then by their file's rank.
    """
    names = set(personalize_names)
    wanted_files = {f for f in personalize_files if f in files}
    defines: dict[str, set[str]] = {}
    free: dict[str, set[str]] = {}  # files defining the name as something else than a method
    for rel, tags in files.items():
        for t in tags:
            if t.kind == "def":
                defines.setdefault(t.name, set()).add(rel)
                if t.category != "method":
                    free.setdefault(t.name, set()).add(rel)
    counts_of = {rel: _reference_counts(rel, tags, defines) for rel, tags in files.items()}
    edges: dict[str, dict[str, float]] = {}
    flows: dict[str, list[tuple[str, str, float]]] = {}
    for rel, counts in counts_of.items():
        for (name, bare), count in counts.items():
            targets = free.get(name, set()) if bare else defines[name]
            if len(targets) > USELESS_NAME_FILES:
                continue
            w = _name_weight(name, len(targets), name in names) * math.sqrt(count)
            for dst in targets:
                if dst == rel:
                    continue
                out = edges.setdefault(rel, {})
                out[dst] = out.get(dst, 0.0) + w
                flows.setdefault(rel, []).append((dst, name, w))
    personal = dict.fromkeys(wanted_files, 1.0)
    for name in names:
        for rel in defines.get(name, ()):
            personal[rel] = personal.get(rel, 0.0) + 0.5
    for rel in files:
        stem = rel.rsplit("/", 1)[-1].split(".", 1)[0]
        if stem in names:
            personal[rel] = personal.get(rel, 0.0) + 0.5
    file_rank = pagerank(edges, files, personal)
    score: dict[tuple[str, str], float] = {}
    for src, items in flows.items():
        total = sum(edges[src].values())
        for dst, name, w in items:
            key = (dst, name)
            score[key] = score.get(key, 0.0) + file_rank[src] * w / total
    ordered = []
    for name, rels in defines.items():
        for rel in rels:
            ordered.append((
                name not in names, -score.get((rel, name), 0.0), -file_rank.get(rel, 0.0), rel, name
            ))
    ordered.sort()
    return [(rel, name) for *_, rel, name in ordered]
