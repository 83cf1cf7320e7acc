"""Anthropic Messages API provider.

Follows Anthropic's Messages API streaming documentation (``POST /v1/messages`` with
``stream: true``, headers ``x-api-key`` and ``anthropic-version: 2023-06-01``). Events:
``message_start`` (``message.usage.input_tokens``), ``content_block_start`` (a ``text`` or
``tool_use`` block with ``id`` and ``name``), ``content_block_delta`` (``text_delta`` or
``input_json_delta.partial_json``), ``content_block_stop``, ``message_delta`` (``stop_reason``,
cumulative ``usage.output_tokens``), ``message_stop``, ``ping`` and ``error``. Unknown event
and block types (e.g. ``thinking``) are skipped, as the docs ask.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from codetap.errors import ModelStreamError
from codetap.models.http import HTTPProvider, decode_arguments, decode_json, sse_events
from codetap.models.retry import RetryableError, excerpt
from codetap.types import (
    JSON,
    Finished,
    ModelRequest,
    StopReason,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallReady,
    Usage,
)

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"

STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
}
"""Anthropic ``stop_reason`` values kept as is; others (``pause_turn``, ``refusal``) map to
``end_turn``."""

RETRYABLE_ERROR_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error"})


class AnthropicProvider(HTTPProvider):
    """Streams Messages from ``{base_url}/v1/messages``.

    The key (``x-api-key``) comes from ``config.api_key_env`` (default ``ANTHROPIC_API_KEY``
    for the default base_url). An in-stream ``error`` event of a transient type
    (``overloaded_error``, ``api_error``, ``rate_limit_error``) is retried if nothing was
    yielded yet; otherwise it is a ModelStreamError.
    """

    default_base_url = ANTHROPIC_BASE_URL
    default_api_key_env = "ANTHROPIC_API_KEY"

    def build_request(self, request: ModelRequest) -> httpx.Request:
        """``POST /v1/messages`` with the body of :meth:`request_body`."""
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        key = self.api_key()
        if key is not None:
            headers["x-api-key"] = key
        return self.post("/v1/messages", self.request_body(request), headers)

    def request_body(self, request: ModelRequest) -> JSON:
        """The JSON body: model, max_tokens (``min(request.max_tokens,
        config.max_output_tokens)``), system, messages, tools, stream."""
        body: JSON = {
            "model": self.config.model,
            "max_tokens": min(request.max_tokens, self.config.max_output_tokens),
            "messages": to_anthropic_messages(request),
            "stream": True,
        }
        if request.system:
            body["system"] = request.system
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    async def parse(
        self, response: httpx.Response, request: ModelRequest
    ) -> AsyncIterator[StreamEvent]:
        """Events of a Messages stream (see the module docstring).

        Raises ModelStreamError on malformed events, invalid tool input JSON, a
        non-transient ``error`` event, or a stream that ends before ``message_stop``.
        """
        state = _StreamState()
        async for sse in sse_events(response):
            if sse.event == "ping" or not sse.data.strip():
                continue
            data = decode_json(sse.data, f"{sse.event or 'message'} event")
            kind = data.get("type") or sse.event
            if kind == "message_stop":
                break
            for event in state.feed(kind, data):
                yield event
        else:
            raise ModelStreamError("message stream ended early (no message_stop)")
        if state.stop_reason is None:
            raise ModelStreamError("message stream ended without a stop_reason")
        inp, out = state.input_tokens, state.output_tokens
        yield Finished(
            STOP_REASONS.get(state.stop_reason, "end_turn"),
            Usage(inp, out, self.config.cost(inp, out)),
        )


@dataclass(slots=True)
class _ToolBlock:
    id: str
    name: str
    start_input: JSON
    partial: list[str] = field(default_factory=list)

    def finish(self) -> ToolCall:
        raw = "".join(self.partial)
        arguments = decode_arguments(raw, self.name) if raw else dict(self.start_input)
        return ToolCall(self.id, self.name, arguments)


@dataclass(slots=True)
class _StreamState:
    tools: dict[int, _ToolBlock] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None

    def feed(self, kind: str, data: dict[str, Any]) -> list[StreamEvent]:
        if kind == "message_start":
            self._take_usage((data.get("message") or {}).get("usage") or {})
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                if not block.get("id") or not block.get("name"):
                    raise ModelStreamError(f"tool_use block without id or name: {block!r:.200}")
                self.tools[int(data.get("index", 0))] = _ToolBlock(
                    str(block["id"]), str(block["name"]), dict(block.get("input") or {})
                )
            elif block.get("type") == "text" and block.get("text"):
                return [TextDelta(str(block["text"]))]
        elif kind == "content_block_delta":
            return self._delta(int(data.get("index", 0)), data.get("delta") or {})
        elif kind == "content_block_stop":
            tool = self.tools.pop(int(data.get("index", 0)), None)
            if tool is not None:
                return [ToolCallReady(tool.finish())]
        elif kind == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
            self._take_usage(data.get("usage") or {})
        elif kind == "error":
            _raise_error_event(data)
        return []

    def _delta(self, index: int, delta: dict[str, Any]) -> list[StreamEvent]:
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [TextDelta(str(delta["text"]))]
        if delta.get("type") == "input_json_delta":
            tool = self.tools.get(index)
            if tool is None:
                raise ModelStreamError(f"input_json_delta for unknown content block {index}")
            tool.partial.append(str(delta.get("partial_json") or ""))
        return []

    def _take_usage(self, usage: dict[str, Any]) -> None:
        # Cache reads/writes are input too; message_delta counts are cumulative.
        fields = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        if any(usage.get(f) is not None for f in fields):
            self.input_tokens = sum(int(usage.get(f) or 0) for f in fields)
        if usage.get("output_tokens") is not None:
            self.output_tokens = int(usage["output_tokens"])


def _raise_error_event(data: dict[str, Any]) -> None:
    error = data.get("error") or {}
    kind = str(error.get("type") or "error")
    message = excerpt(str(error.get("message") or ""), 300)
    if kind in RETRYABLE_ERROR_TYPES:
        raise RetryableError(f"error event in stream ({kind})", body=message)
    raise ModelStreamError(f"model API sent an error event ({kind}): {message}")


def to_anthropic_messages(request: ModelRequest) -> list[JSON]:
    """Messages API ``messages`` (the system prompt travels separately).

    User text becomes a ``text`` block; assistant turns become ``text`` and ``tool_use``
    blocks; tool results become ``tool_result`` blocks (with ``is_error``) in a user turn.
    Consecutive user-side messages are merged into one turn, and empty assistant turns are
    dropped, since the API wants alternating, non-empty turns.
    """
    out: list[JSON] = []
    for message in request.messages:
        blocks: list[JSON] = []
        if message.role == "tool":
            result: JSON = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.content,
            }
            if message.is_error:
                result["is_error"] = True
            blocks.append(result)
            role = "user"
        else:
            role = message.role
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            blocks.extend(
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in message.tool_calls
            )
        if not blocks:
            if role == "assistant":
                continue
            blocks.append({"type": "text", "text": "(empty)"})
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out
