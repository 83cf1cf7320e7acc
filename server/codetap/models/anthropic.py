"""Anthropic Messages API provider.

Follows Anthropic's Messages API streaming documentation (``POST /v1/messages`` with
``stream: true``, headers ``x-api-key`` and ``anthropic-version: 2023-06-01``). Events:
``message_start`` (``message.usage.input_tokens``), ``content_block_start`` (a ``text`` or
``tool_use`` block with ``id`` and ``name``), ``content_block_delta`` (``text_delta`` or
``input_json_delta.partial_json``), ``content_block_stop``, ``message_delta`` (``stop_reason``,
cumulative ``usage.output_tokens``), ``message_stop``, ``ping`` and ``error``. Unknown event
and block types (e.g. ``thinking``) are skipped, as the docs ask.

Prompt caching follows Anthropic's prompt caching documentation: ``cache_control: {"type":
"ephemeral"}`` on the system prompt's block and on the last block of each message named by
``ModelRequest.cache_breakpoints`` (at most 3, so 4 breakpoints in all); usage then reports
``cache_creation_input_tokens`` and ``cache_read_input_tokens`` besides ``input_tokens``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from codetap.errors import ContextLengthExceeded, ModelStreamError
from codetap.models.http import HTTPProvider, decode_arguments, decode_json, sse_events
from codetap.models.retry import RetryableError, excerpt, is_context_length_error
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
EPHEMERAL: JSON = {"type": "ephemeral"}
MAX_MESSAGE_BREAKPOINTS = 3


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
        config.max_output_tokens)``), system (one text block with ``cache_control``),
        messages (breakpoints as in the module docstring), tools, stream."""
        body: JSON = {
            "model": self.config.model,
            "max_tokens": min(request.max_tokens, self.config.max_output_tokens),
            "messages": to_anthropic_messages(request),
            "stream": True,
        }
        if request.system:
            body["system"] = [{"type": "text", "text": request.system,
                               "cache_control": dict(EPHEMERAL)}]
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

        A tool_use block whose input JSON is incomplete when the message stops for
        ``max_tokens`` is dropped and named in ``Finished.truncated_calls``. Raises
        ModelStreamError on malformed events, invalid tool input JSON, a non-transient
        ``error`` event, or a stream that ends before ``message_stop``;
        ContextLengthExceeded for an error event saying the prompt is too long.
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
        if state.broken and state.stop_reason != "max_tokens":
            raise state.broken[0][1]
        cut = [name for name, _ in state.broken]
        if state.stop_reason == "max_tokens":
            cut += [tool.name for tool in state.tools.values()]  # blocks never stopped
        yield Finished(STOP_REASONS.get(state.stop_reason, "end_turn"), self._usage(state),
                       tuple(cut))

    def _usage(self, state: _StreamState) -> Usage:
        # input_tokens excludes the cache reads and writes, which are prompt tokens too.
        read, write = state.cache_read, state.cache_write
        inp = state.input_tokens + read + write
        return self.config.usage(inp, state.output_tokens, read, write)


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
    cache_read: int = 0
    cache_write: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    broken: list[tuple[str, ModelStreamError]] = field(default_factory=list)

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
                try:
                    return [ToolCallReady(tool.finish())]
                except ModelStreamError as exc:
                    # Only a stop for max_tokens (known later) excuses incomplete input.
                    self.broken.append((tool.name, exc))
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
        # message_delta counts are cumulative: a count given again replaces the earlier one.
        if usage.get("input_tokens") is not None:
            self.input_tokens = int(usage["input_tokens"])
        if usage.get("cache_read_input_tokens") is not None:
            self.cache_read = int(usage["cache_read_input_tokens"])
        if usage.get("cache_creation_input_tokens") is not None:
            self.cache_write = int(usage["cache_creation_input_tokens"])
        if usage.get("output_tokens") is not None:
            self.output_tokens = int(usage["output_tokens"])


def _raise_error_event(data: dict[str, Any]) -> None:
    error = data.get("error") or {}
    kind = str(error.get("type") or "error")
    message = excerpt(str(error.get("message") or ""), 300)
    if kind in RETRYABLE_ERROR_TYPES:
        raise RetryableError(f"error event in stream ({kind})", body=message)
    if is_context_length_error(message):
        raise ContextLengthExceeded(f"model API sent an error event ({kind}): {message}")
    raise ModelStreamError(f"model API sent an error event ({kind}): {message}")


def to_anthropic_messages(request: ModelRequest) -> list[JSON]:
    """Messages API ``messages`` (the system prompt travels separately).

    User text becomes a ``text`` block; assistant turns become ``text`` and ``tool_use``
    blocks; tool results become ``tool_result`` blocks (with ``is_error``) in a user turn.
    Consecutive user-side messages are merged into one turn, and empty assistant turns are
    dropped, since the API wants alternating, non-empty turns. The last block of the
    messages at the last three ``request.cache_breakpoints`` gets ``cache_control``.
    """
    marks = set(sorted(set(request.cache_breakpoints))[-MAX_MESSAGE_BREAKPOINTS:])
    out: list[JSON] = []
    for index, message in enumerate(request.messages):
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
        if index in marks:
            blocks[-1]["cache_control"] = dict(EPHEMERAL)
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out
