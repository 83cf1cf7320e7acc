"""One role's run inside a task (a workflow stage): its agent, tools, model, system prompt
and verified finish (ARCHITECTURE.md "Agent"). :mod:`codetap.tasks.workflow` decides which
role runs next; :mod:`codetap.tasks.engine` owns the task.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from codetap.agent.loop import Agent
from codetap.agent.roles import Role
from codetap.agent.state import AgentState, rebuild
from codetap.errors import Submitted
from codetap.models.base import ModelProvider
from codetap.store import TaskRow
from codetap.tasks import finish
from codetap.tasks.workflow import RoleResult, last_handoff
from codetap.tools.base import Tool, ToolContext
from codetap.tools.handoff import finish_for
from codetap.tools.registry import make_tools, registered_tools

if TYPE_CHECKING:
    from codetap.tasks.engine import TaskDeps, TaskJournal


class RoleRunner:
    """Runs roles of one task, one at a time; ``state`` is the last role's agent state
    (the task's totals: steps and usage carry over between roles)."""

    def __init__(self, deps: TaskDeps, task: TaskRow, journal: TaskJournal,
                 state: AgentState) -> None:
        assert task.worktree is not None
        self.deps, self.task, self.journal, self.state = deps, task, journal, state
        # The repo map is only needed for the next model call: build it while an
        # interrupted step is completed, so a resumed task makes progress at once.
        self.repo_map = asyncio.ensure_future(
            deps.repo_map(task.worktree if task.repo_url else task.root, task.intent)
            if deps.repo_map else _empty())

    def close(self) -> None:
        """Stop building the repo map if it is still running."""
        self.repo_map.cancel()

    def provider(self, name: str | None) -> ModelProvider:
        """The provider of model ``name`` (None: the task's)."""
        if name is None or self.deps.providers is None:
            return self.deps.provider
        return self.deps.providers(name)

    async def run(self, role: Role) -> RoleResult:
        """Run ``role`` from the journal's state to its (verified) ``finish``. Raises what
        :meth:`Agent.run` raises, WorkspaceError, ConfigError."""
        deps, task = self.deps, self.task
        assert task.worktree is not None
        events = await deps.store.events(task.id)
        state = self.state = rebuild(events, await deps.store.checkpoints(task.id))
        ctx = ToolContext(workspace=task.worktree.resolve(), reads=state.reads, todo=state.todo,
                          bash_timeout_s=deps.bash_timeout_s, services=deps.services.copy(),
                          policy=deps.policy, sandbox=deps.sandbox,
                          env_passthrough=deps.env_passthrough)
        agent = Agent(role, self.provider(role.model), tools_for(role), ctx, self.journal,
                      state, "", self.provider(role.summary_model) if role.summary_model
                      else None)
        if task.base_commit:
            agent.context.changes = self.journal.changed_paths
        summary: str | None = None
        if state.pending or state.needs_checkpoint:
            try:
                await agent.finish_pending()
            except Submitted as done:
                summary = done.summary
        agent.system, instructions = await finish.build_prompt(
            role.system_prompt, task, deps.sandbox, deps.verify, await self.repo_map,
            deps.user_instructions)
        await finish.journal_prompt(self.journal, state.step, events, agent.system,
                                    instructions)
        if summary is None:
            summary = await finish.until_finish(agent)
        verification = None
        if role.verify:
            summary, verification = await finish.verified(agent, ctx, self.journal, task,
                                                          deps.verify, summary, events)
        handoff = last_handoff(await deps.store.events(task.id, events[-1].seq
                                                       if events else 0) or events)
        return RoleResult(summary, handoff, verification, agent.state.step)


def tools_for(role: Role) -> dict[str, Tool]:
    """The role's tools by name; ``finish`` is the one of its hand-off shape."""
    known = registered_tools()
    tools = {t.name: t for t in make_tools(n for n in role.tools if n in known)}
    if "finish" in tools:
        tools["finish"] = finish_for(role.handoff)
    return tools


async def _empty() -> str:
    return ""
