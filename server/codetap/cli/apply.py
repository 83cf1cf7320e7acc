"""``codetap apply ID [--check]``: the task's change, three-way merged onto your files.

The merge is the editors' (``codetap.delivery.merge``): per file, the task's hunks
(base -> tip) are placed on the file as it is on disk now; a hunk that overlaps your own
edits since the task's base is a conflict, reported and never written. ``--check`` only
reports, changing nothing. Exit 0 when everything applies (or would), 1 when conflicts
are left, 2 for a task that is not ready.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import click

from codetap.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, out, with_client

if TYPE_CHECKING:
    from codetap.protocol.models import TaskInfo
    from codetap.sdk.client import Client


async def check(info: TaskInfo) -> tuple[int, int, list[str]]:
    """``(clean, conflicts, lines)``: hunks that would apply and conflict, one line per file."""
    from codetap.delivery.merge import merge_hunks
    from codetap.tasks import git

    root = Path(unquote(urlparse(info.root_uri).path))
    clean = conflicts = 0
    lines = []
    for change in await git.file_changes(root, info.base_commit, info.branch):
        if change.special:
            lines.append(f"{change.path}: {change.special} (not applied as text; see "
                         f"`codetap diff {info.id}`)")
            continue
        path = root / change.path
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        hunks = merge_hunks(change.base_text or "", change.tip_text or "", current)
        bad = sum(1 for h in hunks if h.conflict)
        clean += len(hunks) - bad
        conflicts += bad
        if hunks:
            lines.append(f"{change.path}: {len(hunks) - bad} clean, {bad} conflicting")
    return clean, conflicts, lines


@click.command()
@click.argument("task_id")
@click.option("--check", "dry_run", is_flag=True, help="Only report what would apply.")
def apply(task_id: str, dry_run: bool) -> None:
    """Apply a ready task's change to your working tree (three-way merge; conflicting
    hunks are reported and left alone, nothing you wrote is overwritten)."""
    from codetap.cli.follow_cmd import _id
    tid = _id(task_id)

    async def go(client: Client) -> int:
        info = await client.get(tid)
        if info.state != "ready":
            error(f"task {tid} is {info.state}; only ready tasks can be applied")
            return EXIT_USAGE
        if dry_run:
            clean, conflicts, lines = await check(info)
            for line in lines:
                out(line)
            out(f"task {tid}: {clean} hunk(s) would apply, {conflicts} conflict(s)")
            return EXIT_FAILED if conflicts else EXIT_OK
        result = await client.apply(tid)
        out(f"task {tid}: {result.applied} hunk(s) applied, {result.conflicts} conflict(s)")
        if result.conflicts:
            out(f"conflicting hunks were left alone; see them with `codetap diff {tid}`")
            return EXIT_FAILED
        return EXIT_OK

    with_client(go)
