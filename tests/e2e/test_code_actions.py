"""Code actions: tasks scoped to a diagnostic or a selection; reject decisions that last."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from tests.e2e.conftest import CALC, Editor, Env, connect, write_config

from codetap.daemon.control import stop


def rng(l1: int, c1: int, l2: int, c2: int) -> lsp.Range:
    return lsp.Range(start=lsp.Position(l1, c1), end=lsp.Position(l2, c2))


def range_json(r: lsp.Range) -> dict[str, Any]:
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}


async def actions(editor: Editor, env: Env, r: lsp.Range,
                  diagnostics: list[lsp.Diagnostic] | None = None) -> dict[str, lsp.CodeAction]:
    got = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=env.calc_uri), range=r,
        context=lsp.CodeActionContext(diagnostics=diagnostics or [])))
    return {a.title: a for a in got or [] if isinstance(a, lsp.CodeAction)}


async def run_action(editor: Editor, action: lsp.CodeAction) -> dict[str, Any]:
    assert action.command is not None
    result = await editor.client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command=action.command.command, arguments=action.command.arguments))
    assert isinstance(result, dict)
    return result


def journal(env: Env, task_id: str) -> list[dict[str, Any]]:
    """``codetap log ID``: the task's journal as the user sees it."""
    out = subprocess.run([sys.executable, "-m", "codetap", "log", task_id], env=env.env,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [json.loads(line) for line in out.splitlines()]


async def test_fix_this_on_a_diagnostic_starts_a_scoped_task(env: Env, editor: Editor) -> None:
    editor.open(env.calc_uri, CALC)
    diag = lsp.Diagnostic(range=rng(1, 11, 1, 16), message='Operator "-" looks wrong',
                          severity=lsp.DiagnosticSeverity.Error, source="basedpyright")
    offered = await actions(editor, env, rng(1, 12, 1, 12), [diag])
    assert list(offered) == ["codetap: fix this"]  # no selection: no refactor
    fix = offered["codetap: fix this"]
    assert fix.kind == lsp.CodeActionKind.QuickFix
    info = await run_action(editor, fix)
    assert info["scope"] == {"uri": env.calc_uri, "range": range_json(diag.range)}
    assert info["root_uri"] == env.root_uri
    assert 'Operator "-" looks wrong' in info["intent"]
    await editor.wait_state(info["id"], "ready")
    got = await editor.request("codetap/task/get", {"id": info["id"]})
    assert got["scope"] == info["scope"]
    first_user = next(e for e in journal(env, info["id"]) if e["kind"] == "user")
    assert "Scope: calc.py, lines 2-2. Focus the change there." in first_user["data"]["content"]
    assert 'line 2: Operator "-" looks wrong' in first_user["data"]["content"]


async def test_selection_offers_fix_and_refactor(env: Env, editor: Editor) -> None:
    editor.open(env.calc_uri, CALC)
    selection = rng(4, 0, 5, 16)
    offered = await actions(editor, env, selection)
    assert set(offered) == {"codetap: fix this", "codetap: refactor selection..."}
    refactor = offered["codetap: refactor selection..."]
    assert refactor.kind == lsp.CodeActionKind.RefactorRewrite
    info = await run_action(editor, refactor)
    assert info["scope"] == {"uri": env.calc_uri, "range": range_json(selection)}
    assert info["intent"].startswith("Refactor the selected code")
    await editor.wait_state(info["id"], "ready")
    first_user = next(e for e in journal(env, info["id"]) if e["kind"] == "user")
    assert "Scope: calc.py, lines 5-6." in first_user["data"]["content"]
    fix = await run_action(editor, offered["codetap: fix this"])
    assert fix["scope"]["range"] == range_json(selection)
    assert fix["intent"] == "Find and fix the bug in the selected code."


async def test_codetap_diagnostics_and_other_schemes_start_nothing(env: Env,
                                                                   editor: Editor) -> None:
    editor.open(env.calc_uri, CALC)
    own = lsp.Diagnostic(range=rng(1, 0, 1, 4), message="replace 1 line", source="codetap")
    assert await actions(editor, env, rng(1, 0, 1, 0), [own]) == {}
    got = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri="untitled:Untitled-1"), range=rng(0, 0, 1, 0),
        context=lsp.CodeActionContext(diagnostics=[])))
    assert not got
    listed = await editor.request("codetap/task/list", {})
    assert listed["tasks"] == []


TWO_EDITS = [
    {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
    {"tool_calls": [{"name": "edit", "arguments": {
        "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}}]},
    {"tool_calls": [{"name": "edit", "arguments": {
        "path": "calc.py", "old_string": "return a * b", "new_string": "return b * a"}}]},
    {"tool_calls": [{"name": "finish", "arguments": {"summary": "two hunks"}}]},
]


async def test_rejected_hunk_stays_rejected_after_daemon_restart(
        env: Env, tmp_path: Path, xdg: Path) -> None:
    write_config(xdg, tmp_path, {"two": TWO_EDITS})
    first = await connect(env)
    first.open(env.calc_uri, CALC)
    info = await first.request("codetap/task/start", {"intent": "fix", "root_uri": env.root_uri})
    await first.wait_state(info["id"], "ready")
    diags = await first.wait_for(lambda: len(first.codetap_diagnostics(env.calc_uri)) == 2
                                 and first.codetap_diagnostics(env.calc_uri))
    add_hunk = next(d for d in diags if d.range.start.line == 1)
    mul_hunk = next(d for d in diags if d.range.start.line == 5)
    result = await first.command("codetap.suggestion.reject",
                                 {"id": info["id"], "hunk_ids": [add_hunk.code]})
    assert result == {"rejected": 1}
    await first.wait_for(lambda: len(first.codetap_diagnostics(env.calc_uri)) == 1)
    await first.client.shutdown_session()
    await first.client.stop()
    stop(env.paths)  # the daemon (and its memory) goes away

    second = await connect(env)
    try:
        second.open(env.calc_uri, CALC)
        shown = await second.wait_for(lambda: second.codetap_diagnostics(env.calc_uri))
        await asyncio.sleep(0.3)  # anything else would have been published with it
        assert [d.code for d in second.codetap_diagnostics(env.calc_uri)] == [mul_hunk.code]
        assert shown[0].range.start.line == 5
        (files,) = second.notes["codetap/suggestions"][-1]["files"]
        assert [h["hunk_id"] for h in files["hunks"]] == [mul_hunk.code]
        applied = await second.request("codetap/task/apply", {"id": info["id"]})
        assert applied == {"applied": 1, "conflicts": 0}
        assert second.text(env.calc_uri) == CALC.replace("a * b", "b * a")
        await second.wait_state(info["id"], "applied")
    finally:
        await second.client.shutdown_session()
        await second.client.stop()
