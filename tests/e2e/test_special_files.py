"""Issue 15 item 6 through the LSP front door: a task whose agent runs
``ln -s /etc/passwd link`` (and fixes calc.py) reports the link to the editor (hunkless
``special`` entry, Warning diagnostic, window/showMessage, ``codetap diff``) and never
delivers it as a text edit, even when the user accepts everything."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from tests.conftest import make_repo
from tests.e2e.conftest import CALC, FIXED, Editor, Env, connect, write_config

from codetap.daemon.control import stop
from codetap.daemon.paths import DaemonPaths

LINK_SESSION = [
    {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
    {"tool_calls": [{"name": "bash", "arguments": {"command": "ln -s /etc/passwd link"}}]},
    {"tool_calls": [{"name": "edit", "arguments": {
        "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}}]},
    {"tool_calls": [{"name": "finish", "arguments": {"summary": "add adds; made a link"}}]},
]


@pytest.fixture
def lenv(tmp_path: Path, xdg: Path) -> Iterator[Env]:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    write_config(xdg, tmp_path, {"linker": LINK_SESSION})
    e = dict(os.environ)
    paths = DaemonPaths.from_env(e)
    yield Env(repo.resolve(), e, paths)
    stop(paths)


@pytest.fixture
async def recording(lenv: Env) -> AsyncIterator[tuple[Editor, list[Any]]]:
    """An editor that applies text edits to its buffers and records every document change
    it is sent (TextDocumentEdit, CreateFile, ...)."""
    ed = await connect(lenv)
    received: list[Any] = []
    plain = ed.apply_edit

    def apply_edit(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        received.extend(params.edit.document_changes or [])
        received.extend((params.edit.changes or {}).items())
        return plain(params)

    ed.apply_edit = apply_edit  # type: ignore[method-assign]
    yield ed, received
    await ed.client.shutdown_session()
    await ed.client.stop()


def _latest_with_link(editor: Editor, link_uri: str) -> dict[str, Any] | None:
    for note in reversed(editor.notes.get("codetap/suggestions", [])):
        if any(f["uri"] == link_uri for f in note["files"]):
            return dict(note)
    return None


async def test_symlink_is_reported_never_applied(
    lenv: Env, recording: tuple[Editor, list[Any]],
) -> None:
    editor, received = recording
    link_uri = (lenv.repo / "link").as_uri()
    editor.open(lenv.calc_uri, CALC)
    info = await editor.request("codetap/task/start",
                                {"intent": "fix add", "root_uri": lenv.root_uri})
    task_id = info["id"]
    await editor.wait_state(task_id, "ready")
    note = await editor.wait_for(lambda: _latest_with_link(editor, link_uri))

    files = {f["uri"]: f for f in note["files"]}
    assert files[link_uri] == {"uri": link_uri, "hunks": [], "special": "symlink -> /etc/passwd"}
    (hunk,) = files[lenv.calc_uri]["hunks"]
    assert hunk["new_text"] == "    return a + b\n" and "special" not in files[lenv.calc_uri]

    diags = await editor.wait_for(lambda: editor.codetap_diagnostics(link_uri))
    assert [d.severity for d in diags] == [lsp.DiagnosticSeverity.Warning]
    assert diags[0].message == (f"codetap task {task_id} also changes link (symlink -> "
                                f"/etc/passwd): not applied; review with `codetap diff {task_id}`")
    shown = [m for m in editor.client.messages if "symlink -> /etc/passwd" in m.message]
    assert len(shown) == 1 and shown[0].type == lsp.MessageType.Warning
    assert f"codetap diff {task_id}" in shown[0].message

    result = await editor.request("codetap/task/apply", {"id": task_id})
    assert result == {"applied": 1, "conflicts": 0}
    assert editor.text(lenv.calc_uri) == FIXED
    uris = [c.text_document.uri if isinstance(c, lsp.TextDocumentEdit) else getattr(c, "uri", c)
            for c in received]
    assert uris == [lenv.calc_uri], received
    assert not any("/etc/passwd" in e.new_text for c in received
                   if isinstance(c, lsp.TextDocumentEdit) for e in c.edits)
    assert not os.path.lexists(lenv.repo / "link")
    # The link is still the user's to review: the task is not "applied" while it stays.
    assert await editor.task_state(task_id) == "ready"
    assert editor.codetap_diagnostics(link_uri)

    diff = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "codetap", "diff", task_id], env=lenv.env,
        capture_output=True, text=True, timeout=60, check=False)
    assert diff.returncode == 0, diff.stderr
    assert "new file mode 120000" in diff.stdout and "+    return a + b" in diff.stdout
    assert "link (symlink -> /etc/passwd)" in diff.stderr
