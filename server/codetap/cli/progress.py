"""The in-process progress printer (used by ``codetap demo``, which runs its own Runtime)."""

from __future__ import annotations

import json

import click

from codetap.cli.follow import entry_line
from codetap.runtime import TaskRecord
from codetap.types import JSON


class _Progress:
    """Runtime listener that prints one line per tool call, model text, failed tool result
    and other journal entry of task ``task_id`` on stdout (set ``task_id`` once the task is
    started). Text is printed as given; colours only on a terminal (click strips them
    otherwise)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet, self.task_id = quiet, 0

    def task_updated(self, task: TaskRecord) -> None:
        pass

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        if self.quiet or task_id != self.task_id:
            return
        if kind == "tool_intent":
            args = json.dumps(data["arguments"], ensure_ascii=False)
            click.echo(f"  {click.style(data['name'], fg='cyan')} {args[:110]}")
        elif kind == "model_turn" and data["message"].get("content"):
            click.secho(data["message"]["content"][:200], dim=True)
        elif kind == "tool_result" and data.get("is_error"):
            click.secho(f"    {data['output'][:160]}", fg="yellow")
        else:
            line = entry_line(kind, data)
            if line is not None:
                click.secho(line, fg="magenta")

    def question(self, q: object) -> None:
        pass
