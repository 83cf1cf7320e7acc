"""The agent loop: ask the model, run its tool calls, journal everything, repeat.

One step = one model turn and the tool calls it asked for: :meth:`Agent.step` ->
:meth:`Agent.query` -> :meth:`Agent.execute`. Read-only tool calls start while the response
is still streaming and run concurrently; calls that may change files run one at a time, in
order, each journaled (intent, then result) around its execution. The loop ends by
exception, as in mini-swe-agent: ``Submitted`` from ``finish``, ``LimitsExceeded``,
``ModelError``, cancellation. Crash recovery lives in :mod:`codetap.agent.resume`,
approvals in :mod:`codetap.agent.approval`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn, Protocol

from codetap import tracing
from codetap.agent import resume
from codetap.agent.approval import Approvals
from codetap.agent.compaction import Context, Prompt
from codetap.agent.roles import Role
from codetap.agent.state import AgentState
from codetap.errors import ContextLengthExceeded, LimitsExceeded, Submitted, ToolError
from codetap.models.base import ModelProvider
from codetap.redact import redact_text
from codetap.store.faults import fault_point
from codetap.tools.base import Tool, ToolContext, run_tool
from codetap.tools.paths import relpath, resolve_in_workspace
from codetap.types import (
    JSON,
    Finished,
    Message,
    ModelRequest,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolResult,
    Usage,
)

Running = dict[str, asyncio.Task[ToolResult]]
CONTEXT_RETRIES = 2
"""Compact-and-retry rounds after the provider refuses a prompt as too long."""
MAX_CONTINUES = 3
"""Replies cut by the output limit in a row that are simply continued."""


class Journal(Protocol):
    """Where the agent writes its steps (implemented by the task engine)."""

    async def record(self, step: int, entries: list[tuple[str, JSON]],
                     durable: bool = True) -> None:
        """Append journal entries in one transaction. ``durable=False`` entries may be held
        back and written with the next durable record or the checkpoint, in the same
        transaction (so a step of read-only calls is one transaction); a crash before
        then loses them, and the step is asked for again."""

    async def checkpoint(self, state: AgentState, mutated: bool,
                         changed: frozenset[str] | None = None) -> None:
        """Commit the worktree if ``mutated`` and write a checkpoint of ``state``.

        ``changed``: the workspace-relative paths the step's tools reported changing; None
        when some mutating call's effects are unknown (``bash``), so git must find them.
        """

    async def before_command(self) -> None:
        """Called before a mutating call whose effects are unknown (``bash``) runs: the
        worktree's git state must look committed to it."""


class Agent:
    """Runs one role on one task until it finishes, hits a limit or is cancelled.

    ``system`` is the full system prompt; ``state`` comes from :func:`rebuild` (fresh tasks
    start with the task message already in ``state.messages``). ``summarizer`` writes
    compaction summaries (default: ``provider``).
    """

    def __init__(
        self, role: Role, provider: ModelProvider, tools: Mapping[str, Tool], ctx: ToolContext,
        journal: Journal, state: AgentState, system: str,
        summarizer: ModelProvider | None = None,
    ) -> None:
        self.role = role
        self.provider = provider
        self.tools = dict(tools)
        self.ctx = ctx
        self.journal = journal
        self.state = state
        self.approvals = Approvals(ctx, state, journal)
        specs = [t.spec() for t in self.tools.values()]
        self.context = Context(role, provider, state, journal, system, specs, summarizer)
        self._clock = time.monotonic()
        self._latency_s: float | None = None
        self._durations: dict[str, float] = {}

    @property
    def system(self) -> str:
        """The system prompt sent with every request."""
        return self.context.budget.system

    @system.setter
    def system(self, text: str) -> None:
        self.context.budget.set_system(text)

    async def run(self) -> NoReturn:
        """Step until the role's run ends. Raises Submitted (``finish``: the summary),
        LimitsExceeded, ModelError, asyncio.CancelledError."""
        if self.state.pending or self.state.needs_checkpoint:
            await self.finish_pending()
        if self.state.submitted is not None:
            raise Submitted(self.state.submitted)
        while True:
            await self.step()

    async def finish_pending(self) -> None:
        """Complete a step interrupted by a restart (see :func:`resume.finish_pending`)."""
        await resume.finish_pending(self)

    async def step(self) -> None:
        """One model turn plus its tool calls, journaled and checkpointed."""
        self.check_limits()
        with tracing.span("codetap.step", {"codetap.step": self.state.step + 1}):
            running: Running = {}
            prompt, reply = await self.ask(running)
            await self.record_turn(prompt, reply)
            await self.execute(reply.message.tool_calls, running, self.nudge(reply))

    async def ask(self, running: Running) -> tuple[Prompt, Reply]:
        """Send the next prompt (compacted to fit, see :mod:`codetap.agent.compaction`);
        a "context length exceeded" refusal compacts harder and retries."""
        for attempt in range(CONTEXT_RETRIES + 1):
            prompt = await self.context.prompt(force=attempt > 0)
            try:
                return prompt, await self._timed_query(prompt.request, running)
            except ContextLengthExceeded:
                if attempt == CONTEXT_RETRIES:
                    raise
        raise AssertionError("unreachable")

    async def _timed_query(self, request: ModelRequest, running: Running) -> Reply:
        """:meth:`query` in a ``codetap.model`` span, its latency kept for the turn."""
        start = time.monotonic()
        model = self.provider.config.name
        with tracing.span("codetap.model", {"gen_ai.request.model": model}) as span:
            reply = await self.query(request, running)
            tracing.annotate(span, {"gen_ai.usage.input_tokens": reply.usage.input_tokens,
                                    "gen_ai.usage.output_tokens": reply.usage.output_tokens})
        self._latency_s = time.monotonic() - start
        return reply

    async def _run(self, tool: Tool, call: ToolCall) -> ToolResult:
        """``run_tool`` in a ``codetap.tool`` span, its duration kept for the result."""
        start = time.monotonic()
        try:
            with tracing.span("codetap.tool", {"codetap.tool.name": call.name}) as span:
                result = await run_tool(tool, call.arguments, self.ctx)
                tracing.annotate(span, {"codetap.tool.is_error": result.is_error})
                return result
        finally:
            self._durations[call.id] = time.monotonic() - start

    async def query(self, request: ModelRequest, running: Running) -> Reply:
        """Stream one model response; start read-only calls as soon as they are complete."""
        text: list[str] = []
        calls: list[ToolCall] = []
        async for event in self.provider.stream(request):
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ToolCallReady):
                calls.append(event.call)
                tool = self.tools.get(event.call.name)
                if tool is not None and tool.read_only:
                    running[event.call.id] = asyncio.create_task(
                        self._run(tool, event.call))
            elif isinstance(event, Finished):
                msg = Message("assistant", "".join(text), tool_calls=calls)
                if not calls and event.stop_reason == "max_tokens":
                    msg.content = msg.content or "(reply cut off by the output limit)"
                elif not calls and event.stop_reason != "tool_use":
                    msg.content = msg.content or "(no tool call)"
                return Reply(msg, event.usage, event.stop_reason, event.truncated_calls)
        raise AssertionError("provider stream ended without Finished")

    async def record_turn(self, prompt: Prompt, reply: Reply) -> None:
        """Journal the model turn and its calls' intents (one transaction)."""
        msg = reply.message
        self.state.step += 1
        self.state.messages.append(msg)
        self.state.usage.add(reply.usage)
        turn: JSON = {
            "message": msg.to_json(), "usage": reply.usage.to_json(),
            "stop_reason": reply.stop_reason, "model": self.provider.config.name,
            "role": self.role.name,
            "prompt": prompt.entry(),
        }
        if reply.truncated_calls:
            turn["truncated_calls"] = list(reply.truncated_calls)
        if self._latency_s is not None:
            turn["latency_s"], self._latency_s = round(self._latency_s, 4), None
        self.state.note_turn(turn)
        entries: list[tuple[str, JSON]] = [("model_turn", turn)]
        intents = [resume.intent(c, self.tools.get(c.name), self.ctx) for c in msg.tool_calls]
        self.state.intents = {i["call_id"]: i for i in intents}
        entries += [("tool_intent", i) for i in intents]
        # Write-ahead only for calls with effects outside the journal (ARCHITECTURE.md
        # "Durability"): a step of read-only calls is written with its checkpoint.
        ahead = any(not t.read_only and t.name not in _JOURNAL_ONLY
                    for t in (self.tools.get(c.name) for c in msg.tool_calls) if t is not None)
        await self.journal.record(self.state.step, entries, durable=ahead)
        self.state.pending = list(msg.tool_calls)

    def nudge(self, reply: Reply) -> str | None:
        """What the user side says after the turn's results: a cut-off reply is continued
        (``MAX_CONTINUES`` times in a row, then a smaller step is asked for); a turn without
        a tool call is reminded to call one."""
        if reply.stop_reason == "max_tokens":
            limit = self.provider.config.max_output_tokens
            lost = (f" The call(s) {', '.join(f'`{n}`' for n in reply.truncated_calls)} were "
                    "cut mid-arguments and were NOT run." if reply.truncated_calls else "")
            if self.state.cutoffs <= MAX_CONTINUES:
                return (f"Your reply was cut off by the output limit ({limit} tokens).{lost} "
                        "Continue from where you stopped.")
            return (f"Your replies keep hitting the output limit ({limit} tokens).{lost} Take "
                    "a smaller step: write large files in parts (create a first part, then "
                    "append with edit), and keep each reply short.")
        return None if reply.message.tool_calls else _NO_TOOL_NUDGE

    async def execute(self, calls: list[ToolCall], running: Running,
                      nudge: str | None = None) -> None:
        """Run (or collect) every call in order, journal results and ``nudge`` (a user
        message), then checkpoint.

        Read-only results are batched into the next journal write; a mutating call's
        result is written as soon as it returns. ``finish`` raises Submitted after the
        step is checkpointed (and no nudge is added).
        """
        batch: list[tuple[str, JSON]] = []
        mutated = False
        changed: set[str] | None = set()
        submitted: Submitted | None = None
        try:
            for call in calls:
                tool = self.tools.get(call.name)
                if call.id in running:
                    result = await running.pop(call.id)
                elif tool is None:
                    result = ToolResult(f"error: unknown tool {call.name!r}; available: "
                                        f"{', '.join(self.tools)}", is_error=True)
                else:
                    batch += resume.recheck_before(self.state, self.ctx, call, tool)
                    if batch:
                        await self.journal.record(self.state.step, batch)
                        batch = []
                    refused = await self.approvals.check(call)
                    if refused is not None:
                        result = refused
                    else:
                        fault_point(f"after_intent:{call.name}")
                        if tool.mutates and not tool.reports_changes:
                            await self.journal.before_command()
                        try:
                            result = await self._run(tool, call)
                        except Submitted as exc:
                            submitted = exc
                            result = resume.finished(exc)
                        fault_point(f"after_tool:{call.name}")
                        mutated = mutated or tool.mutates
                        changed = _changed(changed, tool, result)
                batch.append(("tool_result", self.result(call, result)))
                if tool is not None and tool.mutates:
                    await self.journal.record(self.state.step, batch)
                    batch = []
                    fault_point(f"after_result:{call.name}")
            if nudge is not None and submitted is None:
                self.state.messages.append(Message("user", nudge))
                batch.append(("user", {"content": nudge}))
            if batch:
                await self.journal.record(self.state.step, batch, durable=False)
        finally:
            for task in running.values():
                task.cancel()
        self.state.pending = []
        self.state.elapsed_s += time.monotonic() - self._clock
        self._clock = time.monotonic()
        await self.journal.checkpoint(self.state, mutated,
                                      None if changed is None else frozenset(changed))
        if submitted is not None:
            raise submitted

    def check_limits(self) -> None:
        """Raise LimitsExceeded naming the first limit reached (steps, tokens, wall time).
        The cost limit does not end the run: the task's next model request waits for it
        (:class:`codetap.scheduler.GatedProvider`, counting the task's sub-tasks)."""
        lim, st = self.role.limits, self.state
        spent = st.elapsed_s + (time.monotonic() - self._clock)
        if st.step >= lim.max_steps:
            raise LimitsExceeded(f"step limit reached ({lim.max_steps} steps)")
        if st.usage.input_tokens + st.usage.output_tokens >= lim.max_tokens:
            raise LimitsExceeded(f"token limit reached ({lim.max_tokens} tokens)")
        if spent >= lim.max_wall_s:
            raise LimitsExceeded(f"time limit reached ({lim.max_wall_s:.0f} s)")

    def result(self, call: ToolCall, result: ToolResult) -> JSON:
        """Add ``result`` to the conversation; its ``tool_result`` journal entry.

        What the model is sent is what is journaled (redacted). The tool's reported effects
        are kept with it: the read state of the files its ``meta`` names (``path``,
        ``changed_files``) and the plan (``meta.todo``).
        """
        output = redact_text(result.output)
        self.state.messages.append(Message("tool", output, tool_call_id=call.id,
                                           name=call.name, is_error=result.is_error))
        data: JSON = {"call_id": call.id, "name": call.name, "output": output,
                      "is_error": result.is_error, "meta": result.meta}
        if call.id in self._durations:
            data["duration_s"] = round(self._durations.pop(call.id), 4)
        reads = {rel: dataclasses.asdict(self.ctx.reads[rel])
                 for rel in _files_named(self.ctx, result.meta) if rel in self.ctx.reads}
        if reads:
            data["reads"] = reads
        todo = result.meta.get("todo")
        if isinstance(todo, list):
            data["todo"] = todo
            self.state.todo = list(todo)
        self.state.note_changes(data)
        return data


@dataclass(frozen=True, slots=True)
class Reply:
    """One model response: the assistant message (complete tool calls only), its usage,
    stop reason, and the names of calls cut off mid-arguments."""

    message: Message
    usage: Usage
    stop_reason: str
    truncated_calls: tuple[str, ...] = ()


_JOURNAL_ONLY = frozenset({"todo", "finish"})
"""Tools that are not read-only but whose only effects are journal entries."""

_NO_TOOL_NUDGE = (
    "You answered without calling a tool. Continue the task with tool calls, or call "
    "`finish` with a summary if it is done."
)


def _files_named(ctx: ToolContext, meta: JSON) -> list[str]:
    """Workspace keys (as in ``ctx.reads``) of the files a result's ``meta`` names."""
    named = [meta["path"]] if isinstance(meta.get("path"), str) else []
    named += [p for p in meta.get("changed_files") or [] if isinstance(p, str)]
    out = []
    for path in named:
        try:
            out.append(relpath(ctx.workspace, resolve_in_workspace(ctx.workspace, path)))
        except ToolError:
            continue
    return out


def _changed(changed: set[str] | None, tool: Tool, result: ToolResult) -> set[str] | None:
    """The step's changed paths after ``tool`` returned ``result``; None once unknown."""
    if changed is None or not tool.mutates:
        return changed
    if not tool.reports_changes:
        return None
    files = result.meta.get("changed_files") or []
    return changed | {p for p in files if isinstance(p, str)}
