"""``codetap webhooks list [--dead] [--json]`` and ``codetap webhooks redeliver ID``: the
webhook outbox, through the daemon (its runtime owns the outbox; :mod:`codetap.webhooks`)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import click

from codetap.cli.output import EXIT_OK, out, with_client

if TYPE_CHECKING:
    from codetap.sdk.client import Client


@click.group()
def webhooks() -> None:
    """Webhook deliveries: list them, send one again."""


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


@webhooks.command("list")
@click.option("--dead", is_flag=True, help="Only dead-lettered messages (all retries failed).")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def list_(dead: bool, limit: int, as_json: bool) -> None:
    """Messages newest first: id, webhook-id, task, type, state, attempts, last error."""

    async def go(client: Client) -> int:
        rows = await client.webhooks(dead=dead, limit=limit)
        for r in rows:
            if as_json:
                click.echo(json.dumps(r.model_dump(mode="json")))
                continue
            tail = r.last_error or ""
            when = _when(r.delivered_at if r.state == "delivered" else r.next_at)
            out(f"{r.id:>5}  {r.webhook_id}  task {r.task_id:<4} {r.type:<15} {r.state:<9} "
                f"x{r.attempts} {when}  {tail}".rstrip())
        if not rows and not as_json:
            out("no dead-lettered webhook messages" if dead else "no webhook messages")
        return EXIT_OK

    with_client(go)


@webhooks.command()
@click.argument("message_id")
def redeliver(message_id: str) -> None:
    """Send message MESSAGE_ID (its row id or webhook-id) again, same webhook-id."""

    async def go(client: Client) -> int:
        r = await client.redeliver_webhook(message_id)
        out(f"message {r.id} ({r.webhook_id}, {r.type} of task {r.task_id}) queued for "
            f"delivery to {r.url}")
        return EXIT_OK

    with_client(go)
