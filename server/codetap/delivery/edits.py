"""LSP shapes of suggestions: diagnostics, workspace edits and the codetap/suggestions body.

Diagnostics follow LSP 3.17 ``Diagnostic`` (severity Information, source ``codetap``,
``code`` = hunk id, ``data`` = ``{"hunk_id", "task_id"}`` so code actions find the hunk).
Edits are ``TextDocumentEdit`` s versioned with the buffer version the hunks were computed
on (``None`` for files not open in the editor), plus ``CreateFile`` / ``DeleteFile``.
Special files (:class:`~codetap.delivery.special.SpecialChange`) only ever become a
Warning diagnostic at the top of the file and a hunkless entry with ``special`` in the
codetap/suggestions body: they have no edit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from lsprotocol import types as lsp

from codetap.delivery.special import SpecialChange
from codetap.delivery.suggestions import Suggestion
from codetap.protocol.models import FileSuggestions, Range, SuggestionHunk, SuggestionsParams

SOURCE = "codetap"


def to_lsp_range(r: Range) -> lsp.Range:
    """Protocol model Range -> lsprotocol Range."""
    return lsp.Range(
        start=lsp.Position(line=r.start.line, character=r.start.character),
        end=lsp.Position(line=r.end.line, character=r.end.character),
    )


def to_diagnostic(s: Suggestion) -> lsp.Diagnostic:
    """The diagnostic that shows suggestion ``s`` in the editor."""
    return lsp.Diagnostic(
        range=to_lsp_range(s.range),
        message=s.describe(),
        severity=lsp.DiagnosticSeverity.Warning if s.conflict else lsp.DiagnosticSeverity.Information,
        source=SOURCE,
        code=s.hunk_id,
        data={"hunk_id": s.hunk_id, "task_id": str(s.task_id)},
    )


def special_diagnostic(sp: SpecialChange) -> lsp.Diagnostic:
    """The Warning diagnostic (at the top of the file) reporting special change ``sp``.

    ``code`` is ``<task>-special`` and ``data`` ``{"task_id", "special"}``: it names no
    hunk, so no code action offers to accept it.
    """
    top = lsp.Position(line=0, character=0)
    return lsp.Diagnostic(
        range=lsp.Range(start=top, end=top),
        message=sp.describe(),
        severity=lsp.DiagnosticSeverity.Warning,
        source=SOURCE,
        code=f"{sp.task_id}-special",
        data={"task_id": str(sp.task_id), "special": sp.what},
    )


def suggestions_params(
    task_id: int, suggestions: Iterable[Suggestion], specials: Iterable[SpecialChange] = (),
) -> SuggestionsParams:
    """The codetap/suggestions notification body for one task (all its files).

    Special changes come after the files with hunks, one entry each with ``hunks: []``
    and ``special`` set.
    """
    files: dict[str, list[Suggestion]] = defaultdict(list)
    for s in suggestions:
        files[s.uri].append(s)
    return SuggestionsParams(
        id=str(task_id),
        files=[
            FileSuggestions(
                uri=uri,
                version=items[0].version,
                hunks=[
                    SuggestionHunk(
                        hunk_id=s.hunk_id,
                        range=s.range,
                        old_text=s.old_text,
                        new_text=s.new_text,
                        conflict=s.conflict,
                    )
                    for s in items
                ],
            )
            for uri, items in files.items()
        ] + [FileSuggestions(uri=sp.uri, hunks=[], special=sp.what) for sp in specials],
    )


def workspace_edit(suggestions: Sequence[Suggestion]) -> lsp.WorkspaceEdit:
    """One ``WorkspaceEdit`` applying the given clean suggestions (conflicts are skipped).

    Raises ValueError if a conflict is passed in (callers filter them out first).
    """
    if any(s.conflict for s in suggestions):
        raise ValueError("conflicting hunks are never applied")
    by_uri: dict[str, list[Suggestion]] = defaultdict(list)
    for s in suggestions:
        by_uri[s.uri].append(s)
    changes: list[lsp.TextDocumentEdit | lsp.CreateFile | lsp.RenameFile | lsp.DeleteFile] = []
    for uri, items in by_uri.items():
        if any(s.create for s in items):
            changes.append(
                lsp.CreateFile(uri=uri, options=lsp.CreateFileOptions(ignore_if_exists=True))
            )
        edits: list[lsp.TextEdit | lsp.AnnotatedTextEdit | lsp.SnippetTextEdit] = [
            lsp.TextEdit(range=to_lsp_range(s.range), new_text=s.new_text)
            for s in sorted(items, key=lambda s: (s.range.start.line, s.range.start.character))
        ]
        changes.append(
            lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=items[0].version
                ),
                edits=edits,
            )
        )
        if any(s.delete for s in items):
            changes.append(lsp.DeleteFile(uri=uri, options=lsp.DeleteFileOptions(ignore_if_not_exists=True)))
    return lsp.WorkspaceEdit(document_changes=changes)
