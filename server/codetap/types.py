"""Dependency-free shared types: the vocabulary every codetap package speaks.

Nothing here imports from the rest of codetap, so any module (models, tools, store,
agent, lsp) can depend on it without cycles. Names follow the model APIs (tool call,
usage, stop reason) and the architecture page (task states).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]


class TaskState(enum.StrEnum):
    """Task lifecycle, per ARCHITECTURE.md "Tasks".

    queued -> running <-> waiting -> ready -> applied | discarded, plus paused, cancelled,
    failed and interrupted (the daemon died while the task ran).
    """

    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    PAUSED = "paused"
    READY = "ready"
    APPLIED = "applied"
    DISCARDED = "discarded"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def is_terminal(self) -> bool:
        """True for states a task never leaves by itself (ready can still be applied)."""
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        """True while the scheduler owns the task (queued, running or waiting)."""
        return self in (TaskState.QUEUED, TaskState.RUNNING, TaskState.WAITING)


_TERMINAL = frozenset(
    {TaskState.READY, TaskState.APPLIED, TaskState.DISCARDED, TaskState.CANCELLED, TaskState.FAILED}
)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call requested by the model.

    ``id`` is the provider's call id (OpenAI ``tool_calls[].id``, Anthropic ``tool_use.id``);
    ``arguments`` is the decoded JSON object (``{}`` when the model sent none).
    """

    id: str
    name: str
    arguments: JSON


@dataclass(slots=True)
class Usage:
    """Token usage and cost of one or more model calls (cost in US dollars).

    ``input_tokens`` is the whole prompt, cached parts included; ``cache_read_tokens``
    (Anthropic ``cache_read_input_tokens``, OpenAI ``prompt_tokens_details.cached_tokens``)
    and ``cache_write_tokens`` (Anthropic ``cache_creation_input_tokens``) say how much of it
    was read from or written to the provider's prompt cache (priced differently).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def add(self, other: Usage) -> None:
        """Accumulate ``other`` into this object in place."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens

    def to_json(self) -> JSON:
        """``{input_tokens, output_tokens, cost_usd}``, plus the cache counts when non-zero."""
        data: JSON = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }
        if self.cache_read_tokens:
            data["cache_read_tokens"] = self.cache_read_tokens
        if self.cache_write_tokens:
            data["cache_write_tokens"] = self.cache_write_tokens
        return data

    @classmethod
    def from_json(cls, data: JSON) -> Usage:
        """Inverse of :meth:`to_json` (missing keys are 0)."""
        return cls(
            int(data.get("input_tokens", 0)),
            int(data.get("output_tokens", 0)),
            float(data.get("cost_usd", 0.0)),
            int(data.get("cache_read_tokens", 0)),
            int(data.get("cache_write_tokens", 0)),
        )


Role = Literal["user", "assistant", "tool"]


@dataclass(slots=True)
class Message:
    """One conversation message in provider-neutral form.

    - ``user``: ``content`` is the text.
    - ``assistant``: ``content`` is the text (may be empty) and ``tool_calls`` the calls.
    - ``tool``: the result of one call: ``tool_call_id``, ``name``, ``content``, ``is_error``.

    The system prompt is not a message; it travels in :class:`ModelRequest`.
    """

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False

    def to_json(self) -> JSON:
        data: JSON = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            data["name"] = self.name
        if self.is_error:
            data["is_error"] = True
        return data

    @classmethod
    def from_json(cls, data: JSON) -> Message:
        return cls(
            role=data["role"],
            content=data.get("content", ""),
            tool_calls=[
                ToolCall(c["id"], c["name"], c.get("arguments") or {})
                for c in data.get("tool_calls", [])
            ],
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
            is_error=bool(data.get("is_error", False)),
        )


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What the model is told about a tool: name, description, JSON Schema of the arguments."""

    name: str
    description: str
    parameters: JSON


@dataclass(slots=True)
class ModelRequest:
    """One model call: system prompt, conversation, tools offered, output bound (tokens).

    ``cache_breakpoints`` are indexes into ``messages`` after which the prompt prefix is
    stable (the last compaction boundary, the newest message); providers with explicit
    prompt caching (Anthropic ``cache_control``) mark them, plus the system prompt.
    ``turn_index`` is the number of assistant turns of the whole conversation, compacted
    ones included (None: count them in ``messages``); ``purpose`` is ``"turn"`` for an
    agent turn or ``"summary"`` for a compaction summary (the replay provider answers
    those itself).
    """

    system: str
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 4096
    temperature: float | None = None
    cache_breakpoints: tuple[int, ...] = ()
    turn_index: int | None = None
    purpose: Literal["turn", "summary"] = "turn"


StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence", "error"]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Streaming event: a piece of assistant text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallReady:
    """Streaming event: one tool call whose arguments are complete (it can run now)."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class Finished:
    """Streaming event: the response is over. ``stop_reason`` uses Anthropic's vocabulary
    (OpenAI ``finish_reason`` is mapped: stop->end_turn, tool_calls->tool_use, length->max_tokens).
    """

    stop_reason: StopReason
    usage: Usage
    truncated_calls: tuple[str, ...] = ()
    """Names of tool calls cut off mid-arguments by the output limit (never run)."""


StreamEvent = TextDelta | ToolCallReady | Finished


@dataclass(slots=True)
class ModelResponse:
    """A whole assistant turn, as aggregated from the stream."""

    text: str
    tool_calls: list[ToolCall]
    stop_reason: StopReason
    usage: Usage

    def as_message(self) -> Message:
        return Message(role="assistant", content=self.text, tool_calls=list(self.tool_calls))


@dataclass(slots=True)
class ToolResult:
    """What a tool returns to the model: text, and whether it is an error.

    ``meta`` carries machine-readable facts for the journal (e.g. ``changed_files``,
    ``exit_code``); the model only sees ``output``.
    """

    output: str
    is_error: bool = False
    meta: JSON = field(default_factory=dict)
