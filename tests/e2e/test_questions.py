"""Questions from the ``ask`` tool reach the user: codetap/ask, showMessageRequest, answer.

A replay session whose first turn calls ``ask`` runs against the real daemon; clients are
real ``codetap lsp`` processes driven by pytest-lsp.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from tests.e2e.conftest import (
    Editor,
    Env,
    connect,
    session_lines,
    write_config,
)

from codetap.daemon.lock import lock_is_held, read_pid

QUESTION = "Should add return a + b?"
OPTIONS = ["yes, fix it", "no, leave it"]


def ask_lines(options: list[str] | None = OPTIONS) -> list[dict[str, Any]]:
    """Replay turns: ask the user, then read, fix and finish (as session_lines)."""
    args: dict[str, Any] = {"question": QUESTION}
    if options is not None:
        args["options"] = options
    return [{"tool_calls": [{"name": "ask", "arguments": args}]}, *session_lines()]


@pytest.fixture
def qenv(env: Env, tmp_path: Path, xdg: Path) -> Env:
    """``env`` whose default model asks a question first (``free`` asks without options)."""
    write_config(xdg, tmp_path, {"asks": ask_lines(), "free": ask_lines(None),
                                 "fast": session_lines()})
    return env


async def close(editor: Editor) -> None:
    await editor.client.shutdown_session()
    await editor.client.stop()


def on_ask(editor: Editor, reply: Any) -> list[Any]:
    """Answer codetap/ask with ``reply(params)``; returns the list of params received."""
    got: list[Any] = []

    @editor.client.feature("codetap/ask")
    async def ask(params: Any) -> Any:
        got.append(params)
        value = reply(params)
        return await value if asyncio.iscoroutine(value) else value

    return got


def on_message_request(editor: Editor, pick: int | None) -> list[lsp.ShowMessageRequestParams]:
    """Answer window/showMessageRequest with action ``pick`` (None: dismiss)."""
    got: list[lsp.ShowMessageRequestParams] = []

    @editor.client.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)
    def request(params: lsp.ShowMessageRequestParams) -> lsp.MessageActionItem | None:
        got.append(params)
        return None if pick is None or not params.actions else params.actions[pick]

    return got


def tool_results(editor: Editor, task_id: str, name: str) -> list[str]:
    """Outputs of the task's journaled results of tool ``name`` (from codetap/task/event)."""
    return [n["data"]["output"] for n in editor.notes.get("codetap/task/event", [])
            if n["id"] == task_id and n["kind"] == "tool_result" and n["data"]["name"] == name]


async def start(editor: Editor, env: Env, model: str = "asks") -> str:
    info = await editor.request("codetap/task/start", {
        "intent": "make add add", "root_uri": env.root_uri, "model": model})
    return str(info["id"])


async def test_client_with_ask_option_gets_codetap_ask(qenv: Env) -> None:
    editor = await connect(qenv, {"ask": True})
    try:
        asked = on_ask(editor, lambda p: {"answer": p["options"][0]})
        task_id = await start(editor, qenv)
        await editor.wait_state(task_id, "ready")
        assert asked == [{"id": task_id, "kind": "question", "question": QUESTION,
                          "options": OPTIONS}]
        assert tool_results(editor, task_id, "ask") == ["the user answered: yes, fix it"]
        states = [n["state"] for n in editor.notes["codetap/task/updated"] if n["id"] == task_id]
        assert "waiting" in states
    finally:
        await close(editor)


async def test_stock_client_gets_show_message_request(qenv: Env) -> None:
    editor = await connect(qenv)
    try:
        asked = on_message_request(editor, 0)
        task_id = await start(editor, qenv)
        await editor.wait_state(task_id, "ready")
        assert len(asked) == 1
        assert asked[0].message == f"codetap task {task_id} asks: {QUESTION}"
        assert [a.title for a in asked[0].actions or []] == OPTIONS
        assert tool_results(editor, task_id, "ask") == ["the user answered: yes, fix it"]
    finally:
        await close(editor)


async def quit_while_asked(editor: Editor, handlers: list[asyncio.Task[Any]]) -> None:
    """The editor quits while its codetap/ask handler is still open (never answered)."""
    # pygls's client fails at stop on a still-running request handler: forget it first.
    for msg_id, fut in list(editor.client.protocol._request_futures.items()):
        if fut in handlers:
            del editor.client.protocol._request_futures[msg_id]
    await close(editor)
    for h in handlers:
        h.cancel()


def hanging(editor: Editor) -> tuple[list[Any], list[asyncio.Task[Any]]]:
    """codetap/ask handler that never answers; (params received, handler tasks)."""
    got: list[Any] = []
    tasks: list[asyncio.Task[Any]] = []

    @editor.client.feature("codetap/ask")
    async def ask(params: Any) -> Any:
        got.append(params)
        task = asyncio.current_task()
        assert task is not None
        tasks.append(task)
        await asyncio.Event().wait()

    return got, tasks


async def test_question_survives_disconnect_and_next_client_answers(qenv: Env) -> None:
    first = await connect(qenv, {"ask": True})
    asked_first, handlers = hanging(first)
    task_id = await start(first, qenv)
    await first.wait_for(lambda: asked_first)
    await quit_while_asked(first, handlers)
    await asyncio.sleep(1.0)  # nobody is connected: the task keeps waiting

    asked: list[Any] = []

    def answer_no(params: Any) -> Any:
        asked.append(params)
        return {"answer": "no, leave it"}

    second = await connect(qenv, {"ask": True}, setup=lambda ed: on_ask(ed, answer_no))
    try:
        await second.wait_state(task_id, "ready")
        assert [p["question"] for p in asked] == [QUESTION]
        assert tool_results(second, task_id, "ask") == ["the user answered: no, leave it"]
        states = [n["state"] for n in second.notes["codetap/task/updated"] if n["id"] == task_id]
        assert states[0] == "waiting", states  # still waiting when the second client came
    finally:
        await close(second)


async def test_null_answer_leaves_question_pending_then_codetap_answer(qenv: Env) -> None:
    # VS Code answers a dismissed codetap/ask with a null result; others send junk.
    replies: list[Any] = [None, {"answer": 5}]
    editor = await connect(qenv, {"ask": True})
    try:
        asked = on_ask(editor, lambda p: replies.pop(0) if replies else None)
        task_id = await start(editor, qenv)
        await editor.wait_for(lambda: asked)
        await asyncio.sleep(0.5)
        assert await editor.task_state(task_id) == "waiting"
        other = await start(editor, qenv)  # a second question, answered with junk
        await editor.wait_for(lambda: len(asked) == 2)
        await asyncio.sleep(0.5)
        assert await editor.task_state(other) == "waiting"
        info = await editor.request("codetap/answer", {"id": task_id, "answer": "yes, fix it"})
        assert info["id"] == task_id
        await editor.wait_state(task_id, "ready")
        assert tool_results(editor, task_id, "ask") == ["the user answered: yes, fix it"]
        await editor.command("codetap.answer", {"id": other, "answer": "no, leave it"})
        await editor.wait_state(other, "ready")
        assert tool_results(editor, other, "ask") == ["the user answered: no, leave it"]
        assert len(asked) == 2  # nobody was asked twice
    finally:
        await close(editor)


async def test_answer_command_withdraws_the_open_prompt(qenv: Env) -> None:
    editor = await connect(qenv, {"ask": True})
    asked, handlers = hanging(editor)
    try:
        task_id = await start(editor, qenv)
        await editor.wait_for(lambda: handlers)
        assert asked[0]["id"] == task_id
        await editor.command("codetap.answer", {"id": task_id, "answer": "yes, fix it"})
        await editor.wait_state(task_id, "ready")
        assert tool_results(editor, task_id, "ask") == ["the user answered: yes, fix it"]
        # The server sent $/cancelRequest for its codetap/ask: the client's handler stopped.
        await editor.wait_for(lambda: handlers[0].done(), timeout=5)
        assert handlers[0].cancelled()
    finally:
        await quit_while_asked(editor, handlers)


async def test_dismissed_message_request_and_answer_errors(qenv: Env) -> None:
    editor = await connect(qenv)
    try:
        asked = on_message_request(editor, None)
        task_id = await start(editor, qenv, model="free")
        await editor.wait_for(lambda: asked)
        assert asked[0].actions is None and "codetap.answer" in asked[0].message
        await asyncio.sleep(0.5)
        assert await editor.task_state(task_id) == "waiting"
        with pytest.raises(Exception, match="no task with id 999"):
            await editor.request("codetap/answer", {"id": "999", "answer": "x"})
        with pytest.raises(Exception, match="answer: Field required"):
            await editor.request("codetap/answer", {"id": task_id})
        await editor.request("codetap/answer", {"id": task_id, "answer": "use a plus"})
        await editor.wait_state(task_id, "ready")
        assert tool_results(editor, task_id, "ask") == ["the user answered: use a plus"]
        with pytest.raises(Exception, match="has no pending question"):
            await editor.request("codetap/answer", {"id": task_id, "answer": "again"})
    finally:
        await close(editor)


def kill_daemon(env: Env) -> None:
    """kill -9 the daemon (its worker dies with it) and wait until its lock is free."""
    pid = read_pid(env.paths)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while lock_is_held(env.paths):
        assert time.monotonic() < deadline, "the killed daemon still holds its lock"
        time.sleep(0.05)


async def test_question_is_asked_again_after_daemon_crash(qenv: Env) -> None:
    first = await connect(qenv, {"ask": True})
    asked_first, handlers = hanging(first)
    task_id = await start(first, qenv)
    await first.wait_for(lambda: asked_first)
    await quit_while_asked(first, handlers)
    kill_daemon(qenv)  # the task dies waiting; the next daemon resumes it


    asked: list[Any] = []

    def answer_yes(params: Any) -> Any:
        asked.append(params)
        return {"answer": "yes, fix it"}

    second = await connect(qenv, {"ask": True}, setup=lambda ed: on_ask(ed, answer_yes))
    try:
        await second.wait_state(task_id, "ready")
        assert [p["id"] for p in asked] == [task_id]
        assert tool_results(second, task_id, "ask") == ["the user answered: yes, fix it"]
    finally:
        await close(second)


async def test_policy_approval_reaches_the_editor_as_codetap_ask(
        env: Env, tmp_path: Path, xdg: Path) -> None:
    """A project's ``[policy]`` asks before ``python3`` commands: the editor gets an
    approval (kind ``approval``, yes/no), and the command runs once approved."""
    command = "python3 -c 'print(6 * 7)'"
    write_config(xdg, tmp_path, {"approves": [
        {"tool_calls": [{"name": "bash", "arguments": {"command": command}}]},
        *session_lines()]})
    (env.repo / ".codetap").mkdir()
    (env.repo / ".codetap" / "config.toml").write_text('[policy]\nask = ["python3 *"]\n')
    editor = await connect(env, {"ask": True})
    try:
        asked = on_ask(editor, lambda p: {"answer": "yes"})
        task_id = await start(editor, env, "approves")
        await editor.wait_state(task_id, "ready")
        assert len(asked) == 1
        assert (asked[0]["kind"], asked[0]["options"]) == ("approval", ["yes", "no"])
        assert command in asked[0]["question"] and "python3 *" in asked[0]["question"]
        [output] = tool_results(editor, task_id, "bash")
        assert "42" in output
    finally:
        await close(editor)
