"""Serve one LSP connection: read framed JSON-RPC messages and feed a pygls protocol.

Framing follows the LSP base protocol (``Content-Length`` header, blank line, UTF-8 JSON
body). Unlike ``pygls.io_.run_async`` this loop answers malformed input itself
(JSON-RPC 2.0 section 5.1): invalid JSON -> ``-32700 Parse error`` with ``id: null``; a
body that is not a request/notification object -> ``-32600 Invalid Request``; LSP params
that do not match the lsprotocol type -> ``-32602 Invalid params``. The connection and
everything else in the daemon keep working.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCProtocol

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
MAX_BODY = 64 * 1024 * 1024


def frame(payload: dict[str, Any]) -> bytes:
    """``payload`` as one LSP base-protocol message (header + JSON body)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _error(msg_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


async def read_message(reader: asyncio.StreamReader) -> bytes | None:
    """The next message body, or ``None`` at end of stream.

    Raises ValueError for a header block without a valid ``Content-Length``.
    """
    length: int | None = None
    while True:
        line = await reader.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise ValueError(f"bad Content-Length header: {value.strip()!r}") from None
    if length is None or not 0 <= length <= MAX_BODY:
        raise ValueError("message without a valid Content-Length header")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None


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
    """Run one connection until the peer closes it (or sends a broken header)."""
    protocol.set_writer(writer)
    while not writer.is_closing():
        try:
            body = await read_message(reader)
        except ValueError as exc:
            writer.write(frame(_error(None, PARSE_ERROR, f"Parse error: {exc}")))
            break
        except (ConnectionError, OSError):
            break
        if body is None:
            break
        try:
            handle_body(body, protocol, writer.write)
        except Exception:
            log.exception("message handling failed")
