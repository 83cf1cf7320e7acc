"""The in-memory tables of a symbol index, kept small (issue 23 item 3).

Definitions are kept as :class:`~codetap.index.tags.Tag` objects grouped by name and file
(they are ~15% of the tags, and the repo map renders them). References are kept only as
counts per (name, file) and calls per (file, name): their positions stay in the SQLite
cache and are decoded on demand (:meth:`codetap.index.SymbolIndex.references`). Per file:
``(mtime_ns, size, tag count, names defined, names referenced)``.

Per-name mappings are copy-on-write while a snapshot (:meth:`MemTables.snapshot`) is
alive: it shares them, so the first change to one replaces it with a copy. With no
snapshot alive they change in place (a common name's mapping has an entry per file:
copying it per edit would make a refresh grow with the workspace). Not thread-safe: the
owner serialises calls.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterator, Mapping

from codetap.index.tables import NameTables
from codetap.index.tags import Tag, decode_summary

# One int object per line number, shared by every definition (ints above 256 are
# separate 28-byte objects: ~15 MB over the 2.3e5 definitions of 10^4 files).
_INTS: dict[int, int] = {}
# (mtime_ns, size, number of tags, names defined, names referenced)
FileEntry = tuple[int, int, int, tuple[str, ...], tuple[str, ...]]


class OneFile(Mapping[str, tuple[Tag, ...]]):
    """The definitions of a name defined in one file only (most names): a read-only
    mapping {rel: tags}, a quarter of a dict's size."""

    __slots__ = ("rel", "tags")

    def __init__(self, rel: str, tags: tuple[Tag, ...]) -> None:
        self.rel = rel
        self.tags = tags

    def __getitem__(self, rel: str) -> tuple[Tag, ...]:
        if rel == self.rel:
            return self.tags
        raise KeyError(rel)

    def __contains__(self, rel: object) -> bool:
        return rel == self.rel

    def __iter__(self) -> Iterator[str]:
        return iter((self.rel,))

    def __len__(self) -> int:
        return 1


class MemTables:
    """Definitions, reference counts and call counts by name, and per-file entries."""

    def __init__(self) -> None:
        self.files: dict[str, FileEntry] = {}
        self.defs: dict[str, Mapping[str, tuple[Tag, ...]]] = {}
        self.refs: dict[str, dict[str, int]] = {}
        self.calls: dict[str, dict[str, int]] = {}  # never mutated: replaced per file
        self._snapshots: list[weakref.ref[NameTables]] = []
        self._owned: set[tuple[str, str]] = set()  # mappings copied since the last snapshot

    def _mapping(self, kind: str, name: str) -> dict[str, object]:
        table: dict[str, dict[str, object]] = self.defs if kind == "def" else self.refs  # type: ignore[assignment]
        per_file = table.get(name)
        shared = self._shared()
        if per_file is None:
            per_file = table[name] = {}
        elif isinstance(per_file, OneFile):
            per_file = table[name] = dict(per_file)
        elif not shared or (kind, name) in self._owned:
            return per_file
        else:
            per_file = table[name] = dict(per_file)
        if shared:
            self._owned.add((kind, name))
        return per_file

    def drop(self, rel: str) -> None:
        """Forget ``rel``'s tags (nothing if unknown)."""
        entry = self.files.pop(rel, None)
        if entry is None:
            return
        self.calls.pop(rel, None)
        for kind, names in (("def", entry[3]), ("ref", entry[4])):
            table: dict[str, dict[str, object]] = self.defs if kind == "def" else self.refs  # type: ignore[assignment]
            for name in names:
                current = table.get(name, ())
                if isinstance(current, OneFile):
                    if current.rel == rel:
                        del table[name]
                elif rel in current:
                    per_file = self._mapping(kind, name)
                    del per_file[rel]
                    if not per_file:
                        del table[name]

    def add(self, rel: str, mtime_ns: int, size: int, payload: bytes) -> None:
        """Index ``rel``'s tags from a cache payload (after :meth:`drop`); raises
        ValueError on a corrupt payload (the tables are then unchanged)."""
        count, def_rows, refs, calls = decode_summary(rel, payload)
        path = sys.intern(rel)
        intern = sys.intern
        share = _INTS.setdefault
        defs: dict[str, list[Tag]] = {}
        try:
            for name, _kind, category, line, column, end in def_rows:
                name = intern(name)
                defs.setdefault(name, []).append(Tag(
                    path, name, "def", intern(category), share(line, line),
                    share(column, column), share(end, end)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"corrupt cached tags for {rel}") from exc
        ref_names = tuple(intern(n) for n in refs)
        self.files[path] = (mtime_ns, size, count, tuple(defs), ref_names)
        self.calls[path] = calls
        for name, tags in defs.items():
            if name in self.defs:
                self._mapping("def", name)[path] = tuple(tags)
            else:
                self.defs[name] = OneFile(path, tuple(tags))
        if self._shared():
            for name in ref_names:
                self._mapping("ref", name)[path] = refs[name]
            return
        # No snapshot alive (a build): change the mappings in place, without the
        # copy-on-write bookkeeping of _mapping (~0.3 s of a cold build at 8.5k files).
        table = self.refs
        for name in ref_names:
            per_file = table.get(name)
            if per_file is None:
                table[name] = {path: refs[name]}
            else:
                per_file[path] = refs[name]

    def _shared(self) -> bool:
        """Whether a snapshot sharing the per-name mappings is alive."""
        return any(r() is not None for r in self._snapshots)

    def snapshot(self) -> NameTables:
        """A consistent :class:`NameTables` sharing the per-name mappings (three dicts
        copied)."""
        tables = NameTables(tuple(self.files), self.defs.copy(), self.refs.copy(),
                            self.calls.copy())
        self._snapshots = [r for r in self._snapshots if r() is not None]
        self._snapshots.append(weakref.ref(tables))
        self._owned = set()
        return tables
