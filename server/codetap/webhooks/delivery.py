"""The delivery loop: sends due outbox rows, marks them delivered, retries, dead-letters.

It runs as one asyncio task in the runtime worker, apart from every task run: a receiver
that is slow (each attempt is bounded by ``timeout_s``) or down only delays its own
messages, never a task. At most ``concurrency`` messages are in flight. A failed attempt
(no 2xx answer, or none in time) is retried after the next delay of the retry schedule or
after the receiver's ``Retry-After`` (seconds or an HTTP date), whichever is later; after
the last delay the message is ``dead`` until redelivered. Delivery is at least once: a
process killed between the receiver's answer and the row's update sends the message again
after the restart, with the same ``webhook-id``, which receivers use to de-duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx

from codetap.store import Store
from codetap.store import outbox as ob
from codetap.webhooks import signing
from codetap.webhooks.settings import Delivery

log = logging.getLogger(__name__)
IDLE_WAKE_S = 1.0
MAX_RETRY_AFTER_S = 86400.0


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date, RFC 9110
    10.2.3), at most a day; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return min(max(0.0, when - now), MAX_RETRY_AFTER_S)


class Deliverer:
    """Sends the outbox of ``store``. :meth:`start` / :meth:`close` on the runtime's loop;
    :meth:`wake` after writing rows that are due now. ``settings()`` is read at each
    attempt (the user's config may be reloaded); ``on_result(outcome, latency_s)``
    is told each attempt's outcome (delivered, failed or dead; enqueue-to-delivered seconds
    when delivered) for the metrics."""

    def __init__(self, store: Store, settings: Callable[[], Delivery],
                 on_result: Callable[[str, float | None], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.on_result = on_result
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    def start(self) -> None:
        """Start the loop (idempotent)."""
        if self._loop is None:
            self._loop = asyncio.create_task(self._run(), name="codetap-webhooks")

    def wake(self) -> None:
        """New rows may be due: look now rather than at the next idle wake-up."""
        self._wake.set()

    async def close(self) -> None:
        """Stop sending; rows in flight stay pending and are sent by the next process."""
        self._closed = True
        self._wake.set()
        tasks = [t for t in (self._loop, *self._inflight.values()) if t is not None]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        self._loop = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while not self._closed:
            self._wake.clear()
            try:
                self._take()
                nxt = ob.next_due(self.store, list(self._inflight))
            except Exception:  # the database being briefly unavailable must not end the loop
                log.exception("webhook outbox read failed")
                nxt = None
            wait = IDLE_WAKE_S if nxt is None else min(IDLE_WAKE_S, max(0.0, nxt - time.time()))
            if len(self._inflight) >= self.settings().concurrency:
                wait = IDLE_WAKE_S  # a finishing send sets the event
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)

    def _take(self) -> None:
        free = self.settings().concurrency - len(self._inflight)
        if free <= 0:
            return
        for row in ob.due(self.store, time.time(), free, list(self._inflight)):
            task = asyncio.create_task(self._send(row), name=f"codetap-webhook-{row.id}")
            self._inflight[row.id] = task

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=max(1, self.settings().concurrency))
            self._client = httpx.AsyncClient(limits=limits, follow_redirects=False)
        return self._client

    async def _send(self, row: ob.OutboxRow) -> None:
        settings = self.settings()
        status: int | None = None
        wait: float | None = None
        try:
            resp = await self._http().post(
                row.url, content=row.payload.encode(),
                headers=signing.headers(row.msg_id, row.secret, row.payload),
                timeout=httpx.Timeout(settings.timeout_s))
            status = resp.status_code
            if 200 <= status < 300:
                now = time.time()
                ob.delivered(self.store, row.id, status, now)
                self._report("delivered", now - row.created)
                return
            error = f"HTTP {status}"
            wait = retry_after(resp.headers.get("retry-after"), time.time())
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # never let one message end the loop
            log.exception("webhook %s: unexpected error", row.msg_id)
            error = repr(exc)
        finally:
            self._inflight.pop(row.id, None)
            self._wake.set()
        attempt = row.attempts + 1
        schedule = settings.retry_schedule_s
        if attempt >= len(schedule):
            ob.failed(self.store, row.id, status, error, None)
            log.warning("webhook %s (%s, task %s) dead after %d attempts: %s",
                        row.msg_id, row.type, row.task_id, attempt, error)
            self._report("dead", None)
            return
        delay = max(schedule[attempt], wait or 0.0)
        ob.failed(self.store, row.id, status, error, time.time() + delay)
        self._report("failed", None)

    def _report(self, outcome: str, latency_s: float | None) -> None:
        if self.on_result is not None:
            try:
                self.on_result(outcome, latency_s)
            except Exception:
                log.exception("webhook metrics callback failed")
