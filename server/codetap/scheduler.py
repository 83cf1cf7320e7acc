"""Task admission, per-model concurrency and budgets across tasks (ARCHITECTURE.md
"Teams and scheduler").

:class:`Scheduler` admits task runs: at most ``cap`` run at once, the rest wait in
``queued``, higher ``priority`` first, FIFO within a priority. :class:`GatedProvider` wraps a
task's model provider: each request first waits while a ``[budget]`` is reached (the task
journals why, once per wait, and that the wait is over) and then for a free slot of its
model (``[models.x] max_concurrent``). A budget wait re-reads the limits (``refresh``, e.g.
the user's config file) at least every ``POLL_S`` seconds, and wakes at once when
:meth:`Budget.set_limits` changes them. :class:`Budget` sums the cost of model calls of all tasks over sliding
windows (``window_s``, default an hour, and 24 of them for the day), from the journal's
``model_turn`` and ``compaction`` usage. The per-task limit (``[limits] max_cost_usd``, over
the task and its sub-tasks: :func:`task_spent`) waits the same way, as window ``"task"``:
it has no window to move, so only a raised limit (or cancelling the task) ends it.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codetap.errors import ConfigError
from codetap.models.base import ModelProvider
from codetap.types import JSON, ModelRequest, StreamEvent

if TYPE_CHECKING:
    from codetap.store import Store, TaskRow

log = logging.getLogger(__name__)

POLL_S = 1.0
"""Longest sleep of a budget wait before the limits are read again (s)."""

QueueWait = Callable[[int], Awaitable[None]]


class Scheduler:
    """At most ``cap`` admitted runs; waiters by (priority desc, arrival)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.running = 0
        self.peak = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None], object]] = []
        self._order = itertools.count()

    async def admit(self, priority: int = 0, key: object = None,
                    on_wait: QueueWait | None = None) -> None:
        """Return once a slot is taken (call :meth:`release` after). A run that must wait
        is known by ``key`` to :meth:`ahead`, and ``on_wait(ahead)`` is awaited once (the
        number of runs admitted before it as things stand). Cancellation while waiting
        gives nothing up."""
        if self.running < self.cap and not self._waiting:
            self._take()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-priority, next(self._order), fut, key))
        try:
            if on_wait is not None:
                await on_wait(self.ahead(key) or 0)
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # granted just as it was cancelled: pass the slot on
            raise

    def release(self) -> None:
        """Give a slot back; the next waiter (if any) takes it."""
        self.running -= 1
        while self._waiting and self.running < self.cap:
            _, _, fut, _ = heapq.heappop(self._waiting)
            if not fut.done():
                self._take()
                fut.set_result(None)

    @property
    def queued(self) -> int:
        """Runs waiting for a slot."""
        return sum(1 for _, _, f, _ in self._waiting if not f.done())

    def ahead(self, key: object) -> int | None:
        """How many waiting runs would be admitted before the one admitted with ``key``;
        None when no such run waits."""
        mine = next(((p, o) for p, o, f, k in self._waiting if k == key and not f.done()),
                    None)
        if mine is None:
            return None
        return sum(1 for p, o, f, _ in self._waiting if (p, o) < mine and not f.done())

    def _take(self) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)


@dataclass(slots=True)
class Budget:
    """USD limits across all tasks per window (``per_window``, e.g. the hour) and per
    ``day_windows`` windows (the day); None: unbounded. ``clock``: wall time in s.
    ``refresh``: called while a request waits, to pick up changed limits (say, the user's
    config file re-read; it calls :meth:`set_limits`); a ConfigError it raises is logged."""

    per_window: float | None = None
    per_day: float | None = None
    window_s: float = 3600.0
    day_windows: int = 24
    clock: Callable[[], float] = time.time
    refresh: Callable[[], None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _times: list[float] = field(default_factory=list)
    _costs: list[float] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether any limit is set."""
        return self.per_window is not None or self.per_day is not None

    def set_limits(self, per_window: float | None, per_day: float | None,
                   window_s: float) -> None:
        """Change the limits (USD; window in s); requests waiting for the budget look
        again at once."""
        changed = (per_window, per_day, window_s) != (self.per_window, self.per_day,
                                                       self.window_s)
        self.per_window, self.per_day, self.window_s = per_window, per_day, window_s
        if changed:
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    async def pause(self, seconds: float) -> None:
        """Sleep up to ``seconds`` (less when the limits change), then :attr:`refresh`."""
        try:
            await asyncio.wait_for(self._changed.wait(), seconds)
        except TimeoutError:
            pass
        if self.refresh is not None:
            try:
                self.refresh()
            except ConfigError as exc:
                log.warning("budget limits not re-read: %s", exc)

    def add(self, at: float, cost: float) -> None:
        """Record a model call's cost (USD) at wall time ``at`` (s)."""
        if cost <= 0:
            return
        i = bisect.bisect_right(self._times, at)
        self._times.insert(i, at)
        self._costs.insert(i, cost)
        horizon = self.clock() - self.window_s * self.day_windows
        drop = bisect.bisect_left(self._times, horizon)
        if drop:
            del self._times[:drop], self._costs[:drop]

    def spent(self, window_s: float) -> float:
        """USD spent in the last ``window_s`` seconds."""
        start = bisect.bisect_right(self._times, self.clock() - window_s)
        return sum(self._costs[start:])

    def blocked(self) -> tuple[str, float, float, float] | None:
        """(window name, spent, limit, seconds until it may move) of the first reached
        limit; None when under every limit."""
        for name, limit, span in (("hour", self.per_window, self.window_s),
                                  ("day", self.per_day, self.window_s * self.day_windows)):
            if limit is None:
                continue
            spent = self.spent(span)
            if spent >= limit:
                start = bisect.bisect_right(self._times, self.clock() - span)
                wait = self._times[start] + span - self.clock() if start < len(self._times) \
                    else 0.0
                return name, spent, limit, max(0.01, wait)
        return None

    def note(self, kind: str, data: JSON, at: float | None = None) -> None:
        """Count a journal entry's cost (``model_turn`` usage, ``compaction`` usage) at
        wall time ``at`` (default now)."""
        if kind not in ("model_turn", "compaction"):
            return
        cost = float((data.get("usage") or {}).get("cost_usd") or 0.0)
        self.add(self.clock() if at is None else at, cost)


Waiting = Callable[[str, float, float, float], Awaitable[None]]
Resumed = Callable[[], Awaitable[None]]
TaskCap = Callable[[], Awaitable[tuple[float, float] | None]]
"""(spent, limit) in USD when the task's own limit is reached, else None."""


async def task_spent(store: Store, task_id: int) -> tuple[TaskRow, float]:
    """The task's root (itself, or its parent for a sub-task) and the USD spent by the root
    and all the root's sub-tasks (each row's usage as of its last checkpoint).
    TaskNotFound for an unknown id."""
    task = await store.get_task(task_id)
    root = await store.get_task(task.parent_id) if task.parent_id is not None else task
    kids = [t for t in await store.list_tasks(root.root) if t.parent_id == root.id]
    return root, root.usage.cost_usd + sum(t.usage.cost_usd for t in kids)


class GatedProvider(ModelProvider):
    """``inner`` behind the budget, the task's own cost limit (``task_cap``, checked after
    the windows; window ``"task"``) and its model's concurrency slot; ``on_wait(window,
    spent, limit, resume_in_s)`` is awaited once each time a request starts waiting for
    a budget, and ``on_resume()`` once when that wait is over."""

    def __init__(self, inner: ModelProvider, budget: Budget,
                 slot: asyncio.Semaphore | None, on_wait: Waiting,
                 on_resume: Resumed | None = None, task_cap: TaskCap | None = None) -> None:
        super().__init__(inner.config)
        self.inner, self.budget, self.slot, self.on_wait = inner, budget, slot, on_wait
        self.on_resume, self.task_cap = on_resume, task_cap

    async def blocked(self) -> tuple[str, float, float, float] | None:
        """What a request waits for now: (window, spent, limit, seconds until the window
        may move; ``POLL_S`` for ``"task"``), or None."""
        block = self.budget.blocked()
        if block is None and self.task_cap is not None:
            over = await self.task_cap()
            if over is not None:
                block = ("task", over[0], over[1], POLL_S)
        return block

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        told = False
        while (block := await self.blocked()) is not None:
            if not told:
                await self.on_wait(*block)
                told = True
            await self.budget.pause(min(block[3], POLL_S))
        if told and self.on_resume is not None:
            await self.on_resume()
        if self.slot is None:
            async for event in self.inner.stream(request):
                yield event
            return
        async with self.slot:
            async for event in self.inner.stream(request):
                yield event

    async def aclose(self) -> None:
        """The inner provider is shared and closed by its owner."""
