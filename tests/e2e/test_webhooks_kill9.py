"""Webhooks across kill -9 of the real daemon: a task started through the SDK with its own
webhook; the daemon is killed at seeded random times and restarted; the loopback receiver
(verifying every signature with ``standardwebhooks``) must get task.created, task.status
and task.ready, each type once by ``webhook-id`` (created and ready exactly once), and
every message in the outbox delivered: none lost. A message sent just before a kill may
arrive twice with the same ``webhook-id`` (at-least-once); that is counted, not failed.
``CODETAP_WEBHOOK_TRIALS`` sets the number of trials (default 10).
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.durability import workload
from tests.e2e.durability.daemon import kill9, start_daemon, stop_daemon, wait_state
from tests.e2e.durability.journal import task_row
from tests.webhook_receiver import Receiver, ThreadedReceiver, new_secret

from codetap.daemon.paths import DaemonPaths
from codetap.sdk import connect

SEED = 20261128
TRIALS = int(os.environ.get("CODETAP_WEBHOOK_TRIALS", "10"))


def _outbox(db: Path, task_id: int) -> list[tuple[str, str, str]]:
    uri = f"{db.as_uri().replace('file://', 'file:', 1)}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        return conn.execute("SELECT msg_id, type, state FROM outbox WHERE task_id = ?",
                            (task_id,)).fetchall()


def _start(repo: Path, url: str, secret: str) -> int:
    async def go() -> int:
        async with connect(start_daemon=False) as client:
            info = await client.start("append the lines", repo=repo, webhook={
                "url": url, "secret": secret, "interval_s": 0.2})
            return int(info.id)
    return asyncio.run(go())


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    for name in ("DATA", "CONFIG", "RUNTIME", "CACHE"):
        d = tmp_path / "xdg" / name.lower()
        d.mkdir(parents=True, mode=0o700)
        monkeypatch.setenv("XDG_RUNTIME_DIR" if name == "RUNTIME" else f"XDG_{name}_HOME", str(d))
    monkeypatch.setenv(workload.MARKS_ENV, str(tmp_path / "marks.log"))
    monkeypatch.delenv("CODETAP_FAULT_POINT", raising=False)
    session = workload.write_session(tmp_path / "session.jsonl", delay_ms=150)
    workload.write_config(tmp_path / "xdg" / "config" / "codetap", session,
                          "[webhook_delivery]\nretry_schedule_s = [0, 0.2, 0.5, 1, 1, 1, 1]\n")
    repo = workload.make_workload_repo(tmp_path / "repo")
    yield repo, tmp_path / "xdg" / "data" / "codetap" / "codetap.db"


def test_created_status_ready_once_each_across_kill9(env: tuple[Path, Path]) -> None:
    repo, db = env
    paths = DaemonPaths.from_env()
    secret = new_secret()
    rng = random.Random(SEED)
    duplicates = 0
    with ThreadedReceiver(secret) as hook:
        pid = start_daemon(paths)
        try:
            for trial in range(TRIALS):
                tid = _start(repo, hook.url, secret)
                killed = 0
                for _ in range(1 + trial % 2):
                    time.sleep(rng.uniform(0.05, 1.0))  # the random kill time itself
                    if task_row(db, tid)["state"] == "ready":
                        break
                    kill9(paths, pid)
                    killed += 1
                    pid = start_daemon(paths)
                row = wait_state(db, tid, {"ready", "failed"}, alive=paths)
                assert row["state"] == "ready", row["error"]

                def all_in(r: Receiver, tid: int = tid) -> bool:
                    rows = _outbox(db, tid)
                    got = r.by_id()
                    return bool(rows) and all(m in got and s == "delivered" for m, _, s in rows)

                hook.wait_until(all_in)
                mine = {wid: hits for wid, hits in hook.receiver.by_id().items()
                        if hits[0].body["data"]["id"] == str(tid)}
                types = [hits[0].body["type"] for hits in mine.values()]
                assert types.count("task.created") == 1, (trial, killed, types)
                assert types.count("task.ready") == 1, (trial, killed, types)
                assert types.count("task.status") >= 1, (trial, killed, types)
                first = {hits[0].body["type"]: hits[0].at for hits in mine.values()}
                assert first["task.created"] <= first["task.ready"]
                assert set(mine) == {m for m, _, _ in _outbox(db, tid)}
                duplicates += sum(len(h) - 1 for h in mine.values())
        finally:
            stop_daemon(paths)
    assert all(h.verified for h in hook.receiver.hits), "every request is correctly signed"
    print(f"{TRIALS} trials; {duplicates} duplicate deliveries (same webhook-id)")
