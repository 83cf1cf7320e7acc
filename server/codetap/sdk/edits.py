"""Applying the daemon's ``workspace/applyEdit`` to files on disk (for ``Client.apply``).

``codetap/task/apply`` three-way merges the task's change onto the current files and sends
the clean hunks as an LSP ``WorkspaceEdit`` of ``TextDocumentEdit``s (positions 0-based,
UTF-16 code units, LSP 3.17). An SDK client has no buffers, so it writes the files. A
file that changed since the daemon read it (its text no longer holds the edit's old
ranges consistently) is not possible to detect from LSP ranges alone, so the window is kept
short: read, edit, write per file, right when the request arrives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse


def _offset(lines: list[str], line: int, character: int) -> int:
    """Index in the joined text of an LSP position (UTF-16 ``character``)."""
    base = sum(len(x) for x in lines[:line])
    if line >= len(lines):
        return base
    text, units, i = lines[line], 0, 0
    while i < len(text) and units < character:
        units += 2 if ord(text[i]) > 0xFFFF else 1
        i += 1
    return base + i


def _path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise ValueError(f"not a file URI: {uri}")
    return Path(unquote(parsed.path))


def apply_workspace_edit(edit: dict[str, Any]) -> None:
    """Write every ``TextDocumentEdit`` of ``edit`` to disk (edits of one file applied from
    the end backwards, as LSP ranges refer to the text before the edit). ValueError for
    shapes other than text document edits."""
    for change in edit.get("documentChanges") or []:
        if "textDocument" not in change:
            raise ValueError("only text document edits are supported")
        path = _path(change["textDocument"]["uri"])
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        spans = []
        for e in change["edits"]:
            r = e["range"]
            spans.append((_offset(lines, r["start"]["line"], r["start"]["character"]),
                          _offset(lines, r["end"]["line"], r["end"]["character"]),
                          e["newText"]))
        for start, end, new in sorted(spans, key=lambda s: (s[0], s[1]), reverse=True):
            text = text[:start] + new + text[end:]
        path.write_text(text, encoding="utf-8")
