"""Why a task waits (issue 19, item 4): the reason shown as ``TaskInfo.waiting``, and the
journal entries that record a wait.

A task waits in the queue (state ``queued``, behind the ``[scheduler]`` cap) or, while
running, for a ``[budget]`` window. Journal entries (so editors following the events see
the wait begin and end)::

    waiting_queue   {reason, ahead, priority}        the run waits for a slot
    waiting_budget  {reason, window: "hour"|"day"|"task", spent_usd, limit_usd,
                     resume_in_s?, resumes_at?}     a model request waits for a budget
                                                    (no resume time for "task": the task's
                                                    own limit, counting its sub-tasks)
    waiting_over    {reason, waited_s}               the budget wait ended

A queue wait ends with the task's ``state`` entry (queued -> running). A task in state
``waiting`` waits for the user: its reason is the pending question (``"approval: The
planner proposes: ..."``, ``"question: ..."``), known only to fronts (questions are not
journaled before they are answered). Fronts that follow
the runtime's events keep the live reasons in a :class:`Board`
(``RuntimeAPI.waiting_reason``); readers of the database alone (the CLI's ``tasks`` and
``show``) use :func:`reasons`, which gives the same text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from codetap.types import JSON, TaskState

if TYPE_CHECKING:
    from codetap.runtime import Question
    from codetap.store import Event, Store, TaskRow

QUEUE = "waiting_queue"
BUDGET = "waiting_budget"
OVER = "waiting_over"

_ENDS = frozenset({OVER, "model_turn", "compaction", "state"})
_WINDOWS = {"hour": "hourly", "day": "daily"}


def queue_reason(ahead: int) -> str:
    """``"queued: 3 ahead"``, or ``"queued: next"`` when none is ahead."""
    return f"queued: {ahead} ahead" if ahead else "queued: next"


def budget_reason(window: str, spent: float, limit: float, resumes_at: float) -> str:
    """``"hourly budget reached: $2.00 of $2.00, resumes at 14:00:05Z"``; ``resumes_at``
    is Unix time (s), shown in UTC. Window ``"task"`` (ignores ``resumes_at``): ``"task
    budget reached: $0.52 of $0.50; raise [limits] max_cost_usd or cancel"``."""
    if window == "task":
        return (f"task budget reached: ${spent:.2f} of ${limit:.2f}; "
                "raise [limits] max_cost_usd or cancel")
    at = datetime.fromtimestamp(resumes_at, UTC).strftime("%H:%M:%SZ")
    return (f"{_WINDOWS.get(window, window)} budget reached: ${spent:.2f} of ${limit:.2f}, "
            f"resumes at {at}")


def ask_reason(kind: str, question: str) -> str:
    """A pending question as a wait reason: ``"approval: <question>"`` for an approval (of a
    plan, say; answered ``approve``, ``reject`` or what to change), else
    ``"question: <question>"``."""
    return f"{'approval' if kind == 'approval' else 'question'}: {question}"


def ahead_in(task: TaskRow, queued: Sequence[TaskRow]) -> int:
    """How many of the ``queued`` tasks the scheduler admits before ``task``: higher
    priority first, then the older (smaller id)."""
    return _ahead(task.id, task.priority, {t.id: t.priority for t in queued})


def _ahead(task_id: int, priority: int, queued: dict[int, int]) -> int:
    mine = (-priority, task_id)
    return sum(1 for i, p in queued.items() if i != task_id and (-p, i) < mine)


class Board:
    """The live wait reasons, from the journal entries a runtime reports (a
    ``RuntimeListener``: subscribe it before the tasks start). Only tasks whose run had to
    wait for a slot count as queued here."""

    def __init__(self) -> None:
        self._queued: dict[int, int] = {}
        self._budget: dict[int, str] = {}
        self._asks: dict[int, str] = {}

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        """Note a journal entry."""
        if kind == QUEUE:
            self._queued[task_id] = int(data.get("priority") or 0)
        elif kind == BUDGET:
            self._budget[task_id] = str(data.get("reason") or "")
        elif kind == "state":
            self._queued.pop(task_id, None)
            self._budget.pop(task_id, None)
        elif kind in _ENDS:
            self._budget.pop(task_id, None)

    def task_updated(self, task: TaskRow) -> None:
        """Forget the waits a task's new state ended."""
        if task.state is not TaskState.QUEUED:
            self._queued.pop(task.id, None)
        if task.state is not TaskState.RUNNING:
            self._budget.pop(task.id, None)
        if task.state is not TaskState.WAITING:
            self._asks.pop(task.id, None)

    def question(self, q: Question) -> None:
        """Note the question a ``waiting`` task waits on."""
        self._asks[q.task_id] = ask_reason(q.kind, q.question)

    def reason(self, task: TaskRow) -> str | None:
        """Why ``task`` (as it is now) waits, or None."""
        if task.state is TaskState.QUEUED and task.id in self._queued:
            return queue_reason(_ahead(task.id, self._queued[task.id], self._queued))
        if task.state is TaskState.RUNNING:
            return self._budget.get(task.id) or None
        if task.state is TaskState.WAITING:
            return self._asks.get(task.id)
        return None


def from_events(events: Sequence[Event]) -> str | None:
    """The reason of the last wait in ``events`` (a task's journal, in order) that has not
    ended (by ``waiting_over``, a model turn, a compaction or a state change); else None."""
    reason: str | None = None
    for ev in events:
        if ev.kind in (QUEUE, BUDGET):
            reason = str(ev.data.get("reason") or "") or None
        elif ev.kind in _ENDS:
            reason = None
    return reason


async def reasons(store: Store, tasks: Sequence[TaskRow]) -> dict[int, str]:
    """Task id -> why it waits, for those of ``tasks`` that wait, read from the database:
    a queued task's place in the queue, a running task's unfinished budget wait (its
    journal is read; only running tasks')."""
    out: dict[int, str] = {}
    queued: list[TaskRow] | None = None
    for task in tasks:
        if task.state is TaskState.QUEUED:
            if queued is None:
                queued = await store.list_tasks(states=[TaskState.QUEUED])
            out[task.id] = queue_reason(ahead_in(task, queued))
        elif task.state is TaskState.RUNNING:
            reason = from_events(await store.events(task.id))
            if reason:
                out[task.id] = reason
    return out
