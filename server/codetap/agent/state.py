"""Agent state and how it is rebuilt from the journal (ARCHITECTURE.md "Durability").

The journal is the source of truth. Folding a task's events gives the conversation, the
step count, usage, the plan and the read state; a ``rollback`` event restores the state of
an earlier checkpoint (kept rows stay: history is a branch, nothing is deleted).

Journal entry kinds written by the agent (``data`` shapes):
  ``user``        {content}
  ``model_turn``  {message: Message JSON, usage: Usage JSON, stop_reason, model,
                   prompt?: {estimate, raw, budget}, truncated_calls?: [name]}
  ``tool_intent`` {call_id, name, arguments, before?: {path: sha256|null}}
  ``tool_result`` {call_id, name, output, is_error, meta, reads?: {path: FileRead}}
  ``approval``    {call_id, command, answer}  (answer null: asked, not yet answered)
  ``compaction``  {layer: "mask"|"summary", masked: {index: stub}, cut?, summary?,
                   note, note_at, tokens_before, tokens_after, forced, calibration?,
                   usage?, model?, lost_usage?}, or {layer: "summary_started", model,
                   estimate} before a summary call (see :mod:`codetap.agent.compaction`)
  ``rollback``    {to_step, to_seq}
  ``handoff``     {from_role, to_role, from_stage, to_stage, round, data, context}
                  (written by :mod:`codetap.tasks.workflow`): the next role's conversation
                  starts here, with ``context`` as its first user message
  ``state``       {from, to, reason?}     (written by the engine)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from codetap.store import Checkpoint, Event
from codetap.tools.base import FileRead
from codetap.types import JSON, Message, ToolCall, Usage


@dataclass(slots=True)
class ContextState:
    """How the conversation sent to the model differs from the full one (the journal's):
    ``masks`` maps indexes of tool results to the stub sent instead; ``messages[:cut]`` are
    replaced by one ``summary`` message; ``note`` (the re-injected role, task, plan and
    changed files) is sent just before ``messages[note_at]``. Indexes are into
    ``AgentState.messages``. ``summarizing``: a summary call was started and its result
    not journaled yet; ``lost_summaries``: started summary calls whose result was lost (the
    process died) and not yet counted in a summary entry's usage."""

    masks: dict[int, str] = field(default_factory=dict)
    cut: int = 0
    summary: str = ""
    note: str = ""
    note_at: int = 0
    summarizing: bool = False
    lost_summaries: int = 0

    def apply(self, entry: JSON) -> None:
        """Fold one ``compaction`` journal entry in."""
        if entry.get("layer") == "summary_started":
            self.lost_summaries += int(self.summarizing)
            self.summarizing = True
            return
        if entry.get("layer") == "summary":
            self.summarizing, self.lost_summaries = False, 0
        self.masks.update({int(k): v for k, v in (entry.get("masked") or {}).items()})
        if entry.get("cut"):
            self.cut, self.summary = int(entry["cut"]), str(entry.get("summary", ""))
        if entry.get("note"):
            self.note, self.note_at = str(entry["note"]), int(entry.get("note_at", 0))

    def trim(self, msg_count: int) -> None:
        """Forget what refers to messages a rollback removed."""
        self.masks = {i: s for i, s in self.masks.items() if i < msg_count}
        if self.cut > msg_count:
            self.cut, self.summary = 0, ""
        if self.note_at > msg_count:
            self.note, self.note_at = "", 0


@dataclass(slots=True)
class AgentState:
    """What the agent carries between steps.

    ``usage`` counts every model call of the task once (rolled-back steps included: they
    were paid for); ``elapsed_s`` is wall time spent running (not waiting or paused).
    ``pending`` lists the calls of the last model turn that have no journaled result;
    ``needs_checkpoint`` says that turn's step has no checkpoint yet (the process died
    between its last result and its checkpoint), so resuming must checkpoint it first.
    ``submitted`` is the summary of a ``finish`` call of the last step that returned a
    result (None otherwise): the role's run is over even if the process died before the
    task was marked ready, and resuming must not ask the model for another turn.
    ``approvals`` maps the last turn's call ids whose approval was asked for to the
    answer (None while unanswered). ``context`` is the compaction state, ``calibration``
    the ratio of reported to estimated prompt tokens per model (from the last turn that
    reported usage), ``cutoffs`` the number of consecutive turns cut by the output limit,
    ``changed_files`` the files edit/write changed so far (workspace-relative, in order).
    """

    messages: list[Message] = field(default_factory=list)
    step: int = 0
    usage: Usage = field(default_factory=Usage)
    todo: list[JSON] = field(default_factory=list)
    reads: dict[str, FileRead] = field(default_factory=dict)
    elapsed_s: float = 0.0
    pending: list[ToolCall] = field(default_factory=list)
    intents: dict[str, JSON] = field(default_factory=dict)
    needs_checkpoint: bool = False
    submitted: str | None = None
    approvals: dict[str, str | None] = field(default_factory=dict)
    context: ContextState = field(default_factory=ContextState)
    calibration: dict[str, float] = field(default_factory=dict)
    cutoffs: int = 0
    changed_files: list[str] = field(default_factory=list)
    turns_before: dict[str, int] = field(default_factory=dict)

    def note_turn(self, turn: JSON) -> None:
        """Update calibration and the cut-off count from a ``model_turn`` entry."""
        self.cutoffs = self.cutoffs + 1 if turn.get("stop_reason") == "max_tokens" else 0
        raw = (turn.get("prompt") or {}).get("raw")
        reported = (turn.get("usage") or {}).get("input_tokens")
        if raw and reported:
            ratio = min(4.0, max(0.25, reported / raw))
            self.calibration[str(turn.get("model", ""))] = ratio

    def note_changes(self, result: JSON) -> None:
        """Remember the files a ``tool_result`` says it changed."""
        if result.get("is_error"):
            return
        for path in (result.get("meta") or {}).get("changed_files") or []:
            if isinstance(path, str) and path not in self.changed_files:
                self.changed_files.append(path)

    def checkpoint_state(self) -> JSON:
        """The small JSON saved with a checkpoint (no conversation: that is the journal)."""
        return {
            "step": self.step,
            "msg_count": len(self.messages),
            "todo": self.todo,
            "reads": {k: dataclasses.asdict(v) for k, v in self.reads.items()},
            "elapsed_s": round(self.elapsed_s, 3),
        }


def rebuild(events: Iterable[Event], checkpoints: Iterable[Checkpoint]) -> AgentState:
    """Fold the journal into an :class:`AgentState` (see the module doc for entry kinds)."""
    by_seq = {c.seq: c for c in checkpoints}
    st = AgentState()
    segment: dict[str, int] = {}
    for ev in events:
        d = ev.data
        if ev.kind == "handoff":
            for model, n in segment.items():
                st.turns_before[model] = st.turns_before.get(model, 0) + n
            segment = {}
            _new_segment(st, str(d.get("context", "")))
        elif ev.kind == "user":
            st.messages.append(Message("user", d["content"]))
            st.submitted = None
        elif ev.kind == "model_turn":
            msg = Message.from_json(d["message"])
            st.messages.append(msg)
            st.usage.add(Usage.from_json(d.get("usage", {})))
            st.step = ev.step
            st.pending = list(msg.tool_calls)
            st.intents = {}
            st.needs_checkpoint = True
            st.submitted = None
            st.approvals = {}
            st.note_turn(d)
            model = str(d.get("model", ""))
            segment[model] = segment.get(model, 0) + 1
        elif ev.kind == "compaction":
            st.context.apply(d)
            st.usage.add(Usage.from_json(d.get("usage") or {}))
            if d.get("calibration"):
                st.calibration[str(d.get("calibration_model", ""))] = float(d["calibration"])
        elif ev.kind == "tool_intent":
            st.intents[d["call_id"]] = d
        elif ev.kind == "approval":
            st.approvals[d["call_id"]] = d.get("answer")
        elif ev.kind == "tool_result":
            st.messages.append(Message("tool", d["output"], tool_call_id=d["call_id"],
                                       name=d["name"], is_error=d.get("is_error", False)))
            st.pending = [c for c in st.pending if c.id != d["call_id"]]
            _chain_before(st, d)
            st.note_changes(d)
            for path, read in (d.get("reads") or {}).items():
                if read is None:
                    st.reads.pop(path, None)
                else:
                    st.reads[path] = FileRead(**read)
            if "todo" in d:
                st.todo = d["todo"]
            if d["name"] == "finish" and not d.get("is_error", False):
                st.submitted = _summary(d)
            st.elapsed_s = d.get("elapsed_s", st.elapsed_s)
        elif ev.kind == "rollback":
            cp = by_seq[d["to_seq"]]
            _restore(st, cp)
        if ev.seq in by_seq:
            st.needs_checkpoint = False
            if ev.kind != "rollback":
                st.elapsed_s = by_seq[ev.seq].state.get("elapsed_s", st.elapsed_s)
    return st


def _new_segment(st: AgentState, context: str) -> None:
    """A hand-off: the next role starts a conversation of its own (``context`` first);
    the step count, usage, wall time and the task's changed files carry on. A rollback to
    a step before the hand-off is not supported."""
    st.messages = [Message("user", context)]
    st.context = ContextState()
    st.todo, st.reads, st.pending, st.intents = [], {}, [], {}
    st.submitted, st.approvals, st.cutoffs = None, {}, 0


def _summary(finish_result: JSON) -> str:
    """The summary of a journaled ``finish`` result (``meta.summary``; journals written
    before it was recorded there only have the ``finished: <summary>`` output)."""
    summary = (finish_result.get("meta") or {}).get("summary")
    if isinstance(summary, str):
        return summary
    return str(finish_result["output"]).removeprefix("finished: ")


def _chain_before(st: AgentState, result: JSON) -> None:
    """After an edit/write result, a later call of the same step on the same file expects
    the content that result left (``meta.sha256_after``), not the one seen at intent time."""
    after = (result.get("meta") or {}).get("sha256_after")
    done = st.intents.get(result["call_id"], {}).get("before")
    if not after or not done:
        return
    for call in st.pending:
        before = st.intents.get(call.id, {}).get("before")
        if before:
            st.intents[call.id] = {**st.intents[call.id],
                                   "before": {p: after if p in done else h for p, h in before.items()}}


def _restore(st: AgentState, cp: Checkpoint) -> None:
    s = cp.state
    del st.messages[s["msg_count"]:]
    st.context.trim(s["msg_count"])
    st.cutoffs = 0
    st.step = s["step"]
    st.todo = list(s.get("todo", []))
    st.reads = {k: FileRead(**v) for k, v in s.get("reads", {}).items()}
    st.elapsed_s = s.get("elapsed_s", 0.0)
    st.pending = []
    st.intents = {}
    st.submitted = None
    st.approvals = {}
