"""Scripted OpenAI-compatible model servers on loopback for team workflows (one per role).

Replies are chosen from the request itself, not from arrival order, so parallel sub-tasks
sharing a model and tasks resumed after kill -9 get the same replies: the script is a list
of ``(marker, turns)``; the first marker found in the conversation's first user message
picks the turns, and the number of assistant messages in the request picks the turn. Every
request is recorded as ``(marker, turn index, time)``. ``delay_s`` waits before each
reply (a model that takes a fixed time per turn).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Self

Turn = dict[str, Any]
"""``{"text"?: str, "tool_calls"?: [{"name", "arguments"}]}``, or ``{"status": int}``: an
HTTP error reply."""


def call(name: str, **arguments: Any) -> Turn:
    """A turn calling one tool."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


@dataclass
class ScriptedModel:
    """One model server; ``base_url`` once started."""

    script: list[tuple[str, list[Turn]]]
    delay_s: float = 0.0
    requests: list[tuple[str, int, float]] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def count(self, marker: str) -> int:
        """Requests answered from ``marker``'s turns."""
        return sum(1 for m, _, _ in self.requests if m == marker)

    def reply(self, body: dict[str, Any]) -> tuple[str, int, Turn]:
        messages = body.get("messages") or []
        first = next((str(m.get("content") or "") for m in messages if m["role"] == "user"), "")
        n = sum(1 for m in messages if m["role"] == "assistant")
        for marker, turns in self.script:
            if marker in first:
                if n >= len(turns):
                    return marker, n, {"text": f"script {marker!r} exhausted at turn {n}"}
                return marker, n, turns[n]
        return "?", n, {"text": "no script matches: " + first[:200]}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = json.loads(await reader.readexactly(length)) if length else {}
            marker, n, turn = self.reply(body)
            self.requests.append((marker, n, time.monotonic()))
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if "status" in turn:
                err = json.dumps({"error": {"message": "scripted failure"}}).encode()
                writer.write(f"HTTP/1.1 {turn['status']} Error\r\ncontent-type: "
                             f"application/json\r\ncontent-length: {len(err)}\r\n"
                             "connection: close\r\n\r\n".encode() + err)
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                         b"connection: close\r\n\r\n" + _events(turn, n).encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _events(turn: Turn, n: int) -> str:
    delta: dict[str, Any] = {"role": "assistant"}
    if turn.get("text"):
        delta["content"] = turn["text"]
    calls = turn.get("tool_calls") or []
    if calls:
        delta["tool_calls"] = [
            {"index": i, "id": f"call_{n}_{i}", "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
            for i, c in enumerate(calls)]
    chunks = [
        {"id": "x", "object": "chat.completion.chunk",
         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {"id": "x", "object": "chat.completion.chunk",
         "choices": [{"index": 0, "delta": {},
                      "finish_reason": "tool_calls" if calls else "stop"}]},
        {"id": "x", "object": "chat.completion.chunk", "choices": [],
         "usage": {"prompt_tokens": 100, "completion_tokens": 10}},
    ]
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


@asynccontextmanager
async def serving(scripts: Mapping[str, list[tuple[str, list[Turn]]]], delay_s: float = 0.0
                  ) -> AsyncIterator[dict[str, ScriptedModel]]:
    """One started :class:`ScriptedModel` per role of ``scripts``, stopped on leaving."""
    out = {r: ScriptedModel(s, delay_s=delay_s) for r, s in scripts.items()}
    for s in out.values():
        await s.__aenter__()
    try:
        yield out
    finally:
        for s in out.values():
            await s.__aexit__()
