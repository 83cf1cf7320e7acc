"""The ``write`` tool: create a file, or overwrite one read before (ARCHITECTURE.md)."""

from __future__ import annotations

from typing import ClassVar

from codetap.errors import ToolError
from codetap.tools.base import Tool, ToolContext
from codetap.tools.fileio import TextFile, atomic_write, check_fresh, decode_text, record, sha256
from codetap.tools.paths import relpath, resolve_in_workspace
from codetap.types import JSON, ToolResult


class WriteTool(Tool):
    """``write {path, content}``: write ``content`` (UTF-8) to ``path``.

    A new file is created together with missing parent directories. An existing file is
    overwritten only if it was read before and is unchanged since (SHA-256); its BOM and
    all-CRLF line endings are kept. Writes atomically and records the new content in
    ``ctx.reads``. ``meta``: ``changed_files`` [rel], ``sha256_before`` (None for a new
    file), ``sha256_after``. Errors (ToolError): directory, not read, stale, not text.
    """

    name: ClassVar[str] = "write"
    description: ClassVar[str] = (
        "Write a whole file. Creates new files (and parent directories); an existing file "
        "must have been read first. Prefer edit for changing part of an existing file."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path relative to the workspace."},
            "content": {"type": "string", "description": "The complete new file content."},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False
    idempotent: ClassVar[bool] = False
    mutates: ClassVar[bool] = True
    reports_changes: ClassVar[bool] = True

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        raw_path: str = args["path"]
        path = resolve_in_workspace(ctx.workspace, raw_path)
        rel = relpath(ctx.workspace, path)
        content: str = args["content"]
        if path.is_dir() or raw_path.endswith("/"):
            raise ToolError(f"{rel} is a directory; give a file path")
        before: bytes | None = None
        style = TextFile("", bom=False, crlf=False)
        if path.exists():
            before = path.read_bytes()
            check_fresh(ctx, rel, before)
            old = decode_text(before, rel)
            style = TextFile("", bom=old.bom, crlf=old.crlf and "\r" not in content)
        after = style.encode(content)
        atomic_write(path, after)
        record(ctx, rel, path.stat(), after, 0, 0)
        lines = content.count("\n") + (1 if content and not content.endswith("\n") else 0)
        verb = "Overwrote" if before is not None else "Created"
        return ToolResult(
            f"{verb} {rel} ({lines} lines, {len(after)} bytes)",
            meta={
                "changed_files": [rel],
                "sha256_before": sha256(before) if before is not None else None,
                "sha256_after": sha256(after),
            },
        )
