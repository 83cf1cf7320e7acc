"""The server-wide task stream and statistics the panel's pages follow.

``GET /v1/events`` (Server-Sent Events): ``event: task`` each time a task changes (state,
step, usage ...), ``data:`` its :func:`row`, with ``counts`` (tasks per state, all tasks)
so a page shows the queue depth without asking. A new stream starts with one
``event: counts``. Nothing is replayed: a page renders the current list, then follows.

``GET /v1/stats``: ``{counts, hours: [{start, <state>: n ...}] }`` -- the tasks created in
each of the last 24 hours by their state now (for the panel's tasks-per-state plot).

``GET /v1/scheduler``: queue depth, running tasks against the cap, budget use
(:meth:`.queue.QueueView.snapshot`); each ``event: task`` carries it too, as ``scheduler``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse

from codetap.http.app import Context, context
from codetap.http.web.queue import queue_view

if TYPE_CHECKING:
    from codetap.runtime import Question, TaskRecord
    from codetap.types import JSON

router = APIRouter(tags=["panel"])
Ctx = Annotated[Context, Depends(context)]
QUEUE = 1000


def row(task: Any, waiting: str | None = None) -> dict[str, Any]:
    """A task as a list row: ``{id, intent, state, waiting, role, model, repo, remote, branch,
    created_at, updated_at, steps, tokens, cost_usd, parent_id, subtask,
    pull_request_url}`` (``repo``: the URL of a remote task, else the repository's path;
    ``remote``: it works on a repository URL (push / pull request apply);
    ``waiting``: why it waits, ``RuntimeAPI.waiting_reason``; it and ``role``,
    ``parent_id``, ``subtask``, ``pull_request_url`` None unless set)."""
    return {"id": task.id, "intent": task.intent, "state": str(task.state), "waiting": waiting,
            "role": task.role, "parent_id": task.parent_id, "subtask": task.subtask,
            "pull_request_url": task.pull_request_url, "model": task.model,
            "repo": task.repo_url or str(task.root), "remote": bool(task.repo_url),
            "branch": task.branch, "created_at": task.created_at,
            "updated_at": task.updated_at, "steps": task.steps,
            "tokens": task.usage.input_tokens + task.usage.output_tokens,
            "cost_usd": round(task.usage.cost_usd, 6)}


class TaskFeed:
    """A runtime listener fanning task updates out to the open ``/v1/events`` streams
    (one bounded queue each; a stream that falls 1,000 updates behind loses the oldest).
    It keeps every task's state, read from the store when a stream opens and then
    followed, so the counts an update carries cost no query."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.queues: set[asyncio.Queue[TaskRecord]] = set()
        self.states: dict[int, str] = {}
        self._fresh: dict[int, str] = {}
        ctx.runtime.subscribe(self)

    async def reload(self) -> None:
        """Read every task's state again (tasks pruned by gc drop out)."""
        self._fresh = {}
        read = {t.id: str(t.state) for t in await self.ctx.store.list_tasks()}
        self.states = read | self._fresh  # updates that came while reading win

    def counts(self) -> dict[str, int]:
        """How many tasks are in each state (states with none left out)."""
        return dict(Counter(self.states.values()))

    def task_updated(self, task: TaskRecord) -> None:
        self.states[task.id] = self._fresh[task.id] = str(task.state)
        for q in self.queues:
            if q.full():
                q.get_nowait()
            q.put_nowait(task)

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        pass

    def question(self, q: Question) -> None:
        pass


def feed(request: Request) -> TaskFeed:
    """The application's :class:`TaskFeed`, made at first use."""
    found: TaskFeed | None = getattr(request.app.state, "task_feed", None)
    if found is None:
        found = request.app.state.task_feed = TaskFeed(request.app.state.ctx)
    return found


async def counts(ctx: Context) -> dict[str, int]:
    """How many tasks are in each state (states with none left out)."""
    return dict(Counter(str(t.state) for t in await ctx.store.list_tasks()))


async def _stream(ctx: Context, tasks: TaskFeed, request: Request
                  ) -> AsyncIterator[dict[str, str]]:
    q: asyncio.Queue[TaskRecord] = asyncio.Queue(QUEUE)
    tasks.queues.add(q)
    queue = queue_view(ctx, request.app.state)
    try:
        await tasks.reload()
        yield {"event": "counts", "data": json.dumps(tasks.counts())}
        while True:
            task = await q.get()
            now = tasks.counts()
            body = {"task": row(task, ctx.runtime.waiting_reason(task)), "counts": now,
                    "scheduler": await queue.snapshot(now)}
            yield {"event": "task", "id": str(task.id), "data": json.dumps(body)}
    finally:
        tasks.queues.discard(q)


@router.get("/v1/events", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def events(ctx: Ctx, request: Request) -> EventSourceResponse:
    """Every task's updates as Server-Sent Events (see the module doc)."""
    return EventSourceResponse(_stream(ctx, feed(request), request), ping=15)


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


@router.get("/v1/stats")
async def stats(ctx: Ctx) -> dict[str, Any]:
    """Tasks per state now and per hour of creation over the last day (module doc)."""
    now = time.time()
    first = (now // 3600 - 23) * 3600
    hours: list[dict[str, Any]] = [{"start": first + 3600 * i} for i in range(24)]
    total: Counter[str] = Counter()
    for task in await ctx.store.list_tasks():
        state = str(task.state)
        total[state] += 1
        slot = int((_epoch(task.created_at) - first) // 3600)
        if 0 <= slot < 24:
            hours[slot][state] = hours[slot].get(state, 0) + 1
    return {"counts": dict(total), "hours": hours}


@router.get("/v1/scheduler")
async def scheduler(ctx: Ctx, request: Request) -> dict[str, Any]:
    """Queue depth, running tasks and their cap, budget use (module doc)."""
    return await queue_view(ctx, request.app.state).snapshot(await counts(ctx))
