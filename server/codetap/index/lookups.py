"""Lookups of a :class:`codetap.index.SymbolIndex`: definitions from the in-memory tables,
references and file tags read back from the tag cache.

Split from :mod:`codetap.index.index` (which builds and refreshes the tables) as a base
class: the lookups only read ``root``, the tables, their lock and the cache.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath

from codetap.index.cache import TagCache
from codetap.index.memtables import MemTables
from codetap.index.parse import parse_file
from codetap.index.search import rank_names
from codetap.index.tables import NameTables
from codetap.index.tags import Tag, decode_tags


class IndexLookups:
    """The read side of the symbol index (see :class:`codetap.index.SymbolIndex`).

    Lookups are safe from any thread: they take ``_lock``, which guards ``_tables``.
    """

    root: Path
    _cache: TagCache
    _tables: MemTables
    _lock: threading.Lock

    def _normalize(self, path: str) -> str:
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.relative_to(self.root)
            except ValueError:
                raise ValueError(f"{path!r} is outside the indexed root {self.root}") from None
        rel = PurePosixPath(*p.parts)
        if ".." in rel.parts:
            raise ValueError(f"{path!r} leaves the indexed root {self.root}")
        return rel.as_posix()

    def definitions(self, name: str) -> list[Tag]:
        """Definitions named exactly ``name``, sorted by (path, line)."""
        with self._lock:
            per_file = self._tables.defs.get(name, {})
        return [t for rel in sorted(per_file) for t in per_file[rel]]

    def references(self, name: str) -> list[Tag]:
        """References to exactly ``name``, sorted by (path, line). Their positions are
        read from the cache (one query per 400 files that reference the name)."""
        with self._lock:
            rels = sorted(self._tables.refs.get(name, {}))
        tags = self._file_tags(rels)
        return [t for rel in rels for t in tags.get(rel, ()) if t.kind == "ref" and t.name == name]

    def search(self, query: str, limit: int | None = None) -> list[Tag]:
        """Definitions whose name matches ``query``, best first.

        Order: exact name, case-insensitive exact, prefix, substring, then fuzzy
        (the query's characters in order); ties by shorter name, then path and line.
        Case-insensitive. At most ``limit`` tags. Raises ValueError for a blank query.
        """
        if not query.strip():
            raise ValueError("empty symbol query")
        with self._lock:
            names = list(self._tables.defs)
        out: list[Tag] = []
        for name in rank_names(query.strip(), names):
            out.extend(self.definitions(name))
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    def file_symbols(self, rel_path: str) -> list[Tag]:
        """All tags (definitions and references) of one file, by position; [] if unknown."""
        rel = self._normalize(rel_path)
        return list(self._file_tags([rel]).get(rel, ()))

    def files(self) -> Mapping[str, tuple[Tag, ...]]:
        """Snapshot of the indexed paths: relative path -> its tags, each file's tags read
        from the cache when looked up (iterating the keys reads nothing)."""
        with self._lock:
            rels = tuple(self._tables.files)
        return _LazyFiles(self, rels)

    def _file_tags(self, rels: Iterable[str]) -> dict[str, tuple[Tag, ...]]:
        """Tags of indexed files from their cache rows; a file whose row no longer
        matches the index (another index of the same root rewrote it) is parsed again."""
        with self._lock:
            keys = {rel: entry[:2] for rel in rels
                    if (entry := self._tables.files.get(rel)) is not None}
        rows = self._cache.load_payloads(keys)
        out: dict[str, tuple[Tag, ...]] = {}
        for rel, key in keys.items():
            row = rows.get(rel)
            tags: list[Tag] | None = None
            if row is not None and (row.mtime_ns, row.size) == key:
                try:
                    tags = decode_tags(rel, row.payload)
                except ValueError:
                    tags = None
            if tags is None:
                tags = parse_file(self.root, rel) or []
            out[rel] = tuple(tags)
        return out

    def name_tables(self) -> NameTables:
        """Snapshot grouped by name (:class:`NameTables`): what the repo map ranks from.

        Shares the per-name mappings (a refresh replaces, never mutates, those while a
        snapshot is alive), so a concurrent refresh leaves the snapshot unchanged.
        Copies three name-keyed dicts.
        """
        with self._lock:
            return self._tables.snapshot()

    def tag_count(self) -> int:
        """Number of tags (definitions and references) in the index."""
        with self._lock:
            return sum(entry[2] for entry in self._tables.files.values())

    def __len__(self) -> int:
        """Number of indexed files."""
        with self._lock:
            return len(self._tables.files)


class _LazyFiles(Mapping[str, tuple[Tag, ...]]):
    """:meth:`IndexLookups.files`: paths fixed at creation, tags read per lookup."""

    def __init__(self, index: IndexLookups, rels: tuple[str, ...]) -> None:
        self._index = index
        self._rels = rels
        self._set = frozenset(rels)

    def __getitem__(self, rel: str) -> tuple[Tag, ...]:
        if rel not in self._set:
            raise KeyError(rel)
        return self._index._file_tags([rel]).get(rel, ())

    def __iter__(self) -> Iterator[str]:
        return iter(self._rels)

    def __len__(self) -> int:
        return len(self._rels)
