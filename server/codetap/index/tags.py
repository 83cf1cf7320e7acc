"""Extract definition and reference tags from one source file with tree-sitter.

Follows the tree-sitter "code navigation" tags convention: a query pattern captures the
whole construct as ``@definition.<category>`` or ``@reference.<category>`` and the
identifier as ``@name`` (see ``queries/*.scm``).
"""

from __future__ import annotations

import functools
import marshal
import sys
from collections.abc import Iterable
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


# A tag without its path: (name, kind, category, line, column, end_line), the form the
# worker processes send and the cache stores (see :func:`encode_rows`).
Row = tuple[str, Kind, str, int, int, int]


def extract_rows(data: bytes, lang: str) -> list[Row]:
    """All tags of one file's ``data`` in language ``lang`` as :data:`Row` tuples, sorted
    by (line, column, kind); see :func:`extract_tags`. Raises KeyError for an unknown
    ``lang``.

    Per match only plain tuples are built; nodes are read once per kept tag. This loop is
    about a third of a cold build's CPU (tree-sitter's parse and query walk are the rest).
    """
    tree = get_parser(lang).parse(data)
    info = _pattern_info(lang)
    # key: name start byte * 2 + 1 for a definition, + 0 for a reference
    best: dict[int, tuple[tuple[Kind, str, str, int], tree_sitter.Node, tree_sitter.Node]] = {}
    get = best.get
    for pattern, captures in tree_sitter.QueryCursor(get_query(lang)).matches(tree.root_node):
        spec = info[pattern]
        if spec is None:
            continue
        names = captures.get("name")
        if not names:
            continue
        name_node = names[0]
        key = name_node.start_byte * 2 + (spec[0] == "def")
        prev = get(key)
        if prev is None or spec[3] > prev[0][3]:
            best[key] = (spec, name_node, captures[spec[2]][0])
    rows: list[Row] = []
    append = rows.append
    intern = sys.intern
    for key, (spec, name_node, node) in best.items():
        start = key >> 1
        is_def = key & 1
        if not is_def and key + 1 in best:
            continue
        end = name_node.end_byte
        if end - start > MAX_NAME_LEN or end == start:
            continue
        name = intern(data[start:end].decode("utf-8", "replace"))
        row, col = name_node.start_point
        prefix = data[start - col : start]
        column = (col if prefix.isascii() else len(prefix.decode("utf-8", "replace"))) + 1
        if is_def:
            append((name, "def", spec[1], node.start_point[0] + 1, column, node.end_point[0] + 1))
        else:
            last = row + 1 + data.count(b"\n", start, end)
            append((name, "ref", spec[1], row + 1, column, last))
    rows.sort(key=_row_position)
    return rows


def _row_position(row: Row) -> tuple[int, int, str]:
    return row[3], row[4], row[1]


def extract_tags(rel_path: str, data: bytes, lang: str | None = None) -> list[Tag]:
    """All tags of one file, sorted by position.

    ``lang`` defaults to detection from ``rel_path``'s extension; a file in an unsupported
    language yields ``[]``. Syntax errors do not raise: tree-sitter recovers and the tags
    of the well-formed parts are returned. Raises KeyError for an unknown ``lang``.
    """
    lang = lang or language_for_path(rel_path)
    if lang is None:
        return []
    return decode_rows(rel_path, extract_rows(data, lang))


# A payload: marshal of (PAYLOAD_VERSION, tag count, definition rows, {name: references},
# {name: calls without receiver}, marshal of all rows). The index's tables need only the
# first four (references are ~85% of the tags and are kept as counts), so the parent
# process of a build never unpacks the reference rows; lookups that want them do.
PAYLOAD_VERSION = 2
Summary = tuple[int, list[Row], dict[str, int], dict[str, int]]


def encode_rows(rows: list[Row]) -> bytes:
    """The transport and cache form of one file's tags (see :data:`PAYLOAD_VERSION`)."""
    defs: list[Row] = []
    refs: dict[str, int] = {}
    calls: dict[str, int] = {}
    for row in rows:
        if row[1] == "def":
            defs.append(row)
        else:
            name = row[0]
            refs[name] = refs.get(name, 0) + 1
            if row[2] == "call":
                calls[name] = calls.get(name, 0) + 1
    return marshal.dumps((PAYLOAD_VERSION, len(rows), defs, refs, calls, marshal.dumps(rows)))


def decode_summary(rel_path: str, payload: bytes) -> Summary:
    """(tag count, definition rows, reference counts by name, call counts by name) of a
    payload; raises ValueError on a corrupt one."""
    try:
        obj = marshal.loads(payload)
        if isinstance(obj, tuple) and obj and obj[0] == PAYLOAD_VERSION:
            _, count, defs, refs, calls, _rows = obj
            if isinstance(count, int) and isinstance(defs, list) and isinstance(refs, dict) \
                    and isinstance(calls, dict):
                return count, defs, refs, calls
    except (TypeError, ValueError, EOFError) as exc:
        raise ValueError(f"corrupt cached tags for {rel_path}") from exc
    raise ValueError(f"corrupt cached tags for {rel_path}")


def encode_tags(tags: Iterable[Tag]) -> bytes:
    """:func:`encode_rows` of ``tags`` (their path dropped)."""
    return encode_rows([(t.name, t.kind, t.category, t.line, t.column, t.end_line) for t in tags])


def decode_rows(rel_path: str, rows: Iterable[Row]) -> list[Tag]:
    """Tags of ``rel_path`` from row tuples; raises ValueError on a malformed row."""
    path = sys.intern(rel_path)
    intern = sys.intern
    try:
        return [
            Tag(path, intern(name), _kind(kind), intern(category), line, column, end)
            for name, kind, category, line, column, end in rows
        ]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"corrupt cached tags for {rel_path}") from exc


def decode_tags(rel_path: str, payload: bytes) -> list[Tag]:
    """Inverse of :func:`encode_tags`; raises ValueError on a corrupt payload."""
    try:
        obj = marshal.loads(payload)
        rows = marshal.loads(obj[5]) if isinstance(obj, tuple) and obj \
            and obj[0] == PAYLOAD_VERSION else None
    except (TypeError, ValueError, EOFError, IndexError) as exc:
        raise ValueError(f"corrupt cached tags for {rel_path}") from exc
    if isinstance(rows, list):
        return decode_rows(rel_path, rows)
    raise ValueError(f"corrupt cached tags for {rel_path}")


def _kind(kind: str) -> Kind:
    if kind == "def":
        return "def"
    if kind == "ref":
        return "ref"
    raise ValueError(f"bad tag kind {kind!r}")
