"""A webhook receiver on loopback for tests and bench: a small asyncio HTTP/1.1 server
that verifies each request's Standard Webhooks signature with the ``standardwebhooks``
package and records it.

Behaviour is scripted per request with :attr:`Receiver.answer` (``(status, headers)``,
default 204) so tests can make it fail, ask for ``Retry-After`` or go quiet.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


def new_secret() -> str:
    """A fresh Standard Webhooks secret (``whsec_`` + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


@dataclass
class Hit:
    """One request: arrival (``time.time()``), headers (lower-case), parsed body, whether
    the signature verified."""

    at: float
    headers: dict[str, str]
    body: dict[str, Any]
    verified: bool


@dataclass
class Receiver:
    """``async with Receiver(secret) as r``: ``r.url``; ``r.hits`` every request;
    ``r.answer(hit) -> (status, headers)``."""

    secret: str
    port: int = 0
    answer: Callable[[Hit], tuple[int, dict[str, str]]] = lambda _hit: (204, {})
    hits: list[Hit] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, v in
                           (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                try:
                    data = Webhook(self.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    data, verified = json.loads(body or b"{}"), False
                hit = Hit(time.time(), headers, data, verified)
                self.hits.append(hit)
                self.changed.set()
                status, extra = self.answer(hit)
                out = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n{out}\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def by_id(self) -> dict[str, list[Hit]]:
        """Verified hits grouped by ``webhook-id``."""
        out: dict[str, list[Hit]] = {}
        for h in self.hits:
            if h.verified:
                out.setdefault(h.headers["webhook-id"], []).append(h)
        return out

    async def wait_for(self, check: Callable[[Receiver], bool], timeout: float = 30.0) -> None:
        """Wait until ``check(self)`` holds (re-checked on every request); TimeoutError."""
        deadline = time.monotonic() + timeout
        while not check(self):
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"receiver: condition not met; {len(self.hits)} hits")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))


class ThreadedReceiver:
    """A :class:`Receiver` on its own event loop in a thread, for synchronous tests that
    block (daemon start, kill -9). ``with ThreadedReceiver(secret) as r``; ``r.stop()`` /
    ``r.start()`` take it down and bring it back on the same port."""

    def __init__(self, secret: str) -> None:
        import threading
        self.receiver = Receiver(secret)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._hit = threading.Event()
        self.start()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def start(self) -> None:
        async def go() -> None:
            await self.receiver.start()
            self.receiver.changed = _Signal(self._hit)  # type: ignore[assignment]
        self._run(go())

    def stop(self) -> None:
        self._run(self.receiver.stop())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return self.receiver.url

    def wait_until(self, check: Callable[[Receiver], bool], timeout: float = 60.0) -> None:
        """Block until ``check(receiver)`` holds (re-checked on every request);
        AssertionError naming the hits on time-out."""
        deadline = time.monotonic() + timeout
        while not check(self.receiver):
            self._hit.clear()
            left = deadline - time.monotonic()
            assert left > 0, f"receiver: condition not met; hits: {summary(self.receiver)}"
            self._hit.wait(min(left, 0.5))


class _Signal:
    """Stands in for the receiver's asyncio.Event: sets a threading.Event."""

    def __init__(self, event: Any) -> None:
        self.event = event

    def set(self) -> None:
        self.event.set()


def summary(r: Receiver) -> list[tuple[str, str, bool]]:
    """``(type, webhook-id, verified)`` of every hit, in order."""
    return [(str(h.body.get("type")), h.headers.get("webhook-id", ""), h.verified)
            for h in r.hits]
