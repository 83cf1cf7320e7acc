"""E2E fixtures: a git repo, a replay model session, isolated XDG dirs, LSP test clients.

Clients run the real ``codetap lsp`` process (which starts the real daemon); each test's
daemon is stopped at teardown. :class:`Editor` wraps a pytest-lsp client and plays a
tiny editor: it keeps buffers, answers ``workspace/applyEdit`` (refusing stale versions,
as editors do) and sends the resulting ``didChange``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import pytest
from lsprotocol import types as lsp
from pygls.workspace import TextDocument
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features
from tests.conftest import make_repo

from codetap.daemon.control import stop
from codetap.daemon.paths import DaemonPaths
from codetap.lsp.converter import codetap_converter

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
FIXED = CALC.replace("a - b", "a + b")


def session_lines(delay_ms: int = 0) -> list[dict[str, Any]]:
    """Replay turns: read calc.py, fix add (after ``delay_ms``), finish."""
    return [
        {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
        {"delay_ms": delay_ms, "tool_calls": [{"name": "edit", "arguments": {
            "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "add now adds"}}]},
    ]


@dataclass
class Env:
    repo: Path
    env: dict[str, str]
    paths: DaemonPaths

    @property
    def root_uri(self) -> str:
        return self.repo.as_uri()

    @property
    def calc_uri(self) -> str:
        return (self.repo / "calc.py").as_uri()


def write_config(xdg: Path, tmp: Path, models: dict[str, list[dict[str, Any]]]) -> None:
    lines = [f'default_model = "{next(iter(models))}"']
    for name, turns in models.items():
        session = tmp / f"{name}.jsonl"
        session.write_text("".join(json.dumps(t) + "\n" for t in turns))
        lines += [f"[models.{name}]", 'provider = "replay"', f'path = "{session}"']
    cfg = xdg / "config" / "codetap"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def env(tmp_path: Path, xdg: Path) -> Iterator[Env]:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    write_config(xdg, tmp_path, {"fast": session_lines(0), "slow": session_lines(1500)})
    e = dict(os.environ)
    paths = DaemonPaths.from_env(e)
    yield Env(repo.resolve(), e, paths)
    stop(paths)


@dataclass
class Editor:
    """A pytest-lsp client plus the buffers it has open."""

    client: LanguageClient
    docs: dict[str, TextDocument] = field(default_factory=dict)
    notes: dict[str, list[Any]] = field(default_factory=dict)
    refuse_next_edit: bool = False

    def open(self, uri: str, text: str) -> None:
        self.docs[uri] = TextDocument(uri, text, version=1)
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    def change(self, uri: str, rng: lsp.Range, text: str) -> None:
        doc = self.docs[uri]
        change = lsp.TextDocumentContentChangePartial(range=rng, text=text)
        doc.apply_change(change)
        doc.version = (doc.version or 0) + 1
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=doc.version), [change]))

    def text(self, uri: str) -> str:
        return self.docs[uri].source

    def apply_edit(self, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        if self.refuse_next_edit:
            self.refuse_next_edit = False
            return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="refused by test")
        for change in params.edit.document_changes or []:
            assert isinstance(change, lsp.TextDocumentEdit)
            doc = self.docs[change.text_document.uri]
            if change.text_document.version not in (None, doc.version):
                return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="version moved")
        for change in params.edit.document_changes or []:
            assert isinstance(change, lsp.TextDocumentEdit)
            uri = change.text_document.uri
            for edit in sorted(change.edits, key=lambda e: (e.range.start.line,
                               e.range.start.character), reverse=True):
                self.change(uri, edit.range, edit.new_text)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting; notes: {list(self.notes)}")
            await asyncio.sleep(0.02)

    def codetap_diagnostics(self, uri: str) -> list[lsp.Diagnostic]:
        return [d for d in self.client.diagnostics.get(uri, []) if d.source == "codetap"]

    async def request(self, method: str, params: Any) -> Any:
        return await self.client.protocol.send_request_async(method, params)

    async def command(self, name: str, params: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command=name, arguments=[params]))

    async def task_state(self, task_id: str) -> str:
        info = await self.request("codetap/task/get", {"id": task_id})
        return str(info["state"])

    async def wait_state(self, task_id: str, state: str, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while (now := await self.task_state(task_id)) != state:
            assert asyncio.get_running_loop().time() < deadline, f"task {task_id} is {now}"
            await asyncio.sleep(0.05)


NOTIFICATIONS = ("codetap/task/updated", "codetap/task/event", "codetap/suggestions")


def _client_converter() -> Any:
    converter = codetap_converter()

    # lsprotocol 2025.0.0 takes any code action that has a "command" for a bare Command;
    # clients (VS Code, Neovim) tell them apart by whether "command" is a string.
    def code_action(obj: Any, _: type) -> lsp.Command | lsp.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, lsp.Command)
        return converter.structure(obj, lsp.CodeAction)

    converter.register_structure_hook(lsp.Command | lsp.CodeAction, code_action)
    converter.register_structure_hook(Union[lsp.Command, lsp.CodeAction], code_action)  # noqa: UP007
    return converter


def make_client() -> LanguageClient:
    """pytest-lsp's test client, but custom-method results stay plain JSON."""
    client = LanguageClient(converter_factory=_client_converter)
    register_lsp_features(client)
    return client


async def connect(env: Env, options: dict[str, Any] | None = None,
                  setup: Callable[[Editor], Any] | None = None,
                  args: tuple[str, ...] = ()) -> Editor:
    """Start ``codetap lsp`` (the bridge), initialize, return the editor. ``options`` are
    ``initializationOptions.codetap`` (``events`` and ``suggestions`` default to on here,
    so tests can follow the journal and the structured hunks). ``setup(editor)`` runs before initialize (to register handlers for
    requests sent right after it). ``args`` are appended to ``codetap lsp``."""
    config = ClientServerConfig(server_command=[sys.executable, "-m", "codetap", "lsp", *args],
                                server_env=env.env, client_factory=make_client)
    client = await config.start()
    assert isinstance(client, LanguageClient)
    editor = Editor(client)
    for method in NOTIFICATIONS:
        def record(params: Any, _m: str = method) -> None:
            editor.notes.setdefault(_m, []).append(params)
        client.feature(method)(record)
    def apply_edit(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        return editor.apply_edit(params)

    client.feature(lsp.WORKSPACE_APPLY_EDIT)(apply_edit)
    if setup is not None:
        setup(editor)
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=env.root_uri,
        workspace_folders=[lsp.WorkspaceFolder(uri=env.root_uri, name="repo")],
        initialization_options={"codetap": {"events": True, "suggestions": True,
                                             **(options or {})}},
    ))
    return editor


@pytest.fixture
async def editor(env: Env) -> AsyncIterator[Editor]:
    ed = await connect(env)
    yield ed
    await ed.client.shutdown_session()
    await ed.client.stop()
