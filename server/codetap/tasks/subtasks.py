"""The runtime's side of a fan-out: creating, starting and waiting for a task's child tasks
(ARCHITECTURE.md "Teams and scheduler"; the engine's side is :mod:`codetap.tasks.fanout`).

A child is a task row like any other (``parent_id``, ``role``, ``subtask`` set), on its
own branch and worktree, admitted by the runtime's scheduler like any task: children count
against ``[scheduler] max_concurrent_tasks``. A parent waiting for its children gives its
own scheduler slot back for the wait and takes one again (queueing like a new run) before
it merges, so a cap of 1 runs the children one after the other instead of deadlocking.
Children are started by their parent, also after a restart (the runtime's start-up resume
skips them), so a child never runs twice at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from codetap.scheduler import Scheduler
from codetap.store import Store, TaskRow
from codetap.types import TaskState

RESUMABLE = frozenset({TaskState.INTERRUPTED, TaskState.PAUSED, TaskState.FAILED})
"""Child states the parent starts again when it (re)enters the fan-out."""


@dataclass(slots=True)
class SubtaskHost:
    """What a running task may do with child tasks (one per parent run).

    ``launch(row)`` schedules a queued row, ``resume(id)`` a stopped one, ``wait(id)``
    waits for a child's current run to end (the row then), ``running(id)`` says whether a
    run of it is in this process, ``branch(id)`` is a new task's branch name and
    ``publish(row)`` tells the runtime's listeners about a new row."""

    store: Store
    scheduler: Scheduler
    priority: int
    launch: Callable[[TaskRow], None]
    resume: Callable[[int], Awaitable[TaskRow]]
    wait: Callable[[int], Awaitable[TaskRow]]
    running: Callable[[int], bool]
    branch: Callable[[int], str]
    publish: Callable[[TaskRow], Awaitable[None]]

    async def children(self, parent_id: int) -> list[TaskRow]:
        """The task's children, oldest first."""
        return [t for t in reversed(await self.store.list_tasks()) if t.parent_id == parent_id]

    async def create(self, parent: TaskRow, key: str, role: str, intent: str,
                     base: str) -> TaskRow:
        """A ``queued`` child of ``parent`` for sub-task ``key``, branched at commit
        ``base`` (row and branch name in one transaction; not started: see :meth:`run`)."""
        with self.store.atomic():
            row = await self.store.create_task(
                intent=intent, root=parent.root, scope=None, model=parent.model,
                workflow=parent.workflow, priority=parent.priority, parent_id=parent.id,
                role=role, subtask=key)
            row = await self.store.update_task(row.id, branch=self.branch(row.id),
                                               base_commit=base, tip_commit=base)
        await self.publish(row)
        return row

    async def run(self, ids: list[int], max_parallel: int) -> list[TaskRow]:
        """Start the children ``ids`` (at most ``max_parallel`` at once; ready and
        cancelled ones are left as they are) and wait until every one has ended its run;
        their rows, in order. The caller's scheduler slot is given back meanwhile."""
        gate = asyncio.Semaphore(max(1, max_parallel))

        async def one(child_id: int) -> TaskRow:
            async with gate:
                row = await self.store.get_task(child_id)
                if self.running(child_id):
                    return await self.wait(child_id)
                if row.state is TaskState.QUEUED:
                    self.launch(row)
                elif row.state in RESUMABLE:
                    await self.resume(child_id)
                else:
                    return row
                return await self.wait(child_id)

        self.scheduler.release()
        try:
            rows = await asyncio.gather(*(one(i) for i in ids))
        except BaseException:
            self._retake()
            raise
        try:
            await self.scheduler.admit(self.priority)
        except asyncio.CancelledError:
            self._retake()
            raise
        return list(rows)

    def _retake(self) -> None:
        """Hold a slot again without waiting (the run is ending: its own ``finally``
        gives the slot back at once, so the cap is exceeded for that moment at most)."""
        self.scheduler.running += 1
