"""The task tree as ``codetap tasks`` and ``codetap show`` print it (issue 19, item 3): a
team workflow's sub-tasks indented under their parent, each with its role, and why a task
waits (queue or budget) when it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from codetap.store import TaskRow

HEADER = f"{'id':<8}  {'state':<11} {'steps':>5} {'tokens':>8} {'cost':>9}  intent"


def tree_order(rows: Sequence[TaskRow]) -> list[tuple[int, TaskRow]]:
    """``rows`` (newest first) as (depth, row) in display order: top-level tasks newest
    first, each followed by its sub-tasks oldest first (the plan's order), recursively. A
    sub-task whose parent is not among ``rows`` is shown at the top level."""
    ids = {r.id for r in rows}
    kids: dict[int, list[TaskRow]] = {}
    for r in rows:
        if r.parent_id is not None and r.parent_id in ids:
            kids.setdefault(r.parent_id, []).append(r)
    out: list[tuple[int, TaskRow]] = []

    def walk(row: TaskRow, depth: int) -> None:
        out.append((depth, row))
        for kid in sorted(kids.get(row.id, []), key=lambda t: t.id):
            walk(kid, depth + 1)

    for r in rows:
        if r.parent_id is None or r.parent_id not in ids:
            walk(r, 0)
    return out


def task_line(row: TaskRow, depth: int = 0, waiting: str | None = None) -> str:
    """One line of the task table: the id indented by ``depth`` (``└`` marks a sub-task),
    a sub-task's ``[role]`` before its intent, and ``(waiting reason)`` after it."""
    ident = ("  " * (depth - 1) + "└ " if depth else "") + str(row.id)
    tokens = row.usage.input_tokens + row.usage.output_tokens
    first = row.intent.splitlines()[0] if row.intent else ""
    label = f"[{row.role}] " if row.role and (depth or row.parent_id is not None) else ""
    line = (f"{ident:<8}  {row.state.value:<11} {row.steps:>5} {tokens:>8} "
            f"${row.usage.cost_usd:>8.4f}  {label}{first[:60]}")
    return f"{line}  ({waiting.splitlines()[0]})" if waiting else line


def render(rows: Sequence[TaskRow], waiting: Mapping[int, str]) -> list[str]:
    """The ``codetap tasks`` table: :data:`HEADER`, then one :func:`task_line` per task in
    :func:`tree_order`."""
    return [HEADER] + [task_line(r, d, waiting.get(r.id)) for d, r in tree_order(rows)]
