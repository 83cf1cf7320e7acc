"""The scheduler across tasks: a concurrency cap with a queue and priorities, per-model
concurrency, and budgets per window that make steps wait (journaled) and resume when the
window moves."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from codetap import waits
from codetap.config import Config, Limits
from codetap.models.base import ModelConfig
from codetap.runtime import Question, Runtime
from codetap.scheduler import Budget
from codetap.types import JSON, TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import session

ACTIVE = {TaskState.RUNNING, TaskState.WAITING}


class Watch:
    """Tracks which tasks are running, the peak, and the order they started in."""

    def __init__(self) -> None:
        self.active: set[int] = set()
        self.peak = 0
        self.started: list[int] = []

    def task_updated(self, task: Any) -> None:
        if task.state in ACTIVE:
            if task.id not in self.active:
                self.started.append(task.id)
            self.active.add(task.id)
        else:
            self.active.discard(task.id)
        self.peak = max(self.peak, len(self.active))

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        pass

    def question(self, q: Question) -> None:
        pass


def config(tmp: Path, turns: list[dict[str, object]], table: JSON, **model: Any) -> Config:
    path = session(tmp / "m.jsonl", turns)
    return dataclasses.replace(
        Config.load(), default_model="m",
        models={"m": ModelConfig("m", "replay", path=str(path), **model)},
        limits=Limits(max_cost_usd=1000.0), user_table=table)


def finish_turns(delay_ms: int) -> list[dict[str, object]]:
    return [{"delay_ms": delay_ms, "tool_calls": [{"name": "glob", "arguments": {
                "pattern": "*"}}]},
            {"delay_ms": delay_ms, "tool_calls": [{"name": "finish", "arguments": {
                "summary": "done"}}]}]


async def test_cap_of_two_with_ten_tasks(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    rt = await Runtime.open(config(tmp_path, finish_turns(200),
                                   {"scheduler": {"max_concurrent_tasks": 2}}))
    watch = Watch()
    rt.subscribe(watch)
    try:
        tasks = [await rt.start_task(f"task {i}", repo) for i in range(9)]
        urgent = await rt.start_task("urgent", repo, priority=5)
        waiting = [t.id for t in tasks
                   if (await rt.store.get_task(t.id)).state is TaskState.QUEUED]
        done = [await rt.wait(t.id) for t in [*tasks, urgent]]
    finally:
        await rt.close()
    assert [t.state for t in done] == [TaskState.READY] * 10, [t.error for t in done]
    assert watch.peak == 2 and rt.scheduler.peak == 2
    # The urgent task jumped the queue: it started before every task still queued then.
    assert waiting, "the machine was too slow to have a queue"
    assert all(watch.started.index(urgent.id) < watch.started.index(i) for i in waiting)
    assert watch.started[:2] == [tasks[0].id, tasks[1].id]


async def test_model_concurrency_of_one(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    rt = await Runtime.open(config(tmp_path, finish_turns(100),
                                   {"scheduler": {"max_concurrent_tasks": 4}},
                                   max_concurrent=1))
    try:
        start = time.monotonic()
        tasks = [await rt.start_task(f"task {i}", repo) for i in range(3)]
        done = [await rt.wait(t.id) for t in tasks]
        took = time.monotonic() - start
        turns = []
        for t in tasks:
            turns += [e.ts for e in await rt.store.events(t.id) if e.kind == "model_turn"]
    finally:
        await rt.close()
    assert [t.state for t in done] == [TaskState.READY] * 3
    # Six requests of 100 ms each, one at a time: at least 0.6 s, not ~0.2 s.
    assert took >= 0.6 and len(turns) == 6


async def test_hourly_budget_waits_then_resumes(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    turn: dict[str, object] = {"usage": {"input_tokens": 1, "output_tokens": 0},
                               "tool_calls": [{"name": "glob", "arguments": {"pattern": "*"}}]}
    last = {**turn, "tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}
    table = {"budget": {"max_cost_usd_per_hour": 1.5, "window_s": 1.0}}
    # One input token at $1M per million: each turn costs $1.
    rt = await Runtime.open(config(tmp_path, [turn, turn, last], table,
                                   input_price_per_mtok=1_000_000.0))
    try:
        task = await rt.wait((await rt.start_task("spend", repo)).id)
        events = await rt.store.events(task.id)
    finally:
        await rt.close()
    assert task.state is TaskState.READY, task.error
    waits = [e for e in events if e.kind == "waiting_budget"]
    assert waits and waits[0].data["window"] == "hour"
    assert waits[0].data["spent_usd"] >= 1.5 and waits[0].data["limit_usd"] == 1.5
    turns = [e for e in events if e.kind == "model_turn"]
    assert len(turns) == 3
    # Every request after a wait was sent once the window had moved past the spending.
    for w in waits:
        after = next(t for t in turns if t.seq > w.seq)
        assert after.ts - w.ts >= w.data["resume_in_s"] - 0.05


def test_budget_windows() -> None:
    now = [1000.0]
    budget = Budget(per_window=2.0, per_day=3.0, window_s=10.0, clock=lambda: now[0])
    budget.add(995.0, 1.0)
    budget.add(999.0, 1.0)
    assert budget.blocked() == ("hour", 2.0, 2.0, 5.0)
    now[0] = 1005.5
    assert budget.blocked() is None
    now[0] = 1009.5
    budget.add(1009.5, 1.0)
    block = budget.blocked()
    assert block is not None and block[0] == "day" and block[1] == 3.0


class Waits:
    """Records each journal entry's kind, and the task's ``waiting`` reason each time the
    runtime publishes the task (what editors receive as ``TaskInfo.waiting``)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.kinds: list[str] = []
        self.shown: list[str | None] = []
        self.budget_wait = asyncio.Event()

    def task_updated(self, task: Any) -> None:
        self.shown.append(self.rt.waiting_reason(task))

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        self.kinds.append(kind)
        if kind == waits.BUDGET:
            self.budget_wait.set()

    def question(self, q: Question) -> None:
        pass


def write_user_config(xdg: Path, tmp: Path, per_hour: float, per_task: float = 1000.0) -> Path:
    """The user's config file: a replay model whose turns cost $1 each (one input token at
    $1M per million), an hourly budget of ``per_hour`` and a per-task one of ``per_task``."""
    turn: dict[str, object] = {"usage": {"input_tokens": 1, "output_tokens": 0},
                               "tool_calls": [{"name": "glob", "arguments": {"pattern": "*"}}]}
    last = {**turn, "tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}
    path = session(tmp / "m.jsonl", [turn, turn, last])
    cfg = xdg / "config" / "codetap" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f'default_model = "m"\n[models.m]\nprovider = "replay"\npath = "{path}"\n'
                   "input_price_per_mtok = 1000000.0\n[limits]\n"
                   f"max_cost_usd = {per_task}\n"
                   f"[budget]\nmax_cost_usd_per_hour = {per_hour}\n")
    return cfg


async def test_budget_wait_shows_why_and_a_raised_budget_lets_it_go_on(
        xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    cfg = write_user_config(xdg, tmp_path, 1.5)
    rt = await Runtime.open(Config.load())
    seen = Waits(rt)
    rt.subscribe(seen)
    try:
        task = await rt.start_task("spend", repo)
        # Two turns spend $2 of $1.50 an hour: the third request waits (for an hour).
        await asyncio.wait_for(seen.budget_wait.wait(), 30)
        row = await rt.get_task(task.id)
        reason = rt.waiting_reason(row)
        assert reason is not None and row.state is TaskState.RUNNING
        assert re.fullmatch(r"hourly budget reached: \$2\.00 of \$1\.50, resumes at "
                            r"\d\d:\d\d:\d\dZ", reason), reason
        # Readers of the database alone (the CLI) see the same reason.
        assert await waits.reasons(rt.store, [row]) == {task.id: reason}
        shown = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "codetap", "show", str(task.id), "--json"],
            capture_output=True, text=True, env=dict(os.environ), timeout=60, check=False)
        assert json.loads(shown.stdout)["waiting"] == reason, shown.stderr
        assert seen.shown[-1] == reason
        # The user raises the budget: the config file is re-read while the step waits.
        cfg.write_text(cfg.read_text().replace("= 1.5\n", "= 100.0\n"))
        done = await asyncio.wait_for(rt.wait(task.id), 30)
        events = await rt.store.events(task.id)
    finally:
        await rt.close()
    assert done.state is TaskState.READY, done.error
    assert rt.waiting_reason(done) is None and seen.shown[-1] is None
    kinds = [e.kind for e in events if e.kind in (waits.BUDGET, waits.OVER, "model_turn")]
    assert kinds == ["model_turn", "model_turn", waits.BUDGET, waits.OVER, "model_turn"]
    over = next(e for e in events if e.kind == waits.OVER)
    assert over.data["reason"] == reason and over.data["waited_s"] < 60
    assert waits.from_events(events) is None


async def test_task_budget_waits_through_a_pause_and_a_raised_limit_lets_it_finish(
        xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    cfg = write_user_config(xdg, tmp_path, 1000.0, per_task=1.5)
    rt = await Runtime.open(Config.load())
    seen = Waits(rt)
    rt.subscribe(seen)
    try:
        task = await rt.start_task("spend", repo)
        # Two turns spend $2 of the task's $1.50: the third request waits, the task runs on.
        await asyncio.wait_for(seen.budget_wait.wait(), 30)
        row = await rt.get_task(task.id)
        reason = rt.waiting_reason(row)
        assert row.state is TaskState.RUNNING and row.steps == 2
        assert reason == ("task budget reached: $2.00 of $1.50; "
                          "raise [limits] max_cost_usd or cancel")
        assert await waits.reasons(rt.store, [row]) == {task.id: reason}
        # Pausing works while it waits; resumed, it waits again.
        paused = await rt.pause(task.id)
        assert paused.state is TaskState.PAUSED and rt.waiting_reason(paused) is None
        seen.budget_wait.clear()
        await rt.resume(task.id)
        await asyncio.wait_for(seen.budget_wait.wait(), 30)
        assert rt.waiting_reason(await rt.get_task(task.id)) == reason
        # The user raises the limit: the config file is re-read while the step waits.
        cfg.write_text(cfg.read_text().replace("max_cost_usd = 1.5\n", "max_cost_usd = 9.0\n"))
        done = await asyncio.wait_for(rt.wait(task.id), 30)
        events = await rt.store.events(task.id)
    finally:
        await rt.close()
    assert done.state is TaskState.READY, done.error
    assert done.steps == 3 and done.usage.cost_usd == 3.0
    assert rt.waiting_reason(done) is None and seen.shown[-1] is None
    budget = [e for e in events if e.kind == waits.BUDGET]
    assert [e.data["window"] for e in budget] == ["task", "task"]
    assert budget[0].data["spent_usd"] == 2.0 and budget[0].data["limit_usd"] == 1.5
    kinds = [e.kind for e in events if e.kind in (waits.BUDGET, waits.OVER, "model_turn")]
    assert kinds == ["model_turn", "model_turn", waits.BUDGET, waits.BUDGET, waits.OVER,
                     "model_turn"]
