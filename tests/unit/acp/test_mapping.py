"""Journal entries -> ACP updates, tool calls -> ACP kinds/locations/diffs, end states ->
stop reasons (codetap.acp.mapping, codetap.acp.tools)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    FileEditToolCallContent,
    ToolCallProgress,
    ToolCallStart,
    UsageUpdate,
    UserMessageChunk,
)

from codetap.acp import tools
from codetap.acp.mapping import Mapper, stop_reason
from codetap.acp.sessions import SessionFile, task_of_id
from codetap.acp.turns import permission_options

ROOT = Path("/repo")


def intent(cid: str, name: str, **args: Any) -> dict[str, Any]:
    return {"call_id": cid, "name": name, "arguments": args}


def result(cid: str, name: str, output: str = "ok", is_error: bool = False) -> dict[str, Any]:
    return {"call_id": cid, "name": name, "output": output, "is_error": is_error, "meta": {}}


def statuses(updates: list[Any]) -> list[tuple[str, str | None]]:
    return [(u.tool_call_id, u.status) for u in updates
            if isinstance(u, ToolCallStart | ToolCallProgress)]


@pytest.mark.parametrize(("name", "kind"), [
    ("read", "read"), ("edit", "edit"), ("write", "edit"), ("bash", "execute"),
    ("grep", "search"), ("glob", "search"), ("lsp", "search"), ("symbols", "search"),
    ("todo", "think"), ("ask", "other"), ("finish", "other"), ("mystery", "other")])
def test_every_codetap_tool_has_an_acp_kind(name: str, kind: str) -> None:
    assert tools.kind(name) == kind


def test_locations_are_absolute_under_the_session_repository_with_0_based_lines() -> None:
    [loc] = tools.locations("read", {"path": "src/a.py", "offset": 10}, ROOT)
    assert (loc.path, loc.line) == ("/repo/src/a.py", 9)
    assert tools.locations("bash", {"command": "ls"}, ROOT) == []


def test_write_diff_takes_the_repository_file_as_old_text(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old\n")
    [diff] = tools.start_content("write", {"path": "a.txt", "content": "new\n"}, tmp_path)
    assert isinstance(diff, FileEditToolCallContent)
    assert (diff.old_text, diff.new_text) == ("old\n", "new\n")
    [new] = tools.start_content("write", {"path": "b.txt", "content": "x"}, tmp_path)
    assert isinstance(new, FileEditToolCallContent) and new.old_text is None


def test_calls_run_in_order_pending_then_in_progress_then_completed_or_failed() -> None:
    m = Mapper(ROOT, 1000)
    out = m.updates("tool_intent", intent("a", "read", path="x.py"))
    out += m.updates("tool_intent", intent("b", "bash", command="false"))
    out += m.updates("tool_result", result("a", "read"))
    out += m.updates("tool_result", result("b", "bash", "exit 1", is_error=True))
    assert statuses(out) == [("a", "pending"), ("a", "in_progress"), ("b", "pending"),
                             ("a", "completed"), ("b", "in_progress"), ("b", "failed")]


def test_a_re_journaled_intent_is_not_announced_twice() -> None:
    m = Mapper(ROOT, 1000)
    first = m.updates("tool_intent", intent("a", "edit", path="x", old_string="1",
                                            new_string="2"))
    assert m.updates("tool_intent", intent("a", "edit", path="x", old_string="1",
                                           new_string="2")) == []
    assert [type(u) for u in first] == [ToolCallStart, ToolCallProgress]


def test_model_text_usage_plan_and_finish() -> None:
    m = Mapper(ROOT, 1000)
    turn = {"message": {"content": "hi"}, "usage": {"input_tokens": 300, "output_tokens": 20,
                                                     "cost_usd": 0.5}}
    out = m.updates("model_turn", turn) + m.updates("model_turn", turn)
    texts = [u.content.text for u in out if isinstance(u, AgentMessageChunk)]
    usage = [u for u in out if isinstance(u, UsageUpdate)]
    assert texts == ["hi", "hi"]
    assert [(u.used, u.size, u.cost.amount if u.cost else None) for u in usage] == [
        (320, 1000, 0.5), (320, 1000, 1.0)]
    assert m.turn_tokens == [600, 40]
    plan = m.updates("tool_intent", intent("t", "todo", items=[
        {"text": "a", "status": "done"}, {"text": "b", "status": "in_progress"}]))
    [p] = [u for u in plan if isinstance(u, AgentPlanUpdate)]
    assert [(e.content, e.status) for e in p.entries] == [("a", "completed"),
                                                          ("b", "in_progress")]
    assert m.updates("tool_intent", intent("f", "finish", summary="done")) == []
    fin = m.updates("tool_result", {**result("f", "finish"), "meta": {"summary": "done"}})
    assert [u.content.text for u in fin if isinstance(u, AgentMessageChunk)] == ["done"]


def test_questions_and_approvals_are_pending_until_answered() -> None:
    m = Mapper(ROOT, 1000)
    m.updates("tool_intent", intent("q", "ask", question="Which?", options=["a", "b"]))
    q = m.pending()
    assert q is not None and (q.kind, q.text, q.options) == ("question", "Which?", ["a", "b"])
    m.updates("tool_result", result("q", "ask", "the user answered: a"))
    assert m.pending() is None
    m.updates("tool_intent", intent("c", "bash", command="rm -rf build"))
    out = m.updates("approval", {"call_id": "c", "command": "rm -rf build", "answer": None})
    assert statuses(out) == [("c", "pending")]
    approval = m.pending()
    assert approval is not None and approval.options == ["yes", "no"]
    assert [(o.name, o.kind) for o in permission_options(approval)] == [
        ("yes", "allow_once"), ("no", "reject_once")]
    m.updates("approval", {"call_id": "c", "command": "rm -rf build", "answer": "no"})
    assert m.pending() is None
    assert statuses(m.abandon()) == [("c", "failed")]


def test_user_entries_only_on_replay_and_never_the_runtime_nudges() -> None:
    live = Mapper(ROOT, 1000, intent="fix add")
    assert live.updates("user", {"content": "Task: fix add"}) == []
    replay = Mapper(ROOT, 1000, intent="fix add")
    replay.replay = True
    out = [replay.updates("user", d) for d in (
        {"content": "Task: fix add"}, {"content": "Call a tool."},
        {"content": "and tests?", "follow_up": True})]
    texts = [u.content.text for ups in out for u in ups if isinstance(u, UserMessageChunk)]
    assert texts == ["fix add", "and tests?"]


@pytest.mark.parametrize(("state", "error", "reason", "noted"), [
    ("ready", None, "end_turn", False), ("applied", None, "end_turn", False),
    ("cancelled", None, "cancelled", False), ("paused", None, "cancelled", False),
    ("failed", "token limit reached (100 tokens)", "max_tokens", True),
    ("failed", "step limit reached (5 steps)", "max_turn_requests", True),
    ("failed", "cost limit reached ($1.00)", "max_turn_requests", True),
    ("failed", "time limit reached (60 s)", "max_turn_requests", True),
    ("failed", "model error: the model refused", "refusal", True),
    ("failed", "model error: 500", "end_turn", True)])
def test_stop_reasons(state: str, error: str | None, reason: str, noted: bool) -> None:
    got, note = stop_reason(state, error)
    assert got == reason
    assert (note is not None) == noted and (error is None or error in (note or ""))


def test_session_file_round_trip_and_task_ids(tmp_path: Path) -> None:
    f = SessionFile(tmp_path / "d" / "acp-sessions.json")
    assert f.get("codetap-x") is None
    f.put("codetap-x", "7", tmp_path)
    f.put("codetap-y", "8", tmp_path)
    assert f.get("codetap-x") == ("7", tmp_path)
    assert SessionFile(f.path).get("codetap-y") == ("8", tmp_path)
    assert (task_of_id("task-12"), task_of_id("12"), task_of_id("codetap-1")) == (
        "12", "12", None)
