"""Webhooks of an embedded runtime (real tasks with the replay model, real git, real SQLite,
a real HTTP receiver on loopback verifying Standard Webhooks signatures)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from codetap.config import Config
from codetap.errors import ConfigError
from codetap.runtime import Runtime
from codetap.types import TaskState
from tests.e2e.durability import workload
from tests.webhook_receiver import Receiver, new_secret

FAST = 'retry_schedule_s = [0, 0.05, 0.05]\n'


def _config(xdg: Path, tmp_path: Path, delivery: str = FAST, extra: str = "") -> Config:
    session = workload.write_session(tmp_path / "session.jsonl", delay_ms=150)
    workload.write_config(xdg / "config" / "codetap", session,
                          "[webhook_delivery]\n" + delivery + extra)
    return Config.load()


async def _settled(rt: Runtime, dead: bool = False,
                   timeout: float = 30.0) -> list[dict[str, Any]]:
    """The outbox listing (``dead`` ones only) once it has rows and none is pending, or
    as it is after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await rt.webhook_deliveries(dead=dead)
        done = rows and all(x["state"] != "pending" for x in await rt.webhook_deliveries())
        if done or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.02)  # polling the outbox; the condition is checked above


def _types(r: Receiver) -> list[str]:
    return [h.body["type"] for h in r.hits if h.verified]


async def test_created_status_ready_signed_once_each(xdg: Path, tmp_path: Path) -> None:
    secret = new_secret()
    repo = workload.make_workload_repo(tmp_path / "repo")
    async with Receiver(secret) as r:
        rt = await Runtime.open(_config(xdg, tmp_path))
        try:
            task = await rt.start_task("append", repo, webhook={
                "url": r.url, "secret": secret, "interval_s": 0.3})
            done = await rt.wait(task.id)
            await r.wait_for(lambda r: "task.ready" in _types(r))
            events = await rt.store.events(task.id)
        finally:
            await rt.close()
    assert done.state is TaskState.READY
    assert all(h.verified for h in r.hits), "every request carries a valid signature"
    types = _types(r)
    assert types[0] == "task.created" and types.count("task.created") == 1
    assert types.count("task.ready") == 1 and types.count("task.status") >= 1
    assert "task.updated" in types  # queued -> running
    ids = [h.headers["webhook-id"] for h in r.hits]
    assert len(ids) == len(set(ids))
    ready = next(h for h in r.hits if h.body["type"] == "task.ready")
    assert ready.body["data"]["id"] == str(task.id) and ready.body["data"]["state"] == "ready"
    assert ready.body["timestamp"].endswith("Z")
    assert secret not in repr([e.data for e in events])
    assert secret not in repr(ready.body)


async def test_retry_after_is_honoured_and_the_id_kept(xdg: Path, tmp_path: Path) -> None:
    secret = new_secret()
    repo = workload.make_workload_repo(tmp_path / "repo")
    seen: list[str] = []

    def answer(hit: object) -> tuple[int, dict[str, str]]:
        wid = hit.headers["webhook-id"]  # type: ignore[attr-defined]
        first = wid not in seen
        seen.append(wid)
        return (429, {"retry-after": "2"}) if first else (200, {})

    async with Receiver(secret, answer=answer) as r:
        rt = await Runtime.open(_config(xdg, tmp_path))
        try:
            task = await rt.start_task("append", repo, webhook={
                "url": r.url, "secret": secret, "events": ["task.created"]})
            await r.wait_for(lambda r: len(r.hits) >= 2)
            rows = await _settled(rt)
            await rt.wait(task.id)
        finally:
            await rt.close()
    assert task.id
    first, second = r.hits[0], r.hits[1]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.at - first.at >= 1.9, "the schedule says 0.05 s, Retry-After says 2 s"
    assert [x["state"] for x in rows] == ["delivered"] and rows[0]["attempts"] == 2


async def test_dead_letter_then_redeliver_with_the_same_id(xdg: Path, tmp_path: Path) -> None:
    secret = new_secret()
    repo = workload.make_workload_repo(tmp_path / "repo")
    status = {"code": 500}
    async with Receiver(secret, answer=lambda _h: (status["code"], {})) as r:
        rt = await Runtime.open(_config(xdg, tmp_path))
        try:
            await rt.start_task("append", repo, webhook={
                "url": r.url, "secret": secret, "events": ["task.created"]})
            await r.wait_for(lambda r: len(r.hits) >= 3)
            dead = await _settled(rt, dead=True)
            assert len(dead) == 1 and dead[0]["attempts"] == 3
            assert dead[0]["last_error"] == "HTTP 500" and "secret" not in dead[0]
            status["code"] = 204
            again = await rt.redeliver_webhook(dead[0]["webhook_id"])
            assert again["state"] == "pending"
            await r.wait_for(lambda r: len(r.hits) >= 4)
            rows = await _settled(rt)
        finally:
            await rt.close()
    assert len(r.hits) == 4, "three attempts, dead, then one redelivery"
    assert len({h.headers["webhook-id"] for h in r.hits}) == 1
    assert all(h.verified for h in r.hits)
    assert [x["state"] for x in rows] == ["delivered"] and rows[0]["attempts"] == 1


async def test_receiver_down_gets_them_when_it_returns(xdg: Path, tmp_path: Path) -> None:
    secret = new_secret()
    repo = workload.make_workload_repo(tmp_path / "repo")
    r = await Receiver(secret).start()
    url = r.url
    await r.stop()
    rt = await Runtime.open(_config(xdg, tmp_path, "retry_schedule_s = [0, 0.2, 0.5, 1, 1, 1]\n"))
    try:
        task = await rt.start_task("append", repo, webhook={
            "url": url, "secret": secret, "interval_s": 100})
        await rt.wait(task.id)
        pending = [x for x in await rt.webhook_deliveries() if x["state"] == "pending"]
        assert pending and any(x["attempts"] >= 1 for x in pending)
        await r.start()
        await r.wait_for(lambda r: "task.ready" in _types(r) and len(r.hits) >= len(pending))
    finally:
        await rt.close()
        await r.stop()
    assert _types(r).count("task.created") == 1 and _types(r).count("task.ready") == 1


async def test_bad_webhook_specs_are_refused_before_the_task_exists(
        xdg: Path, tmp_path: Path) -> None:
    repo = workload.make_workload_repo(tmp_path / "repo")
    rt = await Runtime.open(_config(xdg, tmp_path))
    try:
        for spec, word in (({"url": "ftp://x", "secret": new_secret()}, "url"),
                           ({"url": "http://127.0.0.1:9/", "secret": "not base64 !!"}, "secret"),
                           ({"url": "http://127.0.0.1:9/", "secret": new_secret(),
                             "events": ["task.nope"]}, "task.nope")):
            with pytest.raises(ConfigError, match=word):
                await rt.start_task("x", repo, webhook=spec)
        assert await rt.list_tasks() == []
    finally:
        await rt.close()


async def test_global_webhook_from_the_user_config(xdg: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    secret = new_secret()
    monkeypatch.setenv("HOOK_SECRET", secret)
    repo = workload.make_workload_repo(tmp_path / "repo")
    async with Receiver(secret) as r:
        extra = (f'[[webhooks]]\nurl = "{r.url}"\nsecret_env = "HOOK_SECRET"\n'
                 'events = ["task.created", "task.ready"]\n')
        rt = await Runtime.open(_config(xdg, tmp_path, FAST, extra))
        try:
            task = await rt.start_task("append", repo)
            await rt.wait(task.id)
            await r.wait_for(lambda r: "task.ready" in _types(r))
        finally:
            await rt.close()
    assert _types(r) == ["task.created", "task.ready"]


async def test_outbox_rows_commit_with_the_journal_entry_or_not_at_all(
        xdg: Path, tmp_path: Path) -> None:
    """A failing outbox insert (duplicate webhook-id) rolls back the journal entry too."""
    repo = workload.make_workload_repo(tmp_path / "repo")
    rt = await Runtime.open(_config(xdg, tmp_path), resume_interrupted=False)
    try:
        await rt.pause((await rt.start_task("x", repo)).id)
        store = rt.store
        before = len(await store.events(1))
        row = ("msg_dup", 1, "task.updated", "http://127.0.0.1:9/", "s", "{}", 0.0, 0.0)
        with pytest.raises(sqlite3.IntegrityError):
            await store.append(1, 0, [("state", {"x": 1})], outbox=[row, row])
        assert len(await store.events(1)) == before
        assert store._w.execute("SELECT COUNT(*) FROM outbox WHERE msg_id = 'msg_dup'"
                                ).fetchone()[0] == 0
        await store.append(1, 0, [("note", {"x": 1})], outbox=[row])
        assert len(await store.events(1)) == before + 1
    finally:
        await rt.close()
