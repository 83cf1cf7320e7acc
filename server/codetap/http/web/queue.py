"""Queue depth and budget use as the panel shows them (``GET /v1/scheduler``).

The scheduler and the budget live in the runtime worker; the front answers reads from its
read-only store and the listener callbacks it receives, as it does for task rows. Queue
depth and running tasks are counts of task states (a task waits for a scheduler slot in
``queued``); the concurrency cap and the budget limits come from the configuration
(``[scheduler]``, ``[budget]``); the spending is a :class:`~codetap.scheduler.Budget` of the
same windows, seeded once from the journal of the tasks updated in the last day (a model
turn updates its task's usage, so no older task can hold one) and then fed by every
journal entry the runtime reports. The worker's budget is built the same way
(``Runtime._seed_budget``), so both sum the same entries.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from codetap.agent import teams_config
from codetap.scheduler import Budget

if TYPE_CHECKING:
    from codetap.http.app import Context
    from codetap.runtime import Question, TaskRecord
    from codetap.types import JSON

DAY_S = 86400.0


class QueueView:
    """A runtime listener keeping the budget's spending for the panel (module doc)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.budget = Budget()
        self._seeded: asyncio.Task[None] | None = None
        self._early: set[tuple[int, int]] = set()
        ctx.runtime.subscribe(self)

    def task_updated(self, task: TaskRecord) -> None:
        pass

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        if kind not in ("model_turn", "compaction"):
            return
        if self._seeded is None or not self._seeded.done():
            self._early.add((task_id, seq))  # counted now; the seed skips it
        self.budget.note(kind, data)

    def question(self, q: Question) -> None:
        pass

    async def _seed(self) -> None:
        since = datetime.fromtimestamp(time.time() - DAY_S, UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        for task in await self.ctx.store.list_tasks():
            if task.updated_at < since:
                continue
            for ev in await self.ctx.store.events(task.id):
                if ev.kind in ("model_turn", "compaction") and \
                        (ev.task_id, ev.seq) not in self._early:
                    self.budget.note(ev.kind, ev.data, ev.ts)
        self._early.clear()

    async def snapshot(self, counts: dict[str, int]) -> dict[str, Any]:
        """``{queued, running, waiting, cap, budget: {hour: {spent_usd, limit_usd},
        day: {...}}, blocked}`` for task state ``counts``; ``limit_usd`` None when that
        window has no limit, ``blocked`` the name of the first reached window or None.
        ``spent_usd`` is summed over the last hour (``[budget] window_s``) and day."""
        if self._seeded is None:
            self._seeded = asyncio.ensure_future(self._seed())
        await asyncio.shield(self._seeded)
        table = teams_config.budget_settings(self.ctx.runtime.config)
        b = self.budget
        b.per_window, b.per_day = table.max_cost_usd_per_hour, table.max_cost_usd_per_day
        b.window_s = table.window_s
        blocked = b.blocked()
        return {
            "queued": counts.get("queued", 0), "running": counts.get("running", 0),
            "waiting": counts.get("waiting", 0),
            "cap": teams_config.max_concurrent_tasks(self.ctx.runtime.config),
            "budget": {"hour": {"spent_usd": round(b.spent(b.window_s), 6),
                                "limit_usd": b.per_window},
                       "day": {"spent_usd": round(b.spent(b.window_s * b.day_windows), 6),
                               "limit_usd": b.per_day}},
            "blocked": blocked[0] if blocked else None}


def queue_view(ctx: Context, state: Any) -> QueueView:
    """The application's :class:`QueueView` (``state``: ``app.state``), made at first use."""
    found: QueueView | None = getattr(state, "queue_view", None)
    if found is None:
        found = state.queue_view = QueueView(ctx)
    return found
