"""Answering "definition" / "references" at a position from the index alone.

The fallback of the LSP pool when no language server is available: find the identifier
under the cursor with tree-sitter, then look its name up in the index. Name-based, so it
may return several candidates; definitions in the same file come first.
"""

from __future__ import annotations

import tree_sitter

from codetap.errors import ToolError
from codetap.index.index import SymbolIndex
from codetap.index.languages import get_parser, language_for_path
from codetap.index.tags import Tag

_IDENTIFIER_TYPES = frozenset({"name", "constant", "word"})


def _is_identifier(node: tree_sitter.Node) -> bool:
    return node.type.endswith("identifier") or node.type in _IDENTIFIER_TYPES


def identifier_at(index: SymbolIndex, rel_path: str, line: int, character: int) -> str | None:
    """The identifier at 1-based ``line`` and ``character`` (code points) of a file.

    A cursor just after an identifier counts as on it. Returns None when the position is
    not on an identifier. Raises ToolError when the file is missing, unreadable, in an
    unsupported language, or the line is out of range.
    """
    lang = language_for_path(rel_path)
    if lang is None:
        raise ToolError(f"{rel_path}: no tree-sitter grammar for this file type")
    try:
        data = (index.root / rel_path).read_bytes()
    except OSError as exc:
        raise ToolError(f"{rel_path}: cannot read: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    if not 1 <= line <= len(lines):
        raise ToolError(f"{rel_path}: line {line} is out of range (1-{len(lines)})")
    text = lines[line - 1].decode("utf-8", "replace")
    col = len(text[: max(character - 1, 0)].encode("utf-8"))
    root = get_parser(lang).parse(data).root_node
    for c in (col, col - 1):
        if c < 0:
            continue
        node = root.named_descendant_for_point_range((line - 1, c), (line - 1, c))
        if node is not None and _is_identifier(node) and node.text:
            return node.text.decode("utf-8", "replace")
    return None


def _same_file_first(tags: list[Tag], rel_path: str) -> list[Tag]:
    return sorted(tags, key=lambda t: (t.rel_path != rel_path, t.rel_path, t.line))


def definitions_at(index: SymbolIndex, rel_path: str, line: int, character: int) -> list[Tag]:
    """Definitions of the identifier at the position (1-based line and character).

    Returns [] when the position is not on an identifier or the name is not defined in
    the index. Raises ToolError as :func:`identifier_at` does.
    """
    name = identifier_at(index, rel_path, line, character)
    return [] if name is None else _same_file_first(index.definitions(name), rel_path)


def references_at(index: SymbolIndex, rel_path: str, line: int, character: int) -> list[Tag]:
    """References to the identifier at the position (1-based line and character).

    Declarations are not included (as LSP ``includeDeclaration: false``). Returns [] when
    the position is not on an identifier. Raises ToolError as :func:`identifier_at` does.
    """
    name = identifier_at(index, rel_path, line, character)
    return [] if name is None else _same_file_first(index.references(name), rel_path)
