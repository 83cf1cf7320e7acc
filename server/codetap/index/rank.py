"""Ranking definitions for the repo map: a file graph and personalized PageRank.

In the spirit of aider's repo map: file A links to file B when A references a name that
B defines; the link weight grows with the number of references (square root, so one
chatty file does not dominate) and with how distinctive the name is. PageRank over that
graph, personalised towards the files and identifiers the task mentions, scores files;
each file's score then flows along its links to the (file, name) definitions it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

from codetap.index.graph import FileGraph
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
    groups = [([where[d]], w, [where[s]], [1]) for s, out in edges.items()
              for d, w in out.items() if w > 0]
    graph = FileGraph.build(len(node_list), groups)
    rank = graph.pagerank(_teleport(where, personalization), damping, MAX_ITERATIONS,
                          TOLERANCE)
    return dict(zip(node_list, rank.tolist(), strict=True))


def _teleport(where: Mapping[str, int], personalization: Mapping[str, float] | None
              ) -> npt.NDArray[np.float64]:
    size = len(where)
    weights = {where[n]: w for n, w in (personalization or {}).items() if w > 0 and n in where}
    total = sum(weights.values())
    if total <= 0:
        return np.full(size, 1.0 / size)
    teleport = np.zeros(size)
    for i, w in weights.items():
        teleport[i] = w / total
    return teleport


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


# (name, files the references may mean, name weight, referencing files, their counts),
# files as indices into NameTables.files
_Group = tuple[str, list[int], float, list[int], list[int]]


def _reference_groups(tables: NameTables, mentioned: set[str]) -> list[_Group]:
    """References to defined names, grouped by name and by whether they are bare calls: a
    call without receiver in a language where methods need one (so it cannot mean a
    method, and only the name's non-method definitions are targets)."""
    where = {rel: i for i, rel in enumerate(tables.files)}
    index_of = where.__getitem__
    no_calls: Mapping[str, int] = {}
    calls_of = {rel: tables.calls.get(rel, no_calls) for rel in tables.files
                if language_for_path(rel) in EXPLICIT_RECEIVER}
    called = {name for calls in calls_of.values() for name in calls}
    groups: list[_Group] = []
    for name, users in tables.refs.items():
        defined = tables.defs.get(name)
        if defined is None:
            continue
        if name not in called:  # most names: no bare calls anywhere
            if len(defined) <= USELESS_NAME_FILES:
                groups.append((name, list(map(index_of, defined)),
                               _name_weight(name, len(defined), name in mentioned),
                               list(map(index_of, users)), list(users.values())))
            continue
        plain: tuple[list[int], list[int]] = ([], [])
        bare: tuple[list[int], list[int]] = ([], [])
        for rel, count in users.items():
            calls = calls_of.get(rel, no_calls).get(name, 0)
            if calls:
                bare[0].append(where[rel])
                bare[1].append(calls)
            if calls < count:
                plain[0].append(where[rel])
                plain[1].append(count - calls)
        if plain[0] and len(defined) <= USELESS_NAME_FILES:
            groups.append((name, list(map(index_of, defined)),
                           _name_weight(name, len(defined), name in mentioned), *plain))
        if bare[0]:
            targets = [where[rel] for rel, ts in defined.items()
                       if any(t.category != "method" for t in ts)]
            if targets and len(targets) <= USELESS_NAME_FILES:
                groups.append((name, targets,
                               _name_weight(name, len(targets), name in mentioned), *bare))
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
    files = tables.files
    if not files:
        return _order(defs, names, {}, {}, limit)
    where = {rel: i for i, rel in enumerate(files)}
    groups = _reference_groups(tables, names)
    graph = FileGraph.build(len(files), [group[1:] for group in groups])
    personal = dict.fromkeys((f for f in personalize_files if f in where), 1.0)
    for name in names:
        for rel in defs.get(name, ()):
            personal[rel] = personal.get(rel, 0.0) + 0.5
    for rel in files:
        stem = rel.rsplit("/", 1)[-1].split(".", 1)[0]
        if stem in names:
            personal[rel] = personal.get(rel, 0.0) + 0.5
    rank = graph.pagerank(_teleport(where, personal), DAMPING, MAX_ITERATIONS, TOLERANCE)
    file_rank = dict(zip(files, rank.tolist(), strict=True))
    # Each file's rank flows to the definitions it references, in proportion to the
    # link weights (a file's own definitions excepted).
    group_of, target_of, value_of = graph.flow(rank)
    group_names = [group[0] for group in groups]
    score: dict[tuple[str, str], float] = {}
    for g, t, value in zip(group_of.tolist(), target_of.tolist(), value_of.tolist(),
                           strict=True):
        if value:
            key = (files[t], group_names[g])
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
