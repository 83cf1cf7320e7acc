"""Usage per role from a task's journal (issue 19, item 5): which role on which model did how
many steps, with what tokens, cost and time.

One row per (role, model) pair, in the order the pair first ran::

    {role: str, model: str, steps: int, input_tokens: int, output_tokens: int,
     cost_usd: float (USD, rounded to 6 places), time_s: float (seconds, 3 places)}

Rows come from ``model_turn`` entries (``role``, ``model`` and ``usage`` as the agent loop
writes them). A turn without a role or model (journals older than the teams work) counts
for ``default_role``/``default_model``. A step's time runs from the previous step's last
entry to its own last entry. :func:`merge` sums the tables of a parent and its children
(sub-tasks of a fan-out) row by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from codetap.store import Event
from codetap.types import JSON

_FIELDS = ("steps", "input_tokens", "output_tokens")


def usage_by_role(events: Sequence[Event], *, default_role: str = "coder",
                  default_model: str = "") -> list[JSON]:
    """The usage table of journal ``events`` (each task's in journal order; the entries of a
    parent and its children may be passed together: steps are told apart by task id); see
    the module doc for the row shape. Empty if no model turn was recorded."""
    rows: dict[tuple[str, str], JSON] = {}
    step_key: dict[tuple[int, int], tuple[str, str]] = {}
    last_ts: dict[tuple[int, int], float] = {}
    first_ts: dict[int, float] = {}
    for ev in events:
        first_ts.setdefault(ev.task_id, ev.ts)
        last_ts[(ev.task_id, ev.step)] = ev.ts
        if ev.kind != "model_turn":
            continue
        key = (str(ev.data.get("role") or default_role),
               str(ev.data.get("model") or default_model))
        step_key[(ev.task_id, ev.step)] = key
        row = rows.setdefault(key, _row(*key))
        usage: dict[str, Any] = ev.data.get("usage") or {}
        row["steps"] += 1
        row["input_tokens"] += int(usage.get("input_tokens", 0))
        row["output_tokens"] += int(usage.get("output_tokens", 0))
        row["cost_usd"] = round(row["cost_usd"] + float(usage.get("cost_usd", 0.0)), 6)
    previous = dict(first_ts)
    for task_step in sorted(last_ts):
        task_id = task_step[0]
        if task_step in step_key:
            row = rows[step_key[task_step]]
            row["time_s"] = round(
                row["time_s"] + max(0.0, last_ts[task_step] - previous[task_id]), 3)
        previous[task_id] = max(previous[task_id], last_ts[task_step])
    return list(rows.values())


def merge(tables: Iterable[list[JSON]]) -> list[JSON]:
    """Sum several usage tables (a parent's and its children's) by (role, model); rows keep
    the order in which their pair first appears."""
    rows: dict[tuple[str, str], JSON] = {}
    for table in tables:
        for src in table:
            key = (str(src["role"]), str(src["model"]))
            row = rows.setdefault(key, _row(*key))
            for name in _FIELDS:
                row[name] += int(src.get(name, 0))
            row["cost_usd"] = round(row["cost_usd"] + float(src.get("cost_usd", 0.0)), 6)
            row["time_s"] = round(row["time_s"] + float(src.get("time_s", 0.0)), 3)
    return list(rows.values())


def _row(role: str, model: str) -> JSON:
    return {"role": role, "model": model, "steps": 0, "input_tokens": 0, "output_tokens": 0,
            "cost_usd": 0.0, "time_s": 0.0}
