"""The ``read`` tool: numbered lines of a text file (ARCHITECTURE.md "Tool contract")."""

from __future__ import annotations

from typing import ClassVar

from codetap.errors import ToolError
from codetap.tools.base import Tool, ToolContext
from codetap.tools.fileio import looks_binary, record
from codetap.tools.paths import relpath, resolve_in_workspace
from codetap.tools.text import number_lines, split_lines
from codetap.types import JSON, ToolResult

DEFAULT_LIMIT = 2000
MAX_LINE_CHARS = 2000
MAX_OUTPUT_CHARS = 100_000


class ReadTool(Tool):
    """``read {path, offset?, limit?}``: lines ``offset..offset+limit-1`` (1-based), numbered.

    Output is ``cat -n`` style (number right-aligned to 6, tab, text); lines longer than
    2000 characters are cut, and output stops at 100,000 characters, saying which
    ``offset`` to use next. Binary files (NUL in the first 8 KiB) and directories are
    refused. Reading the same range again while the file's mtime and size are unchanged
    returns a one-line stub instead of the text. Records a FileRead in ``ctx.reads``.
    """

    name: ClassVar[str] = "read"
    description: ClassVar[str] = (
        "Read a text file from the workspace. Returns lines as '<line number>\\t<text>' "
        "(1-based). Use offset/limit to page through long files; long lines are cut. "
        "A file must be read before it can be edited."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path relative to the workspace."},
            "offset": {
                "type": "integer",
                "minimum": 1,
                "description": "First line to show (1-based). Default 1.",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "description": f"Number of lines to show. Default {DEFAULT_LIMIT}.",
            },
        },
        "required": ["path"],
        "additionalProperties": False,
    }

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        path = resolve_in_workspace(ctx.workspace, args["path"])
        rel = relpath(ctx.workspace, path)
        offset: int = args.get("offset", 1)
        limit: int = args.get("limit", DEFAULT_LIMIT)
        if path.is_dir():
            raise ToolError(
                f"{rel} is a directory, not a file; list it with glob "
                f"(pattern '*' and path '{rel}')"
            )
        if not path.exists():
            raise ToolError(f"file not found: {rel}")
        st = path.stat()
        seen = ctx.reads.get(rel)
        if (
            seen is not None
            and (seen.mtime_ns, seen.size, seen.offset, seen.limit)
            == (st.st_mtime_ns, st.st_size, offset, limit)
        ):
            return ToolResult(
                f"{rel}: unchanged since last read (same lines {offset}..); "
                "the earlier output is still current",
                meta={"path": rel, "unchanged": True},
            )
        data = path.read_bytes()
        if looks_binary(data):
            raise ToolError(f"{rel} is a binary file ({len(data)} bytes); not shown")
        output = _render(rel, data, offset, limit)
        record(ctx, rel, st, data, offset, limit)
        return ToolResult(output, meta={"path": rel})


def _render(rel: str, data: bytes, offset: int, limit: int) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
        note = ""
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        note = "\n(not valid UTF-8: undecodable bytes shown as U+FFFD; edit will refuse it)"
    lines = split_lines(text)
    total = len(lines)
    if total == 0:
        return f"{rel}: (empty file)"
    if offset > total:
        raise ToolError(f"offset {offset} is past the end of {rel} ({total} lines)")
    chunk = lines[offset - 1 : offset - 1 + limit]
    body = number_lines(chunk, offset, MAX_LINE_CHARS)
    shown = len(chunk)
    if len(body) > MAX_OUTPUT_CHARS:
        body = body[:MAX_OUTPUT_CHARS]
        body = body[: body.rfind("\n")] if "\n" in body else body
        shown = body.count("\n") + 1
    last = offset + shown - 1
    if last < total:
        note += (
            f"\n(truncated: showing lines {offset}-{last} of {total}; "
            f"read more with offset={last + 1})"
        )
    return body + note
