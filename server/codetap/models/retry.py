"""Retry policy for model API calls (tenacity).

What is retried: HTTP 408, 409, 429 and 5xx, ``httpx.TimeoutException``, connection and
protocol failures (``httpx.NetworkError``, ``httpx.RemoteProtocolError``), and
:class:`RetryableError` raised by a provider (e.g. an Anthropic ``overloaded_error`` event).
Any other 4xx raises :class:`~codetap.errors.ModelHTTPError` at once.

Waits: exponential backoff with jitter (``base_delay_s * 2**n + uniform(0, base_delay_s)``,
at most ``max_delay_s``), unless the server said how long to wait: OpenAI's
``retry-after-ms`` header (milliseconds) or the standard ``Retry-After`` header (delay in
seconds or an HTTP-date, RFC 9110 section 10.2.3), capped at ``retry_after_cap_s``.

Retrying only covers the start of a response, up to its first stream event (see
:func:`retry_call`); a stream that breaks after events were yielded is the caller's
:class:`~codetap.errors.ModelStreamError`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_exponential_jitter

from codetap.errors import (
    ContextLengthExceeded,
    ModelError,
    ModelHTTPError,
    ModelRetriesExhausted,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""4xx statuses worth retrying; every 5xx is retried too."""

BODY_EXCERPT_CHARS = 500

CONTEXT_LENGTH_MARKERS = (
    "context_length_exceeded",            # OpenAI error code
    "prompt is too long",                 # Anthropic
    "maximum context length",             # vLLM, OpenAI message text
    "exceeds the available context size",  # llama.cpp server
    "exceed_context_size_error",          # llama.cpp server error type
)
"""Lower-case fragments of a provider's "the prompt does not fit" error."""


def is_context_length_error(text: str) -> bool:
    """Whether an error body or message says the prompt exceeds the model's context."""
    low = text.lower()
    return any(marker in low for marker in CONTEXT_LENGTH_MARKERS)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Wait times between attempts, in seconds. Tests inject tiny values."""

    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    retry_after_cap_s: float = 60.0


class RetryableError(ModelError):
    """A transient failure: ``status`` (None for in-stream errors), ``body`` excerpt, and the
    server's requested delay ``retry_after_s`` (seconds, uncapped) if it gave one."""

    def __init__(
        self, reason: str, *, status: int | None = None, body: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.body = body
        self.retry_after_s = retry_after_s


def is_retryable_status(status: int) -> bool:
    """True for 408, 409, 429 and every 5xx."""
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def is_transient(exc: BaseException) -> bool:
    """True for failures a later attempt may not meet (timeouts, dropped connections)."""
    return isinstance(
        exc, RetryableError | httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError
    )


def parse_retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Delay in seconds the server asked for, or None.

    ``retry-after-ms`` (OpenAI, milliseconds) wins over ``Retry-After`` (seconds or an
    HTTP-date; a date in the past gives 0). Unparseable values are ignored. ``now`` is a
    POSIX timestamp (defaults to the current time) for HTTP-dates.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def excerpt(text: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """``text`` shortened to ``limit`` characters, marking the cut."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


async def raise_for_status(response: httpx.Response, *, hint: str = "") -> None:
    """Return if ``response`` is 2xx; else read its body and raise.

    Raises RetryableError for retryable statuses (with ``Retry-After``),
    ContextLengthExceeded for a 4xx saying the prompt is too long, ModelHTTPError for any
    other status; ``hint`` is appended to the body of a 401/403 (e.g. "no API key").
    """
    if response.is_success:
        return
    try:
        body = (await response.aread()).decode("utf-8", "replace")
    except httpx.HTTPError as exc:
        body = f"(body unreadable: {exc!r})"
    status = response.status_code
    if is_retryable_status(status):
        raise RetryableError(
            f"HTTP {status}", status=status, body=excerpt(body),
            retry_after_s=parse_retry_after(response.headers),
        )
    if 400 <= status < 500 and is_context_length_error(body):
        raise ContextLengthExceeded(f"model API returned HTTP {status}: {excerpt(body)}", status)
    if hint and status in (401, 403):
        body = f"{body} ({hint})"
    raise ModelHTTPError(status, body)


def _wait(backoff: Backoff) -> Callable[[RetryCallState], float]:
    expo = wait_exponential_jitter(
        multiplier=backoff.base_delay_s, max=backoff.max_delay_s, jitter=backoff.base_delay_s
    )

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, backoff.retry_after_cap_s)
        return expo(state)

    return wait


def describe_failure(exc: BaseException | None) -> str:
    """One line naming a failed attempt: status and body excerpt, or the exception."""
    if isinstance(exc, RetryableError):
        if exc.status is not None:
            return f"HTTP {exc.status}: {excerpt(exc.body, 200) or '(empty body)'}"
        return f"{exc}: {excerpt(exc.body, 200)}" if exc.body else str(exc)
    if exc is None:
        return "unknown failure"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def retry_call(
    start: Callable[[], Awaitable[T]],
    *,
    max_retries: int,
    backoff: Backoff,
    what: str = "model API call",
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Await ``start()`` up to ``max_retries + 1`` times while it fails transiently.

    ``start`` should open the response and read up to its first stream event, so retries
    never repeat output the caller has seen. Non-transient exceptions propagate unchanged.
    Raises ModelRetriesExhausted (attempts, last status and body excerpt) when spent.
    """

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.upcoming_sleep
        log.warning(
            "%s failed (%s); retry %d/%d in %.2fs",
            what, describe_failure(exc), state.attempt_number, max_retries, delay,
        )

    def exhausted(state: RetryCallState) -> T:
        exc = state.outcome.exception() if state.outcome else None
        raise ModelRetriesExhausted(
            f"{what} failed after {state.attempt_number} attempts; last: {describe_failure(exc)}"
        ) from exc

    retrying = AsyncRetrying(
        stop=stop_after_attempt(max(0, max_retries) + 1),
        wait=_wait(backoff),
        retry=_retry_if_transient,
        sleep=sleep,
        before_sleep=before_sleep,
        retry_error_callback=exhausted,
        reraise=True,
    )
    return await retrying(start)


def _retry_if_transient(state: RetryCallState) -> bool:
    exc = state.outcome.exception() if state.outcome else None
    return exc is not None and is_transient(exc)
