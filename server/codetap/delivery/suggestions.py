"""Suggestions: the merge hunks of one task file, placed in the user's current text.

A :class:`Suggestion` carries everything a client needs: the LSP range in the current
text (0-based lines, UTF-16 characters), old and new text, whether it is a conflict, and a
stable ``hunk_id`` (``<task>-<file hash>-<hunk index>-<content hash>``) that survives user
edits elsewhere in the file and daemon restarts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from codetap.delivery.merge import MergeHunk, merge_hunks, split_lines
from codetap.protocol.models import Position, Range


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One hunk of task ``task_id`` for file ``uri`` (repo-relative ``path``).

    ``version`` is the open buffer's version the range refers to (``None``: the text on
    disk). ``create``: the file does not exist yet; ``delete``: the task removed it.
    """

    hunk_id: str
    task_id: int
    uri: str
    path: str
    version: int | None
    range: Range
    old_text: str
    new_text: str
    conflict: bool = False
    create: bool = False
    delete: bool = False

    def describe(self) -> str:
        """One-line, human-readable summary used as the diagnostic message."""
        old_n, new_n = len(split_lines(self.old_text)), len(split_lines(self.new_text))
        head = f"codetap task {self.task_id}"
        if self.conflict:
            return f"{head}: conflict with your edits here ({old_n} -> {new_n} lines); not applied"
        if self.delete:
            return f"{head}: delete this file"
        if old_n == 0:
            what = f"insert {new_n} line{'s' if new_n != 1 else ''}"
        elif new_n == 0:
            what = f"delete {old_n} line{'s' if old_n != 1 else ''}"
        else:
            what = f"replace {old_n} line{'s' if old_n != 1 else ''} with {new_n}"
        first = next((ln.strip() for ln in split_lines(self.new_text) if ln.strip()), "")
        return f"{head}: {what}" + (f": {first[:80]}" if first else "")


def char_len(text: str, encoding: str = "utf-16") -> int:
    """Length of ``text`` in the code units of an LSP position encoding.

    ``encoding`` is an LSP ``PositionEncodingKind``: ``utf-8``, ``utf-16`` (the default)
    or ``utf-32``.
    """
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def line_range(lines: list[str], start: int, end: int, encoding: str = "utf-16") -> Range:
    """LSP range covering whole lines ``[start, end)`` of ``lines`` (kept line endings).

    When ``end`` is past a last line that has no line ending, the range ends at that
    line's end instead of on a line that does not exist.
    """
    def pos(n: int) -> Position:
        if n >= len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
            return Position(line=len(lines) - 1, character=char_len(lines[-1], encoding))
        return Position(line=n, character=0)

    return Range(start=pos(start), end=pos(end))


def hunk_id(task_id: int, path: str, hunk: MergeHunk) -> str:
    """Stable id of a hunk: task, file, index in base -> tip, hash of the new text."""
    file_hash = hashlib.sha1(path.encode()).hexdigest()[:6]
    content = hashlib.sha1(hunk.new_text.encode()).hexdigest()[:8]
    return f"{task_id}-{file_hash}-{hunk.index}-{content}"


def file_suggestions(
    task_id: int,
    uri: str,
    path: str,
    base_text: str | None,
    tip_text: str | None,
    current_text: str | None,
    version: int | None = None,
    encoding: str = "utf-16",
) -> list[Suggestion]:
    """Suggestions bringing ``current_text`` to include the task's ``base -> tip`` change.

    ``encoding`` is the session's LSP position encoding. ``None`` texts mean the file is absent (created or deleted by the task, or not on disk).
    A file the task deleted yields one hunk removing all text, marked ``delete``.
    """
    current = current_text or ""
    hunks = merge_hunks(base_text or "", tip_text or "", current)
    lines = split_lines(current)
    create = current_text is None and tip_text is not None
    delete = tip_text is None and current_text is not None
    out: list[Suggestion] = []
    for hunk in hunks:
        whole = hunk.start == 0 and hunk.end == len(lines) and not hunk.new_lines
        out.append(
            Suggestion(
                hunk_id=hunk_id(task_id, path, hunk),
                task_id=task_id,
                uri=uri,
                path=path,
                version=version,
                range=line_range(lines, hunk.start, hunk.end, encoding),
                old_text=hunk.old_text,
                new_text=hunk.new_text,
                conflict=hunk.conflict,
                create=create,
                delete=delete and whole and not hunk.conflict,
            )
        )
    return out
