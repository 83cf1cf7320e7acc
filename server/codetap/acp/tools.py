"""codetap tool calls as ACP tool calls: kind, title, locations and content.

ACP (``session/update`` ``tool_call``) wants a ``kind`` from a fixed list, a human title,
the absolute paths a call touches (``locations``) and, for edits, ``diff`` content
(``{path, oldText, newText}``). Paths in codetap tool arguments are relative to the task's
workspace; they are shown under the session's repository (the files the user has open),
not under the task's worktree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from acp.schema import (
    ContentToolCallContent,
    FileEditToolCallContent,
    TerminalToolCallContent,
    TextContentBlock,
    ToolCallLocation,
)

ToolKind = Literal["read", "edit", "delete", "move", "search", "execute", "think", "fetch",
                   "switch_mode", "other"]
Content = ContentToolCallContent | FileEditToolCallContent | TerminalToolCallContent

KINDS: dict[str, ToolKind] = {
    "read": "read", "edit": "edit", "write": "edit", "bash": "execute", "grep": "search",
    "glob": "search", "lsp": "search", "symbols": "search", "todo": "think",
    "ask": "other", "finish": "other",
}
"""codetap tool name -> ACP ToolKind (unknown tools: ``other``). codetap has no network
tool, so nothing maps to ``fetch``."""

OUTPUT_CHARS = 8000
"""Tool output shown in a completed call is cut to this many characters (the journal and
``codetap log`` keep it whole)."""


def kind(name: str) -> ToolKind:
    """The ACP kind of codetap tool ``name``."""
    return KINDS.get(name, "other")


def _arg(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    return value if isinstance(value, str) else ""


def title(name: str, args: dict[str, Any]) -> str:
    """A one-line human title of a call, e.g. ``Read calc.py`` or ``Run `pytest -q```."""
    path, pattern = _arg(args, "path"), _arg(args, "pattern")
    where = f" in {path}" if path else ""
    titles = {
        "read": f"Read {path}", "edit": f"Edit {path}", "write": f"Write {path}",
        "bash": f"Run `{_arg(args, 'command')[:120]}`", "grep": f"Search `{pattern}`{where}",
        "glob": f"Find files `{pattern}`{where}",
        "lsp": f"{_arg(args, 'operation') or 'Query'} {path}".strip(),
        "symbols": f"Symbols `{_arg(args, 'query')}`{where}", "todo": "Update the plan",
        "ask": _arg(args, "question")[:200] or "Question", "finish": "Finish",
    }
    return titles.get(name, name)


def absolute(root: Path, path: str) -> Path:
    """``path`` (relative to the workspace, or absolute) as an absolute path under ``root``."""
    p = Path(path)
    return p if p.is_absolute() else root / p


def locations(name: str, args: dict[str, Any], root: Path) -> list[ToolCallLocation]:
    """The files a call touches (absolute), with a 0-based line when the call names one."""
    path = _arg(args, "path")
    if not path:
        return []
    line = args.get("offset") if name == "read" else args.get("line")
    at = line - 1 if isinstance(line, int) and line > 0 else None
    return [ToolCallLocation(path=str(absolute(root, path)), line=at)]


def _old_text(root: Path, path: str) -> str | None:
    try:
        return absolute(root, path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def start_content(name: str, args: dict[str, Any], root: Path) -> list[Content]:
    """Content shown when a call starts: ``diff`` content for ``edit`` (oldText/newText from
    its ``old_string``/``new_string``) and ``write`` (the file under ``root`` as old text,
    None for a new file); nothing for other tools."""
    path = _arg(args, "path")
    if name == "edit" and path:
        return [FileEditToolCallContent(
            type="diff", path=str(absolute(root, path)), old_text=_arg(args, "old_string"),
            new_text=_arg(args, "new_string"))]
    if name == "write" and path:
        return [FileEditToolCallContent(
            type="diff", path=str(absolute(root, path)), old_text=_old_text(root, path),
            new_text=_arg(args, "content"))]
    return []


def output_text(output: Any) -> str:
    """A result's ``output`` as text: a large entry's reference gives its preview."""
    if isinstance(output, str):
        return output
    if isinstance(output, dict) and isinstance(output.get("preview"), str):
        return f"{output['preview']}\n... ({output.get('bytes', '?')} bytes in all)"
    return ""


def result_content(name: str, output: Any, is_error: bool) -> list[Content] | None:
    """Content shown when a call ends: its output as text, cut to :data:`OUTPUT_CHARS`;
    None (keep the diff) for ``edit``/``write`` that succeeded."""
    if name in ("edit", "write") and not is_error:
        return None
    text = output_text(output)
    if len(text) > OUTPUT_CHARS:
        text = text[:OUTPUT_CHARS] + f"\n... ({len(text) - OUTPUT_CHARS} more characters)"
    if not text:
        return []
    return [ContentToolCallContent(type="content", content=TextContentBlock(type="text",
                                                                           text=text))]
