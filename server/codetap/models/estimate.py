"""Rough token counts (about 4 characters per token) for when a server reports no usage.

Used by the replay provider and by OpenAI-compatible servers that ignore
``stream_options.include_usage``, so token and cost limits still apply.
"""

from __future__ import annotations

import json

from codetap.types import ModelRequest, ToolCall

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """Tokens in ``text``: ceil(len / 4), at least 1 for non-empty text."""
    return -(-len(text) // CHARS_PER_TOKEN)


def estimate_request_tokens(request: ModelRequest) -> int:
    """Tokens of a whole request: system prompt, messages, tool calls and tool specs."""
    size = len(request.system)
    for message in request.messages:
        size += len(message.content) + _calls_size(message.tool_calls)
    for tool in request.tools:
        size += len(tool.name) + len(tool.description) + len(json.dumps(tool.parameters))
    return max(1, -(-size // CHARS_PER_TOKEN))


def estimate_response_tokens(text: str, calls: list[ToolCall]) -> int:
    """Tokens of a response's text and tool calls (at least 1)."""
    return max(1, -(-(len(text) + _calls_size(calls)) // CHARS_PER_TOKEN))


def _calls_size(calls: list[ToolCall]) -> int:
    return sum(len(c.name) + len(json.dumps(c.arguments)) for c in calls)
