"""textDocument/codeAction: accept/reject suggestions, start a task on a range.

Every action is a ``Command`` (no inline edit), so accepting goes through the server
(recompute, versioned workspace/applyEdit) and works with any stock client.
"""

from __future__ import annotations

import functools
from typing import Any

from lsprotocol import types as lsp

from codetap.delivery.edits import SOURCE
from codetap.delivery.suggestions import Suggestion
from codetap.lsp.convert import find_repo_root, path_to_uri, uri_to_path
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


def _suggestion_actions(items: list[Suggestion]) -> list[lsp.CodeAction]:
    apply_cmd = methods.command_name(methods.TASK_APPLY)
    actions: list[lsp.CodeAction] = []
    tasks: list[int] = []
    for s in items:
        tid = str(s.task_id)
        if not s.conflict:
            actions.append(lsp.CodeAction(
                title=f"codetap: Accept ({s.describe()})",
                kind=lsp.CodeActionKind.QuickFix,
                is_preferred=True,
                command=_command("Accept", apply_cmd, {"id": tid, "hunk_ids": [s.hunk_id]}),
            ))
        actions.append(lsp.CodeAction(
            title=f"codetap: Reject suggestion of task {tid}",
            kind=lsp.CodeActionKind.QuickFix,
            command=_command("Reject", methods.CMD_REJECT, {"id": tid, "hunk_ids": [s.hunk_id]}),
        ))
        if s.task_id not in tasks:
            tasks.append(s.task_id)
    for task_id in tasks:
        actions.append(lsp.CodeAction(
            title=f"codetap: Accept all of task {task_id}",
            kind=lsp.CodeActionKind.Source,
            command=_command("Accept all", apply_cmd, {"id": str(task_id)}),
        ))
    return actions


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
    non-empty selection), "codetap: refactor selection..." on a non-empty selection.
    """
    uri, rng = params.text_document.uri, params.range
    items = session.book.at(uri, rng)
    for d in params.context.diagnostics:
        data = d.data if isinstance(d.data, dict) else {}
        s = session.book.find(str(data.get("hunk_id") or d.code or ""))
        if s is not None and s not in items:
            items.append(s)
    actions = _suggestion_actions(items)
    if not uri.startswith("file:"):
        return actions
    foreign = [d for d in params.context.diagnostics if d.source != SOURCE]
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
