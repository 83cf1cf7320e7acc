"""Helpers shared by CLI commands: config, runtime/store lifetimes, output, exit codes."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from codetap.cli.output import error
from codetap.config import Config
from codetap.errors import CodetapError
from codetap.store import Store, TaskRow
from codetap.types import JSON, TaskState

T = TypeVar("T")

EXIT_READY, EXIT_FAILED, EXIT_ERROR, EXIT_CANCELLED, EXIT_UNFINISHED = 0, 1, 2, 3, 4


def exit_code(state: TaskState) -> int:
    """Exit code for a task's state: 0 ready/applied, 1 failed, 3 cancelled/discarded,
    4 not finished (paused, interrupted, waiting). 2 is kept for usage and config errors."""
    if state in (TaskState.READY, TaskState.APPLIED):
        return EXIT_READY
    if state is TaskState.FAILED:
        return EXIT_FAILED
    if state in (TaskState.CANCELLED, TaskState.DISCARDED):
        return EXIT_CANCELLED
    return EXIT_UNFINISHED


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine function; CodetapError becomes a one-line message and exit 2."""
    try:
        return asyncio.run(fn())  # type: ignore[arg-type]
    except CodetapError as exc:
        error(str(exc))
        sys.exit(EXIT_ERROR)


def load_config(repo: Path | None = None) -> Config:
    """Config for ``repo`` (project file included); exits 2 with the message if invalid."""
    try:
        return Config.load(repo)
    except CodetapError as exc:
        error(str(exc))
        sys.exit(EXIT_ERROR)


async def with_store(fn: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``fn`` on a read-only connection to the database (the reading commands: tasks,
    show, diff, log, report), closed afterwards. The daemon's worker is the one writer; only
    when no database exists yet is it created here (empty, nobody owns anything yet)."""
    config = load_config()
    path, url = config.db_path, config.store_url
    store = await (Store.open_readonly(path, url=url) if url or path.exists()
                   else Store.open(path))
    try:
        return await fn(store)
    finally:
        await store.close()


def task_json(task: TaskRow, waiting: str | None = None) -> JSON:
    """The TaskInfo wire shape (ARCHITECTURE.md "Editor protocol") plus local extras;
    ``waiting``: why it waits now (:mod:`codetap.waits`)."""
    data: JSON = {
        "id": str(task.id), "intent": task.intent, "state": task.state.value,
        "root_uri": task.root.as_uri(), "branch": task.branch, "base_commit": task.base_commit,
        "steps": task.steps, "usage": task.usage.to_json(), "created_at": task.created_at,
        "updated_at": task.updated_at, "model": task.model, "workflow": task.workflow,
        "duration_s": duration_s(task), "priority": task.priority,
    }
    if task.parent_id is not None:
        data["parent_id"] = str(task.parent_id)
    for key in ("role", "subtask"):
        if getattr(task, key):
            data[key] = getattr(task, key)
    if waiting:
        data["waiting"] = waiting
    if task.scope:
        data["scope"] = task.scope
    for key in ("summary", "error", "tip_commit"):
        if getattr(task, key):
            data[key] = getattr(task, key)
    if task.worktree:
        data["worktree"] = str(task.worktree)
    return data


def duration_s(task: TaskRow) -> float:
    """Seconds from creation to end (or to the last update for unfinished tasks)."""
    end = task.ended_at or task.updated_at
    return round((_parse(end) - _parse(task.created_at)).total_seconds(), 3)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def parse_task_id(value: str) -> int:
    """Task ids are small integers; ``#7`` and ``7`` both work."""
    try:
        return int(value.lstrip("#"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a task id (a number, e.g. 7)") from None
