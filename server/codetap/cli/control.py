"""Task control commands: cancel, pause, resume, rollback, gc.

They act through a :class:`~codetap.runtime.Runtime` in this process. A task that is
running in the daemon is controlled through the daemon (``codetap/task/*`` requests), which
these commands use when one is running.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import click

from codetap.cli.common import (
    console,
    echo_json,
    exit_code,
    load_config,
    parse_task_id,
    run_async,
    task_json,
)
from codetap.runtime import Runtime, TaskRecord
from codetap.tasks import git


def _control(op: str, fn: Callable[[Runtime, int], Awaitable[TaskRecord]], task_id: str,
             as_json: bool, wait: bool = False) -> None:
    from codetap.cli.remote import daemon_request
    tid = parse_task_id(task_id)
    remote = daemon_request(f"codetap/task/{op}", {"id": str(tid)})
    if remote is not None:
        echo_json(remote) if as_json else console.print(f"task {tid}: {remote['state']}")
        return

    async def go() -> TaskRecord:
        runtime = await Runtime.open(load_config(), recover=False)
        try:
            task = await fn(runtime, tid)
            return await runtime.wait(task.id) if wait else task
        finally:
            await runtime.close()

    task = run_async(go)
    if as_json:
        echo_json(task_json(task))
    else:
        console.print(f"task {task.id}: {task.state.value}" + (f" ({task.error})" if task.error else ""))
    if wait:
        sys.exit(exit_code(task.state))


_json = click.option("--json", "as_json", is_flag=True, help="Print the task as JSON.")


@click.command()
@click.argument("task_id")
@_json
def cancel(task_id: str, as_json: bool) -> None:
    """Cancel a task (its tool processes are killed)."""
    _control("cancel", Runtime.cancel, task_id, as_json)


@click.command()
@click.argument("task_id")
@_json
def pause(task_id: str, as_json: bool) -> None:
    """Pause a task; `codetap resume` continues it from its last checkpoint."""
    _control("pause", Runtime.pause, task_id, as_json)


@click.command()
@click.argument("task_id")
@_json
def resume(task_id: str, as_json: bool) -> None:
    """Resume a paused, interrupted or failed task (runs here and waits, without a daemon)."""
    _control("resume", Runtime.resume, task_id, as_json, wait=True)


@click.command()
@click.argument("task_id")
@click.option("--to", "step", type=int, required=True, help="Step to return to (0 = start).")
@_json
def rollback(task_id: str, step: int, as_json: bool) -> None:
    """Roll a task back to the end of STEP; the journal keeps the history."""
    from codetap.cli.remote import daemon_request
    remote = daemon_request("codetap/task/rollback", {"id": task_id.lstrip("#"), "step": step})
    if remote is not None:
        echo_json(remote) if as_json else console.print(f"task {task_id}: {remote['state']}")
        return
    _control("rollback", lambda rt, tid: rt.rollback(tid, step), task_id, as_json)


@click.command()
@click.option("--days", type=float, default=14.0, show_default=True,
              help="Prune tasks that ended more than this many days ago.")
@click.option("--dry-run", is_flag=True, help="Only list what would be pruned.")
def gc(days: float, dry_run: bool) -> None:
    """Remove worktrees, branches and journals of tasks that ended long ago."""
    async def go() -> list[TaskRecord]:
        runtime = await Runtime.open(load_config(), recover=False)
        cutoff = datetime.now(UTC) - timedelta(days=days)
        pruned = []
        try:
            for task in await runtime.list_tasks():
                if task.state.is_active or task.state.value in ("paused", "interrupted"):
                    continue
                ended = datetime.fromisoformat(task.ended_at or task.updated_at)
                if ended > cutoff:
                    continue
                pruned.append(task)
                if not dry_run:
                    if task.worktree:
                        await git.remove_worktree(task.root, task.worktree, task.branch)
                    await runtime.store.delete_task(task.id)
            return pruned
        finally:
            await runtime.close()
    pruned = run_async(go)
    verb = "would prune" if dry_run else "pruned"
    console.print(f"{verb} {len(pruned)} task(s): {', '.join(str(t.id) for t in pruned) or '-'}")
