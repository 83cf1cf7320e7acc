"""Retry policy: Retry-After parsing, waits, attempt bounds, what is and is not retried."""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable

import httpx
import pytest

from codetap.errors import ModelHTTPError, ModelRetriesExhausted, ModelStreamError
from codetap.models.retry import (
    Backoff,
    RetryableError,
    is_retryable_status,
    parse_retry_after,
    raise_for_status,
    retry_call,
)

NOW = 1_700_000_000.0


def headers(**kw: str) -> httpx.Headers:
    return httpx.Headers({k.replace("_", "-"): v for k, v in kw.items()})


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after(headers(retry_after="7")) == 7.0
    assert parse_retry_after(headers(retry_after="1.5")) == 1.5
    assert parse_retry_after(headers(retry_after_ms="250")) == 0.25
    # OpenAI's milliseconds header wins over the standard one.
    assert parse_retry_after(headers(retry_after="9", retry_after_ms="100")) == 0.1
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after(headers(retry_after=date), now=NOW) == pytest.approx(30.0)
    past = email.utils.formatdate(NOW - 30, usegmt=True)
    assert parse_retry_after(headers(retry_after=past), now=NOW) == 0.0
    assert parse_retry_after(headers(retry_after="soon")) is None
    assert parse_retry_after(headers(retry_after="-3")) == 0.0
    assert parse_retry_after(headers()) is None


def test_retryable_statuses() -> None:
    assert [s for s in (400, 401, 403, 404, 408, 409, 413, 422, 429) if is_retryable_status(s)] \
        == [408, 409, 429]
    assert all(is_retryable_status(s) for s in (500, 502, 503, 504, 529))


class Recorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def failing(
    *errors: BaseException, result: str = "ok"
) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []

    async def start() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return calls, start


async def test_retry_after_is_capped_and_used_instead_of_backoff() -> None:
    sleep = Recorder()
    calls, start = failing(
        RetryableError("HTTP 429", status=429, retry_after_s=3600),
        RetryableError("HTTP 503", status=503, retry_after_s=2),
    )
    backoff = Backoff(base_delay_s=0.01, retry_after_cap_s=60)
    assert await retry_call(start, max_retries=3, backoff=backoff, sleep=sleep) == "ok"
    assert sleep.delays == [60, 2]
    assert len(calls) == 3


async def test_exponential_backoff_with_jitter_is_bounded() -> None:
    sleep = Recorder()
    errors = [httpx.ReadTimeout("slow") for _ in range(4)]
    calls, start = failing(*errors)
    backoff = Backoff(base_delay_s=0.1, max_delay_s=0.5)
    assert await retry_call(start, max_retries=4, backoff=backoff, sleep=sleep) == "ok"
    assert len(sleep.delays) == 4 and len(calls) == 5
    for n, delay in enumerate(sleep.delays):
        assert min(0.1 * 2**n, 0.5) <= delay <= min(0.1 * 2**n + 0.1, 0.5)


async def test_exhaustion_message_and_attempt_count() -> None:
    sleep = Recorder()
    calls, start = failing(*[RetryableError("x", status=502, body="bad gateway")] * 5)
    with pytest.raises(ModelRetriesExhausted) as info:
        await retry_call(start, max_retries=2, backoff=Backoff(0.01), sleep=sleep, what="call to m")
    assert len(calls) == 3 and len(sleep.delays) == 2
    assert str(info.value) == "call to m failed after 3 attempts; last: HTTP 502: bad gateway"
    assert isinstance(info.value.__cause__, RetryableError)


async def test_zero_retries_means_one_attempt() -> None:
    calls, start = failing(httpx.ConnectError("refused"))
    with pytest.raises(ModelRetriesExhausted, match="1 attempts; last: ConnectError: refused"):
        await retry_call(start, max_retries=0, backoff=Backoff(0.01), sleep=Recorder())
    assert len(calls) == 1


@pytest.mark.parametrize(
    "error", [ModelHTTPError(400, "bad"), ModelStreamError("garbled"), ValueError("bug")]
)
async def test_non_transient_errors_propagate_at_once(error: Exception) -> None:
    sleep = Recorder()
    calls, start = failing(error)
    with pytest.raises(type(error)) as info:
        await retry_call(start, max_retries=5, backoff=Backoff(0.01), sleep=sleep)
    assert info.value is error and len(calls) == 1 and sleep.delays == []


async def test_raise_for_status_classifies() -> None:
    ok = httpx.Response(200)
    await raise_for_status(ok)
    limited = httpx.Response(429, headers={"retry-after": "3"}, text="rate limited")
    with pytest.raises(RetryableError) as info:
        await raise_for_status(limited)
    assert (info.value.status, info.value.retry_after_s, info.value.body) == (429, 3.0, "rate limited")
    denied = httpx.Response(401, text="who are you")
    with pytest.raises(ModelHTTPError, match="who are you \\(no key\\)"):
        await raise_for_status(denied, hint="no key")
    gone = httpx.Response(404, text="x" * 2000)
    with pytest.raises(ModelHTTPError) as err:
        await raise_for_status(gone)
    assert err.value.status == 404 and len(str(err.value)) < 600
