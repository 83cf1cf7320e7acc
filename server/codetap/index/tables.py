"""Per-name tables: the index's tags grouped by name, the shape the repo map ranks from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from codetap.index.tags import Tag

# name -> {rel_path: that file's tags of the name, by position}
NameTable = Mapping[str, Mapping[str, tuple[Tag, ...]]]


@dataclass(frozen=True, slots=True, weakref_slot=True)
class NameTables:
    """A consistent snapshot of a symbol index, grouped by name.

    ``files``: every indexed workspace-relative path; ``defs``: name -> {rel_path: that
    file's definitions of the name, in position order}; ``refs``: name -> {rel_path: how
    many references to the name the file has}.
    Files without tags of a name are absent from its inner mapping; names without tags are
    absent. ``calls``: rel_path -> {name: how many of the file's references to the name
    are of category ``call`` (a call without receiver)}, counts of zero omitted. Produced by :meth:`codetap.index.SymbolIndex.name_tables` (no copying of tags)
    or :meth:`from_files`.
    """

    files: tuple[str, ...]
    defs: NameTable
    refs: Mapping[str, Mapping[str, int]]
    calls: Mapping[str, Mapping[str, int]]

    @classmethod
    def from_files(cls, files: Mapping[str, Iterable[Tag]]) -> NameTables:
        """Group ``files`` (rel_path -> tags in position order) by name; O(tags)."""
        grouped: dict[str, dict[str, list[Tag]]] = {}
        refs: dict[str, dict[str, int]] = {}
        calls: dict[str, dict[str, int]] = {}
        for rel, tags in files.items():
            tags = list(tags)
            calls[rel] = count_calls(tags)
            for tag in tags:
                if tag.kind == "def":
                    grouped.setdefault(tag.name, {}).setdefault(rel, []).append(tag)
                else:
                    per = refs.setdefault(tag.name, {})
                    per[rel] = per.get(rel, 0) + 1
        defs = {name: {rel: tuple(ts) for rel, ts in per.items()}
                for name, per in grouped.items()}
        return cls(tuple(files), defs, refs, calls)


def count_calls(tags: Iterable[Tag]) -> dict[str, int]:
    """name -> number of references of category ``call`` among ``tags`` (zeros omitted)."""
    calls: dict[str, int] = {}
    for tag in tags:
        if tag.category == "call" and tag.kind == "ref":
            calls[tag.name] = calls.get(tag.name, 0) + 1
    return calls
