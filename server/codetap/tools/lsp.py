"""The ``lsp`` tool: code navigation through real language servers (ARCHITECTURE.md
"Tool contract": ``operation``, ``path``, ``line``, ``character``; 1-based).

Uses ``ctx.services.pool`` (a :class:`codetap.pool.LspPool`) with ``ctx.workspace`` as
the workspace root. Results are compact: ``relative/path.py:LINE: line text``, at most
``MAX_RESULTS`` lines then ``(N more)``, and a first line saying when the answer may be
incomplete because the server was still loading. When no server serves the file, the
answer comes from the tree-sitter index (``ctx.services.index``) when there is one,
and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from codetap.errors import ToolError
from codetap.index import SymbolIndex, definitions_at, references_at
from codetap.pool.errors import LspError, ServerUnavailable
from codetap.pool.operations import OPERATIONS
from codetap.tools.base import Tool, ToolContext
from codetap.tools.paths import resolve_in_workspace
from codetap.tools.registry import register_tool
from codetap.tools.text import cut_line
from codetap.types import JSON, ToolResult

if TYPE_CHECKING:
    from codetap.pool.ops import Answer, Spot

MAX_RESULTS = 50
MAX_LINE_CHARS = 160
MAX_HOVER_CHARS = 4000
PARTIAL_NOTE = "partial: the language server was still loading; results may be incomplete"


@register_tool
class LspTool(Tool):
    """Ask the language server about a position: definition, references, hover,
    incoming_calls, outgoing_calls, document_symbols or diagnostics."""

    name: ClassVar[str] = "lsp"
    description: ClassVar[str] = (
        "Code intelligence from a real language server. operation: definition, references, "
        "hover, incoming_calls, outgoing_calls (of the function at the position), "
        "document_symbols (outline of the file; line/character ignored), diagnostics (errors "
        "and warnings of the file as it is on disk now). line and character are 1-based; "
        "point at the symbol's name. Results are 'path:line: text' lines."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "operation": {"type": "string", "enum": list(OPERATIONS)},
            "path": {"type": "string", "description": "file path relative to the workspace"},
            "line": {"type": "integer", "minimum": 1},
            "character": {"type": "integer", "minimum": 1},
        },
        "required": ["operation", "path"],
        "additionalProperties": False,
    }

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        operation = str(args["operation"])
        path = resolve_in_workspace(ctx.workspace, str(args["path"]))
        if not path.is_file():
            raise ToolError(f"{args['path']}: no such file")
        line, character = int(args.get("line", 1)), int(args.get("character", 1))
        pool = ctx.services.pool
        try:
            from codetap.pool.ops import run_operation
            from codetap.pool.pool import LspPool
            if not isinstance(pool, LspPool):
                raise ServerUnavailable("no language server pool is running in this runtime")
            answer = await run_operation(pool, ctx.workspace, path, operation, line, character)
        except ServerUnavailable as exc:
            return _fallback(ctx, str(exc), operation, path, line, character)
        except LspError as exc:
            raise ToolError(str(exc)) from None
        except ValueError as exc:
            raise ToolError(f"{args['path']}: {exc}") from None
        rel = _rel(ctx.workspace, path)
        text = render(answer, ctx.workspace, f"{rel}:{line}:{character}")
        meta: JSON = {
            "server": answer.server,
            "partial": answer.partial,
            "count": len(answer.spots),
        }
        return ToolResult(text, meta=meta)


def render(answer: Answer, workspace: Path, where: str) -> str:
    """The model-facing text of ``answer``; ``where`` is ``path:line:character``."""
    out: list[str] = [PARTIAL_NOTE] if answer.partial else []
    op = answer.operation
    if op == "hover":
        body = answer.text or f"no hover information at {where}"
        if len(body) > MAX_HOVER_CHARS:
            body = body[:MAX_HOVER_CHARS] + f"\n… [cut: {len(body) - MAX_HOVER_CHARS} more chars]"
        return "\n".join([*out, body])
    if not answer.spots:
        nothing = {
            "definition": "no definition found",
            "references": "no references found",
            "incoming_calls": "no callers found (or no function at this position)",
            "outgoing_calls": "no calls found (or no function at this position)",
            "document_symbols": "no symbols in this file",
            "diagnostics": "no diagnostics",
        }[op]
        suffix = "" if op == "document_symbols" else f" at {where}"
        if op == "diagnostics":
            suffix = f" for {where.split(':', 1)[0]}"
        return "\n".join([*out, nothing + suffix])
    n = len(answer.spots)
    out.append(f"{op} ({n} result{'s' if n != 1 else ''}):")
    texts = _LineTexts()
    for spot in answer.spots[:MAX_RESULTS]:
        out.append(_spot_line(op, spot, workspace, texts))
    if n > MAX_RESULTS:
        out.append(f"({n - MAX_RESULTS} more)")
    return "\n".join(out)


def _spot_line(op: str, spot: Spot, workspace: Path, texts: _LineTexts) -> str:
    rel = _rel(workspace, spot.path)
    if op == "document_symbols":
        return f"{'  ' * spot.depth}{spot.name} ({spot.kind.lower()}) {rel}:{spot.line}"
    if op == "diagnostics":
        message = cut_line(" ".join(spot.name.split()), 300)
        return f"{rel}:{spot.line}:{spot.character}: {spot.kind}: {message}"
    code = cut_line(texts.get(spot.path, spot.line).strip(), MAX_LINE_CHARS)
    label = f" [{spot.name}]" if op in ("incoming_calls", "outgoing_calls") and spot.name else ""
    return f"{rel}:{spot.line}:{label} {code}"


class _LineTexts:
    def __init__(self) -> None:
        self._files: dict[Path, list[str]] = {}

    def get(self, path: Path, line: int) -> str:
        if path not in self._files:
            try:
                self._files[path] = path.read_bytes().decode("utf-8", "replace").splitlines()
            except OSError:
                self._files[path] = []
        lines = self._files[path]
        return lines[line - 1] if 0 < line <= len(lines) else ""


def _rel(workspace: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(workspace.resolve()).as_posix()
    except ValueError:
        return str(path)


def _fallback(
    ctx: ToolContext, why: str, operation: str, path: Path, line: int, character: int
) -> ToolResult:
    """Answer definition/references from the syntax index when no server can."""
    index = ctx.services.index
    finder = {"definition": definitions_at, "references": references_at}.get(operation)
    if not isinstance(index, SymbolIndex) or finder is None:
        raise ToolError(f"{why}. The lsp tool cannot answer for this file; try grep or symbols.")
    rel = _rel(ctx.workspace, path)
    tags = finder(index, rel, line, character)
    head = f"{why}. Answer from the syntax index (tree-sitter, by name; may be imprecise):"
    if not tags:
        return ToolResult(f"{head}\nno {operation} found at {rel}:{line}:{character}")
    texts = _LineTexts()
    body = [
        f"{t.rel_path}:{t.line}: "
        + cut_line(texts.get(ctx.workspace / t.rel_path, t.line).strip(), MAX_LINE_CHARS)
        for t in tags[:MAX_RESULTS]
    ]
    more = [f"({len(tags) - MAX_RESULTS} more)"] if len(tags) > MAX_RESULTS else []
    meta: JSON = {"server": "index", "partial": False, "count": len(tags)}
    return ToolResult("\n".join([head, *body, *more]), meta=meta)
