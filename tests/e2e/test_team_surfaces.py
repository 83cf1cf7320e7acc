"""Agent teams through the user-facing surfaces, against the real daemon (issue 19): the
queue's priorities and why a task waits (SDK, CLI), the tree of a real ``team`` run (SDK
``children``, ``task/list parent_id``, HTTP ``?parent_id=``, ``codetap tasks``/``show``/
``log --steps``/``report``), and the ``plan`` workflow's approval answered from an editor
(``codetap/ask``) and from the CLI (``codetap answer``), each followed by the coder running.

Roles run on scripted OpenAI-compatible servers on loopback (one per role,
:mod:`tests.unit.tasks.team_server`), served from this test's event loop: CLI processes run
off the loop (threads, asyncio subprocesses) so the servers keep answering."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import make_repo
from tests.e2e.conftest import Editor, Env, connect, session_lines, write_config
from tests.e2e.test_http import start_api
from tests.e2e.test_team import FILES, SUBTASKS, scripts
from tests.unit.tasks.team_server import ScriptedModel, call, serving

import codetap

ROLES = ("planner", "coder", "tester", "reviewer")


def codetap_cli(env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codetap", *args], capture_output=True,
                          text=True, env=env.env, cwd=env.repo, timeout=60, check=False)


async def cli(env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    """A `codetap` process, off the event loop (the scripted servers live on it)."""
    return await asyncio.to_thread(codetap_cli, env, *args)


def user_config(xdg: Path, text: str) -> None:
    path = xdg / "config" / "codetap" / "config.toml"
    path.write_text(path.read_text() + text)


def team_config(xdg: Path, servers: dict[str, ScriptedModel], cap: int = 4) -> None:
    """The user's config: each role on its own scripted server (priced, so cost accrues)."""
    lines = ['default_model = "coder"']
    for role, server in servers.items():
        lines += [f"[models.{role}]", 'provider = "openai"', f'model = "{role}"',
                  f'base_url = "{server.base_url}"', "max_retries = 0",
                  "input_price_per_mtok = 1.0", "output_price_per_mtok = 2.0"]
    for role in servers:
        if role != "coder":
            lines += [f"[roles.{role}]", f'model = "{role}"']
    lines += ["[scheduler]", f"max_concurrent_tasks = {cap}"]
    path = xdg / "config" / "codetap" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


async def until(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    """Poll an async ``predicate`` until it returns something true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await predicate()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.05)
    return value


async def started_at(c: Any, task_id: str) -> float:
    """When the task's run was admitted (its queued -> running entry)."""
    async for ev in c.events(task_id, follow=False):
        if ev.kind == "state" and ev.data["to"] == "running":
            return float(ev.ts)
    raise AssertionError(f"task {task_id} never ran")


async def test_priority_admits_the_urgent_task_first_and_says_why_others_wait(
        env: Env, tmp_path: Path, xdg: Path) -> None:
    write_config(xdg, tmp_path, {"fast": session_lines(0), "slow": session_lines(1500)})
    user_config(xdg, "[scheduler]\nmax_concurrent_tasks = 1\n")
    async with codetap.connect() as c:
        blocker = await c.start("fix add", repo=env.repo, model="slow")
        await c.wait(blocker.id, until={"running"})
        low1 = await c.start("fix add first", repo=env.repo)
        low2 = await c.start("fix add second", repo=env.repo)
        urgent_cli = await cli(env, "run", "--detach", "--priority", "5", "fix add now")
        assert urgent_cli.returncode == 0, urgent_cli.stderr
        urgent = urgent_cli.stdout.strip()
        assert (await c.get(urgent)).priority == 5

        async def queue_known() -> bool:
            return (await c.get(urgent)).waiting == "queued: next"

        await until(queue_known, "the urgent task queued first")
        assert (await c.get(low1.id)).waiting == "queued: 1 ahead"
        assert (await c.get(low2.id)).waiting == "queued: 2 ahead"
        assert (await c.get(blocker.id)).waiting is None
        listed = await cli(env, "tasks")
        line = next(ln for ln in listed.stdout.splitlines() if ln.startswith(f"{low2.id} "))
        assert line.endswith("fix add second  (queued: 2 ahead)"), listed.stdout
        journal = [e async for e in c.events(low1.id, follow=False)]
        # Journaled when it started waiting (nobody was queued before it then).
        assert [e.data["reason"] for e in journal if e.kind == "waiting_queue"] == [
            "queued: next"]

        done = [await c.wait(t) for t in (blocker.id, low1.id, low2.id, urgent)]
        assert [t.state for t in done] == ["ready"] * 4
        assert all(t.waiting is None for t in done)
        times = {t: await started_at(c, t) for t in (low1.id, low2.id, urgent)}
    followed = await cli(env, "follow", low2.id)
    assert "waiting: queued: 1 ahead" in followed.stdout, followed.stdout
    # Admitted by priority, then first come first served.
    assert times[urgent] < times[low1.id] < times[low2.id]


@pytest.fixture
async def team_servers() -> AsyncIterator[dict[str, ScriptedModel]]:
    async with serving(scripts(), delay_s=0.02) as out:
        yield out


async def test_team_tree_in_sdk_cli_http_and_the_audit(
        env: Env, tmp_path: Path, xdg: Path, team_servers: dict[str, ScriptedModel]) -> None:
    repo = make_repo(tmp_path / "team", FILES)
    team_config(xdg, team_servers)
    api = await asyncio.to_thread(start_api, env)
    async with codetap.connect() as c:
        parent = await c.start("make the team change", repo=repo, workflow="team")
        done = await c.wait(parent.id)
        assert done.state == "ready", done.error
        kids = await c.children(parent.id)
        assert [(k.role, k.parent_id) for k in kids] == [("coder", parent.id)] * 3, kids
        assert len({k.subtask for k in kids}) == 3 and all(k.subtask for k in kids)
        # Oldest first: the plan's order.
        assert [k.intent.splitlines()[0] for k in kids] == [s["intent"] for s in SUBTASKS]
        assert [k.id for k in await c.list(parent_id=parent.id)] == [k.id for k in
                                                                    reversed(kids)]
        assert await c.list(parent_id=kids[0].id) == []
        top = await c.list()
        assert {t.id for t in top} == {parent.id, *(k.id for k in kids)}
    async with httpx.AsyncClient(base_url=api.url, timeout=30,
                                 headers={"Authorization": f"Bearer {api.token}"}) as http:
        r = await http.get("/v1/tasks", params={"parent_id": parent.id})
        assert r.status_code == 200, r.text
        assert [t["id"] for t in r.json()["tasks"]] == [k.id for k in reversed(kids)]
        assert {t["role"] for t in r.json()["tasks"]} == {"coder"}
        r = await http.post("/v1/tasks", json={"intent": "later", "repo": {"path": str(repo)},
                                               "priority": 7, "workflow": "default"})
        assert r.status_code == 201 and r.json()["priority"] == 7, r.text
        bad = await http.post("/v1/tasks", json={"intent": "x", "repo": {"path": str(repo)},
                                                 "priority": 5000})
        assert bad.status_code == 422
        await http.post(f"/v1/tasks/{r.json()['id']}/cancel")

    listed = await cli(env, "tasks")
    rows = listed.stdout.splitlines()
    at = next(i for i, ln in enumerate(rows) if ln.startswith(f"{parent.id} "))
    assert [ln.split()[:2] for ln in rows[at + 1:at + 4]] == [["└", k.id] for k in kids]
    assert all("[coder] Set" in ln for ln in rows[at + 1:at + 4]), listed.stdout
    shown = await cli(env, "show", parent.id)
    assert "    children 3" in shown.stdout and "    workflow team" in shown.stdout

    # Audit: who did each step, on which model; the report's roles include the children.
    steps = await cli(env, "log", parent.id, "--steps")
    audit = [ln.split()[:4] for ln in steps.stdout.splitlines()[1:]]
    pairs = {(row[2], row[3]) for row in audit}
    assert {("planner", "planner"), ("coder", "coder"), ("tester", "tester"),
            ("reviewer", "reviewer")} <= pairs, steps.stdout
    assert {row[0] for row in audit} == {parent.id, *(k.id for k in kids)}
    report = json.loads((await cli(env, "report", parent.id, "--json")).stdout)
    roles = {r["role"]: r for r in report["roles"]}
    assert roles["coder"]["model"] == "coder" and roles["planner"]["model"] == "planner"
    coder_steps = sum(1 for row in audit if row[2] == "coder")
    assert roles["coder"]["steps"] == coder_steps == team_servers["coder"].count("Set A to ten") \
        + team_servers["coder"].count("Set B to twenty") \
        + team_servers["coder"].count("Set X to three") \
        + team_servers["coder"].count("## Merge conflict") \
        + team_servers["coder"].count("requested changes")
    assert [c["id"] for c in report["children"]] == [k.id for k in kids]
    assert sum(r["steps"] for r in report["roles"]) == len(audit)


def plan_servers() -> dict[str, ScriptedModel]:
    plan = call("finish", summary="the plan: make add add", subtasks=[
        {"intent": "fix add in calc.py", "files": ["calc.py"]}], acceptance=["add adds"])
    coder = [call("read", path="calc.py"),
             call("edit", path="calc.py", old_string="return a - b",
                  new_string="return a + b"),
             call("finish", summary="add adds")]
    return {"planner": ScriptedModel([("", [plan])]), "coder": ScriptedModel([("", coder)])}


@pytest.fixture
async def planned(xdg: Path) -> AsyncIterator[dict[str, ScriptedModel]]:
    servers = plan_servers()
    for s in servers.values():
        await s.__aenter__()
    team_config(xdg, servers)
    try:
        yield servers
    finally:
        for s in servers.values():
            await s.__aexit__()


async def test_plan_approved_from_an_editor_then_the_coder_runs(
        env: Env, planned: dict[str, ScriptedModel]) -> None:
    asked: list[Any] = []
    coder_requests_when_asked: list[int] = []
    shown: list[Any] = []

    def setup(editor: Editor) -> None:
        @editor.client.feature("codetap/ask")
        async def ask(params: Any) -> Any:
            asked.append(params)
            coder_requests_when_asked.append(len(planned["coder"].requests))
            shown.append(await editor.request("codetap/task/get", {"id": params["id"]}))
            return {"answer": "approve"}

    editor = await connect(env, {"ask": True}, setup=setup)
    try:
        info = await editor.request("codetap/task/start", {
            "intent": "make add add", "root_uri": env.root_uri, "workflow": "plan"})
        await editor.wait_state(str(info["id"]), "ready")
    finally:
        await editor.client.shutdown_session()
        await editor.client.stop()
    assert [(a["kind"], a["options"]) for a in asked] == [("approval", ["approve", "reject"])]
    assert "the plan: make add add" in asked[0]["question"]
    # While it waits, the task says why (what the CLI's follower prints).
    assert shown[0]["state"] == "waiting"
    assert shown[0]["waiting"] == "approval: " + asked[0]["question"]
    # The coder had not been asked anything before the approval, and ran after it.
    assert coder_requests_when_asked == [0] and len(planned["coder"].requests) == 3
    assert len(planned["planner"].requests) == 1


async def test_plan_approved_from_the_cli_then_the_coder_runs(
        env: Env, planned: dict[str, ScriptedModel]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "codetap", "run", "--workflow", "plan", "make add add",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL, env=env.env, cwd=env.repo)
    assert proc.stdout is not None
    seen = []
    while b"answer with: codetap answer" not in (line := await asyncio.wait_for(
            proc.stdout.readline(), 60)):
        assert line, b"".join(seen).decode()
        seen.append(line)
    task_id = line.decode().split("codetap answer ")[1].split()[0]
    assert any(b"the plan: make add add" in x for x in seen), seen
    assert planned["coder"].requests == []
    answered = await cli(env, "answer", task_id, "approve")
    assert answered.returncode == 0, answered.stderr
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode() + err.decode()
    assert f"task {task_id}: ready".encode() in out
    assert len(planned["coder"].requests) == 3
    log = [json.loads(ln) for ln in (await cli(env, "log", task_id)).stdout.splitlines()]
    assert [e["data"]["approved"] for e in log if e["kind"] == "plan_approval"] == [True]
    turns = [(e["data"]["role"], e["data"]["model"]) for e in log if e["kind"] == "model_turn"]
    assert turns == [("planner", "planner")] + [("coder", "coder")] * 3
