"""pytest-lsp against the real `codetap lsp` bridge and the real daemon."""

from __future__ import annotations

from lsprotocol import types as lsp
from tests.e2e.conftest import CALC, FIXED, Editor, Env


async def test_start_with_custom_request_delivers_suggestions(env: Env, editor: Editor) -> None:
    editor.open(env.calc_uri, CALC)
    info = await editor.request("codetap/task/start",
                                {"intent": "make add add", "root_uri": env.root_uri})
    assert info["state"] in ("queued", "running")
    assert info["branch"] == f"codetap/task-{info['id']}"
    diags = await editor.wait_for(lambda: editor.codetap_diagnostics(env.calc_uri))
    assert diags[0].severity == lsp.DiagnosticSeverity.Information
    assert diags[0].range.start.line == 1 and "replace 1 line" in diags[0].message
    states = [n["state"] for n in editor.notes["codetap/task/updated"]]
    assert "ready" in states
    assert editor.client.progress_reports, "no $/progress was reported"
    kinds = [v.kind for vals in editor.client.progress_reports.values() for v in vals]
    assert kinds[0] == "begin" and "end" in kinds
    (sug,) = editor.notes["codetap/suggestions"][-1]["files"]
    assert sug["hunks"][0]["new_text"] == "    return a + b\n"
    assert sug["version"] == 1


async def test_execute_command_and_accept_code_action(env: Env, editor: Editor) -> None:
    editor.open(env.calc_uri, CALC)
    info = await editor.command("codetap.task.start",
                                {"intent": "make add add", "root_uri": env.root_uri})
    diags = await editor.wait_for(lambda: editor.codetap_diagnostics(env.calc_uri))
    actions = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=env.calc_uri), range=diags[0].range,
        context=lsp.CodeActionContext(diagnostics=diags)))
    assert actions is not None
    titles = [a.title for a in actions]
    assert any(t.startswith("codetap: Accept (") for t in titles)
    assert f"codetap: Accept all of task {info['id']}" in titles
    accept = next(a for a in actions if isinstance(a, lsp.CodeAction)
                  and a.title.startswith("codetap: Accept ("))
    # The client takes code action literals: the edit comes inline, applied by the client
    # first, then the command records the decision (LSP 3.17 CodeAction).
    assert accept.edit is not None and accept.command is not None
    editor.apply_edit(lsp.ApplyWorkspaceEditParams(edit=accept.edit))
    result = await editor.client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command=accept.command.command, arguments=accept.command.arguments))
    assert result == {"accepted": 1}
    assert editor.text(env.calc_uri) == FIXED
    await editor.wait_state(info["id"], "applied")
    await editor.wait_for(lambda: not editor.codetap_diagnostics(env.calc_uri))


async def test_user_edit_during_task_is_preserved(env: Env, editor: Editor) -> None:
    editor.open(env.calc_uri, CALC)
    info = await editor.request("codetap/task/start", {
        "intent": "make add add", "root_uri": env.root_uri, "model": "slow"})
    # While the task runs, the user adds a docstring to mul (lines 4-5).
    editor.change(env.calc_uri, lsp.Range(start=lsp.Position(5, 0), end=lsp.Position(5, 0)),
                  '    """Multiply."""\n')
    await editor.wait_state(info["id"], "ready")
    await editor.wait_for(lambda: editor.codetap_diagnostics(env.calc_uri))
    editor.refuse_next_edit = True  # the first applyEdit is refused: server must retry
    result = await editor.request("codetap/task/apply", {"id": info["id"]})
    assert result == {"applied": 1, "conflicts": 0}
    assert editor.text(env.calc_uri) == FIXED.replace(
        "def mul(a, b):\n", 'def mul(a, b):\n    """Multiply."""\n')


async def test_conflicting_user_edit_is_reported_not_applied(env: Env, editor: Editor) -> None:
    editor.open(env.calc_uri, CALC)
    info = await editor.request("codetap/task/start", {
        "intent": "make add add", "root_uri": env.root_uri, "model": "slow"})
    editor.change(env.calc_uri, lsp.Range(start=lsp.Position(1, 4), end=lsp.Position(1, 16)),
                  "return b - a")
    await editor.wait_state(info["id"], "ready")
    diags = await editor.wait_for(lambda: editor.codetap_diagnostics(env.calc_uri))
    assert "conflict" in diags[0].message
    result = await editor.request("codetap/task/apply", {"id": info["id"]})
    assert result == {"applied": 0, "conflicts": 1}
    assert "return b - a" in editor.text(env.calc_uri)
