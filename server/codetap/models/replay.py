"""Replay provider: plays a recorded session file for offline runs and tests.

The file (``config.path``; relative paths are resolved against the current directory) is
JSON Lines, UTF-8. An optional first line ``{"meta": {...}}`` is free-form metadata. Every
other non-blank line is one assistant turn::

    {"text"?: str,
     "tool_calls"?: [{"id"?: str, "name": str, "arguments": object}],
     "stop_reason"?: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "error",
     "usage"?: {"input_tokens": int, "output_tokens": int},
     "delay_ms"?: number}

The turn played is chosen statelessly: turn index = ``request.turn_index`` when the agent
gives it (assistant turns of the whole conversation, compacted ones included), else the
number of assistant messages in the request, so a task resumed after a crash gets the right
turn. A compaction summary request (``purpose == "summary"``) is not a recorded turn: it is
answered with a summary made from the request itself (its first and last lines), so offline
runs can exercise summary compaction. A call without ``id`` gets
``call_<turn>_<i>`` (both 0-based). ``stop_reason`` defaults to ``tool_use`` when there are
tool calls, else ``end_turn``. Without ``usage`` tokens are estimated (~4 characters per
token of request and response) and priced with ``config.cost``. ``delay_ms`` waits before
the first event. Asking past the last turn raises
ModelStreamError("replay session exhausted after N turns").

See also docs/replay-format.md.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jsonschema

from codetap.errors import ConfigError, ModelStreamError
from codetap.models.base import ModelConfig, ModelProvider
from codetap.models.estimate import estimate_request_tokens, estimate_response_tokens
from codetap.types import (
    Finished,
    ModelRequest,
    StopReason,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallReady,
)

TURN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "text": {"type": "string"},
        "tool_calls": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "arguments"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "name": {"type": "string", "minLength": 1},
                    "arguments": {"type": "object"},
                },
            },
        },
        "stop_reason": {
            "enum": ["end_turn", "tool_use", "max_tokens", "stop_sequence", "error"]
        },
        "usage": {
            "type": "object",
            "required": ["input_tokens", "output_tokens"],
            "properties": {
                "input_tokens": {"type": "integer", "minimum": 0},
                "output_tokens": {"type": "integer", "minimum": 0},
            },
        },
        "delay_ms": {"type": "number", "minimum": 0},
    },
}
"""JSON Schema (draft 2020-12) of one turn line."""

_VALIDATOR = jsonschema.Draft202012Validator(TURN_SCHEMA)
TEXT_CHUNKS = 3


@dataclass(frozen=True, slots=True)
class Turn:
    """One recorded assistant turn (ids already filled in)."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    stop_reason: StopReason
    usage: tuple[int, int] | None
    delay_s: float


@dataclass(frozen=True, slots=True)
class Session:
    """A parsed session file: metadata and turns."""

    meta: dict[str, Any]
    turns: tuple[Turn, ...]


_CACHE: dict[tuple[str, int, int], Session] = {}


def load_session(path: Path) -> Session:
    """Parse (once per file version: path, mtime, size) and validate a session file.

    Raises ConfigError naming the file and line for a missing file, bad JSON or a turn
    that does not match :data:`TURN_SCHEMA`.
    """
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key in _CACHE:
            return _CACHE[key]
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read replay session file {path}: {exc}") from exc
    meta: dict[str, Any] = {}
    turns: list[Turn] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"replay session file {path} line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: invalid JSON: {exc}") from exc
        if not turns and not meta and isinstance(data, dict) and set(data) == {"meta"}:
            meta = data["meta"] if isinstance(data["meta"], dict) else {"value": data["meta"]}
            continue
        error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(data))
        if error is not None:
            at = "/".join(str(p) for p in error.absolute_path) or "turn"
            raise ConfigError(f"{where}: {at}: {error.message}")
        turns.append(_turn(len(turns), cast(dict[str, Any], data)))
    session = Session(meta, tuple(turns))
    _CACHE[key] = session
    return session


def _turn(index: int, data: dict[str, Any]) -> Turn:
    calls = tuple(
        ToolCall(c.get("id") or f"call_{index}_{i}", c["name"], dict(c["arguments"]))
        for i, c in enumerate(data.get("tool_calls") or [])
    )
    stop: StopReason = data.get("stop_reason") or ("tool_use" if calls else "end_turn")
    usage = data.get("usage")
    return Turn(
        text=data.get("text", ""),
        tool_calls=calls,
        stop_reason=stop,
        usage=(usage["input_tokens"], usage["output_tokens"]) if usage else None,
        delay_s=float(data.get("delay_ms", 0)) / 1000,
    )


class ReplayProvider(ModelProvider):
    """Plays ``config.path`` (see the module docstring). Raises ConfigError at construction
    if the path is unset, unreadable or malformed."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        if not config.path:
            raise ConfigError(
                f"model {config.name!r}: provider 'replay' needs path = \"<session.jsonl>\""
            )
        self.path = Path(os.path.abspath(config.path))
        self.session = load_session(self.path)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """The recorded turn for ``request``: a few TextDelta, ToolCallReady each, Finished.

        Raises ModelStreamError when the session has no turn left for this request.
        """
        if request.purpose == "summary":
            async for event in self._summary(request):
                yield event
            return
        index = request.turn_index
        if index is None:
            index = sum(1 for m in request.messages if m.role == "assistant")
        turns = self.session.turns
        if index >= len(turns):
            raise ModelStreamError(
                f"replay session exhausted after {len(turns)} turns ({self.path})"
            )
        turn = turns[index]
        if turn.delay_s > 0:
            await asyncio.sleep(turn.delay_s)
        for piece in split_text(turn.text, TEXT_CHUNKS):
            yield TextDelta(piece)
        for call in turn.tool_calls:
            yield ToolCallReady(call)
        if turn.usage is not None:
            inp, out = turn.usage
        else:
            inp = estimate_request_tokens(request)
            out = estimate_response_tokens(turn.text, list(turn.tool_calls))
        yield Finished(turn.stop_reason, self.config.usage(inp, out))

    async def _summary(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        lines = [ln for m in request.messages for ln in m.content.splitlines() if ln.strip()]
        text = "Replay summary of the earlier conversation:\n" + "\n".join(
            ln[:200] for ln in lines[:3] + lines[-3:])
        yield TextDelta(text)
        inp, out = estimate_request_tokens(request), estimate_response_tokens(text, [])
        yield Finished("end_turn", self.config.usage(inp, out))


def split_text(text: str, parts: int) -> list[str]:
    """``text`` cut into at most ``parts`` non-empty pieces of similar length."""
    if not text:
        return []
    size = -(-len(text) // parts)
    return [text[i : i + size] for i in range(0, len(text), size)]
