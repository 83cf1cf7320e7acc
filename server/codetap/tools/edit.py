"""The ``edit`` tool: exact string replacement in a file (ARCHITECTURE.md "Tool contract")."""

from __future__ import annotations

from typing import ClassVar

from codetap.errors import ToolError
from codetap.tools.base import Tool, ToolContext
from codetap.tools.fileio import atomic_write, check_fresh, decode_text, record, sha256
from codetap.tools.paths import relpath, resolve_in_workspace
from codetap.tools.text import number_lines, split_lines
from codetap.types import JSON, ToolResult

SNIPPET_CONTEXT = 3
SNIPPET_MAX_LINES = 40
MAX_LINE_CHARS = 300


class EditTool(Tool):
    """``edit {path, old_string, new_string, replace_all?}``: replace exact text.

    ``old_string`` must occur exactly once unless ``replace_all`` is true. The file must
    have been read (``ctx.reads``) and be unchanged since (SHA-256); it must be UTF-8.
    Line endings and a BOM are preserved: in an all-CRLF file, ``\\n`` in the strings
    stands for CRLF. Writes atomically, updates ``ctx.reads`` (so consecutive edits work)
    and returns the edited region with line numbers. ``meta``: ``changed_files`` [rel],
    ``sha256_before``, ``sha256_after``, ``replacements``.

    Errors (ToolError): file missing, not read or stale, not text, ``old_string`` empty,
    equal to ``new_string``, not found, or found several times without ``replace_all``.
    """

    name: ClassVar[str] = "edit"
    description: ClassVar[str] = (
        "Replace an exact piece of text in a file that you have read. old_string must match "
        "the file exactly (whitespace included) and be unique; add surrounding lines to "
        "make it unique, or set replace_all to change every occurrence."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path relative to the workspace."},
            "old_string": {"type": "string", "description": "Exact text to replace."},
            "new_string": {"type": "string", "description": "Replacement text."},
            "replace_all": {
                "type": "boolean",
                "description": "Replace every occurrence instead of exactly one. Default false.",
            },
        },
        "required": ["path", "old_string", "new_string"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False
    idempotent: ClassVar[bool] = False
    mutates: ClassVar[bool] = True
    reports_changes: ClassVar[bool] = True

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        path = resolve_in_workspace(ctx.workspace, args["path"])
        rel = relpath(ctx.workspace, path)
        old: str = args["old_string"]
        new: str = args["new_string"]
        replace_all: bool = args.get("replace_all", False)
        if old == "":
            raise ToolError("old_string is empty; to create or overwrite a file use write")
        if old == new:
            raise ToolError("old_string and new_string are identical; nothing to change")
        if path.is_dir():
            raise ToolError(f"{rel} is a directory, not a file")
        if not path.exists():
            raise ToolError(f"file not found: {rel} (use write to create a new file)")
        before = path.read_bytes()
        check_fresh(ctx, rel, before)
        doc = decode_text(before, rel)
        if doc.crlf:
            old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
        count = doc.text.count(old)
        if count == 0:
            raise ToolError(_not_found(rel, doc.text, old))
        if count > 1 and not replace_all:
            raise ToolError(
                f"old_string matches {count} times in {rel}; include more surrounding lines "
                "to make it unique, or set replace_all to true to replace all of them"
            )
        start = doc.text.index(old)
        text = doc.text.replace(old, new) if replace_all else doc.text.replace(old, new, 1)
        after = doc.encode(text)
        atomic_write(path, after)
        record(ctx, rel, path.stat(), after, 0, 0)
        replaced = count if replace_all else 1
        head = f"Edited {rel}" + (f" ({replaced} replacements)" if replaced > 1 else "")
        return ToolResult(
            f"{head}:\n{snippet(text, start, len(new))}",
            meta={
                "changed_files": [rel],
                "sha256_before": sha256(before),
                "sha256_after": sha256(after),
                "replacements": replaced,
            },
        )


def snippet(text: str, start: int, length: int) -> str:
    """Numbered lines around ``text[start:start+length]`` (3 lines of context, max 40)."""
    first = text.count("\n", 0, start)
    last = first + text.count("\n", start, start + length)
    lines = split_lines(text)
    lo = max(0, first - SNIPPET_CONTEXT)
    hi = min(len(lines), last + SNIPPET_CONTEXT + 1, lo + SNIPPET_MAX_LINES)
    if not lines:
        return "(file is now empty)"
    return number_lines(lines[lo:hi], lo + 1, MAX_LINE_CHARS)


def _not_found(rel: str, text: str, old: str) -> str:
    msg = f"old_string not found in {rel}"
    stripped = old.strip()
    if stripped and stripped != old and stripped in text:
        return msg + "; it matches only with different leading/trailing whitespace"
    if old.lower() in text.lower():
        return msg + "; it matches only ignoring case"
    return msg + "; read the file again and copy the text exactly (whitespace included)"
