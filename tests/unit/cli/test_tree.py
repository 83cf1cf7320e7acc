"""The task tree in `codetap tasks` and `codetap show`, why a queued task waits, and the report
summing sub-tasks' usage per role: tasks with ``parent_id`` written through the store (a unit
test; the real fan-out is covered in the e2e team tests), read by real `codetap` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from codetap.config import Config
from codetap.store import Store, TaskRow
from codetap.tasks.report import build
from codetap.types import TaskState


def codetap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codetap", *args], capture_output=True,
                          text=True, env=dict(os.environ), timeout=60, check=False)


async def family(store: Store, root: Path) -> list[TaskRow]:
    """A team task (1) with two coder sub-tasks (2, 3) and a tester (5) under 2, an unrelated
    task (4), and two queued tasks (6 low priority, 7 high)."""
    def new(intent: str, **kw: object) -> dict[str, object]:
        return {"intent": intent, "root": root, "scope": None, "model": "m",
                "workflow": "team", **kw}
    rows = [await store.create_task(**new("build the team thing"))]  # type: ignore[arg-type]
    rows.append(await store.create_task(**new(  # type: ignore[arg-type]
        "part a", parent_id=1, role="coder", subtask="a")))
    rows.append(await store.create_task(**new(  # type: ignore[arg-type]
        "part b", parent_id=1, role="coder", subtask="b")))
    rows.append(await store.create_task(**new("unrelated")))  # type: ignore[arg-type]
    rows.append(await store.create_task(**new(  # type: ignore[arg-type]
        "test part a", parent_id=2, role="tester", subtask="a.t")))
    rows.append(await store.create_task(**new("later", priority=0)))  # type: ignore[arg-type]
    rows.append(await store.create_task(**new("urgent", priority=9)))  # type: ignore[arg-type]
    for row in rows[:5]:
        await store.update_task(row.id, state=TaskState.RUNNING)
    turns = {1: ("planner", "strong", 0.5), 2: ("coder", "cheap", 0.25),
             3: ("coder", "cheap", 0.125), 5: ("tester", "cheap", 0.0625)}
    for task_id, (role, model, cost) in turns.items():
        await store.append(task_id, 1, [("model_turn", {
            "role": role, "model": model, "message": {"role": "assistant", "content": "",
                                                      "tool_calls": [{"id": "c", "name": "glob",
                                                                      "arguments": {}}]},
            "usage": {"input_tokens": 10, "output_tokens": 2, "cost_usd": cost}})])
    return rows


async def test_tasks_and_show_print_the_tree(xdg: Path, tmp_path: Path) -> None:
    store = await Store.open(Config.load().db_path)
    try:
        await family(store, tmp_path)
        built = await build(store, 1)
        report, markdown = built.to_json(), built.to_markdown()
    finally:
        await store.close()

    listed = codetap("tasks")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    ids = [line.split()[0] if line.split()[0] != "└" else line.split()[1]
           for line in lines[1:]]
    # Newest top-level first; sub-tasks under their parent, oldest first, nested.
    assert ids == ["7", "6", "4", "1", "2", "5", "3"], listed.stdout
    by_id = dict(zip(ids, lines[1:], strict=True))
    assert by_id["2"].startswith("└ 2 ") and "[coder] part a" in by_id["2"]
    assert by_id["5"].startswith("  └ 5 ") and "[tester] test part a" in by_id["5"]
    assert by_id["1"].startswith("1 ") and "[" not in by_id["1"]
    # The queue as the scheduler admits it: the urgent task first.
    assert by_id["7"].endswith("(queued: next)") and by_id["6"].endswith("(queued: 1 ahead)")

    as_json = json.loads(codetap("tasks", "--json").stdout)["tasks"]
    child = next(t for t in as_json if t["id"] == "2")
    assert (child["parent_id"], child["role"], child["subtask"]) == ("1", "coder", "a")
    assert next(t for t in as_json if t["id"] == "6")["waiting"] == "queued: 1 ahead"
    assert "waiting" not in next(t for t in as_json if t["id"] == "1")

    shown = codetap("show", "1")
    assert shown.returncode == 0, shown.stderr
    assert "    children 2" in shown.stdout
    kids = [ln for ln in shown.stdout.splitlines() if "└" in ln]
    assert [k.split("└")[1].split()[0] for k in kids] == ["2", "5", "3"]
    shown_json = json.loads(codetap("show", "1", "--json").stdout)
    assert [(c["id"], c["role"]) for c in shown_json["children"]] == [("2", "coder"),
                                                                      ("3", "coder")]
    assert json.loads(codetap("show", "5", "--json").stdout)["parent_id"] == "2"

    # The report's role table sums the whole tree's steps per role and model.
    assert [(r["role"], r["model"], r["steps"], r["cost_usd"]) for r in report["roles"]] == [
        ("planner", "strong", 1, 0.5), ("coder", "cheap", 2, 0.375),
        ("tester", "cheap", 1, 0.0625)]
    assert [c["id"] for c in report["children"]] == ["2", "3"]
    assert "| coder | cheap | 2 | 20 | 4 | $0.3750 |" in markdown
    assert "The roles above include 2 sub-task(s):" in markdown
    assert "| 2 | coder | a | running | 0 | $0.0000 |" in markdown

    steps = codetap("log", "1", "--steps")
    assert steps.returncode == 0, steps.stderr
    rows = [ln.split() for ln in steps.stdout.splitlines()[1:]]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("1", "planner", "strong"), ("2", "coder", "cheap"), ("5", "tester", "cheap"),
        ("3", "coder", "cheap")]
    assert rows[0][-1] == "glob" and rows[0][-2] == "$0.5000"
