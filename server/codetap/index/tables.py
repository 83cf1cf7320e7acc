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

    ``files``: every indexed workspace-relative path; ``defs`` / ``refs``: name ->
    {rel_path: that file's definitions / references of the name, in position order}.
    Files without tags of a name are absent from its inner mapping; names without tags are
    absent. ``calls``: rel_path -> {name: how many of the file's references to the name
    are of category ``call`` (a call without receiver)}, counts of zero omitted. Produced by :meth:`codetap.index.SymbolIndex.name_tables` (no copying of tags)
    or :meth:`from_files`.
    """

    files: tuple[str, ...]
    defs: NameTable
    refs: NameTable
    calls: Mapping[str, Mapping[str, int]]

    @classmethod
    def from_files(cls, files: Mapping[str, Iterable[Tag]]) -> NameTables:
        """Group ``files`` (rel_path -> tags in position order) by name; O(tags)."""
        grouped: dict[str, dict[str, dict[str, list[Tag]]]] = {"def": {}, "ref": {}}
        calls: dict[str, dict[str, int]] = {}
        for rel, tags in files.items():
            calls[rel] = count_calls(tags)
            for tag in tags:
                grouped[tag.kind].setdefault(tag.name, {}).setdefault(rel, []).append(tag)
        defs, refs = (
            {name: {rel: tuple(ts) for rel, ts in per.items()} for name, per in grouped[k].items()}
            for k in ("def", "ref")
        )
        return cls(tuple(files), defs, refs, calls)


def count_calls(tags: Iterable[Tag]) -> dict[str, int]:
    """name -> number of references of category ``call`` among ``tags`` (zeros omitted)."""
    calls: dict[str, int] = {}
    for tag in tags:
        if tag.category == "call" and tag.kind == "ref":
            calls[tag.name] = calls.get(tag.name, 0) + 1
    return calls
