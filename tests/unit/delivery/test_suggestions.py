"""Suggestions and their LSP shapes: ranges, encodings, ids, edits."""

from __future__ import annotations

import pytest
from lsprotocol import types as lsp

from codetap.delivery.edits import suggestions_params, to_diagnostic, workspace_edit
from codetap.delivery.suggestions import char_len, file_suggestions

BASE = "a = 1\nb = 2\nc = 3\n"


def test_range_ids_and_diagnostic() -> None:
    (s,) = file_suggestions(7, "file:///r/x.py", "x.py", BASE, BASE.replace("b = 2", "b = 20"),
                            BASE, version=4)
    assert (s.range.start.line, s.range.end.line, s.range.end.character) == (1, 2, 0)
    assert s.hunk_id.startswith("7-") and s.version == 4
    d = to_diagnostic(s)
    assert d.source == "codetap" and d.severity == lsp.DiagnosticSeverity.Information
    assert d.data == {"hunk_id": s.hunk_id, "task_id": "7"}
    assert "replace 1 line with 1: b = 20" in d.message
    again = file_suggestions(7, "file:///r/x.py", "x.py", BASE, BASE.replace("b = 2", "b = 20"),
                             "# new first line\n" + BASE)
    assert again[0].hunk_id == s.hunk_id and again[0].range.start.line == 2


def test_end_of_file_without_newline_uses_encoding() -> None:
    base = "x\né😀"
    (s8,) = file_suggestions(1, "u", "p", base, "x\n", base, encoding="utf-8")
    (s16,) = file_suggestions(1, "u", "p", base, "x\n", base, encoding="utf-16")
    assert (s8.range.end.line, s8.range.end.character) == (1, 6)
    assert (s16.range.end.line, s16.range.end.character) == (1, 3)
    assert char_len("é😀", "utf-32") == 2


def test_created_and_deleted_files() -> None:
    (created,) = file_suggestions(2, "file:///r/n.py", "n.py", None, "new\n", None)
    edit = workspace_edit([created])
    assert isinstance(edit.document_changes[0], lsp.CreateFile)
    (deleted,) = file_suggestions(2, "file:///r/o.py", "o.py", "old\n", None, "old\n")
    assert deleted.delete and "delete this file" in deleted.describe()
    assert isinstance(workspace_edit([deleted]).document_changes[-1], lsp.DeleteFile)


def test_conflicts_are_never_in_edits_and_params_group_by_file() -> None:
    tip = BASE.replace("b = 2", "b = 20")
    (c,) = file_suggestions(3, "u", "p", BASE, tip, BASE.replace("b = 2", "b = 9"))
    assert c.conflict and to_diagnostic(c).severity == lsp.DiagnosticSeverity.Warning
    with pytest.raises(ValueError, match="never applied"):
        workspace_edit([c])
    body = suggestions_params(3, [c])
    assert body.files[0].hunks[0].conflict and body.id == "3"
