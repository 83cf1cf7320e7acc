"""Extract definition and reference tags from one source file with tree-sitter.

Follows the tree-sitter "code navigation" tags convention: a query pattern captures the
whole construct as ``@definition.<category>`` or ``@reference.<category>`` and the
identifier as ``@name`` (see ``queries/*.scm``).
"""

from __future__ import annotations

import functools
import sys
from typing import Literal, NamedTuple

import tree_sitter

from codetap.index.languages import QUERIES_DIR, get_parser, get_query, language_for_path

Kind = Literal["def", "ref"]

# Several patterns may capture the same identifier (a method is also a function, a Go
# struct is also a type); the more specific category wins.
_GENERIC = {"function": 1, "type": 1, "constant": 0, "variable": 0}
MAX_NAME_LEN = 200


class Tag(NamedTuple):
    """One definition or reference of a name (a named tuple: a cold build of a large
    workspace makes ~10^5 of them, and tuple construction is several times cheaper than a
    frozen dataclass's).

    ``rel_path`` is the workspace-relative POSIX path; ``kind`` is ``"def"`` or ``"ref"``;
    ``category`` is the capture suffix (function, class, method, call, type, ...);
    ``line`` and ``end_line`` are 1-based (the construct's first and last line, ``end_line``
    inclusive); ``column`` is the 1-based column of the name in characters (code points).
    """

    rel_path: str
    name: str
    kind: Kind
    category: str
    line: int
    column: int
    end_line: int


@functools.cache
def _pattern_info(lang: str) -> list[tuple[Kind, str, str, int] | None]:
    """Per query pattern: (kind, category, capture name, specificity), None if no tag."""
    query = get_query(lang)
    names = [query.capture_name(i) for i in range(query.capture_count)]
    info: list[tuple[Kind, str, str, int] | None] = []
    for pattern in range(query.pattern_count):
        found: tuple[Kind, str, str, int] | None = None
        for capture in names:
            kind: Kind
            if capture.startswith("definition."):
                kind = "def"
            elif capture.startswith("reference."):
                kind = "ref"
            else:
                continue
            if _pattern_has_capture(lang, pattern, capture):
                category = sys.intern(capture.split(".", 1)[1])
                found = (kind, category, capture, _GENERIC.get(category, 2))
                break
        info.append(found)
    return info


def _pattern_has_capture(lang: str, pattern: int, capture: str) -> bool:
    query = get_query(lang)
    source = _query_source(lang)[query.start_byte_for_pattern(pattern):
                                 query.end_byte_for_pattern(pattern)]
    return f"@{capture}".encode() in source


@functools.cache
def _query_source(lang: str) -> bytes:
    return (QUERIES_DIR / f"{lang}-tags.scm").read_bytes()


def extract_tags(rel_path: str, data: bytes, lang: str | None = None) -> list[Tag]:
    """All tags of one file, sorted by position.

    ``lang`` defaults to detection from ``rel_path``'s extension; a file in an unsupported
    language yields ``[]``. Syntax errors do not raise: tree-sitter recovers and the tags
    of the well-formed parts are returned. Raises KeyError for an unknown ``lang``.
    """
    lang = lang or language_for_path(rel_path)
    if lang is None:
        return []
    tree = get_parser(lang).parse(data)
    info = _pattern_info(lang)
    cursor = tree_sitter.QueryCursor(get_query(lang))
    best: dict[tuple[int, Kind], tuple[int, tree_sitter.Node, tree_sitter.Node, str]] = {}
    for pattern, captures in cursor.matches(tree.root_node):
        spec = info[pattern]
        names = captures.get("name")
        if spec is None or not names:
            continue
        kind, category, capture, rank = spec
        name_node = names[0]
        key = (name_node.start_byte, kind)
        prev = best.get(key)
        if prev is None or rank > prev[0]:
            best[key] = (rank, name_node, captures[capture][0], category)
    tags: list[Tag] = []
    path = sys.intern(rel_path)
    intern = sys.intern
    for (start, kind), (_rank, name_node, node, category) in best.items():
        if kind == "ref" and (start, "def") in best:
            continue
        end = name_node.end_byte
        if end - start > MAX_NAME_LEN or end == start:
            continue
        name = intern(data[start:end].decode("utf-8", "replace"))
        row, col = name_node.start_point
        prefix = data[start - col : start]
        column = (len(prefix) if prefix.isascii() else len(prefix.decode("utf-8", "replace"))) + 1
        if kind == "def":
            tags.append(Tag(path, name, kind, category, node.start_point[0] + 1, column,
                            node.end_point[0] + 1))
        else:
            tags.append(Tag(path, name, kind, category, row + 1, column,
                            name_node.end_point[0] + 1))
    tags.sort(key=lambda t: (t.line, t.column, t.kind))
    return tags
