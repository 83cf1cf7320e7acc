"""An OpenAI-compatible model on loopback with a real context limit, playing a long task.

The server counts a request's prompt tokens its own way (characters of the JSON
``messages`` and ``tools`` / ``chars_per_token``: stricter than codetap's estimate) and
answers HTTP 400 ``context_length_exceeded`` when prompt + ``max_tokens`` exceed
``window``, as OpenAI does. Otherwise it plays the workload: the turn to play is read from
the request itself (the id of the newest assistant tool call, ``call_<N>_...``), so it is
stateless and a daemon killed and restarted mid-task gets the right turn. A summary request
(codetap's summary system prompt) is answered with a deterministic summary.

Workload (:func:`long_task_turn`): turn N reads 40 lines of ``big.txt`` at line N*40+1
(a large tool output), every 15th turn also writes ``out/fN.txt``; the last turn finishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from codetap.agent.compaction import SUMMARY_SYSTEM
from tests.unit.models.scripted_server import Recorded, Reply, error_reply, event_stream, sse

BIG_LINES = 40
WRITE_EVERY = 15


def big_file(turns: int) -> str:
    """Content of ``big.txt``: 40 lines of ~75 characters per turn."""
    return "".join(f"line {i:05d}: " + "lorem ipsum dolor sit amet " * 2 + "x" * 10 + "\n"
                   for i in range(turns * BIG_LINES))


def written(turns: int) -> dict[str, str]:
    """The files the workload writes: ``out/fN.txt`` -> content."""
    return {f"out/f{n}.txt": f"file {n}\n" for n in range(0, turns - 1, WRITE_EVERY)}


def long_task_turn(n: int, turns: int) -> list[dict[str, Any]]:
    """Tool calls of turn ``n`` (``{"id", "name", "arguments"}``)."""
    if n >= turns - 1:
        return [{"id": f"call_{n}_0", "name": "finish", "arguments": {"summary": "all read"}}]
    calls = [{"id": f"call_{n}_0", "name": "read",
              "arguments": {"path": "big.txt", "offset": n * BIG_LINES + 1, "limit": BIG_LINES}}]
    if n % WRITE_EVERY == 0:
        calls.append({"id": f"call_{n}_1", "name": "write",
                      "arguments": {"path": f"out/f{n}.txt", "content": f"file {n}\n"}})
    return calls


@dataclass
class ContextModel:
    """The handler for :class:`ScriptedServer` (see the module docstring)."""

    window: int
    turns: int
    chars_per_token: float = 3.0
    report_usage: bool = True
    rejected: int = 0
    summaries: int = 0
    accepted: list[int] = field(default_factory=list)
    last_messages: list[Any] = field(default_factory=list)

    def prompt_tokens(self, body: dict[str, Any]) -> int:
        size = len(json.dumps(body["messages"])) + len(json.dumps(body.get("tools", [])))
        return int(size / self.chars_per_token) + 1

    def __call__(self, request: Recorded) -> Reply:
        body = request.json()
        tokens = self.prompt_tokens(body)
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 0)
        if tokens + max_tokens > self.window:
            self.rejected += 1
            return error_reply(400, json.dumps({"error": {
                "message": f"This model's maximum context length is {self.window} tokens. "
                           f"However, you requested {tokens + max_tokens} tokens.",
                "type": "invalid_request_error", "param": "messages",
                "code": "context_length_exceeded"}}))
        self.accepted.append(tokens)
        messages = body["messages"]
        if messages and messages[0].get("content") == SUMMARY_SYSTEM:
            self.summaries += 1
            return self._reply(tokens, text="- read big.txt in slices\n- wrote out/ files")
        self.last_messages = messages
        return self._reply(tokens, calls=long_task_turn(self._turn(messages), self.turns))

    def _turn(self, messages: list[Any]) -> int:
        for message in reversed(messages):
            for call in message.get("tool_calls") or []:
                return int(str(call["id"]).split("_")[1]) + 1
        return 0

    def _reply(self, tokens: int, text: str = "",
               calls: list[dict[str, Any]] | None = None) -> Reply:
        chunks: list[str] = []
        if text:
            chunks.append(_chunk({"role": "assistant", "content": text}))
        for index, call in enumerate(calls or []):
            chunks.append(_chunk({"tool_calls": [{
                "index": index, "id": call["id"], "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
            }]}))
        chunks.append(_chunk({}, "tool_calls" if calls else "stop"))
        if self.report_usage:
            chunks.append(sse({"id": "c", "object": "chat.completion.chunk", "choices": [],
                               "usage": {"prompt_tokens": tokens, "completion_tokens": 20,
                                         "total_tokens": tokens + 20}}))
        chunks.append(sse("[DONE]"))
        return event_stream(*chunks)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    return sse({"id": "c", "object": "chat.completion.chunk", "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
