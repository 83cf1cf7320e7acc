"""``codetap report ID [--json]``: the task's report (:mod:`codetap.tasks.report`).

Like ``show``, it reads the database and the repository and changes nothing, so it works
without a daemon.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from codetap.cli.output import out

if TYPE_CHECKING:
    from codetap.store import Store
    from codetap.tasks.report import Report


@click.command()
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of Markdown.")
def report(task_id: str, as_json: bool) -> None:
    """Report on a task: intent, outcome, summary, files changed (+/- lines), verification,
    steps, tokens, cost and time per role, notable tool failures (Markdown by default)."""
    from codetap.cli.common import parse_task_id, run_async, with_store
    from codetap.tasks.report import build

    tid = parse_task_id(task_id)

    async def go(store: Store) -> Report:
        return await build(store, tid)

    result = run_async(lambda: with_store(go))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        out(result.to_markdown().rstrip("\n"))
