"""Service mode end to end, the way a CI system uses it: over HTTP, a task on a repository
served by `git daemon`, its journal followed as Server-Sent Events, its branch pushed back,
a signed webhook for each state it reaches, and the task's figures in /metrics."""

# ruff: noqa: F811  (fixtures imported from sibling modules are parameters here)
from __future__ import annotations

from pathlib import Path

import httpx
from tests.conftest import git
from tests.e2e.remote_fixtures import git_daemon, upstream  # noqa: F401
from tests.e2e.test_http import Api, api, follow, http  # noqa: F401
from tests.webhook_receiver import Receiver, new_secret

FIXED = "def add(a, b):\n    return a + b\n"


async def test_ci_task_over_http_pushes_its_branch_and_signs_webhooks(
        api: Api, http: httpx.AsyncClient, git_daemon: tuple[Path, int],
        tmp_path: Path) -> None:
    base, port = git_daemon
    bare = upstream(tmp_path)
    assert bare.parent.parent == base
    url = f"git://127.0.0.1:{port}/owner/repo.git"
    async with Receiver(new_secret()) as receiver:
        r = await http.post("/v1/tasks", json={
            "intent": "make add add", "model": "fast", "repo": {"url": url, "ref": "main"},
            "push": True,
            "webhook": {"url": receiver.url, "secret": receiver.secret, "interval_s": 1}})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["repo_url"] == url
        events, end = await follow(http, created["id"])
        assert end["state"] == "ready", end
        assert any(e["kind"] == "push" and e["data"]["ok"] for e in events)
        assert git(bare, "show", f"{end['branch']}:calc.py") == FIXED

        def settled(rec: Receiver) -> bool:
            return any(h.body.get("type") == "task.ready" for h in rec.hits)
        await receiver.wait_for(settled)
        assert all(h.verified for h in receiver.hits)
        types = [h.body["type"] for h in receiver.hits]
        assert types.count("task.created") == 1 and types.count("task.ready") == 1
        assert types.index("task.created") < types.index("task.ready")
        assert all(len(hits) == 1 for hits in receiver.by_id().values())
        ready = next(h for h in receiver.hits if h.body["type"] == "task.ready")
        assert ready.body["data"]["id"] == created["id"]
        assert receiver.secret not in str(ready.body)

    metrics = (await http.get("/metrics")).text
    assert "codetap_tasks" in metrics
    report = (await http.get(f"/v1/tasks/{created['id']}/report")).text
    assert "make add add" in report
