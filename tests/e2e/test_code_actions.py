"""Code actions: tasks scoped to a diagnostic or a selection; reject decisions that last;
inline Accept edits; a task whose hunks are all decided is settled (applied or discarded)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from tests.e2e.conftest import CALC, Editor, Env, connect, write_config
from tests.e2e.test_bad_input import Raw

from codetap.daemon.control import stop
from codetap.lsp.framing import read_message
from codetap.lsp.wire import frame


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


async def test_own_diagnostic_range_offers_no_task_starters(env: Env, editor: Editor) -> None:
    editor.open(env.calc_uri, CALC)
    info = await editor.request("codetap/task/start", {"intent": "fix", "root_uri": env.root_uri})
    (diag,) = await editor.wait_for(lambda: editor.codetap_diagnostics(env.calc_uri))
    assert diag.range.start != diag.range.end
    # What VS Code and eglot send with the cursor on the diagnostic: its range, itself.
    offered = await actions(editor, env, diag.range, [diag])
    assert len(offered) == 3 and all(t.startswith(("codetap: Accept", "codetap: Reject"))
                                     for t in offered), list(offered)
    assert f"codetap: Reject suggestion of task {info['id']}" in offered
    offered = await actions(editor, env, diag.range)  # a client that sends no context
    assert "codetap: fix this" not in offered and "codetap: refactor selection..." not in offered
    # A selection that is not the suggestion's still offers them.
    offered = await actions(editor, env, rng(4, 0, 5, 16))
    assert "codetap: refactor selection..." in offered


async def test_rejecting_every_hunk_discards_the_task(
        env: Env, tmp_path: Path, xdg: Path) -> None:
    write_config(xdg, tmp_path, {"two": TWO_EDITS})
    editor = await connect(env)
    try:
        editor.open(env.calc_uri, CALC)
        info = await editor.request("codetap/task/start",
                                    {"intent": "fix", "root_uri": env.root_uri})
        diags = await editor.wait_for(lambda: len(editor.codetap_diagnostics(env.calc_uri)) == 2
                                      and editor.codetap_diagnostics(env.calc_uri))
        for d in diags:
            offered = await actions(editor, env, d.range, [d])
            reject = offered[f"codetap: Reject suggestion of task {info['id']}"]
            assert await run_action(editor, reject) == {"rejected": 1}
        await editor.wait_state(info["id"], "discarded")
        await editor.wait_for(lambda: not editor.codetap_diagnostics(env.calc_uri))
        assert editor.notes["codetap/task/updated"][-1]["state"] == "discarded"
        assert editor.text(env.calc_uri) == CALC
    finally:
        await editor.client.shutdown_session()
        await editor.client.stop()


async def test_accept_one_reject_the_other_applies_the_task(
        env: Env, tmp_path: Path, xdg: Path) -> None:
    write_config(xdg, tmp_path, {"two": TWO_EDITS})
    editor = await connect(env)
    try:
        editor.open(env.calc_uri, CALC)
        info = await editor.request("codetap/task/start",
                                    {"intent": "fix", "root_uri": env.root_uri})
        diags = await editor.wait_for(lambda: len(editor.codetap_diagnostics(env.calc_uri)) == 2
                                      and editor.codetap_diagnostics(env.calc_uri))
        add_hunk = next(d for d in diags if d.range.start.line == 1)
        mul_hunk = next(d for d in diags if d.range.start.line == 5)
        accept = next(a for t, a in (await actions(editor, env, add_hunk.range,
                                                    [add_hunk])).items()
                      if t.startswith("codetap: Accept ("))
        assert accept.edit is not None and accept.command is not None
        assert accept.command.command == "codetap.suggestion.accepted"
        editor.apply_edit(lsp.ApplyWorkspaceEditParams(edit=accept.edit))
        assert await run_action(editor, accept) == {"accepted": 1}
        assert await editor.task_state(info["id"]) == "ready"  # one hunk still to decide
        await editor.wait_for(lambda: len(editor.codetap_diagnostics(env.calc_uri)) == 1)
        assert await editor.command("codetap.suggestion.reject",
                                    {"id": info["id"], "hunk_ids": [mul_hunk.code]}) == \
            {"rejected": 1}
        await editor.wait_state(info["id"], "applied")
        assert editor.text(env.calc_uri) == CALC.replace("a - b", "a + b")
    finally:
        await editor.client.shutdown_session()
        await editor.client.stop()


async def test_accepted_command_needs_hunk_ids_and_ignores_unknown_ones(
        env: Env, editor: Editor) -> None:
    editor.open(env.calc_uri, CALC)
    info = await editor.request("codetap/task/start", {"intent": "fix", "root_uri": env.root_uri})
    await editor.wait_for(lambda: editor.codetap_diagnostics(env.calc_uri))
    with pytest.raises(JsonRpcException, match="needs hunk_ids"):
        await editor.command("codetap.suggestion.accepted", {"id": info["id"]})
    assert await editor.command("codetap.suggestion.accepted",
                                {"id": info["id"], "hunk_ids": ["nope"]}) == {"accepted": 0}
    assert await editor.task_state(info["id"]) == "ready"


async def test_client_without_literal_code_actions_gets_the_command_form(env: Env) -> None:
    raw = await Raw.open(env)
    await raw.initialize(env.root_uri)  # capabilities: {}
    raw.writer.write(frame({"jsonrpc": "2.0", "id": 1, "method": "codetap/task/start",
                            "params": {"intent": "fix", "root_uri": env.root_uri}}))
    while True:  # until the suggestion is published (then the session's book has it)
        body = await asyncio.wait_for(read_message(raw.reader), 30)
        assert body is not None, "connection closed"
        msg = json.loads(body)
        if msg.get("method") == "textDocument/publishDiagnostics" and \
                msg["params"]["diagnostics"]:
            break
    reply = await raw.call("textDocument/codeAction", {
        "textDocument": {"uri": env.calc_uri}, "range": range_json(rng(1, 0, 1, 0)),
        "context": {"diagnostics": []}}, 2)
    accept = next(a for a in reply["result"] if a["title"].startswith("codetap: Accept ("))
    assert "edit" not in accept
    assert accept["command"]["command"] == "codetap.task.apply"
    raw.writer.close()


async def test_suggestions_notification_only_for_clients_that_opt_in(env: Env) -> None:
    stock = await connect(env, {"suggestions": False})
    drawing = await connect(env)
    try:
        stock.open(env.calc_uri, CALC)
        drawing.open(env.calc_uri, CALC)
        info = await stock.request("codetap/task/start",
                                   {"intent": "fix", "root_uri": env.root_uri})
        await stock.wait_for(lambda: stock.codetap_diagnostics(env.calc_uri))
        await drawing.wait_for(lambda: drawing.codetap_diagnostics(env.calc_uri))
        assert drawing.notes["codetap/suggestions"][-1]["id"] == info["id"]
        await stock.request("codetap/task/discard", {"id": info["id"]})
        await stock.wait_for(lambda: not stock.codetap_diagnostics(env.calc_uri))
        await drawing.wait_for(lambda: not drawing.codetap_diagnostics(env.calc_uri))
        assert drawing.notes["codetap/suggestions"][-1]["files"] == []
        assert "codetap/suggestions" not in stock.notes
    finally:
        for ed in (stock, drawing):
            await ed.client.shutdown_session()
            await ed.client.stop()
