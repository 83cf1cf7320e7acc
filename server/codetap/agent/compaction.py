"""Layered, journaled compaction of the conversation (ARCHITECTURE.md "Context").

Before each request the prompt's size is estimated (:mod:`codetap.agent.budget`). Over the
budget (or after the provider said the context was exceeded):

(a) mask: old tool results are replaced by a one-line stub saying what was there and how
    to get it again, oldest first, until the prompt is down to ``TARGET`` of the budget;
    the newest turn's results are never masked (the model has not seen them yet). The full
    text stays in the journal.
(b) summary: only when masking leaves the prompt over ``SUMMARY_AT`` of the budget (so
    the next compaction would be due within a turn or two), a summary turn (the role's
    summary model, else the task's) replaces the older part of the conversation; the
    newest turns are kept.
(c) after either, a note re-injects the role prompt, the task, the current plan and the
    files changed so far (the project instructions stay in the system prompt). The changed
    files are what the worktree differs in from the task's base (``Context.changes``, set
    by the engine: ``bash`` changes included, a rollback's reset worktree respected), in the
    order edit/write first changed them, then the others sorted.

Each compaction is one ``compaction`` journal entry that :func:`codetap.agent.state.rebuild`
replays exactly (see :class:`~codetap.agent.state.ContextState`). Between compactions the
conversation sent only grows at its end, so the prefix before the newest compaction stays
byte-stable and prompt caches keep hitting; the request names that boundary and the newest
message as cache breakpoints.

Fault points: ``compaction_summarized`` (summary received, not journaled yet) and
``after_compaction`` (journaled, the turn's request not sent yet).

A summary call killed before its result is journaled (from the request being sent up to
``compaction_summarized``) was paid for but its reply is lost; the resumed run compacts
again and calls the summarizer a second time. The journal shows it: a ``compaction``
entry with ``layer: "summary_started"`` ``{model, estimate}`` is written before each
summary call, and one not followed by a ``summary`` entry is a lost call. The next summary
entry then counts each lost call as costing what the repeated call cost (same request, so
the same input, and an output of about the same length): its ``usage`` is the real usage
plus that approximation, given apart as ``lost_usage {calls, input_tokens, output_tokens,
cost_usd, approximate: true}``. A lost call that is never repeated (the resumed run did not
need a summary after all) stays uncounted in ``usage``; its ``summary_started`` entry and
its ``estimate`` (input tokens, calibrated) remain in the journal.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from codetap.agent.budget import Budget, tokens_of
from codetap.agent.roles import Role
from codetap.agent.state import AgentState
from codetap.models.base import ModelProvider, collect
from codetap.store.faults import fault_point
from codetap.types import JSON, Message, ModelRequest, ToolCall, ToolSpec, Usage

TARGET = 0.5
"""After a compaction the prompt should use at most this fraction of the budget, so the
next compaction (which changes the cached prefix) is many turns away."""
SUMMARY_AT = 0.8
"""Masking that leaves the prompt above this fraction of the budget calls for a summary."""
MIN_MASK_TOKENS = 64
SUMMARY_MAX_TOKENS = 2048
SUMMARY_SYSTEM = (
    "You write the working notes of a coding agent whose conversation no longer fits its "
    "context. Summarize the conversation you are given so the agent can continue without "
    "it: what the task is, what was found (files, functions, facts with their paths), what "
    "was changed and why, what was tried and failed, what remains to do. Be concrete and "
    "brief; use bullet points; do not invent anything."
)


class Recorder(Protocol):
    """Where compactions are journaled (the agent's journal)."""

    async def record(self, step: int, entries: list[tuple[str, JSON]]) -> None:
        """Append entries in one transaction."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """A request ready to send and its size: ``raw`` (uncalibrated) and ``estimate``
    tokens, the ``budget`` it had to fit in."""

    request: ModelRequest
    raw: int
    estimate: int
    budget: int

    def entry(self) -> JSON:
        """The ``prompt`` field of the ``model_turn`` journal entry."""
        return {"estimate": self.estimate, "raw": self.raw, "budget": self.budget}


class Context:
    """Builds each request from ``state`` and compacts when it would not fit."""

    def __init__(self, role: Role, provider: ModelProvider, state: AgentState,
                 journal: Recorder, system: str, tools: Sequence[ToolSpec],
                 summarizer: ModelProvider | None = None) -> None:
        self.role = role
        self.provider = provider
        self.summarizer = summarizer or provider
        self.state = state
        self.journal = journal
        self.tools = list(tools)
        self.budget = Budget(provider.config, system, tools)
        self.changes: Callable[[], Awaitable[list[str]]] | None = None
        """Workspace-relative paths that differ from the task's base now (None: only the
        edit/write results' ``changed_files`` are known)."""

    @property
    def model(self) -> str:
        return self.provider.config.name

    def view(self) -> tuple[list[Message], int | None]:
        """The conversation as sent and the index of the newest compaction's last message
        (None before any compaction)."""
        st, cx = self.state, self.state.context
        out: list[Message] = []
        boundary: int | None = None
        if cx.cut:
            out.append(Message("user", cx.summary))
            boundary = 0
        for i in range(cx.cut, len(st.messages)):
            if cx.note and i == cx.note_at:
                out.append(Message("user", cx.note))
                boundary = len(out) - 1
            m = st.messages[i]
            stub = cx.masks.get(i)
            out.append(m if stub is None else Message(
                "tool", stub, tool_call_id=m.tool_call_id, name=m.name, is_error=m.is_error))
        if cx.note and cx.note_at >= len(st.messages):
            out.append(Message("user", cx.note))
            boundary = len(out) - 1
        return out, boundary

    def measure(self) -> tuple[list[Message], int | None, int, int]:
        """The view, its boundary, and its raw and calibrated token estimates."""
        messages, boundary = self.view()
        raw = self.budget.raw(messages)
        return messages, boundary, raw, self.budget.tokens(raw, self._calibration())

    async def prompt(self, *, force: bool = False) -> Prompt:
        """The next request, compacting first when it would not fit (or when ``force``:
        the provider refused the last one as too long)."""
        messages, boundary, raw, estimate = self.measure()
        if force or estimate > self.budget.limit:
            await self.compact(estimate, force=force)
            messages, boundary, raw, estimate = self.measure()
        marks = tuple(sorted({i for i in (boundary, len(messages) - 1) if i is not None}))
        # Turns of this model in the whole task: earlier roles' conversations count too.
        turns = self.state.turns_before.get(self.provider.config.name, 0) + sum(
            1 for m in self.state.messages if m.role == "assistant")
        request = ModelRequest(self.budget.system, messages, self.tools,
                               max_tokens=self.provider.config.max_output_tokens,
                               cache_breakpoints=marks, turn_index=turns)
        return Prompt(request, raw, estimate, self.budget.limit)

    async def compact(self, before: int, *, force: bool = False) -> None:
        """Mask, then summarize if still over budget; journal the result as one entry."""
        st = self.state
        entry: JSON = {"layer": "mask", "tokens_before": before, "forced": force}
        if force:
            # The provider counts more than we estimated: trust the estimate less.
            factor = self._calibration() * max(1.1, self.budget.limit / max(1, before))
            entry["calibration"] = round(min(4.0, factor), 4)
            entry["calibration_model"] = self.model
            st.calibration[self.model] = entry["calibration"]
        target = int(self.budget.limit * TARGET)
        files = await self.changed_files()
        masked = self._mask(target)
        entry["masked"] = {str(i): s for i, s in masked.items()}
        st.context.masks.update(masked)
        if self.measure()[3] > self.budget.limit * SUMMARY_AT:
            cut = self._cut(target, self._note(files))
            if cut is not None:
                summary, usage = await self._summarize(cut)
                entry.update(layer="summary", cut=cut, summary=summary,
                             model=self.summarizer.config.name)
                lost = st.context.lost_summaries
                if lost:
                    extra = _times(usage, lost)
                    entry["lost_usage"] = {"calls": lost, **extra.to_json(), "approximate": True}
                    usage.add(extra)
                entry["usage"] = usage.to_json()
                st.usage.add(usage)
                st.context.cut, st.context.summary = cut, summary
                st.context.summarizing, st.context.lost_summaries = False, 0
        entry["note"] = st.context.note = self._note(files)
        entry["note_at"] = st.context.note_at = len(st.messages)
        entry["tokens_after"] = self.measure()[3]
        await self.journal.record(st.step, [("compaction", entry)])
        fault_point("after_compaction")

    def _calibration(self) -> float:
        return self.state.calibration.get(self.model, 1.0)

    def _mask(self, target: int) -> dict[int, str]:
        """Stubs for unmasked tool results, oldest first, until the prompt would be down to
        ``target`` tokens; never the newest turn's (the model has not seen them yet)."""
        st, cx = self.state, self.state.context
        _, _, _, estimate = self.measure()
        calls = _calls_by_id(st.messages[cx.cut:])
        ratio = self._calibration() / 4
        newest = max((i for i, m in enumerate(st.messages) if m.role == "assistant"),
                     default=len(st.messages))
        out: dict[int, str] = {}
        for i in range(cx.cut, newest):
            if estimate <= target:
                break
            m = st.messages[i]
            if m.role != "tool" or i in cx.masks:
                continue
            tokens = int(len(m.content) * ratio)
            if tokens < MIN_MASK_TOKENS:
                continue
            out[i] = stub(calls.get(m.tool_call_id or ""), m, tokens)
            estimate -= int((len(m.content) - len(out[i])) * ratio)
        return out

    async def changed_files(self) -> list[str]:
        """The files changed so far: ``state.changed_files`` (edit/write, in order) that
        still differ from the base, then the other changed paths (bash), sorted. Without
        ``changes``, ``state.changed_files`` as it is."""
        listed = self.state.changed_files
        if self.changes is None:
            return list(listed)
        now = set(await self.changes())
        return [p for p in listed if p in now] + sorted(now.difference(listed))

    def _cut(self, target: int, note: str) -> int | None:
        """Where the summarized part ends: an assistant message, keeping as many of the
        newest turns (at least one) as fit in ``target`` next to the system prompt, the
        note and a summary. None when there is nothing before the newest turn."""
        st, cx = self.state, self.state.context
        cal = self._calibration()
        ratio = cal / 4
        fixed = self.budget.tokens(self.budget.raw([]), cal)
        room = target - fixed - int(len(note) * ratio) - SUMMARY_MAX_TOKENS // 2
        tail = 0
        cut = None
        for i in range(len(st.messages) - 1, cx.cut, -1):
            m = st.messages[i]
            tail += int((len(cx.masks.get(i, m.content)) + 16) * ratio)
            if m.role == "assistant":
                if cut is not None and tail > room:
                    break
                cut = i
        return cut if cut is not None and cut > cx.cut else None

    async def _summarize(self, cut: int) -> tuple[str, Usage]:
        """A summary turn over ``messages[context.cut:cut]`` (with the earlier summary)."""
        st, cx = self.state, self.state.context
        parts = [cx.summary] if cx.cut else []
        for i in range(cx.cut, cut):
            parts.append(_render(st.messages[i], cx.masks.get(i)))
        room = max(1000, (self.summarizer.config.prompt_budget - SUMMARY_MAX_TOKENS) * 3)
        text = "\n\n".join(parts)
        if len(text) > room:
            text = text[: room // 3] + "\n\n[... middle of the conversation left out ...]\n\n" \
                + text[-(room - room // 3):]
        request = ModelRequest(SUMMARY_SYSTEM, [Message("user", (
            "Conversation so far:\n\n" + text + "\n\nWrite the summary now."))],
            max_tokens=min(SUMMARY_MAX_TOKENS, self.summarizer.config.max_output_tokens),
            purpose="summary")
        started: JSON = {"layer": "summary_started", "model": self.summarizer.config.name,
                         "estimate": int(self._calibration() * tokens_of(
                             SUMMARY_SYSTEM + request.messages[0].content)) + 1}
        await self.journal.record(st.step, [("compaction", started)])
        st.context.apply(started)
        response = await collect(self.summarizer.stream(request))
        fault_point("compaction_summarized")
        body = response.text.strip() or "(the summary turn returned no text)"
        return (f"[codetap: summary of the earlier conversation ({cut} messages), written "
                f"when it no longer fit the model's context]\n\n{body}"), response.usage

    def _note(self, files: Sequence[str]) -> str:
        """The re-injected context: role prompt, task, plan, changed ``files``."""
        st = self.state
        task = next((m.content for m in st.messages if m.role == "user"), "")
        plan = "\n".join(f"- [{i.get('status', '')}] {i.get('text', '')}" for i in st.todo)
        changed = "\n".join(f"- {p}" for p in files)
        return "\n\n".join([
            ("[codetap: older parts of this conversation were compacted to fit the model's "
            "context. Stubs mark removed tool output; run the tool again if you need it. "
            "The project instructions are still in the system prompt.]"),
            "## Your role\n" + self.role.system_prompt,
            "## Task\n" + task,
            "## Plan (todo)\n" + (plan or "(no plan recorded)"),
            "## Files changed so far\n" + (changed or "(none yet)"),
            "Continue the task from where you are.",
        ])


def stub(call: ToolCall | None, result: Message, tokens: int) -> str:
    """The one line sent instead of a masked tool result."""
    what = describe(call) if call is not None else f"`{result.name or 'tool'}`"
    again = ("run the command again if needed (it may change files)" if result.name == "bash"
             else "call the tool again if needed")
    return f"[output of {what} ({tokens:,} tokens) removed to save context; {again}]"


def describe(call: ToolCall) -> str:
    """A short form of a call: ``read calc.py``, ``bash: pytest -q``, ``grep 'def add'``."""
    args = call.arguments
    if isinstance(args.get("command"), str):
        return f"`{call.name}: {_short(args['command'])}`"
    key = next((k for k in ("path", "pattern", "query") if isinstance(args.get(k), str)), None)
    if key is None:
        return f"`{call.name}`"
    extra = args.get("path") if key != "path" and isinstance(args.get("path"), str) else ""
    return f"`{call.name} {_short(args[key])}{' in ' + extra if extra else ''}`"


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _times(usage: Usage, n: int) -> Usage:
    return Usage(usage.input_tokens * n, usage.output_tokens * n, usage.cost_usd * n,
                 usage.cache_read_tokens * n, usage.cache_write_tokens * n)


def _calls_by_id(messages: Sequence[Message]) -> dict[str, ToolCall]:
    return {c.id: c for m in messages for c in m.tool_calls}


def _render(message: Message, stub_text: str | None) -> str:
    """A message as transcript text for the summary turn (long outputs shortened)."""
    if message.role == "tool":
        body = stub_text or message.content
        if len(body) > 2000:
            body = body[:1500] + f"\n[... {len(body) - 1500} more characters ...]"
        return f"TOOL RESULT ({message.name}):\n{body}"
    text = message.content
    for call in message.tool_calls:
        args = json.dumps(call.arguments)
        text += f"\nCALL {call.name} {args if len(args) <= 600 else args[:600] + '…'}"
    return f"{message.role.upper()}:\n{text.strip()}"


__all__ = ["Context", "Prompt", "Recorder", "describe", "stub", "tokens_of"]
