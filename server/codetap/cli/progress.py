"""The in-process progress printer (used by ``codetap demo``, which runs its own Runtime)."""

from __future__ import annotations

import json

from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner

from codetap.cli.common import console
from codetap.cli.follow import entry_line
from codetap.runtime import TaskRecord
from codetap.types import JSON


class _Progress:
    """Runtime listener that draws a live status line and prints each step's tool calls."""

    def __init__(self, live: Live | None, quiet: bool) -> None:
        self.live, self.quiet, self.task_id = live, quiet, 0

    def task_updated(self, task: TaskRecord) -> None:
        if self.live and task.id == self.task_id:
            self.live.update(Spinner("dots", f"task {task.id} {task.state.value}: step "
                                     f"{task.steps}, {task.usage.input_tokens + task.usage.output_tokens} "
                                     f"tokens, ${task.usage.cost_usd:.4f}"))

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        if self.quiet or task_id != self.task_id:
            return
        if kind == "tool_intent":
            args = json.dumps(data["arguments"], ensure_ascii=False)
            console.print(f"  [cyan]{escape(data['name'])}[/] {escape(args[:110])}", markup=True, soft_wrap=False)
        elif kind == "model_turn" and data["message"].get("content"):
            console.print(f"[dim]{escape(data['message']['content'][:200])}[/]", markup=True)
        elif kind == "tool_result" and data.get("is_error"):
            console.print(f"    [yellow]{escape(data['output'][:160])}[/]", markup=True)
        else:
            line = entry_line(kind, data)
            if line is not None:
                console.print(f"[magenta]{escape(line)}[/]", markup=True, soft_wrap=False)

    def question(self, q: object) -> None:
        pass
