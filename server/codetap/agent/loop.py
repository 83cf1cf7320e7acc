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
from typing import NoReturn, Protocol

from codetap.agent import resume
from codetap.agent.approval import Approvals
from codetap.agent.roles import Role
from codetap.agent.state import AgentState
from codetap.errors import LimitsExceeded, Submitted, ToolError
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


class Journal(Protocol):
    """Where the agent writes its steps (implemented by the task engine)."""

    async def record(self, step: int, entries: list[tuple[str, JSON]]) -> None:
        """Append journal entries in one transaction."""

    async def checkpoint(self, state: AgentState, mutated: bool) -> None:
        """Commit the worktree if ``mutated`` and write a checkpoint of ``state``."""


class Agent:
    """Runs one role on one task until it finishes, hits a limit or is cancelled.

    ``system`` is the full system prompt; ``state`` comes from :func:`rebuild` (fresh tasks
    start with the task message already in ``state.messages``).
    """

    def __init__(
        self, role: Role, provider: ModelProvider, tools: Mapping[str, Tool], ctx: ToolContext,
        journal: Journal, state: AgentState, system: str,
    ) -> None:
        self.role = role
        self.provider = provider
        self.tools = dict(tools)
        self.ctx = ctx
        self.journal = journal
        self.state = state
        self.system = system
        self.approvals = Approvals(ctx, state, journal)
        self._specs = [t.spec() for t in self.tools.values()]
        self._clock = time.monotonic()

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
        running: Running = {}
        msg, usage, stop = await self.query(running)
        await self.record_turn(msg, usage, stop)
        await self.execute(msg.tool_calls, running)

    async def query(self, running: Running) -> tuple[Message, Usage, str]:
        """Stream one model response; start read-only calls as soon as they are complete."""
        request = ModelRequest(self.system, list(self.state.messages), self._specs,
                               max_tokens=self.provider.config.max_output_tokens)
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
                        run_tool(tool, event.call.arguments, self.ctx))
            elif isinstance(event, Finished):
                msg = Message("assistant", "".join(text), tool_calls=calls)
                if not calls and event.stop_reason != "tool_use":
                    msg.content = msg.content or "(no tool call)"
                return msg, event.usage, event.stop_reason
        raise AssertionError("provider stream ended without Finished")

    async def record_turn(self, msg: Message, usage: Usage, stop: str) -> None:
        """Journal the model turn and its calls' intents (one transaction)."""
        self.state.step += 1
        self.state.messages.append(msg)
        self.state.usage.add(usage)
        entries: list[tuple[str, JSON]] = [("model_turn", {
            "message": msg.to_json(), "usage": usage.to_json(), "stop_reason": stop,
            "model": self.provider.config.name,
        })]
        intents = [resume.intent(c, self.tools.get(c.name), self.ctx) for c in msg.tool_calls]
        self.state.intents = {i["call_id"]: i for i in intents}
        entries += [("tool_intent", i) for i in intents]
        await self.journal.record(self.state.step, entries)
        self.state.pending = list(msg.tool_calls)

    async def execute(self, calls: list[ToolCall], running: Running) -> None:
        """Run (or collect) every call in order, journal results, then checkpoint.

        Read-only results are batched into the next journal write; a mutating call's
        result is written as soon as it returns. ``finish`` raises Submitted after the
        step is checkpointed.
        """
        batch: list[tuple[str, JSON]] = []
        mutated = False
        submitted: Submitted | None = None
        try:
            if not calls:
                self.state.messages.append(Message("user", _NO_TOOL_NUDGE))
                batch.append(("user", {"content": _NO_TOOL_NUDGE}))
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
                        try:
                            result = await run_tool(tool, call.arguments, self.ctx)
                        except Submitted as exc:
                            submitted = exc
                            result = resume.finished(exc)
                        fault_point(f"after_tool:{call.name}")
                        mutated = mutated or tool.mutates
                batch.append(("tool_result", self.result(call, result)))
                if tool is not None and tool.mutates:
                    await self.journal.record(self.state.step, batch)
                    batch = []
                    fault_point(f"after_result:{call.name}")
            if batch:
                await self.journal.record(self.state.step, batch)
        finally:
            for task in running.values():
                task.cancel()
        self.state.pending = []
        self.state.elapsed_s += time.monotonic() - self._clock
        self._clock = time.monotonic()
        await self.journal.checkpoint(self.state, mutated)
        if submitted is not None:
            raise submitted

    def check_limits(self) -> None:
        """Raise LimitsExceeded naming the first limit reached."""
        lim, st = self.role.limits, self.state
        spent = st.elapsed_s + (time.monotonic() - self._clock)
        if st.step >= lim.max_steps:
            raise LimitsExceeded(f"step limit reached ({lim.max_steps} steps)")
        if st.usage.input_tokens + st.usage.output_tokens >= lim.max_tokens:
            raise LimitsExceeded(f"token limit reached ({lim.max_tokens} tokens)")
        if st.usage.cost_usd >= lim.max_cost_usd:
            raise LimitsExceeded(f"cost limit reached (${lim.max_cost_usd:.2f})")
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
        reads = {rel: dataclasses.asdict(self.ctx.reads[rel])
                 for rel in _files_named(self.ctx, result.meta) if rel in self.ctx.reads}
        if reads:
            data["reads"] = reads
        todo = result.meta.get("todo")
        if isinstance(todo, list):
            data["todo"] = todo
            self.state.todo = list(todo)
        return data


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
