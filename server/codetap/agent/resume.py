"""Crash recovery: finishing a step a restart interrupted (ARCHITECTURE.md "Durability").

A tool call's intent is journaled before it runs. ``edit``/``write`` intents carry the
SHA-256 of the file the call saw (``before`` {path: sha256|null}); after a restart, an
intent without a result is re-run when the tool is idempotent, reconciled by content hash
for edit/write (applied once: the file no longer has the ``before`` hash), and reported to
the model as interrupted otherwise (bash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from codetap.errors import Submitted, ToolError
from codetap.tools.base import Tool, ToolContext, run_tool
from codetap.tools.fileio import record
from codetap.tools.paths import relpath, resolve_in_workspace
from codetap.types import JSON, ToolCall, ToolResult

if TYPE_CHECKING:
    from codetap.agent.loop import Agent
    from codetap.agent.state import AgentState


def intent(call: ToolCall, tool: Tool | None, ctx: ToolContext) -> JSON:
    """The ``tool_intent`` entry of ``call``: {call_id, name, arguments, before?}."""
    data: JSON = {"call_id": call.id, "name": call.name, "arguments": call.arguments}
    path = call.arguments.get("path")
    if tool is not None and tool.mutates and not tool.idempotent and isinstance(path, str) \
            and call.name in ("edit", "write"):
        data["before"] = {path: sha256_or_none(ctx, path)}
    return data


def recheck_before(state: AgentState, ctx: ToolContext, call: ToolCall,
                   tool: Tool | None) -> list[tuple[str, JSON]]:
    """A corrected intent when an earlier call of the step changed the file since the
    intent was journaled, so reconciliation compares with the content the call saw."""
    current = state.intents.get(call.id) or intent(call, tool, ctx)
    before = current.get("before")
    if not before:
        return []
    now = {p: sha256_or_none(ctx, p) for p in before}
    if now == before:
        return []
    current = {**current, "before": now}
    state.intents[call.id] = current
    return [("tool_intent", current)]


def finished(exc: Submitted) -> ToolResult:
    """The result of a ``finish`` call (its summary in ``meta.summary``, a role's
    structured hand-off in ``meta.handoff``)."""
    meta: JSON = {"summary": exc.summary}
    if exc.handoff is not None:
        meta["handoff"] = exc.handoff
    return ToolResult("finished: " + exc.summary, meta=meta)


def interrupted(call: ToolCall) -> ToolResult:
    """What the model is told about a non-idempotent call cut by a restart."""
    return ToolResult(f"error: the {call.name} call was interrupted by a daemon restart; "
                      "its effects are unknown. Check the state and run it again if needed.",
                      is_error=True)


async def finish_pending(agent: Agent) -> None:
    """Complete the step a restart interrupted, then checkpoint it (also when every call
    had its result but the checkpoint was not written).

    Raises Submitted if the interrupted step called ``finish`` (run now, or before the
    restart).
    """
    state, ctx = agent.state, agent.ctx
    calls, state.pending = state.pending, []
    submitted: Submitted | None = None
    for call in calls:
        tool = agent.tools.get(call.name)
        known = state.intents.get(call.id, {})
        before = known.get("before")
        if tool is not None and agent.approvals.never_started(call):
            result = await agent.approvals.check(call) or await run_tool(tool, call.arguments, ctx)
        elif tool is None or not (tool.idempotent or before is not None):
            result = interrupted(call)
        elif before is not None and _already_applied(ctx, before):
            _remember_content(ctx, before)
            result = ToolResult(f"{call.name} applied (reconciled after a daemon restart)",
                                meta={"reconciled": True, "changed_files": sorted(before)})
        else:
            try:
                result = await run_tool(tool, call.arguments, ctx)
            except Submitted as exc:
                submitted = exc
                result = finished(exc)
        await agent.journal.record(state.step, [("tool_result", agent.result(call, result))])
        _chain_before(state, ctx, call, calls)
    state.needs_checkpoint = False
    await agent.journal.checkpoint(state, True)
    if submitted is not None:
        raise submitted
    if state.submitted is not None:
        raise Submitted(state.submitted)


def sha256_or_none(ctx: ToolContext, rel: str) -> str | None:
    """SHA-256 (hex) of the workspace file ``rel``; None when it cannot be read."""
    try:
        return hashlib.sha256((ctx.workspace / rel).read_bytes()).hexdigest()
    except OSError:
        return None


def _already_applied(ctx: ToolContext, before: Mapping[str, str | None]) -> bool:
    return any(sha256_or_none(ctx, p) != h for p, h in before.items())


def _chain_before(state: AgentState, ctx: ToolContext, done: ToolCall,
                  calls: list[ToolCall]) -> None:
    """Later pending calls on the files ``done`` touched expect their content now."""
    touched = state.intents.get(done.id, {}).get("before") or {}
    for call in calls:
        before = state.intents.get(call.id, {}).get("before")
        if call.id != done.id and before and set(before) & set(touched):
            state.intents[call.id] = {**state.intents[call.id], "before": {
                p: sha256_or_none(ctx, p) if p in touched else h for p, h in before.items()}}


def _remember_content(ctx: ToolContext, before: Mapping[str, str | None]) -> None:
    """Record the reconciled files' current content as known (what edit/write do)."""
    for p in before:
        try:
            path = resolve_in_workspace(ctx.workspace, p)
            data = path.read_bytes()
            record(ctx, relpath(ctx.workspace, path), path.stat(), data, 0, 0)
        except (OSError, ToolError):
            continue
