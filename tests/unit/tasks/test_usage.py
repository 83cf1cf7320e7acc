"""Usage per role from journal entries: rows per (role, model), a parent's and its
children's entries together, and tables merged."""

from __future__ import annotations

from codetap.store import Event
from codetap.tasks.usage import merge, usage_by_role


def turn(task_id: int, step: int, ts: float, role: str | None, model: str | None,
         tokens: tuple[int, int], cost: float) -> Event:
    data: dict[str, object] = {"usage": {"input_tokens": tokens[0], "output_tokens": tokens[1],
                                         "cost_usd": cost}}
    if role:
        data["role"] = role
    if model:
        data["model"] = model
    return Event(task_id, step * 10, step, ts, "model_turn", data)


def other(task_id: int, step: int, ts: float) -> Event:
    return Event(task_id, step * 10 + 1, step, ts, "tool_result", {"output": "ok"})


def test_rows_per_role_and_model_with_time() -> None:
    events = [Event(1, 0, 0, 100.0, "user", {"content": "x"}),
              turn(1, 1, 101.0, "planner", "strong", (10, 5), 0.5), other(1, 1, 102.0),
              turn(1, 2, 103.0, "coder", "local", (20, 1), 0.0), other(1, 2, 106.0),
              turn(1, 3, 107.0, "coder", "local", (30, 2), 0.0),
              turn(1, 4, 108.0, None, None, (1, 1), 0.25)]
    rows = usage_by_role(events, default_role="reviewer", default_model="fallback")
    assert rows == [
        {"role": "planner", "model": "strong", "steps": 1, "input_tokens": 10,
         "output_tokens": 5, "cost_usd": 0.5, "time_s": 2.0},
        {"role": "coder", "model": "local", "steps": 2, "input_tokens": 50,
         "output_tokens": 3, "cost_usd": 0.0, "time_s": 5.0},
        {"role": "reviewer", "model": "fallback", "steps": 1, "input_tokens": 1,
         "output_tokens": 1, "cost_usd": 0.25, "time_s": 1.0}]
    assert usage_by_role([]) == []


def test_parent_and_children_entries_together_and_merged() -> None:
    parent = [turn(1, 1, 10.0, "planner", "strong", (10, 1), 0.1),
              turn(1, 2, 30.0, "coder", "local", (5, 5), 0.0)]
    child = [turn(2, 1, 11.0, "coder", "local", (7, 3), 0.0), other(2, 1, 14.0),
             turn(2, 2, 15.0, "tester", "local", (1, 1), 0.0)]
    together = usage_by_role(parent + child)
    by_pair = {(r["role"], r["model"]): r for r in together}
    # Steps are per task: the child's step 1 does not merge with the parent's step 1.
    assert by_pair[("coder", "local")]["steps"] == 2
    assert by_pair[("coder", "local")]["input_tokens"] == 12
    assert by_pair[("coder", "local")]["time_s"] == 20.0 + 3.0
    assert by_pair[("tester", "local")]["time_s"] == 1.0
    merged = merge([usage_by_role(parent), usage_by_role(child)])
    assert merged == together
