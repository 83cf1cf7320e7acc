"""Ranking definitions for the repo map: a file graph and personalized PageRank.

In the spirit of aider's repo map: file A links to file B when A references a name that
B defines; the link weight grows with the number of references (square root, so one
chatty file does not dominate) and with how distinctive the name is. PageRank over that
graph, personalised towards the files and identifiers the task mentions, scores files;
each file's score then flows along its links to the (file, name) definitions it uses.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping
from operator import mul, sub

from codetap.index.languages import language_for_path
from codetap.index.tables import NameTables
from codetap.index.tags import Tag

DAMPING = 0.85
MAX_ITERATIONS = 100
TOLERANCE = 1e-8
COMMON_NAME_FILES = 5  # a name defined in more files than this says little
USELESS_NAME_FILES = 50  # ... and in more than this, nothing
# Scores (at most 1 in all) are compared to this many decimals, so that two sums of the
# same terms in another order tie, and the tie is broken by file rank, path and name.
SCORE_DIGITS = 15
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
    scores summing to 1 (empty dict for no nodes). Stops after :data:`MAX_ITERATIONS`
    or once an iteration moves less than ``TOLERANCE`` per node (L1).
    """
    node_list = sorted(set(nodes) | set(edges) | {d for out in edges.values() for d in out})
    if not node_list:
        return {}
    where = {n: i for i, n in enumerate(node_list)}
    size = len(node_list)
    weights = {where[n]: w for n, w in (personalization or {}).items() if w > 0 and n in where}
    total = sum(weights.values())
    teleport = [weights.get(i, 0.0) / total if total > 0 else 1.0 / size for i in range(size)]
    # Pull form: per node, its in-links as parallel lists (sources, share of the source's
    # rank), so each iteration's inner products run in C (sum/map) instead of a Python loop.
    # The shares are packed into arrays: float objects allocated in source order and read
    # in destination order would miss the CPU cache (measured 3x slower).
    into: list[tuple[list[int], list[float]]] = [([], []) for _ in range(size)]
    has_out = [False] * size
    for src, dsts in edges.items():
        norm = sum(w for w in dsts.values() if w > 0)
        if norm > 0:
            s = where[src]
            has_out[s] = True
            for d, w in dsts.items():
                if w > 0:
                    srcs, shares = into[where[d]]
                    srcs.append(s)
                    shares.append(w / norm)
    inbound = [(i, srcs, array("d", shares)) for i, (srcs, shares) in enumerate(into) if srcs]
    dangling_nodes = [i for i in range(size) if not has_out[i]]
    rank = [1.0 / size] * size
    for _ in range(MAX_ITERATIONS):
        dangling = sum(map(rank.__getitem__, dangling_nodes))
        base = 1.0 - damping + damping * dangling
        new = [base * t for t in teleport]
        give = [damping * r for r in rank].__getitem__
        for i, sources, packed in inbound:
            new[i] = sum(map(mul, map(give, sources), packed), new[i])
        delta = sum(map(abs, map(sub, new, rank)))
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


# (name, files the references may mean, name weight, [(referencing file, count)])
_Group = tuple[str, list[str], float, list[tuple[str, int]]]


def _reference_groups(tables: NameTables, mentioned: set[str]) -> list[_Group]:
    """References to defined names, grouped by name and by whether they are bare calls: a
    call without receiver in a language where methods need one (so it cannot mean a
    method, and only the name's non-method definitions are targets)."""
    explicit = {rel: language_for_path(rel) in EXPLICIT_RECEIVER for rel in tables.files}
    no_calls: Mapping[str, int] = {}
    calls_of = {rel: tables.calls.get(rel, no_calls) if explicit[rel] else no_calls
                for rel in tables.files}
    groups: list[_Group] = []
    for name, users in tables.refs.items():
        defined = tables.defs.get(name)
        if defined is None:
            continue
        plain: list[tuple[str, int]] = []
        bare: list[tuple[str, int]] = []
        for rel, count in users.items():
            calls = calls_of[rel].get(name, 0)
            if calls:
                bare.append((rel, calls))
            if calls < count:
                plain.append((rel, count - calls))
        if plain and len(defined) <= USELESS_NAME_FILES:
            targets = list(defined)
            groups.append((name, targets, _name_weight(name, len(targets), name in mentioned),
                           plain))
        if bare:
            targets = [rel for rel, ts in defined.items() if any(t.category != "method" for t in ts)]
            if targets and len(targets) <= USELESS_NAME_FILES:
                groups.append((name, targets,
                               _name_weight(name, len(targets), name in mentioned), bare))
    return groups


def rank_definitions(
    symbols: NameTables | Mapping[str, tuple[Tag, ...]],
    personalize_files: Iterable[str] = (),
    personalize_names: Iterable[str] = (),
    limit: int | None = None,
) -> list[tuple[str, str]]:
    """(rel_path, name) definitions ordered most important first (the first ``limit``).

    ``symbols`` is an index snapshot (:meth:`codetap.index.SymbolIndex.name_tables`, the
    fast path) or rel_path -> tags. Without ``limit`` every defined (file, name) appears
    once. Definitions of ``personalize_names`` come first, then by the rank flowing to
    them, then by their file's rank, then by path and name.
    """
    tables = symbols if isinstance(symbols, NameTables) else NameTables.from_files(symbols)
    names = set(personalize_names)
    defs = tables.defs
    groups = _reference_groups(tables, names)
    edges: dict[str, dict[str, float]] = {rel: {} for rel in tables.files}
    for _name, targets, weight, users in groups:
        for src, count in users:
            w = weight * math.sqrt(count)
            out = edges[src]
            for dst in targets:
                if dst != src:
                    out[dst] = out.get(dst, 0.0) + w
    personal = dict.fromkeys((f for f in personalize_files if f in edges), 1.0)
    for name in names:
        for rel in defs.get(name, ()):
            personal[rel] = personal.get(rel, 0.0) + 0.5
    for rel in tables.files:
        stem = rel.rsplit("/", 1)[-1].split(".", 1)[0]
        if stem in names:
            personal[rel] = personal.get(rel, 0.0) + 0.5
    file_rank = pagerank(edges, tables.files, personal)
    # Each file's rank flows to the definitions it references, in proportion to the
    # link weights (a file's own definitions excepted).
    totals = {src: sum(out.values()) for src, out in edges.items() if out}
    score: dict[tuple[str, str], float] = {}
    for name, targets, weight, users in groups:
        terms = {src: file_rank[src] * (weight * math.sqrt(count)) / totals[src]
                 for src, count in users if src in totals}
        if not terms:
            continue
        everyone = sum(terms.values())
        for dst in targets:
            value = everyone - terms[dst] if dst in terms else everyone
            key = (dst, name)
            score[key] = score.get(key, 0.0) + value
    return _order(defs, names, score, file_rank, limit)


def _order(
    defs: Mapping[str, Mapping[str, object]],
    mentioned: set[str],
    score: Mapping[tuple[str, str], float],
    file_rank: Mapping[str, float],
    limit: int | None = None,
) -> list[tuple[str, str]]:
    """Definitions by (not mentioned, -score, -file rank, path, name), the first ``limit``
    of them (all if None). Scored definitions are sorted one by one; the rest (most of
    them) are laid out per file (files by rank, names sorted), and only if the scored ones
    do not already fill ``limit``."""
    file_key = {rel: (-r, rel) for rel, r in file_rank.items()}
    out: list[tuple[str, str]] = []
    for first in (True, False):
        scored = sorted((-round(s, SCORE_DIGITS), file_key.get(rel, (0.0, rel)), name)
                        for (rel, name), s in score.items() if s and (name in mentioned) == first)
        out.extend((key[1], name) for _, key, name in scored)
        if limit is not None and len(out) >= limit:
            return out[:limit]
        unscored: dict[str, list[str]] = {}
        for name in (mentioned if first else defs):
            if not first and name in mentioned:
                continue
            for rel in defs.get(name, ()):
                if not score.get((rel, name)):
                    unscored.setdefault(rel, []).append(name)
        for rel in sorted(unscored, key=lambda r: file_key.get(r, (0.0, r))):
            out.extend((rel, name) for name in sorted(unscored[rel]))
    return out if limit is None else out[:limit]
