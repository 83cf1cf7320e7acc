"""textDocument/codeAction: accept/reject suggestions, start a task on a range.

Accept actions carry their ``WorkspaceEdit`` inline (``CodeAction.edit``, versioned with
the buffer version the hunk was computed on) plus the command
``codetap.suggestion.accepted`` that records the decision: per LSP 3.17 the client applies
the edit first, then runs the command, and no server-initiated ``workspace/applyEdit``
prompt is needed. That form is used when the client takes code action literals and
``documentChanges`` (and create/delete resource operations if the hunk needs them);
other clients get the command form (``codetap.task.apply``: recompute, then versioned
``workspace/applyEdit``). Reject and the task starters are always commands.
"""

from __future__ import annotations

import functools
from typing import Any

from lsprotocol import types as lsp

from codetap.delivery.edits import SOURCE, workspace_edit
from codetap.delivery.suggestions import Suggestion
from codetap.lsp.convert import find_repo_root, path_to_uri, uri_to_path
from codetap.lsp.decisions import CMD_ACCEPTED
from codetap.lsp.session import Session
from codetap.protocol import methods

FIX_SELECTION_INTENT = "Find and fix the bug in the selected code."
REFACTOR_INTENT = (
    "Refactor the selected code for clarity and simplicity without changing its behaviour."
)


def _command(title: str, name: str, args: dict[str, Any]) -> lsp.Command:
    return lsp.Command(title=title, command=name, arguments=[args])


def _range_json(r: lsp.Range) -> dict[str, Any]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


def inline_edits(caps: lsp.ClientCapabilities) -> tuple[bool, bool]:
    """(inline edits at all, with create/delete file operations) for a client's
    capabilities: code action literals and ``workspaceEdit.documentChanges``, plus
    ``resourceOperations`` create and delete for the second."""
    td, ws = caps.text_document, caps.workspace
    literal = td is not None and td.code_action is not None and \
        td.code_action.code_action_literal_support is not None
    we = ws.workspace_edit if ws is not None else None
    if not (literal and we is not None and we.document_changes):
        return False, False
    ops = set(we.resource_operations or [])
    return True, {lsp.ResourceOperationKind.Create, lsp.ResourceOperationKind.Delete} <= ops


def _accept(title: str, kind: str, task_id: int, chosen: list[Suggestion],
            inline: tuple[bool, bool], all_hunks: bool) -> lsp.CodeAction:
    """An Accept action for ``chosen`` (clean) hunks: inline edit + record, or command."""
    tid = str(task_id)
    ids = [s.hunk_id for s in chosen]
    files = inline[1] or not any(s.create or s.delete for s in chosen)
    if inline[0] and files and chosen:
        return lsp.CodeAction(
            title=title, kind=kind, is_preferred=not all_hunks or None,
            edit=workspace_edit(chosen),
            command=_command("Accepted", CMD_ACCEPTED, {"id": tid, "hunk_ids": ids}),
        )
    args: dict[str, Any] = {"id": tid} if all_hunks else {"id": tid, "hunk_ids": ids}
    return lsp.CodeAction(
        title=title, kind=kind, is_preferred=not all_hunks or None,
        command=_command("Accept", methods.command_name(methods.TASK_APPLY), args),
    )


def _suggestion_actions(items: list[Suggestion], shown: dict[int, list[Suggestion]],
                        inline: tuple[bool, bool]) -> list[lsp.CodeAction]:
    actions: list[lsp.CodeAction] = []
    tasks: list[int] = []
    for s in items:
        tid = str(s.task_id)
        if not s.conflict:
            actions.append(_accept(f"codetap: Accept ({s.describe()})",
                                   lsp.CodeActionKind.QuickFix, s.task_id, [s], inline, False))
        actions.append(lsp.CodeAction(
            title=f"codetap: Reject suggestion of task {tid}",
            kind=lsp.CodeActionKind.QuickFix,
            command=_command("Reject", methods.CMD_REJECT, {"id": tid, "hunk_ids": [s.hunk_id]}),
        ))
        if s.task_id not in tasks:
            tasks.append(s.task_id)
    for task_id in tasks:
        clean = [s for s in shown.get(task_id, []) if not s.conflict]
        actions.append(_accept(f"codetap: Accept all of task {task_id}",
                               lsp.CodeActionKind.Source, task_id, clean, inline, True))
    return actions


def _same_range(s: Suggestion, rng: lsp.Range) -> bool:
    r = s.range
    return (r.start.line, r.start.character, r.end.line, r.end.character) == (
        rng.start.line, rng.start.character, rng.end.line, rng.end.character)


@functools.lru_cache(maxsize=1024)
def _root_uri(uri: str) -> str:
    # Code actions are asked on every cursor move; a file's repository does not move.
    return path_to_uri(find_repo_root(uri_to_path(uri)))


def _start_action(title: str, kind: str, uri: str, rng: lsp.Range, intent: str) -> lsp.CodeAction:
    root = _root_uri(uri)
    params = {"intent": intent, "root_uri": root, "scope": {"uri": uri, "range": _range_json(rng)}}
    return lsp.CodeAction(
        title=title, kind=kind,
        command=_command(title, methods.command_name(methods.TASK_START), params),
    )


def code_actions(session: Session, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    """Actions for the suggestions under the cursor/selection, then task starters.

    Task starters (commands ``codetap.task.start`` with a ``scope`` of the range):
    "codetap: fix this" on the first non-codetap diagnostic in the context (else on a
    non-empty selection), "codetap: refactor selection..." on a non-empty selection. No
    starter is offered on codetap's own suggestions: when the context's diagnostics are
    all codetap's, or the range is exactly a shown suggestion's range (what clients send
    when the cursor is on a diagnostic).
    """
    uri, rng = params.text_document.uri, params.range
    items = session.book.at(uri, rng)
    for d in params.context.diagnostics:
        data = d.data if isinstance(d.data, dict) else {}
        s = session.book.find(str(data.get("hunk_id") or d.code or ""))
        if s is not None and s not in items:
            items.append(s)
    caps = session.server.client_capabilities
    actions = _suggestion_actions(items, session.book.by_task, inline_edits(caps))
    if not uri.startswith("file:"):
        return actions
    foreign = [d for d in params.context.diagnostics if d.source != SOURCE]
    own = len(foreign) < len(params.context.diagnostics)
    on_suggestion = any(_same_range(s, rng) for s in items)
    if not foreign and (own or on_suggestion):
        return actions
    if foreign:
        what = "; ".join(d.message for d in foreign)[:1000]
        actions.append(_start_action(
            "codetap: fix this", lsp.CodeActionKind.QuickFix, uri, foreign[0].range,
            f"Fix this problem at line {foreign[0].range.start.line + 1}: {what}",
        ))
    elif rng.start != rng.end:
        actions.append(_start_action(
            "codetap: fix this", lsp.CodeActionKind.QuickFix, uri, rng, FIX_SELECTION_INTENT,
        ))
    if rng.start != rng.end:
        actions.append(_start_action(
            "codetap: refactor selection...", lsp.CodeActionKind.RefactorRewrite, uri, rng,
            REFACTOR_INTENT,
        ))
    return actions
