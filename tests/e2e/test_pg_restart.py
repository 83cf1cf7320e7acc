"""PostgreSQL restarted under load: tasks wait and go on (issue 22; docs/scale-out.md, "When
PostgreSQL goes away").

A real PostgreSQL (tests/pg_fixture.py) is restarted with ``pg_ctl restart -m fast`` (as its
unprivileged user) while tasks run in the in-process runtime with ``[store] url`` on it and a
replay model that paces its turns. The restart is started once every task has journaled its
second model turn (the runtime's own news, no sleep). Every task must end ready with the diff
of an uninterrupted run, each bash effect once, its journal numbered without gaps or
duplicates. A second test keeps a real daemon's front (SDK client) answering, or failing
clearly, while PostgreSQL is stopped, and working again once it is back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import make_repo
from tests.e2e.conftest import CALC
from tests.pg_fixture import PgServer, pg_server, pg_url  # noqa: F401 - fixtures

import codetap
from codetap.config import Config
from codetap.daemon.control import stop
from codetap.daemon.paths import DaemonPaths
from codetap.errors import CodetapError
from codetap.models.base import ModelConfig
from codetap.runtime import Question, Runtime, TaskRecord
from codetap.types import JSON, TaskState

TASKS = 4
LINES = ["one", "two", "three", "four", "five"]
PACE_MS = 250


def _turns(pace_ms: int) -> list[dict[str, Any]]:
    """Bash steps that each append a line (run twice: the line shows twice), an edit, finish."""
    turns: list[dict[str, Any]] = [
        {"delay_ms": pace_ms, "tool_calls": [{"name": "bash", "arguments": {
            "command": f"echo {line} >> effects.log"}}]} for line in LINES]
    turns.insert(2, {"delay_ms": pace_ms, "tool_calls": [
        {"name": "read", "arguments": {"path": "calc.py"}}, {"name": "edit", "arguments": {
        "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}}]})
    turns.append({"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]})
    return turns


def _config(tmp: Path, url: str) -> Config:
    session = tmp / "paced.jsonl"
    session.write_text("".join(json.dumps(t) + "\n" for t in _turns(PACE_MS)))
    model = ModelConfig("paced", "replay", path=str(session))
    return dataclasses.replace(Config.load(), models={"paced": model}, default_model="paced",
                               store_url=url)


class Progress:
    """A runtime listener: the model turns journaled per task; ``ready`` is set once every
    watched task has journaled ``turns`` of them."""

    def __init__(self, turns: int) -> None:
        self.turns = turns
        self.seen: dict[int, int] = {}
        self.watched: set[int] = set()
        self.ready = asyncio.Event()

    def task_updated(self, task: TaskRecord) -> None:
        pass

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        if kind == "model_turn":
            self.seen[task_id] = self.seen.get(task_id, 0) + 1
        if self.watched and all(self.seen.get(t, 0) >= self.turns for t in self.watched):
            self.ready.set()

    def question(self, q: Question) -> None:
        pass


async def _check_journal(rt: Runtime, task_id: int) -> None:
    events = await rt.store.events(task_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), "gaps or duplicates"
    turns = [e.step for e in events if e.kind == "model_turn"]
    assert turns == list(range(1, len(_turns(0)) + 1)), f"a model turn journaled twice: {turns}"
    results = [e.data["call_id"] for e in events if e.kind == "tool_result"]
    assert len(results) == len(set(results)) == len(turns) + 1, results


async def test_postgres_restart_under_load(pg_server: PgServer, pg_url: str, xdg: Path,  # noqa: F811
                                           tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="codetap")
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    progress = Progress(turns=2)
    rt = await Runtime.open(_config(tmp_path, pg_url), listeners=[progress])
    try:
        baseline = await rt.wait((await rt.start_task("baseline", repo)).id)
        assert baseline.state is TaskState.READY, baseline.error
        expected = await rt.diff(baseline.id)
        assert expected.count("+one") == 1 and "+    return a + b" in expected

        tasks = [await rt.start_task(f"job {i}", repo) for i in range(TASKS)]
        progress.watched = {t.id for t in tasks}
        await asyncio.wait_for(progress.ready.wait(), 30)
        before = rt.store._w.info.backend_pid  # type: ignore[attr-defined]
        started = time.monotonic()
        await asyncio.to_thread(pg_server.restart)
        down_s = time.monotonic() - started
        unfinished = [t.id for t in tasks if progress.seen.get(t.id, 0) < len(_turns(0))]
        assert unfinished, "every task finished before the restart: nothing was tested"

        done = await asyncio.wait_for(asyncio.gather(*(rt.wait(t.id) for t in tasks)), 45)
        assert [t.state for t in done] == [TaskState.READY] * TASKS, [t.error for t in done]
        for t in done:
            diff = await rt.diff(t.id)
            assert diff == expected, f"task {t.id}'s diff differs:\n{diff}"
            await _check_journal(rt, t.id)
        assert rt.store._w.info.backend_pid != before  # type: ignore[attr-defined]
        waited = [r for r in caplog.records if r.name.startswith("codetap.")
                  and "store" in r.getMessage() and r.levelno == logging.WARNING]
        assert waited, f"no task met the restart (PostgreSQL was away {down_s:.1f} s)"
    finally:
        await rt.close()


def _serve_http() -> tuple[str, str]:
    """``codetap serve --http 127.0.0.1:0 --detach``: the API's base URL and token."""
    done = subprocess.run([sys.executable, "-m", "codetap", "serve", "--http", "127.0.0.1:0",
                           "--detach"], check=False, text=True, capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    return lines[-1].rsplit(" ", 1)[1], lines[1].strip()


async def test_daemon_front_while_postgres_is_down(pg_server: PgServer, pg_url: str,  # noqa: F811
                                                    xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    session = tmp_path / "fast.jsonl"
    session.write_text("".join(json.dumps(t) + "\n" for t in _turns(0)))
    config = xdg / "config" / "codetap" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'default_model = "fast"\n[models.fast]\nprovider = "replay"\n'
                      f'path = "{session}"\n[store]\nurl = "{pg_url}"\n')
    url, token = _serve_http()
    try:
        async with codetap.connect() as c, httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            task = await c.start("fix add", repo=repo)
            assert (await c.wait(task.id)).state == "ready"
            await asyncio.to_thread(pg_server.stop, "fast")
            try:
                started = time.monotonic()
                r = await http.get(f"/v1/tasks/{task.id}")
                assert r.status_code in (200, 503), r.text
                if r.status_code == 503:
                    assert "PostgreSQL" in r.json()["detail"] and "unreachable" in r.text
                else:
                    assert r.json()["state"] == "ready"
                try:
                    assert (await c.get(task.id)).state == "ready"
                except CodetapError as exc:
                    assert "PostgreSQL" in str(exc), f"unclear error: {exc!r}"
                assert time.monotonic() - started < 15, "reads hung while PostgreSQL was down"
            finally:
                await asyncio.to_thread(pg_server.start)
            deadline = time.monotonic() + 30
            while (r := await http.get(f"/v1/tasks/{task.id}")).status_code == 503:
                # the front's reader pool reconnects with its own backoff (1 s doubling)
                assert time.monotonic() < deadline, "reads did not recover"
                await asyncio.sleep(0.2)
            assert r.status_code == 200 and r.json()["state"] == "ready", r.text
            assert (await c.get(task.id)).state == "ready"
            again = await c.start("fix add again", repo=repo)
            assert (await asyncio.wait_for(c.wait(again.id), 30)).state == "ready"
    finally:
        stop(DaemonPaths.from_env())
