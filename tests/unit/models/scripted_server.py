"""A scripted HTTP/1.1 server on loopback for the model provider tests.

It answers each request with the next :class:`Reply` of its script (status, headers, body
chunks sent with chunked transfer encoding, optional pauses, optional abrupt close) and
records every request (method, path, headers, JSON body). Requests beyond the script get
HTTP 599 so a test sees the overrun. Every reply closes its connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Self

Chunk = bytes | str | float | int
"""A body chunk (bytes or text) or a pause in seconds before the next chunk."""


@dataclass
class Reply:
    """One scripted response.

    ``stall_s`` waits before the status line; ``complete=False`` closes the connection
    without the final empty chunk (a truncated body).
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    stall_s: float = 0.0
    complete: bool = True


@dataclass
class Recorded:
    """A request as received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event; ``data`` is JSON-encoded unless it is a string."""
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n"


def event_stream(*chunks: Chunk, **kw: Any) -> Reply:
    """A 200 ``text/event-stream`` reply of these chunks."""
    return Reply(200, {"content-type": "text/event-stream"}, list(chunks), **kw)


def error_reply(status: int, body: str = "", headers: dict[str, str] | None = None) -> Reply:
    """A JSON error reply."""
    return Reply(status, {"content-type": "application/json", **(headers or {})}, [body])


class ScriptedServer:
    """``async with ScriptedServer([...]) as server:`` then use ``server.url``.

    ``handler``, when given, answers every request instead of the script (it gets the
    recorded request and returns the reply)."""

    def __init__(self, script: list[Reply],
                 handler: Callable[[Recorded], Reply] | None = None) -> None:
        self.script = list(script)
        self.handler = handler
        self.requests: list[Recorded] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        loop = asyncio.get_running_loop()
        self.requests.append(Recorded(method, path, headers, body, loop.time()))
        index = len(self.requests) - 1
        if self.handler is not None:
            reply = self.handler(self.requests[-1])
        else:
            reply = self.script[index] if index < len(self.script) else Reply(599, {}, ["overrun"])
        if reply.stall_s:
            await asyncio.sleep(reply.stall_s)
        try:
            reason = HTTPStatus(reply.status).phrase
        except ValueError:
            reason = "Scripted"
        out = [f"HTTP/1.1 {reply.status} {reason}"]
        out += [f"{k}: {v}" for k, v in reply.headers.items()]
        out += ["transfer-encoding: chunked", "connection: close", "", ""]
        writer.write("\r\n".join(out).encode("latin-1"))
        await writer.drain()
        for chunk in reply.chunks:
            if isinstance(chunk, int | float):
                await asyncio.sleep(chunk)
                continue
            data = chunk.encode() if isinstance(chunk, str) else chunk
            if data:
                writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                await writer.drain()
        if reply.complete:
            writer.write(b"0\r\n\r\n")
            await writer.drain()


async def timed(events: AsyncIterator[Any]) -> list[tuple[float, Any]]:
    """Drain a stream, pairing each event with the loop time it arrived."""
    loop = asyncio.get_running_loop()
    return [(loop.time(), event) async for event in events]
