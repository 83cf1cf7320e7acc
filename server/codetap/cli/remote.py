"""Talking to a running daemon from the CLI (one JSON-RPC request over its socket),
synchronously: no asyncio, no SDK, for the commands that must start fast."""

from __future__ import annotations

import json
import socket
from typing import Any


def daemon_request(method: str, params: dict[str, Any], timeout: float = 10.0) -> dict[str, Any] | None:
    """Send one LSP request to the daemon; its result, or None when no daemon is running.

    Raises :class:`DaemonRequestError` with the daemon's message for a JSON-RPC error.
    """
    from codetap.daemon.paths import DaemonPaths
    from codetap.lsp.wire import frame
    path = DaemonPaths.from_env().socket
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError:
        return None
    with sock:
        def send(msg: dict[str, Any]) -> None:
            sock.sendall(frame(msg))
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"processId": None, "rootUri": None, "capabilities": {}}})
        _read(sock, 1)
        send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        send({"jsonrpc": "2.0", "id": 2, "method": method, "params": params})
        reply = _read(sock, 2)
        send({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
    if "error" in reply:
        raise DaemonRequestError(reply["error"].get("message", "daemon error"))
    result: dict[str, Any] = reply["result"]
    return result


class DaemonRequestError(Exception):
    """The daemon answered a request with a JSON-RPC error (the message is its text)."""


def _read(sock: socket.socket, want_id: int) -> dict[str, Any]:
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("daemon closed the connection")
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        while len(buf) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("daemon closed the connection")
            buf += chunk
        body, buf = buf[:length], buf[length:]
        msg: dict[str, Any] = json.loads(body)
        if msg.get("id") == want_id and "method" not in msg:
            return msg
