"""``codetap gc``: a daemon client like the other task commands (:mod:`codetap.cli.lifecycle`);
the daemon's runtime, the one owner of tasks, does the pruning (``codetap/gc``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from codetap.cli.output import EXIT_OK, out, with_client

if TYPE_CHECKING:
    from codetap.sdk.client import Client


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

    async def go(client: Client) -> int:
        done = await client.gc(days, include_unreviewed=include_unreviewed, dry_run=dry_run)
        if done.unreviewed and not include_unreviewed:
            out(f"{'would keep' if dry_run else 'kept'} {len(done.unreviewed)} ready task(s) "
                "nobody reviewed (no suggestion decided, never applied or discarded):")
            for tid in done.unreviewed:
                intent = (await client.get(tid)).intent
                out(f"  {tid}  {intent.splitlines()[0][:70] if intent else ''}")
            out(f"review them (codetap diff ID), or prune them too with "
                f"`codetap gc --days {days:g} --yes`")
        verb = "would prune" if dry_run else "pruned"
        out(f"{verb} {len(done.pruned)} task(s): {', '.join(done.pruned) or '-'}")
        return EXIT_OK

    with_client(go)
