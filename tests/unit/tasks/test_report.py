"""The task report on a real task (replay model, real tools, git, SQLite), in Markdown and
JSON, through the module and the ``codetap report`` command."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.store import Store
from codetap.tasks.report import build
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import CALC, RUN_TESTS, TEST, session

TURNS = [
    {"tool_calls": [{"name": "read", "arguments": {"path": "missing.py"}}]},
    {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
    {"tool_calls": [{"name": "edit", "arguments": {
        "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}}]},
    {"tool_calls": [{"name": "write", "arguments": {
        "path": "NOTES.md", "content": "one\ntwo\nthree\n"}}]},
    {"tool_calls": [{"name": "bash", "arguments": {"command": RUN_TESTS}}]},
    {"tool_calls": [{"name": "finish", "arguments": {"summary": "add adds; notes added"}}]},
]


def codetap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codetap", *args], capture_output=True,
                          text=True, env=dict(os.environ), timeout=120, check=False)


async def test_report_of_a_real_task(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TEST})
    model = ModelConfig("replay", "replay", path=str(session(tmp_path / "s.jsonl", TURNS)),
                        input_price_per_mtok=1.0, output_price_per_mtok=2.0)
    config = dataclasses.replace(Config.load(), default_model="replay",
                                 models={"replay": model})
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("make add add\nand keep notes", repo)).id)
    finally:
        await rt.close()
    assert task.state is TaskState.READY, task.error

    store = await Store.open(config.db_path)
    try:
        report = await build(store, task.id)
    finally:
        await store.close()
    data = report.to_json()
    assert data["state"] == "ready" and data["summary"] == "add adds; notes added"
    assert data["intent"] == "make add add\nand keep notes"
    assert data["files"] == [{"path": "NOTES.md", "added": 3, "removed": 0},
                             {"path": "calc.py", "added": 1, "removed": 1}]
    assert data["verification"]["passed"] is True and data["verification"]["rounds"] == 1
    assert data["steps"] == 6
    [role] = data["roles"]
    assert role["role"] == "coder" and role["model"] == "replay" and role["steps"] == 6
    assert role["input_tokens"] == task.usage.input_tokens > 0
    assert role["cost_usd"] == round(task.usage.cost_usd, 6) > 0
    assert 0 < role["time_s"] <= data["duration_s"] + 0.01
    assert data["tool_failures_total"] == 1
    [failure] = data["tool_failures"]
    assert failure["step"] == 1 and failure["tool"] == "read"
    assert "missing.py" in failure["message"]

    md = report.to_markdown()
    assert md.startswith(f"# Task {task.id}: make add add\n")
    assert "- State: **ready** (verified)" in md
    assert "| `calc.py` | 1 | 1 |" in md and "| `NOTES.md` | 3 | 0 |" in md
    assert "| 2 file(s) | 4 | 1 |" in md
    assert "`python3 -m unittest discover -q` passed" in md
    assert "| coder | replay | 6 |" in md
    assert "- step 1, `read`:" in md

    shown = codetap("report", str(task.id))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == md
    as_json = codetap("report", f"#{task.id}", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == data
    missing = codetap("report", "99")
    assert missing.returncode == 2 and "99" in missing.stderr


async def test_report_of_a_failed_task(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    turns = session(tmp_path / "s.jsonl", [TURNS[1]])  # exhausted after one turn
    config = dataclasses.replace(Config.load(), default_model="replay",
                                 models={"replay": ModelConfig("replay", "replay",
                                                               path=str(turns))})
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
        report = await build(rt.store, task.id)
    finally:
        await rt.close()
    assert task.state is TaskState.FAILED
    data = report.to_json()
    assert data["error"] == task.error and "exhausted" in str(task.error)
    assert data["files"] == [] and data["verification"] is None
    md = report.to_markdown()
    assert "- State: **failed** (not verified)" in md and f"- Error: {task.error}" in md
