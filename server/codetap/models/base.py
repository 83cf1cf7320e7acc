"""The model provider interface and the helpers all providers share.

A provider turns a :class:`~codetap.types.ModelRequest` into a stream of
:class:`~codetap.types.StreamEvent` (text deltas, completed tool calls, one final
``Finished`` with stop reason and usage). Retrying is the provider's job (see
``codetap.models.retry``); errors are the ``ModelError`` subtree of ``codetap.errors``.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from codetap.errors import ModelStreamError
from codetap.types import (
    Finished,
    ModelRequest,
    ModelResponse,
    StreamEvent,
    TextDelta,
    ToolCallReady,
    Usage,
)


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """A named model from config (``[models.<name>]``).

    ``provider`` is ``openai`` | ``anthropic`` | ``replay``. Prices are USD per million
    tokens; ``cached_input_price_per_mtok`` (prompt-cache reads) and
    ``cache_write_price_per_mtok`` (prompt-cache writes) default to the input price when
    unset. ``context_window`` is in tokens: prompt plus reply (``max_output_tokens``) must
    fit in it. For ``replay``, ``path`` is the session file.
    ``timeout_s`` bounds each HTTP read; ``max_retries`` bounds retries of 429/5xx/timeouts.
    ``max_concurrent``: requests in flight at once across tasks (None: unbounded; a local
    model often serves one at a time; :mod:`codetap.scheduler`).
    """

    name: str
    provider: str
    model: str = ""
    base_url: str | None = None
    api_key_env: str | None = None
    input_price_per_mtok: float = 0.0
    output_price_per_mtok: float = 0.0
    context_window: int = 128_000
    max_output_tokens: int = 4096
    timeout_s: float = 120.0
    max_retries: int = 4
    path: str | None = None
    cached_input_price_per_mtok: float | None = None
    cache_write_price_per_mtok: float | None = None
    max_concurrent: int | None = None

    def cost(self, input_tokens: int, output_tokens: int, cache_read_tokens: int = 0,
             cache_write_tokens: int = 0) -> float:
        """Cost in USD of a call. ``input_tokens`` is the whole prompt; the cached parts of
        it (read from / written to the prompt cache) are priced at their own rates."""
        read_price = self.cached_input_price_per_mtok
        write_price = self.cache_write_price_per_mtok
        plain = max(0, input_tokens - cache_read_tokens - cache_write_tokens)
        return (
            plain * self.input_price_per_mtok
            + cache_read_tokens * (self.input_price_per_mtok if read_price is None else read_price)
            + cache_write_tokens * (self.input_price_per_mtok if write_price is None
                                    else write_price)
            + output_tokens * self.output_price_per_mtok
        ) / 1_000_000

    def usage(self, input_tokens: int, output_tokens: int, cache_read_tokens: int = 0,
              cache_write_tokens: int = 0) -> Usage:
        """A priced :class:`Usage` of one call (see :meth:`cost`)."""
        return Usage(input_tokens, output_tokens,
                     self.cost(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens),
                     cache_read_tokens, cache_write_tokens)

    @property
    def prompt_budget(self) -> int:
        """Tokens a prompt may use: ``context_window`` minus the reply budget (at least 1)."""
        return max(1, self.context_window - self.max_output_tokens)


class ModelProvider(abc.ABC):
    """A chat model reached by some transport. One instance per configured model."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    @abc.abstractmethod
    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream one response. Ends with exactly one ``Finished`` event.

        Raises ModelHTTPError, ModelRetriesExhausted or ModelStreamError.
        """

    async def aclose(self) -> None:
        """Release connections."""


async def collect(events: AsyncIterator[StreamEvent]) -> ModelResponse:
    """Aggregate a stream into a :class:`ModelResponse`; ModelStreamError if no Finished."""
    text: list[str] = []
    calls = []
    async for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ToolCallReady):
            calls.append(event.call)
        elif isinstance(event, Finished):
            return ModelResponse("".join(text), calls, event.stop_reason, event.usage)
    raise ModelStreamError("stream ended without a final event")


class LazyProvider(ModelProvider):
    """A provider built on its first call (``factory()``): a resumed task may finish its
    interrupted step before it needs the model, and building a provider loads the HTTP
    stack or a replay file."""

    def __init__(self, config: ModelConfig, factory: Callable[[], ModelProvider]) -> None:
        super().__init__(config)
        self._factory = factory
        self._real: ModelProvider | None = None

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        if self._real is None:
            self._real = self._factory()
        return self._real.stream(request)

    async def aclose(self) -> None:
        if self._real is not None:
            await self._real.aclose()
