"""Approvals: whether a ``bash`` call may run under the command policy, asking the user
when the policy says ``ask`` (ARCHITECTURE.md "Trust and safety").

The question and its answer are journaled (``approval`` {call_id, command, answer}; answer
null while unanswered) before the command runs, so a restart never runs it unapproved and
never asks twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codetap.types import ToolCall, ToolResult

if TYPE_CHECKING:
    from codetap.agent.loop import Journal
    from codetap.agent.state import AgentState
    from codetap.tools.base import ToolContext


class Approvals:
    """The policy gate of one agent: ``ctx.policy`` decides, ``ctx.services.ask`` asks, and
    answers live in ``state.approvals`` (rebuilt from the journal)."""

    def __init__(self, ctx: ToolContext, state: AgentState, journal: Journal) -> None:
        self.ctx = ctx
        self.state = state
        self.journal = journal

    async def check(self, call: ToolCall) -> ToolResult | None:
        """None when ``call`` may run; else the error result the model gets instead.

        Only ``bash`` is policy-checked. ``ask`` puts the task in ``waiting`` until the user
        answers (``codetap/ask``, kind ``approval``); with nobody to ask it is a tool error.
        """
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
            nobody = await self.nobody_to_ask()
            if nobody is not None:
                return ToolResult(f"error: not run: it needs the user's approval "
                                  f"({verdict.reason()}) and {nobody}. Do without it, or "
                                  "finish and say in the summary that it needs running.",
                                  is_error=True)
            ask = self.ctx.services.ask
            assert ask is not None
            if call.id not in self.state.approvals:
                await self._record(call, command, None)
            answer = str(await ask(f"Run `{command}`? ({verdict.reason()})", ["yes", "no"],
                                   kind="approval"))
            await self._record(call, command, answer)
        if answer != "yes":
            return ToolResult(f"error: not run: the user did not approve it (answer: "
                              f"{answer!r}).", is_error=True)
        return None

    async def nobody_to_ask(self) -> str | None:
        """Why no approval can be asked now (None: it can): ``[policy] unattended = "deny"``,
        no ``ask`` service in this run, or no client attached to answer."""
        if getattr(self.ctx.policy, "unattended", "ask") == "deny":
            return 'the policy says not to ask when unattended ([policy] unattended = "deny")'
        if self.ctx.services.ask is None:
            return "no user is reachable in this run"
        can_ask = self.ctx.services.can_ask
        if can_ask is not None and not await can_ask():
            return "no editor or other client is attached to answer"
        return None

    def never_started(self, call: ToolCall) -> bool:
        """Whether a call pending at a restart cannot have started: the journal shows its
        approval was asked for and not given (still unanswered, or refused)."""
        return call.id in self.state.approvals and self.state.approvals[call.id] != "yes"

    async def _record(self, call: ToolCall, command: str, answer: str | None) -> None:
        self.state.approvals[call.id] = answer
        await self.journal.record(self.state.step, [("approval", {
            "call_id": call.id, "command": command, "answer": answer})])
