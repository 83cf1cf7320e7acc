"""The codetap language server: one pygls ``LanguageServer`` per editor connection.

:func:`create_server` is the single factory registering every feature; the daemon calls it
for each accepted connection (pygls's ``start_tcp`` would share one protocol object
between clients), ``codetap lsp --no-daemon`` once for stdio.

Capabilities (honest): incremental text sync with open/close (the open-document overlay),
code actions (quickfix, refactor.rewrite, source), ``workspace/executeCommand`` for every
codetap command, and the custom ``codetap/*`` requests (ARCHITECTURE.md "Editor protocol").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import Future
from functools import partial
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from codetap.lsp.actions import code_actions
from codetap.lsp.convert import parse_task_id
from codetap.lsp.converter import codetap_converter
from codetap.lsp.decisions import CMD_ACCEPTED
from codetap.lsp.framing import serve
from codetap.lsp.hub import Hub
from codetap.lsp.routes import ROUTES, dispatch, dispatch_command, validate
from codetap.lsp.session import Session
from codetap.protocol import methods
from codetap.protocol.models import TaskApplyParams

log = logging.getLogger(__name__)
VERSION = "0.1.0"


class CodetapProtocol(LanguageServerProtocol):
    """pygls protocol whose ``exit`` ends the connection, never the (shared) process, and
    that forgets the notifications it has handled.

    pygls 2.1 files the future of each handler it runs that is a coroutine or a generator
    in ``_request_futures``, and removes only those that answer requests: notifications
    (its own ``didOpen``/``didChange``/``didClose`` handlers are generators) and handlers
    its generators hand work to stay there, under random ids. A daemon that lives for
    days would keep one future per keystroke, and every full garbage collection walks
    them: after a few thousand edits, one took 50-170 ms.
    """

    on_exit: Callable[[], None] | None = None

    def _execute_handler(
        self, msg_id: Any, handler: Any, callback: Any,
        args: tuple[Any, ...] | None = None, kwargs: dict[str, Any] | None = None,
    ) -> None:
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            future.add_done_callback(partial(self._forget, msg_id))

    def _forget(self, msg_id: Any, future: Future[Any] | asyncio.Future[Any]) -> None:
        if self._request_futures.get(msg_id) is future:
            del self._request_futures[msg_id]

    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        if self.on_exit is not None:
            self.on_exit()
        if self.writer is not None:
            self.writer.close()
        yield from ()


def _route_handlers(
    session: Session, method: str
) -> tuple[Callable[[Any], Awaitable[Any]], Callable[..., Awaitable[Any]]]:
    async def request(params: Any) -> Any:
        return await dispatch(session, method, params)

    # pygls passes executeCommand arguments positionally; *args takes them all.
    async def command(*args: Any) -> Any:
        return await dispatch_command(session, method, args)

    return request, command


def _register_routes(server: LanguageServer, session: Session) -> None:
    for method in ROUTES:
        request, command = _route_handlers(session, method)
        server.feature(method)(request)
        server.command(methods.command_name(method))(command)

    @server.command(methods.CMD_REJECT)
    async def reject(*args: Any) -> Any:
        if len(args) != 1:
            raise JsonRpcInvalidParams(f"{methods.CMD_REJECT} takes one argument, got {len(args)}")
        p = validate(methods.CMD_REJECT, TaskApplyParams, args[0])
        assert isinstance(p, TaskApplyParams)
        return {"rejected": await session.book.reject(parse_task_id(p.id), p.hunk_ids)}

    @server.command(CMD_ACCEPTED)
    async def accepted(*args: Any) -> Any:
        if len(args) != 1:
            raise JsonRpcInvalidParams(f"{CMD_ACCEPTED} takes one argument, got {len(args)}")
        p = validate(CMD_ACCEPTED, TaskApplyParams, args[0])
        assert isinstance(p, TaskApplyParams)
        if not p.hunk_ids:
            raise JsonRpcInvalidParams(f"{CMD_ACCEPTED} needs hunk_ids")
        return {"accepted": await session.book.accepted(parse_task_id(p.id), p.hunk_ids)}


def create_server(hub: Hub) -> tuple[LanguageServer, Session]:
    """A fresh server and its session, sharing ``hub`` (and its Runtime) with others."""
    server = LanguageServer(
        "codetap", VERSION, protocol_cls=CodetapProtocol, converter_factory=codetap_converter,
        text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
    )
    session = Session(server, hub)

    @server.feature(lsp.INITIALIZE)
    def initialize(params: lsp.InitializeParams) -> None:
        session.on_initialize(params)

    @server.feature(lsp.INITIALIZED)
    async def initialized(params: lsp.InitializedParams) -> None:
        await session.on_initialized()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: lsp.DidOpenTextDocumentParams) -> None:
        session.book.changed(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
        session.book.changed(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: lsp.DidCloseTextDocumentParams) -> None:
        session.book.changed(params.text_document.uri)

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[
            lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.RefactorRewrite,
            lsp.CodeActionKind.Source,
        ]),
    )
    def code_action(params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        return code_actions(session, params)

    @server.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(params: lsp.WorkDoneProgressCancelParams) -> None:
        task_id = session.progress_cancelled(str(params.token))
        if task_id is not None:
            session.spawn(session.runtime.cancel(task_id))

    _register_routes(server, session)
    return server, session


async def serve_stream(
    hub: Hub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve one editor over ``reader``/``writer`` until it disconnects or exits."""
    server, session = create_server(hub)
    session.writer = writer
    try:
        await serve(reader, writer, server.protocol)
    finally:
        session.close()
        if not writer.is_closing():
            writer.close()
