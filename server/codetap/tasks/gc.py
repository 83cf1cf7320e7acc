"""Garbage collection of long-finished tasks: their worktrees, branches and journals.

Run by the owner of the tasks only (the runtime worker), like every other write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from codetap.store import Store, TaskRow
from codetap.tasks import git
from codetap.types import TaskState

_KEPT_STATES = (TaskState.PAUSED, TaskState.INTERRUPTED)


@dataclass(slots=True)
class GcResult:
    """Task ids pruned (or that would be, in a dry run), and ``ready`` tasks nobody
    reviewed that were old enough (pruned only when asked to include them)."""

    pruned: list[int] = field(default_factory=list)
    unreviewed: list[int] = field(default_factory=list)


async def collect(store: Store, older_than_days: float, *, include_unreviewed: bool = False,
                  dry_run: bool = False) -> GcResult:
    """Prune tasks that ended more than ``older_than_days`` days ago: remove the worktree and
    branch, delete the journal and the row. Active, paused and interrupted tasks are never
    touched. A ``ready`` task with no suggestion decision recorded was never reviewed: it
    is kept unless ``include_unreviewed``. ``dry_run`` only reports."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    result = GcResult()
    for task in await store.list_tasks():
        if task.state.is_active or task.state in _KEPT_STATES or not _ended_before(task, cutoff):
            continue
        if task.state is TaskState.READY and not await store.suggestions(task.id):
            result.unreviewed.append(task.id)
            if not include_unreviewed:
                continue
        result.pruned.append(task.id)
        if not dry_run:
            if task.worktree:
                await git.remove_worktree(task.root, task.worktree, task.branch)
            await store.delete_task(task.id)
    result.pruned.sort()
    result.unreviewed.sort()
    return result


def _ended_before(task: TaskRow, cutoff: datetime) -> bool:
    return datetime.fromisoformat(task.ended_at or task.updated_at) <= cutoff
