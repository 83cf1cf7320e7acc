"""When a language server has settled enough to give complete answers.

A server asked too early answers from what it has loaded so far (basedpyright finds 2 of
415 references before it has enumerated the workspace). :class:`Readiness` watches the
traffic that signals loading: ``$/progress`` work-done tokens (LSP 3.17 "Work Done
Progress"), ``window/logMessage`` lines matching the spec's ``ready_log_pattern``, and
quiet time. Timestamps are ``time.monotonic()`` seconds.
"""

from __future__ import annotations

import asyncio
import re
import time


class Readiness:
    """Tracks loading signals of one server; :meth:`wait` blocks until settled or a bound.

    Settled means: the ready log line was seen (when the spec names one), no background
    work-done token is open, and, for the first settling only, ``quiet_s`` passed without
    progress or log traffic. Tokens begun while one of our requests was in flight belong to
    that request ("Finding references") and are not waited for.
    """

    def __init__(self, ready_log_pattern: str | None, quiet_s: float) -> None:
        self._pattern = re.compile(ready_log_pattern) if ready_log_pattern else None
        self.log_seen = self._pattern is None
        self.quiet_s = quiet_s
        self.background: set[str | int] = set()
        self.request_tokens: set[str | int] = set()
        self.inflight = 0
        self.last_activity = time.monotonic()
        self.settled_once = False
        self._changed = asyncio.Event()

    def on_progress(self, token: str | int, kind: str | None) -> None:
        """Record a ``$/progress`` notification with value ``kind`` begin/report/end."""
        self.last_activity = time.monotonic()
        if kind == "begin":
            (self.request_tokens if self.inflight else self.background).add(token)
        elif kind == "end":
            self.background.discard(token)
            self.request_tokens.discard(token)
        self._poke()

    def on_log(self, message: str) -> None:
        """Record a ``window/logMessage`` line."""
        self.last_activity = time.monotonic()
        if not self.log_seen and self._pattern is not None and self._pattern.search(message):
            self.log_seen = True
        self._poke()

    def _poke(self) -> None:
        self._changed.set()

    def is_settled(self, now: float | None = None) -> bool:
        """True when a request now would get a complete answer (as far as we can tell)."""
        if not self.log_seen or self.background:
            return False
        if self.settled_once:
            return True
        now = time.monotonic() if now is None else now
        return now - self.last_activity >= self.quiet_s

    async def wait(self, timeout_s: float) -> bool:
        """Wait until settled, at most ``timeout_s`` seconds; True if settled."""
        deadline = time.monotonic() + timeout_s
        while True:
            now = time.monotonic()
            if self.is_settled(now):
                self.settled_once = True
                return True
            left = deadline - now
            if left <= 0:
                return False
            self._changed.clear()
            step = left
            if self.log_seen and not self.background:
                step = min(left, self.quiet_s - (now - self.last_activity) + 0.01)
            try:
                await asyncio.wait_for(self._changed.wait(), max(step, 0.01))
            except TimeoutError:
                pass
