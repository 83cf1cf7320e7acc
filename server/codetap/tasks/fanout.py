"""A fan-out stage: the plan's sub-tasks as child tasks in parallel, then their branches
merged into the task's worktree in plan order (ARCHITECTURE.md "Teams and scheduler").

The stage (``fan_out = "subtasks"``) is entered with the planner's hand-off. For sub-task
``i`` (1-based) of the hand-off journaled at seq ``S`` there is one child task with
``subtask = "S.i"``, ``role`` the stage's role, branched at the parent's commit then; its
first message is the plan item (intent, files) and the task's own message. The children
run like any task (:class:`codetap.tasks.subtasks.SubtaskHost`); then each child's tip is
merged (git three-way merge, :mod:`codetap.tasks.merge`) in plan order. A conflicted merge
is committed with its markers and given to the stage's integrator role (default: the
stage's role) in this worktree, as a new conversation started by a ``handoff`` entry with
``integrate`` set; the merge counts as done when no markers are left.

Journal entries (``data`` shapes), each merge step with a checkpoint at its commit:
  ``fanout``          {stage, after: S, base, children: [{subtask, task_id, intent}]}
  ``merge_conflict``  {stage, subtask, task_id, paths}
  ``merge``           {stage, subtask, task_id, commit, conflict, skipped?}

Resuming is idempotent: children are found by (parent, subtask key) before any is created,
a finished child is not started again, a sub-task with a ``merge`` entry is not merged
again, and one with a ``merge_conflict`` but no ``merge`` resumes its integrator.

A child that ends ``failed`` (or paused or interrupted) fails the parent with an error
naming it, after every child has ended; resuming the parent starts that child again and
reuses the others. A ``cancelled`` child is skipped: not merged, said in the hand-off.
Costs: each child's usage stays on its own row (counted once in every sum); the parent's
``[limits] max_cost_usd`` counts its own cost plus its children's: once reached, the next
model request of the parent or of any child waits until the limit is raised
(:func:`codetap.scheduler.task_spent`).
Pausing the parent leaves its children running (cancelling it cancels them: the runtime).

Fault points (:mod:`codetap.store.faults`): ``fanout_child_created`` (a child row written,
the ``fanout`` entry not yet), ``after_fanout``, ``after_git_merge`` (git merged, nothing
journaled), ``after_merge_conflict`` and ``after_merge``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codetap.agent.roles import Role, Stage
from codetap.errors import ConfigError, WorkspaceError
from codetap.store import Event, TaskRow
from codetap.store.faults import fault_point
from codetap.tasks import git, merge
from codetap.tasks.subtasks import SubtaskHost
from codetap.tasks.workflow import RoleResult
from codetap.types import JSON, TaskState

if TYPE_CHECKING:
    from codetap.tasks.engine import TaskJournal
    from codetap.tasks.stages import RoleRunner


@dataclass(slots=True)
class FanOut:
    """Runs fan-out stages of one task (see the module doc)."""

    host: SubtaskHost
    task: TaskRow
    journal: TaskJournal
    runner: RoleRunner
    roles: dict[str, Role]
    message: str

    async def __call__(self, index: int, stage: Stage, plan: JSON, after: int) -> RoleResult:
        """Run stage ``index`` on ``plan`` (the hand-off journaled at seq ``after``); the
        merged result as the stage's. WorkspaceError naming a failed child or a git
        failure, ConfigError for an unknown role."""
        integrator = self.roles.get(stage.integrator or stage.role)
        if stage.role not in self.roles or integrator is None:
            raise ConfigError(f"fan-out stage {index}: unknown role "
                              f"{stage.role!r} or integrator {stage.integrator!r}")
        events = await self.host.store.events(self.task.id)
        entry = _find(events, "fanout", stage=index, after=after)
        children = entry["children"] if entry else await self._create(index, stage, plan,
                                                                       after)
        ids = [int(c["task_id"]) for c in children]
        rows = await self.host.run(ids, stage.max_parallel)
        bad = [r for r in rows if r.state not in (TaskState.READY, TaskState.CANCELLED)]
        if bad:
            raise WorkspaceError("; ".join(
                f"sub-task {r.subtask} (task {r.id}) ended {r.state.value}"
                + (f": {r.error}" if r.error else "") for r in bad)
                + ". Resume this task to run the failed sub-tasks again.")
        merged: list[JSON] = []
        for child, row in zip(children, rows, strict=True):
            merged.append(await self._merge(index, integrator, child, row))
        lines = [f"{i}. {c['intent'].splitlines()[0]} (task {m['task_id']}): "
                 + ("cancelled, not merged" if m.get("skipped") else
                    "merged after resolving conflicts" if m["conflict"] else "merged")
                 for i, (c, m) in enumerate(zip(children, merged, strict=True), 1)]
        summary = f"{len(children)} sub-tasks ran in parallel:\n" + "\n".join(lines)
        return RoleResult(summary, {"merged": merged}, None, self.runner.state.step)

    async def _create(self, index: int, stage: Stage, plan: JSON, after: int) -> list[JSON]:
        existing = {c.subtask: c for c in await self.host.children(self.task.id)}
        assert self.task.worktree is not None
        items = list(plan.get("subtasks") or [])
        keys = [f"{after}.{i}" for i in range(1, len(items) + 1)]
        found = [existing[k] for k in keys if k in existing]
        base = found[0].base_commit if found else await git.head(self.task.worktree)
        children: list[JSON] = []
        for i, (key, item) in enumerate(zip(keys, items, strict=True), 1):
            row = existing.get(key)
            if row is None:
                row = await self.host.create(self.task, key, stage.role,
                                             self._intent(i, len(items), item), base)
                fault_point("fanout_child_created")
            children.append({"subtask": key, "task_id": row.id, "intent": row.intent})
        await self.journal.record(self.runner.state.step, [("fanout", {
            "stage": index, "after": after, "base": base, "children": children})])
        fault_point("after_fanout")
        return children

    def _intent(self, i: int, n: int, item: JSON) -> str:
        files = ", ".join(item.get("files") or [])
        return "\n\n".join(p for p in (
            str(item.get("intent", "")),
            f"Files: {files}" if files else "",
            f"This is sub-task {i} of {n} of task {self.task.id}. The other sub-tasks run at "
            "the same time in worktrees of their own and are merged after yours: change "
            "only what your sub-task needs. The whole task:\n" + self.message) if p)

    async def _merge(self, index: int, integrator: Role, child: JSON, row: TaskRow) -> JSON:
        """Merge one child (once); its ``merge`` entry's data."""
        events = await self.host.store.events(self.task.id)
        key = str(child["subtask"])
        done = _find(events, "merge", stage=index, subtask=key)
        if done is not None:
            return done
        base: JSON = {"stage": index, "subtask": key, "task_id": row.id}
        if row.state is TaskState.CANCELLED:
            return await self._record("merge", {**base, "commit": None, "conflict": False,
                                                "skipped": "cancelled"})
        assert self.task.worktree is not None
        conflict = _find(events, "merge_conflict", stage=index, subtask=key)
        if conflict is None:
            await self.journal.commits.sync_index()
            tip = row.tip_commit or row.base_commit
            result = await merge.merge(self.task.worktree, tip,
                                       f"codetap task {self.task.id}: merge sub-task {key} "
                                       f"(task {row.id})")
            fault_point("after_git_merge")
            if not result.conflicts:
                return await self._record("merge", {**base, "commit": result.head,
                                                    "conflict": False})
            conflict = await self._record("merge_conflict", {**base,
                                                             "paths": list(result.conflicts)})
        await self._integrate(index, integrator, child, row, conflict, events)
        left = merge.marked(self.task.worktree, conflict["paths"])
        if left:
            raise WorkspaceError(f"the {integrator.name} left conflict markers in "
                                 f"{', '.join(left)} merging sub-task {key} (task {row.id})")
        head = await git.head(self.task.worktree)
        return await self._record("merge", {**base, "commit": head, "conflict": True})

    async def _integrate(self, index: int, role: Role, child: JSON, row: TaskRow,
                         conflict: JSON, events: list[Event]) -> None:
        key = str(child["subtask"])
        if not any(e.kind == "handoff" and (e.data.get("integrate") or {}).get("subtask")
                   == key for e in events):
            paths = ", ".join(conflict["paths"])
            context = (f"{self.message}\n\n## Merge conflict\nSub-task {key} (task {row.id}): "
                       f"{child['intent'].splitlines()[0]}\nran in parallel with the others "
                       f"and its branch conflicted when merged into this worktree. The "
                       f"conflict markers are in: {paths}.\nResolve every conflict so both "
                       "sides' intents hold (remove all markers), then call `finish`.")
            await self.journal.record(self.runner.state.step, [("handoff", {
                "from_role": "merge", "to_role": role.name, "from_stage": index,
                "to_stage": index, "round": 0, "integrate": {"subtask": key,
                                                             "task_id": row.id},
                "data": {"summary": f"sub-task {key} conflicted in {paths}"},
                "context": context})])
        await self.runner.run(role)

    async def _record(self, kind: str, data: JSON) -> JSON:
        """Journal ``kind`` with a checkpoint at the worktree's HEAD (task row included)."""
        await self.journal.record(self.runner.state.step, [(kind, data)], durable=False)
        await self.journal.checkpoint(self.runner.state, True, frozenset())
        fault_point(f"after_{kind}")
        return data


def _find(events: Sequence[Event], kind: str, **match: object) -> JSON | None:
    """The data of the latest ``kind`` entry whose fields equal ``match``."""
    for ev in reversed(events):
        if ev.kind == kind and all(ev.data.get(k) == v for k, v in match.items()):
            return ev.data
    return None

