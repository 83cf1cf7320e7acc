"""LSP base-protocol framing and the read loop of one connection: read framed JSON-RPC
messages and feed a pygls protocol (used by the daemon for each accepted socket, and by
``codetap lsp --no-daemon`` on stdio).

Framing follows the LSP base protocol (``Content-Length`` header, blank line, UTF-8 JSON
body). Unlike ``pygls.io_.run_async`` this loop answers malformed input itself
(JSON-RPC 2.0 section 5.1): a malformed header block (garbage line, missing or bad
``Content-Length``) -> ``-32700 Parse error`` with ``id: null``, then the next well-formed
message is read as usual; invalid JSON -> ``-32700 Parse error`` with ``id: null``; a
body that is not a request/notification object -> ``-32600 Invalid Request``; LSP params
that do not match the lsprotocol type -> ``-32602 Invalid params``. The connection and
everything else in the daemon keep working.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCProtocol

from codetap.lsp.wire import frame

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
MAX_BODY = 64 * 1024 * 1024


def _error(msg_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


class FrameError(ValueError):
    """A header block that is not a valid LSP base-protocol header (answered with
    ``-32700``; the reader resynchronises on the next ``Content-Length`` header)."""


_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 header field name
_LENGTH = b"content-length:"


class FrameReader:
    """Reads LSP base-protocol messages from ``reader`` and survives malformed headers.

    :meth:`read` raises :class:`FrameError` for a garbage header line (not ``Name: value``
    with a token name) or a header block without a valid ``Content-Length`` (missing, not
    a number, negative, over ``MAX_BODY``). Where the body can still be skipped (a valid
    length next to a garbage line) it is; otherwise the next read skips input up to the
    next ``Content-Length:`` header, which may follow the lost body on the same line.
    """

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self._resync = False

    async def read(self) -> bytes | None:
        """The next message body, or ``None`` at end of stream (also mid-message)."""
        length: int | None = None
        problem: str | None = None
        while True:
            line = await self.reader.readline()
            if not line:
                return None
            if self._resync:
                at = line.lower().rfind(_LENGTH)
                if at < 0:
                    continue
                line, self._resync = line[at:], False
            if line in (b"\r\n", b"\n"):
                break
            name, sep, value = line.partition(b":")
            if not sep or not _TOKEN.match(name):
                if length is None:
                    self._resync = True
                    raise FrameError(f"bad header line {line[:80]!r}")
                problem = problem or f"bad header line {line[:80]!r}"
                continue
            if name.lower() == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    self._resync = True
                    raise FrameError(
                        f"bad Content-Length header: {value.strip()[:40]!r}") from None
        if length is None or not 0 <= length <= MAX_BODY:
            self._resync = True
            raise FrameError("message without a valid Content-Length header")
        try:
            body = await self.reader.readexactly(length)
        except asyncio.IncompleteReadError:
            return None
        if problem is not None:
            raise FrameError(problem)
        return body


async def read_message(reader: asyncio.StreamReader) -> bytes | None:
    """The next message body of a well-behaved peer, or ``None`` at end of stream.

    Raises FrameError (a ValueError) for a malformed header block. A connection that must
    survive malformed input keeps one :class:`FrameReader` instead.
    """
    return await FrameReader(reader).read()


def handle_body(body: bytes, protocol: JsonRPCProtocol, write: Any) -> None:
    """Decode one message body and dispatch it; answer malformed input with an error."""
    try:
        message = json.loads(body, object_hook=protocol.structure_message)
    except ValueError as exc:  # JSONDecodeError and bad UTF-8
        write(frame(_error(None, PARSE_ERROR, f"Parse error: invalid JSON ({exc})")))
        return
    except JsonRpcException as exc:
        raw = json.loads(body)
        if "id" in raw:
            detail = f": {exc.__cause__}" if exc.__cause__ else ""
            write(frame(_error(raw["id"], exc.code, f"Invalid params for {raw.get('method')}"
                               f"{detail}"[:2000])))
        return
    if not hasattr(message, "jsonrpc") or not (hasattr(message, "method") or hasattr(message, "id")):
        msg_id = message.get("id") if isinstance(message, dict) else None
        write(frame(_error(msg_id, INVALID_REQUEST,
                           "Invalid Request: expected a JSON-RPC 2.0 object with "
                           "\"jsonrpc\": \"2.0\" and a \"method\"")))
        return
    protocol.handle_message(message)


async def serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: JsonRPCProtocol
) -> None:
    """Run one connection until the peer closes it. A malformed header block is answered
    with ``-32700`` (``id: null``) and the connection reads on."""
    protocol.set_writer(writer)
    frames = FrameReader(reader)
    while not writer.is_closing():
        try:
            body = await frames.read()
        except FrameError as exc:
            writer.write(frame(_error(None, PARSE_ERROR, f"Parse error: {exc}")))
            continue
        except (ConnectionError, OSError):
            break
        if body is None:
            break
        try:
            handle_body(body, protocol, writer.write)
        except Exception:
            log.exception("message handling failed")
