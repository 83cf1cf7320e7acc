"""``codetap follow ID`` (also ``log -f``) and ``codetap continue ID TEXT``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, NoReturn

import click

from codetap.cli.output import EXIT_USAGE, error, out, state_exit, with_client

if TYPE_CHECKING:
    from codetap.sdk.client import Client


def _id(task_id: str) -> str:
    from codetap.sdk.client import task_id as parse
    try:
        return parse(task_id)
    except ValueError as exc:
        error(str(exc))
        raise SystemExit(EXIT_USAGE) from None


def follow_task(task_id: str, *, as_log: bool = False, stop_on_interrupt: bool = False
                ) -> NoReturn:
    """Follow the task from its first journal entry until it stops; exits with its code.
    ``as_log``: print the entries as JSON lines (``codetap log`` format) instead."""
    tid = _id(task_id)

    async def go(client: Client) -> int:
        await client.get(tid)
        if not as_log:
            from codetap.cli.follow import follow
            return await follow(client, tid, stop_on_interrupt=stop_on_interrupt)
        from codetap.cli.follow import STOP
        async for ev in client.events(tid, until=STOP):
            out(json.dumps({"seq": ev.seq, "step": ev.step, "ts": ev.ts, "kind": ev.kind,
                            "data": ev.data}, ensure_ascii=False))
        return state_exit((await client.get(tid)).state)

    with_client(go)


@click.command()
@click.argument("task_id")
@click.option("--stop-on-interrupt", is_flag=True, help="Ctrl-C pauses the task.")
def follow(task_id: str, stop_on_interrupt: bool) -> None:
    """Follow a task live (its journal so far, then new entries) until it stops.

    Ctrl-C stops following; the task keeps running in the daemon."""
    follow_task(task_id, stop_on_interrupt=stop_on_interrupt)


@click.command("continue")
@click.argument("task_id")
@click.argument("text")
@click.option("--detach", is_flag=True, help="Send the message and return at once.")
@click.option("--stop-on-interrupt", is_flag=True, help="Ctrl-C pauses the task.")
def continue_(task_id: str, text: str, detach: bool, stop_on_interrupt: bool) -> None:
    """Send a follow-up message to a finished task (its conversation and branch go on),
    then follow it like `codetap run`. TEXT `-` reads the message from stdin."""
    from codetap.cli.tasks import read_intent
    tid, message = _id(task_id), read_intent(text)

    async def go(client: Client) -> int:
        last = await _last_seq(client, tid)
        info = await client.message(tid, message)
        if detach:
            out(f"task {info.id}: {info.state}")
            return 0
        from codetap.cli.follow import follow
        return await follow(client, tid, after=last, stop_on_interrupt=stop_on_interrupt)

    with_client(go)


async def _last_seq(client: Client, tid: str) -> int:
    """The seq of the task's last journal entry (0: none): the continued run's entries
    come after it."""
    after, more = 0, True
    while more:
        page = await client.call("codetap/task/events", {"id": tid, "after": after})
        if page["events"]:
            after = page["events"][-1]["seq"]
        more = bool(page.get("more"))
    return after
