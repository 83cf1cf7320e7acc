"""Task control commands, all daemon clients: answer, cancel, pause, resume, rollback,
discard, push. Each prints ``task N: <state>`` (or the TaskInfo as JSON) and exits 0; errors
(unknown task, an operation the task's state forbids) exit 2, an unreachable daemon 5.
``resume`` follows the task like ``run`` (``--detach`` returns at once)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import click

from codetap.cli.output import EXIT_OK, out, with_client

if TYPE_CHECKING:
    from codetap.protocol.models import TaskInfo
    from codetap.sdk.client import Client

_json = click.option("--json", "as_json", is_flag=True, help="Print the task as JSON.")


def _control(task_id: str, as_json: bool, op: Callable[[Client, str], Awaitable[TaskInfo]]
             ) -> None:
    from codetap.cli.follow_cmd import _id
    tid = _id(task_id)

    async def go(client: Client) -> int:
        info = await op(client, tid)
        if as_json:
            out(json.dumps(info.model_dump(mode="json", exclude_none=True), indent=2,
                           ensure_ascii=False))
        else:
            out(f"task {info.id}: {info.state}" + (f" ({info.error})" if info.error else ""))
        return EXIT_OK

    with_client(go)


@click.command()
@click.argument("task_id")
@_json
def cancel(task_id: str, as_json: bool) -> None:
    """Cancel a task (its tool processes are killed)."""
    _control(task_id, as_json, lambda c, t: c.cancel(t))


@click.command()
@click.argument("task_id")
@_json
def pause(task_id: str, as_json: bool) -> None:
    """Pause a task; `codetap resume` continues it from its last checkpoint."""
    _control(task_id, as_json, lambda c, t: c.pause(t))


@click.command()
@click.argument("task_id")
@_json
def discard(task_id: str, as_json: bool) -> None:
    """Discard a ready task's change."""
    _control(task_id, as_json, lambda c, t: c.discard(t))


@click.command()
@click.argument("task_id")
@click.argument("text")
@_json
def answer(task_id: str, text: str, as_json: bool) -> None:
    """Answer the question or approval a waiting task asks (e.g. `codetap answer 7 yes`)."""
    _control(task_id, as_json, lambda c, t: c.answer(t, text))


@click.command()
@click.argument("task_id")
@click.option("--to", "step", type=int, required=True, help="Step to return to (0 = start).")
@_json
def rollback(task_id: str, step: int, as_json: bool) -> None:
    """Roll a task back to the end of STEP (it is left paused); the journal keeps the
    history."""
    _control(task_id, as_json, lambda c, t: c.rollback(t, step))


@click.command()
@click.argument("task_id")
@click.option("--detach", is_flag=True, help="Resume and return at once.")
@_json
def resume(task_id: str, detach: bool, as_json: bool) -> None:
    """Resume a paused, interrupted or failed task in the daemon and follow it."""
    if detach or as_json:
        _control(task_id, as_json, lambda c, t: c.resume(t))
    from codetap.cli.follow_cmd import _id
    tid = _id(task_id)

    async def go(client: Client) -> int:
        from codetap.cli.follow import follow
        from codetap.cli.follow_cmd import _last_seq
        last = await _last_seq(client, tid)
        await client.resume(tid)
        return await follow(client, tid, after=last)

    with_client(go)


@click.command()
@click.argument("task_id")
@click.option("--pr", "pull_request", is_flag=True,
              help="Open the pull request too (once; the host from [git.hosts]).")
@click.option("--title", help="The pull request's title (default: from the request).")
@click.option("--draft", is_flag=True, help="Open the pull request as a draft.")
@_json
def push(task_id: str, pull_request: bool, title: str | None, draft: bool,
         as_json: bool) -> None:
    """Push a ready remote task's branch now (`--pr`: and open its pull request). Prints
    the task and its pull request; a rejected push or host error exits 1."""
    from codetap.cli.follow_cmd import _id
    from codetap.cli.output import EXIT_FAILED
    tid = _id(task_id)
    pr: dict[str, object] | bool = False
    if pull_request or title or draft:
        pr = {"draft": draft, **({"title": title} if title else {})}

    async def go(client: Client) -> int:
        info = await client.push(tid, pr)
        if as_json:
            out(json.dumps(info.model_dump(mode="json", exclude_none=True), indent=2,
                           ensure_ascii=False))
        else:
            out(f"task {info.id}: pushed {info.branch}" if not info.error
                else f"task {info.id}: {info.error}")
            if info.pull_request_url:
                out(f"pull request: {info.pull_request_url}")
        return EXIT_FAILED if info.error else EXIT_OK

    with_client(go)
