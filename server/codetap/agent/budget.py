"""Prompt size before a request is sent (ARCHITECTURE.md "Context").

No tokenizer is shipped: a request's size is its characters / 4 (:data:`CHARS_PER_TOKEN`,
plus a small per-message overhead) times a calibration factor, the ratio of the prompt
tokens the provider reported for the previous request to that request's raw estimate
(kept per model in ``AgentState.calibration`` and rebuilt from the journal, so a resumed
task decides exactly as an uninterrupted one). The prompt must fit in the model's
``context_window`` minus the reply budget (``max_output_tokens``), less a safety margin.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from codetap.models.base import ModelConfig
from codetap.types import Message, ToolSpec

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_CHARS = 16
"""Role markers and separators the provider adds around each message."""
SAFETY = 0.95
"""Fraction of the prompt budget a request may fill (estimates are not exact)."""


class Budget:
    """Estimates request sizes for one model. Sizes of unchanged messages are cached, so
    estimating a conversation costs a pass over its messages, not over their text."""

    def __init__(self, config: ModelConfig, system: str, tools: Sequence[ToolSpec]) -> None:
        self.config = config
        self.system = system
        self._fixed = len(system) + sum(
            len(t.name) + len(t.description) + len(json.dumps(t.parameters)) for t in tools)
        self._sizes: dict[int, tuple[Message, int]] = {}

    @property
    def limit(self) -> int:
        """Tokens a prompt may use: ``SAFETY * (context_window - max_output_tokens)``."""
        return int(self.config.prompt_budget * SAFETY)

    def set_system(self, system: str) -> None:
        """The system prompt changed (e.g. set after a resumed step was finished)."""
        self._fixed += len(system) - len(self.system)
        self.system = system

    def chars(self, message: Message) -> int:
        """Characters ``message`` adds to a request (content, tool calls, overhead)."""
        key = id(message)
        cached = self._sizes.get(key)
        if cached is not None and cached[0] is message:
            return cached[1]
        size = len(message.content) + MESSAGE_OVERHEAD_CHARS
        for call in message.tool_calls:
            size += len(call.name) + len(json.dumps(call.arguments)) + MESSAGE_OVERHEAD_CHARS
        if len(self._sizes) > 100_000:
            self._sizes.clear()
        self._sizes[key] = (message, size)
        return size

    def raw(self, messages: Sequence[Message]) -> int:
        """Uncalibrated tokens of a request with these messages."""
        size = self._fixed + sum(self.chars(m) for m in messages)
        return -(-size // CHARS_PER_TOKEN)

    def tokens(self, raw: int, calibration: float) -> int:
        """Calibrated tokens for a raw estimate."""
        return int(raw * calibration) + 1


def tokens_of(text: str) -> int:
    """Rough tokens of a piece of text (for stubs and messages to people)."""
    return -(-len(text) // CHARS_PER_TOKEN)
