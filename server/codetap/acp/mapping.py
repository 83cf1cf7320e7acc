"""A task's journal as ACP ``session/update``s, and its end state as a ``stopReason``.

One :class:`Mapper` per ACP session follows one task's journal (docs/protocol.md "Journal
entries") in ``seq`` order:

- ``model_turn``: its text as an ``agent_message_chunk``; its usage as a ``usage_update``
  (``used``: the turn's input + output tokens, i.e. the context it filled; ``size``: the
  model's context window; ``cost``: the task's cumulative cost in USD).
- ``tool_intent``: a ``tool_call`` (``pending``; the first call not yet ended is
  ``in_progress``: calls run in order) with kind, title, locations and, for edit/write,
  ``diff`` content. ``todo`` also gives a ``plan``; ``finish`` shows no call.
- ``approval`` without answer: the call goes back to ``pending`` (awaiting the user).
- ``tool_result``: ``tool_call_update`` ``completed`` or ``failed`` with the output;
  ``finish`` gives its summary as an ``agent_message_chunk``.
- ``warning``: an ``agent_thought_chunk``; ``user`` (replay only): a ``user_message_chunk``.

Questions (an ``ask`` call, or an approval) are tracked so the session can put the pending
one to the user (:meth:`Mapper.pending`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    AgentThoughtChunk,
    Cost,
    PlanEntry,
    TextContentBlock,
    ToolCallProgress,
    ToolCallStart,
    UsageUpdate,
    UserMessageChunk,
)

from codetap.acp import tools

Update = (AgentMessageChunk | AgentThoughtChunk | UserMessageChunk | ToolCallStart
          | ToolCallProgress | AgentPlanUpdate | UsageUpdate)
StopReason = Literal["end_turn", "max_tokens", "max_turn_requests", "refusal", "cancelled"]
PLAN_STATUS: dict[str, Literal["pending", "in_progress", "completed"]] = {
    "pending": "pending", "in_progress": "in_progress", "done": "completed"}
APPROVAL_OPTIONS = ["yes", "no"]


@dataclass
class Pending:
    """A question the task waits on: ``kind`` question | approval, the call it belongs to,
    its text and the answers offered (``[]``: free text)."""

    call_id: str
    kind: Literal["question", "approval"]
    text: str
    options: list[str] = field(default_factory=list)


def _text(text: str) -> TextContentBlock:
    return TextContentBlock(type="text", text=text)


def agent_text(text: str) -> AgentMessageChunk:
    """An ``agent_message_chunk`` of ``text``."""
    return AgentMessageChunk(session_update="agent_message_chunk", content=_text(text))


def plan(items: Any) -> AgentPlanUpdate:
    """The todo list (``[{text, status: pending|in_progress|done}]``) as an ACP plan."""
    entries = [PlanEntry(content=str(i.get("text", "")), priority="medium",
                         status=PLAN_STATUS.get(str(i.get("status")), "pending"))
               for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return AgentPlanUpdate(session_update="plan", entries=entries)


class Mapper:
    """Journal entries of one task -> ACP updates. ``root``: the repository the session is
    bound to (locations and diffs are shown there); ``context_window``: the model's window
    in tokens (``usage_update.size``); ``intent``: shown for the first user entry when
    ``replay`` (session/load) is on."""

    def __init__(self, root: Path, context_window: int, *, intent: str = "") -> None:
        self.root = root
        self.context_window = context_window
        self.intent = intent
        self.replay = False
        self.cost_usd = 0.0
        self.turn_tokens = [0, 0]  # input, output since reset_turn()
        self._calls: dict[str, tuple[str, dict[str, Any]]] = {}
        self._asks: dict[str, Pending] = {}
        self._seen_user = False
        self._current: str | None = None  # the call last shown in_progress

    def reset_turn(self) -> None:
        """Start counting a new prompt turn's tokens."""
        self.turn_tokens = [0, 0]

    def pending(self) -> Pending | None:
        """The newest question or approval not answered yet, if any."""
        return next(reversed(self._asks.values()), None)

    def updates(self, kind: str, data: dict[str, Any]) -> list[Update]:
        """The updates one journal entry gives (often none)."""
        handler = getattr(self, f"_on_{kind}", None)
        return list(handler(data)) if handler is not None else []

    def abandon(self) -> list[Update]:
        """Calls that will never end (the task was cancelled under them): ``failed``."""
        out: list[Update] = [ToolCallProgress(session_update="tool_call_update",
                                              tool_call_id=cid, status="failed")
                             for cid in self._calls]
        self._calls.clear()
        self._asks.clear()
        return out

    # -- entries ---------------------------------------------------------------------
    def _on_user(self, data: dict[str, Any]) -> list[Update]:
        first, self._seen_user = not self._seen_user, True
        if not self.replay:
            return []
        if first:
            text = self.intent or str(data.get("content", ""))
        elif data.get("follow_up"):
            text = str(data.get("content", ""))
        else:
            return []  # the runtime's own nudges to the model
        return [UserMessageChunk(session_update="user_message_chunk", content=_text(text))]

    def _on_model_turn(self, data: dict[str, Any]) -> list[Update]:
        out: list[Update] = []
        message = data.get("message") or {}
        text = message.get("content") if isinstance(message, dict) else None
        if isinstance(text, str) and text and text != "(no tool call)":
            out.append(agent_text(text))
        usage = data.get("usage") or {}
        tin, tout = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        self.turn_tokens[0] += tin
        self.turn_tokens[1] += tout
        self.cost_usd += float(usage.get("cost_usd", 0.0))
        out.append(UsageUpdate(session_update="usage_update", used=tin + tout,
                               size=max(self.context_window, tin + tout),
                               cost=Cost(amount=round(self.cost_usd, 6), currency="USD")))
        return out

    def _on_tool_intent(self, data: dict[str, Any]) -> list[Update]:
        cid, name = str(data.get("call_id", "")), str(data.get("name", ""))
        raw = data.get("arguments")
        args: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if cid in self._calls or name == "finish":
            return []  # a re-journaled intent (checked again before running) or finish
        self._calls[cid] = (name, args)
        out: list[Update] = [ToolCallStart(
            session_update="tool_call", tool_call_id=cid, title=tools.title(name, args),
            kind=tools.kind(name), status="pending",
            locations=tools.locations(name, args, self.root) or None,
            content=tools.start_content(name, args, self.root) or None, raw_input=args)]
        if name == "todo":
            out.append(plan(args.get("items")))
        if name == "ask":
            options = [str(o) for o in args.get("options") or []]
            self._asks[cid] = Pending(cid, "question", str(args.get("question", "")), options)
        return out + self._running()

    def _running(self) -> list[Update]:
        """The first call not ended is the one running now (calls run in order)."""
        first = next(iter(self._calls), None)
        if first is None or first in self._asks or first == self._current:
            return []
        self._current = first
        return [ToolCallProgress(session_update="tool_call_update", tool_call_id=first,
                                 status="in_progress")]

    def _on_approval(self, data: dict[str, Any]) -> list[Update]:
        cid = str(data.get("call_id", ""))
        if data.get("answer") is None:
            self._asks[cid] = Pending(cid, "approval", f"Run `{data.get('command', '')}`?",
                                      list(APPROVAL_OPTIONS))
            return [ToolCallProgress(session_update="tool_call_update", tool_call_id=cid,
                                     status="pending")]
        self._asks.pop(cid, None)
        if data.get("answer") != "yes":
            return []
        return [ToolCallProgress(session_update="tool_call_update", tool_call_id=cid,
                                 status="in_progress")]

    def _on_tool_result(self, data: dict[str, Any]) -> list[Update]:
        cid, name = str(data.get("call_id", "")), str(data.get("name", ""))
        self._asks.pop(cid, None)
        if name == "finish":
            summary = (data.get("meta") or {}).get("summary")
            return [agent_text(str(summary))] if summary else []
        known = self._calls.pop(cid, None)
        is_error = bool(data.get("is_error"))
        out: list[Update] = []
        if known is None:  # the intent is not in what this mapper saw: announce it now
            out.append(ToolCallStart(session_update="tool_call", tool_call_id=cid,
                                     title=tools.title(name, {}), kind=tools.kind(name)))
        out.append(ToolCallProgress(
            session_update="tool_call_update", tool_call_id=cid,
            status="failed" if is_error else "completed",
            content=tools.result_content(name, data.get("output"), is_error)))
        if name == "todo" and isinstance(data.get("todo"), list):
            out.append(plan(data["todo"]))
        return out + self._running()

    def _on_warning(self, data: dict[str, Any]) -> list[Update]:
        text = str(data.get("message", ""))
        return [AgentThoughtChunk(session_update="agent_thought_chunk",
                                  content=_text(f"warning: {text}"))] if text else []

    def _on_rollback(self, data: dict[str, Any]) -> list[Update]:
        return [agent_text(f"(rolled back to step {data.get('to_step')})")]


def stop_reason(state: str, error: str | None) -> tuple[StopReason, str | None]:
    """The ``stopReason`` of a turn that ended with the task in ``state`` (``error``: the
    task's failure reason), and a message to show first (None: nothing to add).

    ready/applied/discarded -> ``end_turn``; cancelled/paused -> ``cancelled``; failed on the
    token limit -> ``max_tokens``; on the step, cost or time limit -> ``max_turn_requests``;
    a model that refused -> ``refusal``; any other failure -> ``end_turn`` with the reason
    as a message (ACP has no "failed" stop reason; the error is the agent's answer).
    """
    if state in ("cancelled", "paused"):
        return "cancelled", None
    if state != "failed":
        return "end_turn", None
    reason = error or "unknown error"
    note = f"codetap: the task failed: {reason}"
    if reason.startswith("token limit"):
        return "max_tokens", note
    if reason.startswith(("step limit", "cost limit", "time limit")):
        return "max_turn_requests", note
    if "refus" in reason.lower():
        return "refusal", note
    return "end_turn", note
