"""The agent loop: ask the model, run its tool calls, journal everything, repeat.

One step = one model turn and the tool calls it asked for. Read-only tool calls start
while the response is still streaming and run concurrently; calls that may change files
run one at a time, in order, each journaled (intent, then result) around its execution.
The loop ends by exception (``Submitted`` from ``finish``, ``LimitsExceeded``,
cancellation) as in mini-swe-agent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from codetap.agent.roles import Role
from codetap.agent.state import AgentState
from codetap.errors import LimitsExceeded, Submitted, ToolError
from codetap.models.base import ModelProvider
from codetap.redact import redact_text
from codetap.store.faults import fault_point
from codetap.tools.base import Tool, ToolContext, run_tool
from codetap.tools.fileio import record
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


class Journal(Protocol):
    """Where the agent writes its steps (implemented by the task engine)."""

    async def record(self, step: int, entries: list[tuple[str, JSON]]) -> None:
        """Append journal entries in one transaction."""

    async def checkpoint(self, state: AgentState, mutated: bool) -> None:
        """Commit the worktree if ``mutated`` and write a checkpoint of ``state``."""


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one step did (for progress reporting): step number, tool names, usage so far."""

    step: int
    tools: tuple[str, ...]
    text: str


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
        self._specs = [t.spec() for t in self.tools.values()]
        self._clock = time.monotonic()

    async def run(self) -> str:
        """Step until ``finish``; return its summary. Raises LimitsExceeded, ModelError,
        asyncio.CancelledError."""
        if self.state.pending or self.state.needs_checkpoint:
            await self.finish_pending()
        if self.state.submitted is not None:
            raise Submitted(self.state.submitted)
        while True:
            await self.step()

    async def step(self) -> StepReport:
        """One model turn plus its tool calls, journaled and checkpointed."""
        self.check_limits()
        step = self.state.step + 1
        running: dict[str, asyncio.Task[ToolResult]] = {}
        msg, usage, stop = await self.query(running)
        self.state.step = step
        self.state.messages.append(msg)
        self.state.usage.add(usage)
        entries: list[tuple[str, JSON]] = [("model_turn", {
            "message": msg.to_json(), "usage": usage.to_json(), "stop_reason": stop,
            "model": self.provider.config.name,
        })]
        intents = [self._intent(c) for c in msg.tool_calls]
        self.state.intents = {i["call_id"]: i for i in intents}
        entries += [("tool_intent", i) for i in intents]
        await self.journal.record(step, entries)
        self.state.pending = list(msg.tool_calls)
        await self.execute(msg.tool_calls, running)
        return StepReport(step, tuple(c.name for c in msg.tool_calls), msg.content)

    async def query(
        self, running: dict[str, asyncio.Task[ToolResult]]
    ) -> tuple[Message, Usage, str]:
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

    async def execute(
        self, calls: list[ToolCall], running: dict[str, asyncio.Task[ToolResult]]
    ) -> None:
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
                    batch += self._recheck_before(call)
                    if batch:
                        await self.journal.record(self.state.step, batch)
                        batch = []
                    refused = await self.check_policy(call)
                    if refused is not None:
                        result = refused
                    else:
                        fault_point(f"after_intent:{call.name}")
                        try:
                            result = await run_tool(tool, call.arguments, self.ctx)
                        except Submitted as exc:
                            submitted = exc
                            result = _finished(exc)
                        fault_point(f"after_tool:{call.name}")
                        mutated = mutated or tool.mutates
                entry = self._result(call, result)
                batch.append(("tool_result", entry))
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

    async def finish_pending(self) -> None:
        """Complete a step interrupted by a restart (ARCHITECTURE.md "Durability").

        Calls of the journaled model turn without a result: idempotent tools are re-run;
        edit/write are reconciled by content hash (applied once: the file no longer has
        the ``before`` hash journaled just before the call ran); others (bash) are reported
        to the model as interrupted. The step is then checkpointed (also when every call
        had its result but the checkpoint was not written). Raises Submitted if the
        interrupted step called ``finish`` (run now, or before the restart).
        """
        calls, self.state.pending = self.state.pending, []
        submitted: Submitted | None = None
        for call in calls:
            tool = self.tools.get(call.name)
            intent = self.state.intents.get(call.id, {})
            if tool is not None and self._never_started(call):
                refused = await self.check_policy(call)
                result = refused or await run_tool(tool, call.arguments, self.ctx)
                await self.journal.record(self.state.step, [("tool_result",
                                                             self._result(call, result))])
                continue
            if tool is None or not (tool.idempotent or "before" in intent):
                self.state.messages.append(_interrupted(call))
                await self.journal.record(self.state.step, [("tool_result", {
                    "call_id": call.id, "name": call.name, "is_error": True, "meta": {},
                    "output": _interrupted(call).content})])
                continue
            if "before" in intent and self._already_applied(intent["before"]):
                self._remember_content(intent["before"])
                result = ToolResult(f"{call.name} applied (reconciled after a daemon restart)",
                                    meta={"reconciled": True})
            else:
                try:
                    result = await run_tool(tool, call.arguments, self.ctx)
                except Submitted as exc:
                    submitted = exc
                    result = _finished(exc)
            await self.journal.record(self.state.step, [("tool_result", self._result(call, result))])
            self._chain_before(call, calls)
        self.state.needs_checkpoint = False
        await self.journal.checkpoint(self.state, True)
        if submitted is not None:
            raise submitted
        if self.state.submitted is not None:
            raise Submitted(self.state.submitted)

    async def check_policy(self, call: ToolCall) -> ToolResult | None:
        """Apply ``ctx.policy`` to a ``bash`` call: None when it may run; else the error
        result the model gets instead. ``ask`` puts the task in ``waiting`` until the user
        answers an approval (``codetap/ask``, kind ``approval``); the answer is journaled
        (``approval`` {call_id, command, answer}) before the command runs, so a restart
        never runs it unapproved and never asks twice."""
        command = call.arguments.get("command")
        if call.name != "bash" or not isinstance(command, str):
            return None
        verdict = self.ctx.policy.decide(command)
        if verdict.decision == "allow":
            return None
        if verdict.decision == "deny":
            return ToolResult(f"error: not run: the command policy denies it "
                              f"({verdict.reason()}). Do without it.", is_error=True)
        answer = self.state.approvals.get(call.id)
        if answer is None:
            ask = self.ctx.services.ask
            nobody = await self._nobody_to_ask(ask)
            if nobody is not None:
                return ToolResult(f"error: not run: it needs the user's approval "
                                  f"({verdict.reason()}) and {nobody}. Do without it, or "
                                  "finish and say in the summary that it needs running.",
                                  is_error=True)
            assert ask is not None
            if call.id not in self.state.approvals:
                await self._record_approval(call, command, None)
            answer = str(await ask(f"Run `{command}`? ({verdict.reason()})", ["yes", "no"],
                                   kind="approval"))
            await self._record_approval(call, command, answer)
        if answer != "yes":
            return ToolResult(f"error: not run: the user did not approve it (answer: "
                              f"{answer!r}).", is_error=True)
        return None

    async def _nobody_to_ask(self, ask: object) -> str | None:
        """Why no approval can be asked now (None: it can): ``[policy] unattended = "deny"``,
        no ``ask`` service in this run, or no client attached to answer."""
        if getattr(self.ctx.policy, "unattended", "ask") == "deny":
            return 'the policy says not to ask when unattended ([policy] unattended = "deny")'
        if ask is None:
            return "no user is reachable in this run"
        can_ask = self.ctx.services.can_ask
        if can_ask is not None and not await can_ask():
            return "no editor or other client is attached to answer"
        return None

    async def _record_approval(self, call: ToolCall, command: str, answer: str | None) -> None:
        """Journal an approval request (``answer`` None) or its answer."""
        self.state.approvals[call.id] = answer
        await self.journal.record(self.state.step, [("approval", {
            "call_id": call.id, "command": command, "answer": answer})])

    def _never_started(self, call: ToolCall) -> bool:
        """Whether a pending call cannot have started before the restart: the journal shows
        its approval was asked for and not given (still unanswered, or refused)."""
        return call.id in self.state.approvals and self.state.approvals[call.id] != "yes"

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

    def _intent(self, call: ToolCall) -> JSON:
        data: JSON = {"call_id": call.id, "name": call.name, "arguments": call.arguments}
        tool = self.tools.get(call.name)
        path = call.arguments.get("path")
        if tool is not None and tool.mutates and not tool.idempotent and isinstance(path, str) \
                and call.name in ("edit", "write"):
            data["before"] = {path: _sha256_or_none(self.ctx, path)}
        return data

    def _already_applied(self, before: Mapping[str, str | None]) -> bool:
        return any(_sha256_or_none(self.ctx, p) != h for p, h in before.items())

    def _recheck_before(self, call: ToolCall) -> list[tuple[str, JSON]]:
        """A corrected intent when an earlier call of the step changed the file since the
        intent was journaled, so reconciliation compares with the content the call saw."""
        intent = self.state.intents.get(call.id) or self._intent(call)
        before = intent.get("before")
        if not before:
            return []
        now = {p: _sha256_or_none(self.ctx, p) for p in before}
        if now == before:
            return []
        intent = {**intent, "before": now}
        self.state.intents[call.id] = intent
        return [("tool_intent", intent)]

    def _chain_before(self, done: ToolCall, calls: list[ToolCall]) -> None:
        """Later pending calls on the files ``done`` touched expect their content now."""
        touched = self.state.intents.get(done.id, {}).get("before") or {}
        for call in calls:
            before = self.state.intents.get(call.id, {}).get("before")
            if call.id != done.id and before and set(before) & set(touched):
                self.state.intents[call.id] = {**self.state.intents[call.id], "before": {
                    p: _sha256_or_none(self.ctx, p) if p in touched else h
                    for p, h in before.items()}}

    def _remember_content(self, before: Mapping[str, str | None]) -> None:
        """Record the reconciled files' current content as known (what edit/write do)."""
        for p in before:
            try:
                path = resolve_in_workspace(self.ctx.workspace, p)
                data = path.read_bytes()
                record(self.ctx, relpath(self.ctx.workspace, path), path.stat(), data, 0, 0)
            except (OSError, ToolError):
                continue

    def _result(self, call: ToolCall, result: ToolResult) -> JSON:
        output = redact_text(result.output)  # what the model is sent is what is journaled
        self.state.messages.append(Message("tool", output, tool_call_id=call.id,
                                           name=call.name, is_error=result.is_error))
        data: JSON = {"call_id": call.id, "name": call.name, "output": output,
                      "is_error": result.is_error, "meta": result.meta}
        if call.name in ("read", "edit", "write") and isinstance(call.arguments.get("path"), str):
            rel = _workspace_rel(self.ctx, call.arguments["path"])
            read = self.ctx.reads.get(rel) if rel is not None else None
            if rel is not None and read is not None:
                data["reads"] = {rel: dataclasses.asdict(read)}
                self.state.reads[rel] = read
        if call.name == "todo":
            data["todo"] = self.ctx.todo
            self.state.todo = list(self.ctx.todo)
        return data


_NO_TOOL_NUDGE = (
    "You answered without calling a tool. Continue the task with tool calls, or call "
    "`finish` with a summary if it is done."
)


def _finished(exc: Submitted) -> ToolResult:
    return ToolResult("finished: " + exc.summary, meta={"summary": exc.summary})


def _interrupted(call: ToolCall) -> Message:
    return Message("tool", f"error: the {call.name} call was interrupted by a daemon restart; "
                   "its effects are unknown. Check the state and run it again if needed.",
                   tool_call_id=call.id, name=call.name, is_error=True)


def _sha256_or_none(ctx: ToolContext, rel: str) -> str | None:
    path = ctx.workspace / rel
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _workspace_rel(ctx: ToolContext, path: str) -> str | None:
    """The key the file tools use in ``ctx.reads`` for ``path`` (None if it escapes)."""
    try:
        return relpath(ctx.workspace, resolve_in_workspace(ctx.workspace, path))
    except ToolError:
        return None
