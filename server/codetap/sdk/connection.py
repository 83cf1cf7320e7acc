"""One JSON-RPC connection to the daemon: LSP base-protocol framing over its unix socket.

Messages are ``Content-Length: N\\r\\n\\r\\n`` + N bytes of UTF-8 JSON (LSP base protocol).
The connection sends requests and notifications, matches responses to requests by id,
hands notifications to ``on_notify(method, params)`` and server -> client requests to
``on_request(method, params) -> result`` (an exception there answers with an error).
Deliberately free of pydantic and of the server's modules: ``codetap run --detach`` must
start fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from codetap.sdk.errors import ConnectionLost, DaemonUnreachable, from_wire

Notify = Callable[[str, Any], None]
Request = Callable[[str, Any], Awaitable[Any]]
INIT_TIMEOUT_S = 15.0


def encode(payload: dict[str, Any]) -> bytes:
    """One framed message."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Connection:
    """An initialized LSP connection to the daemon. Open with :meth:`open`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_notify: Notify, on_request: Request | None) -> None:
        self._reader, self._writer = reader, writer
        self._on_notify, self._on_request = on_notify, on_request
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._pump = asyncio.get_running_loop().create_task(self._read())
        self.closed = asyncio.Event()

    @classmethod
    async def open(cls, socket: Path, options: dict[str, Any], on_notify: Notify,
                   on_request: Request | None = None) -> Connection:
        """Connect to ``socket`` and initialize with ``initializationOptions.codetap =
        options``. DaemonUnreachable if nothing accepts there or it does not answer in
        15 s."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(socket), limit=2**20)
        except OSError as exc:
            raise DaemonUnreachable(f"no codetap daemon at {socket}: {exc.strerror}") from None
        conn = cls(reader, writer, on_notify, on_request)
        params = {"processId": os.getpid(), "rootUri": None, "capabilities": {},
                  "clientInfo": {"name": "codetap-sdk"},
                  "initializationOptions": {"codetap": options}}
        try:
            await asyncio.wait_for(conn.request("initialize", params), INIT_TIMEOUT_S)
        except TimeoutError:
            await conn.close()
            raise DaemonUnreachable(
                f"the codetap daemon at {socket} did not answer in {INIT_TIMEOUT_S:.0f} s "
                "(see `codetap daemon status`)") from None
        conn.notify("initialized", {})
        return conn

    async def request(self, method: str, params: Any) -> Any:
        """Send a request; its result. The daemon's error as its codetap class; ConnectionLost
        if the connection closes first."""
        if self.closed.is_set():
            raise ConnectionLost("the connection to the codetap daemon is closed")
        msg_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        try:
            return await fut
        finally:
            self._pending.pop(msg_id, None)

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (dropped when the connection is closed)."""
        if not self.closed.is_set():
            self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def _send(self, payload: dict[str, Any]) -> None:
        try:
            self._writer.write(encode(payload))
        except (ConnectionError, RuntimeError):
            self._lost()

    async def _read(self) -> None:
        try:
            while True:
                head = await self._reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                self._dispatch(json.loads(await self._reader.readexactly(length)))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError, OSError):
            pass
        finally:
            self._lost()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        if method is None:
            fut = self._pending.get(msg.get("id"))  # type: ignore[arg-type]
            if fut is not None and not fut.done():
                if "error" in msg:
                    fut.set_exception(from_wire(msg["error"]))
                else:
                    fut.set_result(msg.get("result"))
        elif "id" in msg:
            asyncio.get_running_loop().create_task(self._answer(msg["id"], method,
                                                                msg.get("params")))
        else:
            self._on_notify(method, msg.get("params"))

    async def _answer(self, msg_id: Any, method: str, params: Any) -> None:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id}
        if self._on_request is None:
            reply["error"] = {"code": -32601, "message": f"{method} is not handled"}
        else:
            try:
                reply["result"] = await self._on_request(method, params)
            except Exception as exc:  # noqa: BLE001 - answered as an error: the server must not hang
                reply["error"] = {"code": -32603, "message": str(exc)}
        if not self.closed.is_set():
            self._send(reply)

    def _lost(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionLost("the connection to the codetap daemon closed"))
        self._writer.close()

    async def close(self) -> None:
        """Say goodbye (shutdown, exit) and close."""
        if not self.closed.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.request("shutdown", None), 2.0)
            self.notify("exit", None)
            with contextlib.suppress(Exception):
                await self._writer.drain()
        self._lost()
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._pump
