"""OpenAI-compatible Chat Completions provider (OpenAI, Ollama, vLLM, llama.cpp server, ...).

Follows the OpenAI API reference for ``POST /chat/completions`` with ``stream: true``:
each server-sent event carries a ``chat.completion.chunk`` JSON object, the stream ends with
``data: [DONE]``. ``choices[0].delta.content`` is text; ``choices[0].delta.tool_calls[]``
carries tool calls by ``index`` (``id`` and ``function.name`` in their first chunk,
``function.arguments`` split across chunks); ``finish_reason`` closes the choice and, with
``stream_options.include_usage``, a last chunk with empty ``choices`` carries ``usage``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from codetap.errors import ContextLengthExceeded, ModelStreamError
from codetap.models.estimate import estimate_request_tokens, estimate_response_tokens
from codetap.models.http import HTTPProvider, decode_arguments, decode_json, sse_events
from codetap.models.retry import RetryableError, excerpt, is_context_length_error
from codetap.types import (
    JSON,
    Finished,
    Message,
    ModelRequest,
    StopReason,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallReady,
    Usage,
)

FINISH_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
}
"""OpenAI ``finish_reason`` -> codetap stop reason; anything else maps to ``end_turn``."""

OPENAI_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider(HTTPProvider):
    """Streams Chat Completions from ``{base_url}/chat/completions``.

    The key (``Authorization: Bearer``) comes from ``config.api_key_env`` (default
    ``OPENAI_API_KEY`` for the default base_url); without one no header is sent, which
    local servers accept. Output is bounded by ``max_completion_tokens`` on the default
    endpoint and by the older ``max_tokens`` elsewhere (what local servers understand).
    """

    default_base_url = OPENAI_BASE_URL
    default_api_key_env = "OPENAI_API_KEY"

    def build_request(self, request: ModelRequest) -> httpx.Request:
        """``POST /chat/completions`` with the body of :meth:`request_body`."""
        headers = {}
        key = self.api_key()
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        return self.post("/chat/completions", self.request_body(request), headers)

    def request_body(self, request: ModelRequest) -> JSON:
        """The JSON body: model, messages, tools, streaming with usage, and the output bound
        ``min(request.max_tokens, config.max_output_tokens)``."""
        limit_key = "max_completion_tokens" if self.base_url == OPENAI_BASE_URL else "max_tokens"
        body: JSON = {
            "model": self.config.model,
            "messages": to_openai_messages(request),
            "stream": True,
            "stream_options": {"include_usage": True},
            limit_key: min(request.max_tokens, self.config.max_output_tokens),
        }
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name, "description": t.description, "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    async def parse(
        self, response: httpx.Response, request: ModelRequest
    ) -> AsyncIterator[StreamEvent]:
        """Events of a Chat Completions stream (see the module docstring).

        A tool call is emitted when the next index starts or at ``finish_reason``; at
        ``finish_reason: "length"`` a call whose arguments are not complete JSON is dropped
        and named in ``Finished.truncated_calls``. Raises ModelStreamError on malformed
        chunks, invalid argument JSON, an ``error`` chunk, or a stream ending without
        ``finish_reason`` and ``[DONE]``; RetryableError for a ``server_error`` chunk;
        ContextLengthExceeded for an error chunk saying the prompt is too long.
        """
        state = _StreamState()
        done = False
        async for sse in sse_events(response):
            if sse.data.strip() == "[DONE]":
                done = True
                break
            if not sse.data.strip():
                continue
            chunk = decode_json(sse.data, "chat completion chunk")
            _raise_chunk_error(chunk)
            if isinstance(chunk.get("usage"), dict):
                state.usage = chunk["usage"]
            for event in state.feed(chunk.get("choices") or []):
                yield event
        if not done or state.finish_reason is None:
            missing = "finish_reason" if state.finish_reason is None else "[DONE]"
            raise ModelStreamError(f"chat completion stream ended early (no {missing})")
        yield Finished(state.stop_reason(), self._usage(state, request),
                       tuple(state.truncated))

    def _usage(self, state: _StreamState, request: ModelRequest) -> Usage:
        """Reported usage (``prompt_tokens`` includes the cached
        ``prompt_tokens_details.cached_tokens``), else an estimate."""
        if state.usage is not None:
            inp = int(state.usage.get("prompt_tokens") or 0)
            out = int(state.usage.get("completion_tokens") or 0)
            details = state.usage.get("prompt_tokens_details")
            cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
            return self.config.usage(inp, out, min(cached, inp))
        inp = estimate_request_tokens(request)
        out = estimate_response_tokens("".join(state.text), state.emitted)
        return self.config.usage(inp, out)


@dataclass(slots=True)
class _PartialCall:
    index: int
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def finish(self) -> ToolCall:
        if not self.name:
            raise ModelStreamError(f"tool call at index {self.index} has no function name")
        call_id = self.id or f"call_{self.index}"
        return ToolCall(call_id, self.name, decode_arguments("".join(self.arguments), self.name))


@dataclass(slots=True)
class _StreamState:
    pending: dict[int, _PartialCall] = field(default_factory=dict)
    emitted: list[ToolCall] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    truncated: list[str] = field(default_factory=list)

    def feed(self, choices: list[Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for choice in choices[:1]:
            if not isinstance(choice, dict):
                raise ModelStreamError(f"chunk choice is not an object: {choice!r:.200}")
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.text.append(content)
                events.append(TextDelta(content))
            for part in delta.get("tool_calls") or []:
                events.extend(self._feed_call(part))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
                events.extend(self._flush(cut=self.finish_reason == "length"))
        return events

    def _feed_call(self, part: Any) -> list[StreamEvent]:
        if not isinstance(part, dict):
            raise ModelStreamError(f"tool call delta is not an object: {part!r:.200}")
        index = int(part.get("index", 0))
        events: list[StreamEvent] = []
        if index not in self.pending:
            # Calls stream one after another: a new index means earlier ones are complete.
            events.extend(self._flush(below=index))
            self.pending[index] = _PartialCall(index)
        call = self.pending[index]
        call.id = call.id or part.get("id") or ""
        function = part.get("function") or {}
        call.name = call.name or function.get("name") or ""
        if isinstance(function.get("arguments"), str):
            call.arguments.append(function["arguments"])
        return events

    def _flush(self, below: int | None = None, cut: bool = False) -> list[StreamEvent]:
        ready = sorted(i for i in self.pending if below is None or i < below)
        events: list[StreamEvent] = []
        for index in ready:
            partial = self.pending.pop(index)
            if cut and index == ready[-1] and not _complete_json("".join(partial.arguments)):
                # The output limit cut this call mid-arguments: never run half a call.
                self.truncated.append(partial.name or "?")
                continue
            call = partial.finish()
            self.emitted.append(call)
            events.append(ToolCallReady(call))
        return events

    def stop_reason(self) -> StopReason:
        # Some local servers report "stop" after tool calls; the calls are what matter.
        if self.emitted and self.finish_reason == "stop":
            return "tool_use"
        return FINISH_REASONS.get(self.finish_reason or "", "end_turn")


def _complete_json(raw: str) -> bool:
    """Whether ``raw`` is a whole JSON object (empty text counts: no arguments)."""
    if not raw.strip():
        return True
    try:
        return isinstance(json.loads(raw), dict)
    except json.JSONDecodeError:
        return False


def _raise_chunk_error(chunk: dict[str, Any]) -> None:
    error = chunk.get("error")
    if error is None:
        return
    detail = error if isinstance(error, dict) else {"message": str(error)}
    kind = str(detail.get("type") or detail.get("code") or "error")
    text = excerpt(json.dumps(detail), 300)
    if is_context_length_error(json.dumps(detail)):
        raise ContextLengthExceeded(f"model API sent an error in the stream: {text}")
    if kind in ("server_error", "rate_limit_exceeded", "overloaded_error"):
        raise RetryableError(f"error event in stream ({kind})", body=text)
    raise ModelStreamError(f"model API sent an error in the stream: {text}")


def to_openai_messages(request: ModelRequest) -> list[JSON]:
    """Chat Completions ``messages``: the system prompt first, then the conversation.

    Assistant tool calls become ``tool_calls`` (arguments as JSON text); tool results become
    ``role: tool`` messages with ``tool_call_id`` (errors prefixed with "Error: ", since the
    API has no error flag).
    """
    out: list[JSON] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    for message in request.messages:
        out.append(_to_openai(message))
    return out


def _to_openai(message: Message) -> JSON:
    if message.role == "tool":
        content = message.content
        if message.is_error and not content.lower().startswith("error"):
            content = f"Error: {content}"
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}
