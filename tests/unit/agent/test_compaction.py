"""Long tasks against a model with a real context limit (loopback OpenAI-compatible server
that answers 400 ``context_length_exceeded`` past it): compaction in layers, journaled,
replayed exactly after kill -9; replies cut by the output limit."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from codetap.agent.state import rebuild
from codetap.config import Config, Limits
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.store.faults import ENV as FAULT_ENV
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.models.context_server import ContextModel, big_file, written
from tests.unit.models.scripted_server import ScriptedServer, event_stream, sse
from tests.unit.models.test_openai_provider import chunk, usage_chunk

WINDOW = 8192
MAX_OUT = 512
ROOT = Path(__file__).resolve().parents[3]


def model_config(url: str) -> ModelConfig:
    return ModelConfig("ctx", "openai", model="m", base_url=url + "/v1", context_window=WINDOW,
                       max_output_tokens=MAX_OUT, max_retries=0, timeout_s=20)


def runtime_config(url: str) -> Config:
    return dataclasses.replace(Config.load(), models={"ctx": model_config(url)},
                               default_model="ctx",
                               limits=Limits(max_steps=1000, max_tokens=10**9,
                                             max_cost_usd=1000.0))


def repo_for(path: Path, turns: int) -> Path:
    return make_repo(path, {"big.txt": big_file(turns), "README.md": "long task\n"})


async def run_task(url: str, repo: Path) -> tuple[Any, list[Any], str]:
    rt = await Runtime.open(runtime_config(url))
    try:
        task = await rt.wait((await rt.start_task("read it all", repo)).id)
        return task, await rt.store.events(task.id), await rt.diff(task.id)
    finally:
        await rt.close()


async def test_long_task_many_windows_of_output_ends_ready(xdg: Path, tmp_path: Path) -> None:
    turns = 150
    model = ContextModel(WINDOW, turns)
    async with ScriptedServer([], handler=model) as server:
        task, events, diff = await run_task(server.url, repo_for(tmp_path / "repo", turns))
    assert task.state is TaskState.READY, task.error
    assert task.summary == "all read"
    expected = written(turns)
    assert diff.count("diff --git") == len(expected) == 10
    for path, content in expected.items():
        assert f"+++ b/{path}\n" in diff and f"+{content}" in diff
    outputs = [e.data["output"] for e in events if e.kind == "tool_result"]
    assert sum(len(o) for o in outputs) / model.chars_per_token > 20 * WINDOW
    assert max(model.accepted) + MAX_OUT <= WINDOW
    layers = [e.data["layer"] for e in events if e.kind == "compaction"
              and e.data["layer"] != "summary_started"]
    started = [e.data for e in events if e.kind == "compaction"
               and e.data["layer"] == "summary_started"]
    assert len(started) == layers.count("summary") and all(s["estimate"] > 0 for s in started)
    assert "mask" in layers and "summary" in layers and model.summaries >= 1
    # each turn adds 15% of the window: a compaction frees room for more than one turn,
    # so the cached prefix survives several turns
    assert len(layers) < turns / 2
    sent = "\n".join(str(m.get("content")) for m in model.last_messages)
    assert "[output of `read big.txt` (" in sent and "removed to save context" in sent
    assert "## Task\nTask: read it all" in sent and "## Files changed so far\n- out/f0.txt" in sent
    assert model.rejected <= 2
    usage = [e.data["usage"] for e in events if e.kind == "model_turn"]
    assert sum(u["input_tokens"] for u in usage) == sum(model.accepted) - _summary_tokens(
        events, model)


def _summary_tokens(events: list[Any], model: ContextModel) -> int:
    return sum(e.data["usage"]["input_tokens"] for e in events
               if e.kind == "compaction" and "usage" in e.data)


async def test_context_length_exceeded_compacts_and_retries(xdg: Path, tmp_path: Path) -> None:
    """The server counts far more tokens than codetap estimates and reports no usage to
    calibrate with: its 400s must make codetap compact harder and go on."""
    turns = 40
    model = ContextModel(WINDOW, turns, chars_per_token=2.2, report_usage=False)
    async with ScriptedServer([], handler=model) as server:
        task, events, diff = await run_task(server.url, repo_for(tmp_path / "repo", turns))
    assert task.state is TaskState.READY, task.error
    assert model.rejected >= 1
    forced = [e.data for e in events if e.kind == "compaction" and e.data.get("forced")]
    assert forced and all(f["calibration"] > 1.0 for f in forced)
    assert diff.count("diff --git") == len(written(turns))


CHILD = """
import asyncio, sys
from pathlib import Path
from typing import Any
from tests.unit.agent.test_compaction import runtime_config
from codetap.runtime import Runtime

async def main():
    rt = await Runtime.open(runtime_config(sys.argv[1]))
    try:
        task = await rt.wait((await rt.start_task("read it all", Path(sys.argv[2]))).id)
        print(task.state, task.error, task.steps)
    finally:
        await rt.close()

asyncio.run(main())
"""


@pytest.mark.parametrize("fault", ["after_compaction#1", "compaction_summarized#1",
                                   "after_compaction#3", "after_tool:write#2"])
async def test_kill9_during_compaction_resumes_to_the_same_conversation(
        xdg: Path, tmp_path: Path, fault: str) -> None:
    turns = 70
    model = ContextModel(WINDOW, turns)
    async with ScriptedServer([], handler=model) as server:
        baseline, base_events, base_diff = await run_task(
            server.url, repo_for(tmp_path / "a", turns))
        assert baseline.state is TaskState.READY
        expected = model.last_messages[1:]  # without the system prompt (paths differ)
        repo = repo_for(tmp_path / "b", turns)
        env = {**os.environ, FAULT_ENV: fault, "PYTHONPATH": str(ROOT)}
        # The server answers from this event loop: the child must be awaited, not waited for.
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, server.url, str(repo), cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(child.communicate(), 300)
        assert child.returncode == -9, (out, err[-2000:])
        rt = await Runtime.open(runtime_config(server.url))
        try:
            task = await rt.wait(2)
            events = await rt.store.events(2)
            state = rebuild(events, await rt.store.checkpoints(2))
            base_state = rebuild(base_events, await rt.store.checkpoints(1))
            diff = await rt.diff(2)
        finally:
            await rt.close()
    assert task.state is TaskState.READY, task.error
    # A write killed after it ran is reconciled, not run again: only its result text differs.
    reconciled = {m.get("tool_call_id") for m in model.last_messages
                  if "reconciled after a daemon restart" in str(m.get("content"))}
    assert len(reconciled) <= (1 if fault.startswith("after_tool:write") else 0)
    assert _without(model.last_messages[1:], reconciled) == _without(expected, reconciled)
    assert diff.replace(str(tmp_path / "b"), "") == base_diff.replace(str(tmp_path / "a"), "")
    kinds = [e.kind for e in events]
    assert kinds.count("model_turn") == [e.kind for e in base_events].count("model_turn")
    assert state.context == base_state.context
    assert len(state.messages) == len(base_state.messages)
    # A summary call killed before its result was journaled was paid twice: the repeated
    # call's summary entry counts the lost one (approximated as the repeated call's usage).
    lost = [e.data for e in events if e.kind == "compaction" and "lost_usage" in e.data]
    starts = sum(e.data["layer"] == "summary_started" for e in events if e.kind == "compaction")
    base_starts = sum(e.data["layer"] == "summary_started" for e in base_events
                      if e.kind == "compaction")
    if fault.startswith("compaction_summarized"):
        assert starts == base_starts + 1 and len(lost) == 1
        extra = lost[0]["lost_usage"]
        assert extra["calls"] == 1 and extra["approximate"] is True
        assert lost[0]["usage"]["input_tokens"] == 2 * extra["input_tokens"] > 0
        assert state.usage.input_tokens > base_state.usage.input_tokens
    else:
        assert starts == base_starts and not lost


def _without(messages: list[Any], call_ids: set[Any]) -> list[Any]:
    return [{**m, "content": "-"} if m.get("tool_call_id") in call_ids else m for m in messages]


def _call(index: int, call_id: str, name: str, arguments: str) -> str:
    return chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                  "function": {"name": name, "arguments": arguments}}]})


async def test_reply_cut_mid_tool_call_is_continued_not_run(xdg: Path,
                                                             tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "x\n"})
    cut = event_stream(chunk({"role": "assistant", "content": "Writing the module."}),
                       _call(0, "call_1", "write", '{"path": "mod.py", "content": "def f():\\n'),
                       chunk(finish="length"), usage_chunk(300, MAX_OUT), sse("[DONE]"))
    whole = json.dumps({"path": "mod.py", "content": "def f():\n    return 1\n"})
    write = event_stream(_call(0, "call_2", "write", whole), chunk(finish="tool_calls"),
                         usage_chunk(400, 40), sse("[DONE]"))
    done = event_stream(_call(0, "call_3", "finish", '{"summary": "wrote mod.py"}'),
                        chunk(finish="tool_calls"), usage_chunk(450, 10), sse("[DONE]"))
    async with ScriptedServer([cut, write, done]) as server:
        task, events, diff = await run_task(server.url, repo)
        second = server.requests[1].json()["messages"]
    assert task.state is TaskState.READY, task.error
    assert task.usage.output_tokens == MAX_OUT + 40 + 10
    results = [e.data for e in events if e.kind == "tool_result"]
    assert [r["call_id"] for r in results] == ["call_2", "call_3"]  # the cut call never ran
    turn = next(e.data for e in events if e.kind == "model_turn")
    assert turn["stop_reason"] == "max_tokens" and turn["truncated_calls"] == ["write"]
    assert turn["message"].get("tool_calls") is None
    assert "cut off by the output limit" in second[-1]["content"]
    assert "`write`" in second[-1]["content"] and "NOT run" in second[-1]["content"]
    assert "+    return 1\n" in diff


async def test_fourth_cut_in_a_row_asks_for_a_smaller_step(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "x\n"})
    cut = event_stream(chunk({"content": "a very long answer"}), chunk(finish="length"),
                       usage_chunk(100, MAX_OUT), sse("[DONE]"))
    done = event_stream(_call(0, "call_9", "finish", '{"summary": "ok"}'),
                        chunk(finish="tool_calls"), usage_chunk(100, 5), sse("[DONE]"))
    async with ScriptedServer([cut, cut, cut, cut, done]) as server:
        task, _, _ = await run_task(server.url, repo)
        nudges = [r.json()["messages"][-1]["content"] for r in server.requests[1:]]
    assert task.state is TaskState.READY, task.error
    assert task.usage.output_tokens == 4 * MAX_OUT + 5
    assert all("Continue from where you stopped" in n for n in nudges[:3])
    assert "smaller step" in nudges[3]

