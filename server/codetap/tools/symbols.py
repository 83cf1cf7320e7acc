"""The ``symbols`` tool: the tree-sitter index for the model (ARCHITECTURE.md "Tool
contract": ``query?``, ``path?``).

- ``query``: definitions whose name matches (exact, prefix, substring, then fuzzy), as
  ``path:line: category name: source line``, at most :data:`MAX_RESULTS`, then
  ``(N more ...)``. With ``path`` too, only definitions under that file or directory.
- ``path`` alone: the definitions of that file (or of the files under that directory).
- neither: the repo map (:func:`codetap.index.render_repo_map`, :data:`MAP_TOKENS`).

The index is ``ctx.services.index`` when the runtime provides one for this workspace;
otherwise one is built on first use (cache in ``ctx.services.index_cache_dir`` or the
temp directory) and kept in ``ctx.services``. Every call refreshes it first (only changed
files are re-parsed); building and rendering run in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import ClassVar

from codetap.errors import ToolError
from codetap.index import SymbolIndex, Tag, render_repo_map
from codetap.index.languages import EXTENSIONS, language_for_path
from codetap.tools.base import Tool, ToolContext
from codetap.tools.paths import relpath, resolve_in_workspace
from codetap.tools.registry import register_tool
from codetap.tools.text import cut_line
from codetap.types import JSON, ToolResult

MAX_RESULTS = 50
MAX_FILE_SYMBOLS = 200
MAX_LINE_CHARS = 160
MAP_TOKENS = 1024


async def workspace_index(ctx: ToolContext) -> SymbolIndex:
    """The up-to-date index of ``ctx.workspace``: the runtime's, or one built lazily.

    The runtime's ``services.index`` is used when its root is the workspace. Otherwise
    an index is built (in a thread) and kept in ``services.index`` if that slot is free,
    else in ``services.own_index``. Refreshes before returning.
    """
    root = Path(os.path.realpath(ctx.workspace))
    for index in (ctx.services.index, ctx.services.own_index):
        if isinstance(index, SymbolIndex) and index.root == root:
            await index.refresh_async()
            return index
    cache_dir = ctx.services.index_cache_dir
    cache = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "codetap-index"
    index = SymbolIndex(root, cache)
    await index.build_async()
    if ctx.services.index is None:
        ctx.services.index = index
    else:
        ctx.services.own_index = index
    return index


class _Lines:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, list[str]] = {}

    def text(self, tag: Tag) -> str:
        lines = self.cache.get(tag.rel_path)
        if lines is None:
            try:
                raw = (self.root / tag.rel_path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                raw = ""
            lines = self.cache[tag.rel_path] = raw.splitlines()
        line = lines[tag.line - 1] if 0 < tag.line <= len(lines) else ""
        return cut_line(line.strip(), MAX_LINE_CHARS)


def _under(tag: Tag, scope: str) -> bool:
    return scope == "." or tag.rel_path == scope or tag.rel_path.startswith(scope + "/")


@register_tool
class SymbolsTool(Tool):
    """``symbols {query?, path?}``: find definitions by name, list a file's definitions, or
    show the repo map. Read-only and idempotent. ``meta``: ``count`` (matches in total) for
    queries and paths, ``files`` (indexed files) for the map."""

    name: ClassVar[str] = "symbols"
    description: ClassVar[str] = (
        "Syntax-based symbol index (tree-sitter) of the workspace. With query: definitions "
        "whose name matches (exact, prefix, substring, then fuzzy), as 'path:line: kind name: "
        "code'. With path: the definitions in that file or directory. With both: matches "
        "under path. With neither: a map of the most important definitions of the repository."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "description": "Symbol name or part."},
            "path": {"type": "string", "description": "File or directory, workspace-relative."},
        },
        "additionalProperties": False,
    }

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        query = args.get("query")
        scope = None
        if "path" in args:
            target = resolve_in_workspace(ctx.workspace, str(args["path"]))
            if not target.exists():
                raise ToolError(f"{args['path']}: no such file or directory")
            scope = relpath(ctx.workspace, target)
            if target.is_file() and language_for_path(scope) is None:
                supported = " ".join(sorted(EXTENSIONS))
                raise ToolError(f"{scope}: no symbols for this file type (indexed: {supported})")
        if query is not None and not str(query).strip():
            raise ToolError("query must not be blank")
        index = await workspace_index(ctx)
        lines = _Lines(index.root)
        if query is not None:
            return self._query(index, lines, str(query).strip(), scope)
        if scope is not None:
            return self._path(index, lines, scope)
        text = await asyncio.to_thread(render_repo_map, index, MAP_TOKENS)
        return ToolResult(text or "no symbols found in the workspace", meta={"files": len(index)})

    def _query(self, index: SymbolIndex, lines: _Lines, query: str, scope: str | None) -> ToolResult:
        hits = [t for t in index.search(query) if scope is None or _under(t, scope)]
        where = f" under {scope}" if scope else ""
        if not hits:
            return ToolResult(f"no definitions matching {query!r}{where}", meta={"count": 0})
        out = [f"{t.rel_path}:{t.line}: {t.category} {t.name}: {lines.text(t)}"
               for t in hits[:MAX_RESULTS]]
        if len(hits) > MAX_RESULTS:
            out.append(f"({len(hits) - MAX_RESULTS} more matches not shown; refine the query)")
        return ToolResult("\n".join(out), meta={"count": len(hits)})

    def _path(self, index: SymbolIndex, lines: _Lines, scope: str) -> ToolResult:
        files = index.files()
        defs = [
            t for rel in sorted(files) if scope == "." or rel == scope
            or rel.startswith(scope + "/") for t in files[rel] if t.kind == "def"
        ]
        if not defs:
            return ToolResult(f"no definitions found in {scope}", meta={"count": 0})
        out: list[str] = []
        current = None
        for t in defs[:MAX_FILE_SYMBOLS]:
            if t.rel_path != current:
                current = t.rel_path
                out.append(f"{current}:")
            out.append(f"{t.line:>6}: {t.category} {t.name}: {lines.text(t)}")
        if len(defs) > MAX_FILE_SYMBOLS:
            out.append(f"({len(defs) - MAX_FILE_SYMBOLS} more definitions not shown; "
                       "narrow the path or use query)")
        return ToolResult("\n".join(out), meta={"count": len(defs)})
