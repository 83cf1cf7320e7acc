"""Folding the journal into AgentState: when a role's run is already over."""

from __future__ import annotations

from codetap.agent.state import rebuild
from codetap.store import Checkpoint, Event
from codetap.types import JSON


def _turn(call_id: str, name: str, arguments: JSON) -> JSON:
    return {"message": {"role": "assistant", "content": "", "tool_calls": [
        {"id": call_id, "name": name, "arguments": arguments}]},
        "usage": {"input_tokens": 10, "output_tokens": 2}, "stop_reason": "tool_use"}


def _events(*entries: tuple[int, str, JSON]) -> list[Event]:
    return [Event(1, seq, step, 0.0, kind, data)
            for seq, (step, kind, data) in enumerate(entries, start=1)]


FINISHED = _events(
    (0, "user", {"content": "do it"}),
    (1, "model_turn", _turn("c1", "todo", {"items": []})),
    (1, "tool_result", {"call_id": "c1", "name": "todo", "output": "ok", "is_error": False,
                        "meta": {}}),
    (2, "model_turn", _turn("c2", "finish", {"summary": "all done"})),
    (2, "tool_result", {"call_id": "c2", "name": "finish", "output": "finished: all done",
                        "is_error": False, "meta": {"summary": "all done"}}),
)
CHECKPOINTS = [Checkpoint(1, 3, 1, None, {"step": 1, "msg_count": 3}),
               Checkpoint(1, 5, 2, None, {"step": 2, "msg_count": 5})]


def test_a_journaled_finish_result_means_submitted() -> None:
    st = rebuild(FINISHED, CHECKPOINTS)
    assert st.submitted == "all done"
    assert (st.step, st.pending, st.needs_checkpoint) == (2, [], False)
    assert (st.usage.input_tokens, st.usage.output_tokens) == (20, 4)


def test_finish_without_its_result_is_pending_not_submitted() -> None:
    st = rebuild(FINISHED[:4], CHECKPOINTS[:1])
    assert st.submitted is None
    assert [c.name for c in st.pending] == ["finish"]


def test_a_rejected_finish_call_is_not_submitted() -> None:
    rejected = [*FINISHED[:4], Event(1, 5, 2, 0.0, "tool_result", {
        "call_id": "c2", "name": "finish", "output": "error: summary is required",
        "is_error": True, "meta": {}})]
    assert rebuild(rejected, CHECKPOINTS).submitted is None


def test_old_journals_without_meta_summary_use_the_output() -> None:
    old = [*FINISHED[:4], Event(1, 5, 2, 0.0, "tool_result", {
        "call_id": "c2", "name": "finish", "output": "finished: all done", "meta": {}})]
    assert rebuild(old, CHECKPOINTS).submitted == "all done"


def test_rollback_past_the_finish_step_reopens_the_run() -> None:
    rolled = [*FINISHED, Event(1, 6, 1, 0.0, "rollback", {"to_step": 1, "to_seq": 3})]
    st = rebuild(rolled, CHECKPOINTS)
    assert st.submitted is None
    assert st.step == 1
