"""``codetap gc``. The other task control commands (cancel, pause, resume, rollback,
answer, discard) are daemon clients in :mod:`codetap.cli.lifecycle`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from codetap.cli.common import (
    console,
    load_config,
    run_async,
)
from codetap.runtime import Runtime, TaskRecord
from codetap.tasks import git


@click.command()
@click.option("--days", type=float, default=14.0, show_default=True,
              help="Prune tasks that ended more than this many days ago.")
@click.option("--dry-run", is_flag=True, help="Only list what would be pruned.")
@click.option("--yes", "--include-unreviewed", "include_unreviewed", is_flag=True,
              help="Also prune ready tasks nobody reviewed (no suggestion decided, never "
                   "applied or discarded); without it they are listed and kept.")
def gc(days: float, dry_run: bool, include_unreviewed: bool) -> None:
    """Remove worktrees, branches and journals of tasks that ended long ago.

    A ``ready`` task nobody reviewed is kept (and listed) unless ``--yes`` is given: its
    result would otherwise be lost unseen."""
    from codetap.types import TaskState

    async def go() -> tuple[list[TaskRecord], list[TaskRecord]]:
        runtime = await Runtime.open(load_config(), recover=False)
        cutoff = datetime.now(UTC) - timedelta(days=days)
        pruned: list[TaskRecord] = []
        unreviewed: list[TaskRecord] = []
        try:
            for task in await runtime.list_tasks():
                if task.state.is_active or task.state.value in ("paused", "interrupted"):
                    continue
                ended = datetime.fromisoformat(task.ended_at or task.updated_at)
                if ended > cutoff:
                    continue
                if task.state is TaskState.READY and not await runtime.store.suggestions(task.id):
                    unreviewed.append(task)
                    if not include_unreviewed:
                        continue
                pruned.append(task)
                if not dry_run:
                    if task.worktree:
                        await git.remove_worktree(task.root, task.worktree, task.branch)
                    await runtime.store.delete_task(task.id)
            return pruned, unreviewed
        finally:
            await runtime.close()
    pruned, unreviewed = run_async(go)
    if unreviewed and not include_unreviewed:
        console.print(f"{'would keep' if dry_run else 'kept'} {len(unreviewed)} ready task(s) "
                      "nobody reviewed (no suggestion decided, never applied or discarded):",
                      soft_wrap=True)
        for task in sorted(unreviewed, key=lambda t: t.id):
            console.print(f"  {task.id}  {task.intent.splitlines()[0][:70] if task.intent else ''}",
                          soft_wrap=True)
        console.print("review them (codetap diff ID), or prune them too with "
                      f"`codetap gc --days {days:g} --yes`", soft_wrap=True)
    verb = "would prune" if dry_run else "pruned"
    ids = ", ".join(str(t.id) for t in sorted(pruned, key=lambda t: t.id)) or "-"
    console.print(f"{verb} {len(pruned)} task(s): {ids}")
