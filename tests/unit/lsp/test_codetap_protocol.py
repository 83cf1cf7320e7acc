from __future__ import annotations

import asyncio
import json
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from codetap.lsp.framing import handle_body
from codetap.lsp.server import CodetapProtocol


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", **payload}).encode()


async def test_handled_notifications_leave_no_futures_behind() -> None:
    server = LanguageServer("t", "0", protocol_cls=CodetapProtocol)
    seen: list[int] = []

    @server.feature(lsp.INITIALIZED)
    async def initialized(params: lsp.InitializedParams) -> None:  # a coroutine handler
        await asyncio.sleep(0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
        seen.append(params.text_document.version)

    protocol = server.protocol
    sent: list[bytes] = []
    protocol.set_writer(type("W", (), {"write": lambda self, b: sent.append(b),
                                       "close": lambda self: None})())
    handle_body(_body({"id": 1, "method": "initialize",
                       "params": {"processId": None, "capabilities": {}}}), protocol, sent.append)
    handle_body(_body({"method": "initialized", "params": {}}), protocol, sent.append)
    uri = "file:///tmp/a.py"
    handle_body(_body({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}}), protocol,
        sent.append)
    for version in range(2, 202):
        handle_body(_body({"method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": f"x = {version}\n"}]}}), protocol, sent.append)
    await asyncio.sleep(0.05)  # the coroutine handler and its done-callback have run

    assert seen == list(range(2, 202))
    assert server.workspace.get_text_document(uri).source == "x = 201\n"
    assert protocol._request_futures == {}
