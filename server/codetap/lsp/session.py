"""One editor connection: its client options, open-document overlay and mutable state.

A Session is created per connection by :func:`codetap.lsp.server.create_server` and owns
everything that belongs to that client: the options it declared, progress tokens of the
tasks it watches, the suggestions it was shown and the questions it is being asked.
Runtime callbacks arrive through the :class:`~codetap.lsp.hub.Hub`; they never block:
sends are scheduled on the event loop. A Session is the
:class:`~codetap.lsp.review.SuggestionClient` of its suggestion book and the hub's
:class:`~codetap.lsp.hub.Member`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pydantic import ValidationError
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from codetap.errors import CodetapError
from codetap.lsp.ask import prompt
from codetap.lsp.convert import task_info, uri_to_path
from codetap.lsp.suggest import SuggestionBook
from codetap.lsp.wire import frame
from codetap.protocol import methods
from codetap.protocol.models import ClientOptions, dump
from codetap.types import TaskState

if TYPE_CHECKING:
    from codetap.lsp.eventframe import EventFrame
    from codetap.lsp.hub import Hub
    from codetap.runtime import Question, TaskRecord

log = logging.getLogger(__name__)


class Session:
    """State of one LSP connection. ``server`` is its own pygls LanguageServer; ``writer``
    the connection's stream, set by :func:`codetap.lsp.server.serve_stream`."""

    def __init__(self, server: LanguageServer, hub: Hub) -> None:
        self.server = server
        self.writer: asyncio.StreamWriter | None = None
        self.hub = hub
        self.runtime = hub.runtime
        self.options = ClientOptions()
        self.roots: list[Path] = []
        self.initialized = False
        self.closed = False
        self.progress: dict[int, str] = {}
        self.book = SuggestionBook(self, hub)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._asks: dict[str, tuple[asyncio.Task[Any], str]] = {}

    # -- lifecycle -------------------------------------------------------------------
    def on_initialize(self, params: lsp.InitializeParams) -> None:
        """Read ``initializationOptions.codetap`` and the workspace roots."""
        raw = params.initialization_options
        if isinstance(raw, dict) and isinstance(raw.get("codetap"), dict):
            try:
                self.options = ClientOptions.model_validate(raw["codetap"])
            except ValidationError as exc:
                log.warning("ignoring bad initializationOptions.codetap: %s", exc)
        uris = [f.uri for f in params.workspace_folders or []]
        if not uris and params.root_uri:
            uris = [params.root_uri]
        self.roots = [uri_to_path(u) for u in uris if u.startswith("file:")]

    async def on_initialized(self) -> None:
        """Attach to the hub; show progress of active tasks and suggestions of ready ones."""
        self.initialized = True
        self.hub.attach(self)
        for task in await self.runtime.list_tasks():
            if self.watches(task):
                self.on_task_updated(task)

    def close(self) -> None:
        """The connection is gone: stop all its work; the tasks themselves keep running."""
        if self.closed:
            return
        self.closed = True
        self.hub.detach(self)
        for t in list(self._tasks):
            t.cancel()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run ``coro`` in the background, tied to this session's lifetime (None: closed)."""
        if self.closed:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("session background work failed", exc_info=exc)

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """Send a codetap notification (``params`` JSON-ready) unless the connection is
        closed. Written as one frame straight to the connection: these go out several times
        per agent step, and pygls' generic path (attrs message, cattrs) costs several times
        the JSON encoding."""
        if self.closed or self.writer is None or self.writer.is_closing():
            return
        self.writer.write(frame({"jsonrpc": "2.0", "method": method, "params": params}))

    # -- SuggestionClient ------------------------------------------------------------
    @property
    def wants_suggestions(self) -> bool:
        """The client opted in to ``codetap/suggestions`` (``options.suggestions``)."""
        return self.options.suggestions

    def publish_diagnostics(self, params: lsp.PublishDiagnosticsParams) -> None:
        """``textDocument/publishDiagnostics`` unless the connection is closed."""
        if not self.closed:
            self.server.text_document_publish_diagnostics(params)

    def show_message(self, params: lsp.ShowMessageParams) -> None:
        """``window/showMessage`` unless the connection is closed."""
        if not self.closed:
            self.server.window_show_message(params)

    async def apply_edit(
        self, params: lsp.ApplyWorkspaceEditParams
    ) -> lsp.ApplyWorkspaceEditResult:
        """``workspace/applyEdit``; the client's answer (JsonRpcException on error)."""
        return await self.server.workspace_apply_edit_async(params)

    def refresh_suggestions(self, task_id: int) -> None:
        """Recompute ``task_id``'s suggestions in the background if they are shown here."""
        if self.book.has(task_id):
            self.spawn(self.book.refresh(task_id))

    def watches(self, task: TaskRecord) -> bool:
        """Whether this client cares about ``task`` (its root overlaps a workspace root)."""
        return self._covers(task.root)

    def _covers(self, root: Path) -> bool:
        if not self.roots:
            return True
        return any(r == root or root in r.parents or r in root.parents for r in self.roots)

    # -- open documents --------------------------------------------------------------
    def document(self, uri: str) -> tuple[str, int | None] | None:
        """Text and version of an open document, or ``None`` if the client has not opened it."""
        try:
            docs = self.server.workspace.text_documents
        except RuntimeError:
            return None
        doc = docs.get(uri)
        return None if doc is None else (doc.source, doc.version)

    def overlay(self, root: Path) -> dict[Path, str]:
        """Unsaved texts of the open documents under ``root`` (absolute path -> text)."""
        try:
            docs = self.server.workspace.text_documents
        except RuntimeError:
            return {}
        out: dict[Path, str] = {}
        for uri, doc in docs.items():
            if uri.startswith("file:"):
                path = uri_to_path(uri)
                if root == path or root in path.parents:
                    out[path] = doc.source
        return out

    @property
    def encoding(self) -> str:
        """The negotiated position encoding (``utf-16`` before initialize)."""
        try:
            return str(self.server.workspace.position_encoding or "utf-16")
        except RuntimeError:
            return "utf-16"

    # -- runtime callbacks -----------------------------------------------------------
    def on_task_updated(self, task: TaskRecord) -> None:
        if self.closed or not self.initialized or not self.watches(task):
            return
        self.notify(methods.TASK_UPDATED,
                    dump(task_info(task, self.runtime.waiting_reason(task))))
        if not self.options.editor:
            return
        self._progress(task)
        if task.state == TaskState.READY:
            self.spawn(self.book.refresh(task.id))
        elif self.book.has(task.id):
            self.book.clear(task.id)

    def on_task_event(self, event: EventFrame, root: Path | None) -> None:
        """Forward one journal entry if the client asked for them (``events``) and the
        task's ``root`` (None: not known yet) is under its workspace."""
        if self.closed or not self.initialized or not self.options.events:
            return
        if root is not None and not self._covers(root):
            return
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(event.bytes())

    def _progress(self, task: TaskRecord) -> None:
        caps = self.server.client_capabilities
        if not (caps.window and caps.window.work_done_progress):
            return
        token = self.progress.get(task.id)
        if task.state.is_active or task.state == TaskState.PAUSED:
            if token is None:
                token = f"codetap-task-{task.id}-{uuid.uuid4().hex[:8]}"
                self.progress[task.id] = token
                self.spawn(self._begin_progress(task, token))
            else:
                self.server.work_done_progress.report(
                    token, lsp.WorkDoneProgressReport(message=f"{task.state}: step {task.steps}")
                )
        elif token is not None:
            del self.progress[task.id]
            self.server.work_done_progress.end(
                token, lsp.WorkDoneProgressEnd(message=f"task {task.id} {task.state}")
            )
            # pygls keeps every token it was given until told otherwise (pygls issue #607).
            self.server.work_done_progress.tokens.pop(token, None)

    async def _begin_progress(self, task: TaskRecord, token: str) -> None:
        await self.server.work_done_progress.create_async(token)
        if self.progress.get(task.id) == token:
            self.server.work_done_progress.begin(
                token,
                lsp.WorkDoneProgressBegin(
                    title=f"codetap task {task.id}", message=task.intent[:100], cancellable=True
                ),
            )

    def progress_cancelled(self, token: str) -> int | None:
        """The task whose progress the user cancelled, if the token is one of ours."""
        return next((tid for tid, tok in self.progress.items() if tok == token), None)

    # -- questions -------------------------------------------------------------------
    def ask(self, q: Question) -> None:
        """Ask the user ``q`` (codetap/ask or window/showMessageRequest), answer the task."""
        msg_id = f"codetap-ask-{q.question_id}-{uuid.uuid4().hex[:8]}"
        task = self.spawn(self._ask(q, msg_id))
        if task is not None:
            self._asks[q.question_id] = (task, msg_id)

    def withdraw(self, question_id: str) -> None:
        """Stop asking (answered elsewhere, or the task stopped waiting): cancel the prompt."""
        entry = self._asks.pop(question_id, None)
        if entry is None:
            return
        task, msg_id = entry
        if not task.done():
            task.cancel()
            if not self.closed:
                self.server.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id=msg_id))

    async def _ask(self, q: Question, msg_id: str) -> None:
        try:
            answer = await prompt(self.server, q, self.options.ask, msg_id)
        except (JsonRpcException, ConnectionError) as exc:
            log.warning("client did not answer the question of task %s: %s", q.task_id, exc)
            answer = None
        self._asks.pop(q.question_id, None)
        if answer is None:
            log.info("question of task %s left pending (dismissed or invalid answer)", q.task_id)
            return
        try:
            await self.runtime.answer(q.task_id, answer)
        except CodetapError as exc:  # answered meanwhile by someone else
            log.info("answer to task %s not taken: %s", q.task_id, exc)
        self.hub.question_answered(q, self)
