"""Ranked repo-map models stored per git tree, so a new or resumed task's map needs no
ranking (issue 23 item 2).

A model is what :func:`codetap.index.rank.rank_definitions` gives for a whole tree without
personalisation: the first :data:`MODEL_DEFS` definitions ``(rel_path, name, lines)`` in
rank order, and every definition of the tree by name (so a task's mentioned names can be
put first without loading the index). One SQLite file per tags-query version in the index
cache directory (``maps-<fingerprint>.sqlite3``), 0600; at most :data:`KEEP_TREES` trees
are kept (the least recently stored are dropped).
"""

from __future__ import annotations

import marshal
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codetap.fsmodes import private_dir, private_sqlite
from codetap.index.languages import queries_fingerprint
from codetap.index.rank import rank_definitions
from codetap.index.tables import NameTables

MODEL_DEFS = 4096
KEEP_TREES = 4  # ~26 MB each at 8.5k files (the definitions by name dominate)

# (rel_path, name, definition lines in ascending order)
Entry = tuple[str, str, tuple[int, ...]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    tree TEXT PRIMARY KEY,
    stored REAL NOT NULL,
    ranked BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS model_defs (
    tree TEXT NOT NULL,
    name TEXT NOT NULL,
    places BLOB NOT NULL,
    PRIMARY KEY (tree, name)
) WITHOUT ROWID
"""


@dataclass(frozen=True, slots=True)
class MapModel:
    """``ranked``: the tree's best definitions, most important first; ``defs``: name ->
    [(rel_path, lines)] for every definition of every name (may be filled lazily, only
    for the names asked for: :meth:`MapStore.defs_of`)."""

    ranked: list[Entry]
    defs: dict[str, list[tuple[str, tuple[int, ...]]]]


def model_from_tables(tables: NameTables) -> MapModel:
    """The unpersonalised model of an index snapshot (ranks the whole graph: seconds on
    10^4 files)."""
    order = rank_definitions(tables, limit=MODEL_DEFS)
    ranked = [(rel, name, _lines(tables, rel, name)) for rel, name in order]
    defs = {name: [(rel, tuple(sorted({t.line for t in tags}))) for rel, tags in per.items()]
            for name, per in tables.defs.items()}
    return MapModel(ranked, defs)


def _lines(tables: NameTables, rel: str, name: str) -> tuple[int, ...]:
    return tuple(sorted({t.line for t in tables.defs[name][rel]}))


class MapStore:
    """Models by tree id in ``cache_dir``. Each call opens its own connection (any thread);
    ``sqlite3.Error`` propagates, OSError if the directory cannot be made."""

    def __init__(self, cache_dir: Path) -> None:
        private_dir(cache_dir)
        self.path = cache_dir / f"maps-{queries_fingerprint()}.sqlite3"
        private_sqlite(self.path)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def first_stored(self, trees: Sequence[str]) -> tuple[str, list[Entry]] | None:
        """The first of ``trees`` that has a model: (tree, ranked entries), else None."""
        if not trees:
            return None
        db = self._connect()
        try:
            marks = ",".join("?" * len(trees))
            rows = dict(db.execute(
                f"SELECT tree, ranked FROM models WHERE tree IN ({marks})", list(trees)))
        finally:
            db.close()
        for tree in trees:
            if tree in rows:
                try:
                    return tree, list(marshal.loads(rows[tree]))
                except (ValueError, EOFError, TypeError):
                    return None
        return None

    def defs_of(self, tree: str, names: Iterable[str]
                ) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
        """name -> [(rel_path, lines)] of ``tree``'s definitions of ``names`` (absent names
        are not defined in the tree)."""
        wanted = sorted(set(names))
        out: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
        db = self._connect()
        try:
            for i in range(0, len(wanted), 400):
                part = wanted[i:i + 400]
                marks = ",".join("?" * len(part))
                for name, places in db.execute(
                        f"SELECT name, places FROM model_defs WHERE tree = ? AND name IN ({marks})",
                        [tree, *part]):
                    out[name] = list(marshal.loads(places))
        finally:
            db.close()
        return out

    def store(self, tree: str, model: MapModel) -> None:
        """Store (or replace) ``tree``'s model and drop the oldest beyond
        :data:`KEEP_TREES`."""
        db = self._connect()
        try:
            with db:
                db.execute("DELETE FROM model_defs WHERE tree = ?", (tree,))
                db.execute("INSERT OR REPLACE INTO models VALUES (?, ?, ?)",
                           (tree, time.time(), marshal.dumps(model.ranked)))
                db.executemany("INSERT INTO model_defs VALUES (?, ?, ?)",
                               ((tree, name, marshal.dumps(places))
                                for name, places in model.defs.items()))
                old = [t for (t,) in db.execute(
                    "SELECT tree FROM models ORDER BY stored DESC LIMIT -1 OFFSET ?",
                    (KEEP_TREES,))]
                for gone in old:
                    db.execute("DELETE FROM models WHERE tree = ?", (gone,))
                    db.execute("DELETE FROM model_defs WHERE tree = ?", (gone,))
        finally:
            db.close()
