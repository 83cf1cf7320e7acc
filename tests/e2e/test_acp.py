"""``codetap acp`` end to end: the ACP Python SDK's own client side drives the real
``codetap acp`` process, which drives the real daemon running a replay model."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process, text_block
from acp.client.connection import ClientSideConnection
from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    AllowedOutcome,
    DeniedOutcome,
    FileEditToolCallContent,
    PermissionOption,
    RequestPermissionResponse,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
    UsageUpdate,
    UserMessageChunk,
)
from tests.conftest import make_repo
from tests.e2e.conftest import CALC, write_config

import codetap
from codetap.daemon.control import stop
from codetap.daemon.paths import DaemonPaths

FIX = {"name": "edit", "arguments": {"path": "calc.py", "old_string": "return a - b",
                                     "new_string": "return a + b"}}
PLAN = {"name": "todo", "arguments": {"items": [
    {"text": "read calc.py", "status": "in_progress"}, {"text": "fix add", "status": "pending"}]}}


def finish(summary: str) -> dict[str, Any]:
    return {"name": "finish", "arguments": {"summary": summary}}


MAIN = [
    {"text": "Let me look first.", "tool_calls": [PLAN]},
    {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
    {"text": "Fixing the operator.", "tool_calls": [FIX]},
    {"tool_calls": [finish("add now adds")]},
    {"text": "Follow-up handled.", "tool_calls": [finish("nothing else to change")]},
]


@dataclass
class Recorder:
    """The editor: records every session/update; answers permission requests with
    ``choose(options)`` (an option id, or None to dismiss)."""

    choose: Callable[[list[PermissionOption]], str | None] = lambda options: options[0].option_id
    updates: list[Any] = field(default_factory=list)
    asked: list[tuple[ToolCallUpdate, list[PermissionOption]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append(update)
        self.changed.set()

    async def request_permission(self, session_id: str, tool_call: ToolCallUpdate,
                                 options: list[PermissionOption], **kwargs: Any
                                 ) -> RequestPermissionResponse:
        self.asked.append((tool_call, options))
        chosen = self.choose(options)
        if chosen is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected",
                                                                option_id=chosen))

    async def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = 20) -> None:
        async def loop() -> None:
            while not predicate(self.updates):
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(loop(), timeout)

    def of(self, kind: type) -> list[Any]:
        return [u for u in self.updates if isinstance(u, kind)]

    def texts(self) -> list[str]:
        return [u.content.text for u in self.of(AgentMessageChunk)]


@dataclass
class AcpEnv:
    tmp: Path
    xdg: Path
    repo: Path

    def model(self, turns: list[dict[str, Any]]) -> None:
        write_config(self.xdg, self.tmp, {"replay": turns})


@pytest.fixture
def acp_env(tmp_path: Path, xdg: Path) -> Iterator[AcpEnv]:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC}).resolve()
    yield AcpEnv(tmp_path, xdg, repo)
    stop(DaemonPaths.from_env())


@asynccontextmanager
async def editor(recorder: Recorder) -> AsyncIterator[ClientSideConnection]:
    """``codetap acp`` as a subprocess, initialized; closed (stdin EOF) at the end."""
    async with spawn_agent_process(recorder, sys.executable, "-m", "codetap", "acp",
                                   env=dict(os.environ)) as (conn, _proc):
        init = await conn.initialize(protocol_version=PROTOCOL_VERSION)
        assert init.protocol_version == PROTOCOL_VERSION
        assert init.agent_capabilities is not None and init.agent_capabilities.load_session
        yield conn


async def new_session(conn: ClientSideConnection, repo: Path) -> str:
    return (await conn.new_session(cwd=str(repo), mcp_servers=[])).session_id


async def prompt(conn: ClientSideConnection, sid: str, text: str) -> str:
    resp = await conn.prompt(session_id=sid, prompt=[text_block(text)])
    return str(resp.stop_reason)


def statuses(rec: Recorder, call_id: str) -> list[str]:
    return [u.status for u in rec.updates if isinstance(u, ToolCallStart | ToolCallProgress)
            and u.tool_call_id == call_id and u.status is not None]


def call(rec: Recorder, title: str) -> ToolCallStart:
    return next(u for u in rec.of(ToolCallStart) if u.title == title)


async def only_task(repo: Path) -> codetap.TaskInfo:
    async with codetap.connect() as client:
        tasks = await client.list(repo=repo)
    assert len(tasks) == 1, [t.id for t in tasks]
    return tasks[0]


async def test_prompt_streams_the_task_and_a_follow_up_continues_it(acp_env: AcpEnv) -> None:
    acp_env.model(MAIN)
    rec = Recorder()
    async with editor(rec) as conn:
        sid = await new_session(conn, acp_env.repo)
        assert await prompt(conn, sid, "make add() add") == "end_turn"

        assert rec.texts()[:2] == ["Let me look first.", "Fixing the operator."]
        assert rec.texts()[-1] == "add now adds"
        read = call(rec, "Read calc.py")
        assert read.kind == "read"
        assert [loc.path for loc in read.locations or []] == [str(acp_env.repo / "calc.py")]
        assert statuses(rec, read.tool_call_id) == ["pending", "in_progress", "completed"]
        edit = call(rec, "Edit calc.py")
        assert edit.kind == "edit"
        diff = [c for c in edit.content or [] if isinstance(c, FileEditToolCallContent)]
        assert [(d.path, d.old_text, d.new_text) for d in diff] == [
            (str(acp_env.repo / "calc.py"), "return a - b", "return a + b")]
        assert statuses(rec, edit.tool_call_id)[-1] == "completed"
        assert call(rec, "Update the plan").kind == "think"
        plan = rec.of(AgentPlanUpdate)[-1]
        assert [(e.content, e.status) for e in plan.entries] == [
            ("read calc.py", "in_progress"), ("fix add", "pending")]
        usage = rec.of(UsageUpdate)
        assert len(usage) == 4 and all(u.used > 0 and u.size >= u.used for u in usage)
        assert usage[-1].cost is not None and usage[-1].cost.currency == "USD"

        first = len(rec.updates)
        assert await prompt(conn, sid, "anything else?") == "end_turn"
        assert [u.content.text for u in rec.updates[first:] if isinstance(
            u, AgentMessageChunk)] == ["Follow-up handled.", "nothing else to change"]
    task = await only_task(acp_env.repo)
    assert task.state == "ready" and task.summary == "nothing else to change"
    async with codetap.connect() as client:
        users = [e.data for e in [e async for e in client.events(task.id, follow=False)]
                 if e.kind == "user"]
    assert users[-1] == {"content": "anything else?", "follow_up": True}


@pytest.mark.parametrize("pick", [0, 1])
async def test_a_question_goes_to_request_permission_and_its_answer_to_the_task(
        acp_env: AcpEnv, pick: int) -> None:
    acp_env.model([
        {"tool_calls": [{"name": "ask", "arguments": {"question": "Which operator?",
                                                      "options": ["plus", "minus"]}}]},
        {"tool_calls": [finish("asked")]},
    ])
    rec = Recorder(choose=lambda options: options[pick].option_id)
    async with editor(rec) as conn:
        sid = await new_session(conn, acp_env.repo)
        assert await prompt(conn, sid, "ask me") == "end_turn"
    [(tool_call, options)] = rec.asked
    assert tool_call.title == "Which operator?"
    assert [o.name for o in options] == ["plus", "minus"]
    ask = call(rec, "Which operator?")
    assert ask.tool_call_id == tool_call.tool_call_id
    assert statuses(rec, ask.tool_call_id)[-1] == "completed"
    task = await only_task(acp_env.repo)
    async with codetap.connect() as client:
        results = [e.data for e in [e async for e in client.events(task.id, follow=False)]
                   if e.kind == "tool_result" and e.data["name"] == "ask"]
    assert results[0]["output"] == f"the user answered: {['plus', 'minus'][pick]}"


async def test_a_dismissed_or_free_text_question_ends_the_turn_and_the_next_prompt_answers(
        acp_env: AcpEnv) -> None:
    acp_env.model([
        {"tool_calls": [{"name": "ask", "arguments": {"question": "Which operator?",
                                                      "options": ["plus", "minus"]}}]},
        {"tool_calls": [{"name": "ask", "arguments": {"question": "Any name?"}}]},
        {"tool_calls": [finish("done asking")]},
    ])
    rec = Recorder(choose=lambda options: None)
    async with editor(rec) as conn:
        sid = await new_session(conn, acp_env.repo)
        assert await prompt(conn, sid, "ask me") == "end_turn"
        assert rec.texts()[-1].endswith("asks: Which operator? (plus / minus). Reply to answer.")
        assert (await only_task(acp_env.repo)).state == "waiting"
        assert await prompt(conn, sid, "minus") == "end_turn"
        assert rec.texts()[-1].endswith("asks: Any name?. Reply to answer.")
        assert await prompt(conn, sid, "Ada") == "end_turn"
        assert rec.texts()[-1] == "done asking"
    task = await only_task(acp_env.repo)
    async with codetap.connect() as client:
        answers = [e.data["output"] for e in [e async for e in client.events(
            task.id, follow=False)] if e.kind == "tool_result" and e.data["name"] == "ask"]
    assert answers == ["the user answered: minus", "the user answered: Ada"]


async def test_cancel_ends_the_turn_cancelled_and_cancels_the_task(acp_env: AcpEnv) -> None:
    acp_env.model([
        {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
        {"delay_ms": 30000, "tool_calls": [FIX]},
    ])
    rec = Recorder()
    async with editor(rec) as conn:
        sid = await new_session(conn, acp_env.repo)
        turn = asyncio.ensure_future(prompt(conn, sid, "slowly"))
        await rec.wait_for(lambda ups: any(isinstance(u, ToolCallProgress)
                                           and u.status == "completed" for u in ups))
        await conn.cancel(session_id=sid)
        assert await asyncio.wait_for(turn, 20) == "cancelled"
    assert (await only_task(acp_env.repo)).state == "cancelled"


async def test_closing_the_editor_leaves_the_task_running(acp_env: AcpEnv) -> None:
    acp_env.model([
        {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
        {"delay_ms": 1000, "tool_calls": [FIX]},
        {"tool_calls": [finish("fixed without the editor")]},
    ])
    rec = Recorder()
    async with editor(rec) as conn:
        sid = await new_session(conn, acp_env.repo)
        turn = asyncio.ensure_future(prompt(conn, sid, "fix it"))
        await rec.wait_for(lambda ups: any(isinstance(u, ToolCallStart) for u in ups))
    turn.cancel()
    task = await only_task(acp_env.repo)
    assert task.state in ("running", "queued")
    async with codetap.connect() as client:
        done = await client.wait(task.id)
    assert done.state == "ready" and done.summary == "fixed without the editor"


async def test_load_replays_the_journal_in_a_new_process(acp_env: AcpEnv) -> None:
    acp_env.model([*MAIN, MAIN[-1]])
    first = Recorder()
    async with editor(first) as conn:
        sid = await new_session(conn, acp_env.repo)
        assert await prompt(conn, sid, "make add() add") == "end_turn"
    task = await only_task(acp_env.repo)
    users = ["make add() add"]
    for load_id in (sid, f"task-{task.id}"):
        rec = Recorder()
        async with editor(rec) as conn:
            await conn.load_session(cwd=str(acp_env.repo), session_id=load_id, mcp_servers=[])
            assert [u.content.text for u in rec.of(UserMessageChunk)] == users
            assert rec.texts()[:len(first.texts())] == first.texts()
            replayed = {u.title: u.tool_call_id for u in rec.of(ToolCallStart)}
            assert set(replayed) == {u.title for u in first.of(ToolCallStart)}
            assert statuses(rec, replayed["Edit calc.py"])[-1] == "completed"
            assert await prompt(conn, load_id, f"and now, {load_id}?") == "end_turn"
            assert rec.texts()[-1] == "nothing else to change"
        users.append(f"and now, {load_id}?")
    async with editor(Recorder()) as conn:
        with pytest.raises(RequestError):
            await conn.load_session(cwd=str(acp_env.repo), session_id="codetap-unknown",
                                    mcp_servers=[])


@pytest.mark.parametrize(("choice", "status"), [("yes", "completed"), ("no", "failed")])
async def test_a_policy_approval_is_a_permission_request_on_the_bash_call(
        acp_env: AcpEnv, choice: str, status: str) -> None:
    command = "python3 -c 'print(6 * 7)'"
    acp_env.model([{"tool_calls": [{"name": "bash", "arguments": {"command": command}}]},
                   {"tool_calls": [finish("ran it")]}])
    (acp_env.repo / ".codetap").mkdir()
    (acp_env.repo / ".codetap" / "config.toml").write_text('[policy]\nask = ["python3 *"]\n')
    rec = Recorder(choose=lambda options: next(o.option_id for o in options if o.name == choice))
    async with editor(rec) as conn:
        sid = await new_session(conn, acp_env.repo)
        assert await prompt(conn, sid, "run it") == "end_turn"
    [(tool_call, options)] = rec.asked
    assert [(o.name, o.kind) for o in options] == [("yes", "allow_once"), ("no", "reject_once")]
    bash = call(rec, f"Run `{command}`")
    assert bash.kind == "execute" and tool_call.tool_call_id == bash.tool_call_id
    assert command in (tool_call.title or "")
    seen = statuses(rec, bash.tool_call_id)
    assert seen[seen.index("pending", 1):][-1] == status  # pending again while asked
    if choice == "yes":
        done = [u for u in rec.of(ToolCallProgress)
                if u.tool_call_id == bash.tool_call_id and u.status == "completed"]
        assert "42" in done[0].content[0].content.text
