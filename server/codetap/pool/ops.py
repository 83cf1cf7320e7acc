"""The ``lsp`` tool's operations as LSP requests, with results as plain :class:`Spot` lists.

Operations (LSP 3.17 method): definition (``textDocument/definition``), references
(``textDocument/references``, declaration included), hover (``textDocument/hover``),
incoming_calls / outgoing_calls (``textDocument/prepareCallHierarchy`` then
``callHierarchy/incomingCalls`` | ``callHierarchy/outgoingCalls``), document_symbols
(``textDocument/documentSymbol``), diagnostics (pushed ``textDocument/publishDiagnostics``
for the file's current version). Positions in and out are 1-based lines and code point
columns; conversion to UTF-16 happens here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp

from codetap.pool.client import LspClient, OpenDocument
from codetap.pool.operations import OPERATIONS
from codetap.pool.pool import LspPool
from codetap.pool.positions import from_lsp_position, split_lines, to_lsp_position


@dataclass(frozen=True, slots=True)
class Spot:
    """One place in a file: absolute ``path``, 1-based ``line`` and ``character``,
    ``name`` (symbol, caller/callee, or diagnostic message), ``kind`` (symbol kind or
    severity), ``depth`` (nesting of document symbols)."""

    path: Path
    line: int
    character: int
    name: str = ""
    kind: str = ""
    depth: int = 0


@dataclass(slots=True)
class Answer:
    """An operation's result: places, or ``text`` for hover; ``partial`` when the server
    had not finished loading; ``server`` is the spec name that answered."""

    operation: str
    spots: list[Spot] = field(default_factory=list)
    text: str = ""
    partial: bool = False
    server: str = ""


class _Lines:
    """Line cache for converting positions in result files."""

    def __init__(self, doc: OpenDocument) -> None:
        self._cache: dict[str, list[str]] = {doc.uri: doc.lines}

    def get(self, uri: str) -> list[str]:
        if uri not in self._cache:
            try:
                text = uri_path(uri).read_bytes().decode("utf-8", "replace")
            except OSError:
                text = ""
            self._cache[uri] = split_lines(text)
        return self._cache[uri]

    def spot(
        self, uri: str, pos: lsp.Position, name: str = "", kind: str = "", depth: int = 0
    ) -> Spot:
        line, character = from_lsp_position(self.get(uri), pos)
        return Spot(uri_path(uri), line, character, name, kind, depth)


def uri_path(uri: str) -> Path:
    """``file://`` URI -> Path (percent-decoded)."""
    return Path(unquote(urlparse(uri).path))


async def run_operation(
    pool: LspPool,
    workspace: Path,
    path: Path,
    operation: str,
    line: int,
    character: int,
    *,
    diagnostics_timeout_s: float = 10.0,
) -> Answer:
    """Run ``operation`` at 1-based (``line``, ``character``) of ``path`` (absolute).

    Raises ValueError for an unknown operation or a line past the end of the file, and
    the pool's errors (ServerUnavailable, ServerCrashed, RequestFailed).
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; use one of {', '.join(OPERATIONS)}")
    timeout = pool.request_timeout_s

    async def call(client: LspClient, doc: OpenDocument) -> Answer:
        lines = _Lines(doc)
        ident = lsp.TextDocumentIdentifier(uri=doc.uri)
        if operation == "document_symbols":
            result = await client.request(
                lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL,
                lsp.DocumentSymbolParams(text_document=ident),
                timeout_s=timeout,
            )
            return Answer(operation, _symbols(lines, doc.uri, result or []))
        if operation == "diagnostics":
            return await _diagnostics(client, doc, lines, diagnostics_timeout_s)
        pos = to_lsp_position(doc.lines, line, character)
        if operation == "definition":
            result = await client.request(
                lsp.TEXT_DOCUMENT_DEFINITION,
                lsp.DefinitionParams(text_document=ident, position=pos),
                timeout_s=timeout,
            )
            return Answer(operation, _locations(lines, result))
        if operation == "references":
            params = lsp.ReferenceParams(
                context=lsp.ReferenceContext(include_declaration=True),
                text_document=ident,
                position=pos,
            )
            result = await client.request(lsp.TEXT_DOCUMENT_REFERENCES, params, timeout_s=timeout)
            return Answer(operation, _locations(lines, result))
        if operation == "hover":
            result = await client.request(
                lsp.TEXT_DOCUMENT_HOVER,
                lsp.HoverParams(text_document=ident, position=pos),
                timeout_s=timeout,
            )
            return Answer(operation, text=_hover_text(result))
        return await _calls(client, lines, operation, ident, pos, timeout)

    wait = operation not in ("document_symbols", "diagnostics")
    outcome = await pool.run(workspace, path, call, wait_ready=wait)
    answer = outcome.value
    answer.partial = answer.partial or outcome.partial
    answer.server = outcome.server
    return answer


def _locations(lines: _Lines, result: Any) -> list[Spot]:
    if result is None:
        return []
    items = result if isinstance(result, Sequence) else [result]
    spots = []
    for item in items:
        if isinstance(item, lsp.LocationLink):
            spots.append(lines.spot(item.target_uri, item.target_selection_range.start))
        elif isinstance(item, lsp.Location):
            spots.append(lines.spot(item.uri, item.range.start))
    return spots


def _hover_text(result: lsp.Hover | None) -> str:
    if result is None:
        return ""
    contents = result.contents
    parts = contents if isinstance(contents, list) else [contents]
    texts = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, lsp.MarkupContent | lsp.MarkedStringWithLanguage):
            texts.append(part.value)
    return "\n\n".join(t.strip() for t in texts if t.strip())


def _symbols(lines: _Lines, uri: str, result: Sequence[Any], depth: int = 0) -> list[Spot]:
    spots: list[Spot] = []
    for item in result:
        if isinstance(item, lsp.DocumentSymbol):
            kind = lsp.SymbolKind(item.kind).name
            spots.append(lines.spot(uri, item.selection_range.start, item.name, kind, depth))
            spots.extend(_symbols(lines, uri, item.children or [], depth + 1))
        elif isinstance(item, lsp.SymbolInformation):
            kind = lsp.SymbolKind(item.kind).name
            spots.append(lines.spot(item.location.uri, item.location.range.start, item.name, kind))
    return spots


async def _calls(
    client: LspClient,
    lines: _Lines,
    operation: str,
    ident: lsp.TextDocumentIdentifier,
    pos: lsp.Position,
    timeout: float,
) -> Answer:
    items = await client.request(
        lsp.TEXT_DOCUMENT_PREPARE_CALL_HIERARCHY,
        lsp.CallHierarchyPrepareParams(text_document=ident, position=pos),
        timeout_s=timeout,
    )
    spots: list[Spot] = []
    for item in items or []:
        if operation == "incoming_calls":
            incoming = await client.request(
                lsp.CALL_HIERARCHY_INCOMING_CALLS,
                lsp.CallHierarchyIncomingCallsParams(item=item),
                timeout_s=timeout,
            )
            for call in incoming or []:
                for rng in call.from_ranges or [call.from_.selection_range]:
                    spots.append(lines.spot(call.from_.uri, rng.start, call.from_.name))
        else:
            outgoing = await client.request(
                lsp.CALL_HIERARCHY_OUTGOING_CALLS,
                lsp.CallHierarchyOutgoingCallsParams(item=item),
                timeout_s=timeout,
            )
            for call in outgoing or []:
                spots.append(lines.spot(call.to.uri, call.to.selection_range.start, call.to.name))
    spots.sort(key=lambda s: (str(s.path), s.line, s.character))
    return Answer(operation, spots)


async def _diagnostics(
    client: LspClient, doc: OpenDocument, lines: _Lines, timeout: float
) -> Answer:
    published = await client.wait_diagnostics(doc, timeout)
    if published is None:
        return Answer("diagnostics", partial=True)
    spots = []
    for diag in published.diagnostics:
        severity = lsp.DiagnosticSeverity(diag.severity).name.lower() if diag.severity else "error"
        code = f"[{diag.code}]" if diag.code is not None else ""
        label = f"{severity}{code}"
        spots.append(lines.spot(doc.uri, diag.range.start, diag.message, label))
    spots.sort(key=lambda s: (s.line, s.character))
    return Answer("diagnostics", spots)
