"""Running one task: workspace, tools, agent, and what its ending means for the state.

:class:`TaskJournal` is the agent's :class:`~codetap.agent.loop.Journal`: it appends to the
store, commits the worktree after steps that changed files and tells the runtime's
listeners. :func:`run_task` drives a task from ``queued``/``interrupted``/``paused`` to an
end state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codetap import tracing
from codetap.agent.context import task_message
from codetap.agent.roles import Role, Stage, Workflow
from codetap.agent.state import AgentState, rebuild
from codetap.errors import ConfigError, LimitsExceeded, ModelError, WorkspaceError
from codetap.models.base import ModelProvider
from codetap.policy import CommandPolicy
from codetap.store import Event, Store, StoreUnavailable, TaskRow
from codetap.store.faults import fault_point
from codetap.store.retry import journaled, until_available, write_through
from codetap.tasks import finish, git, workflow
from codetap.tasks.fanout import FanOut
from codetap.tasks.stage import Checkpointer
from codetap.tasks.stages import RoleRunner
from codetap.tasks.subtasks import SubtaskHost
from codetap.tasks.verify import VerifySettings
from codetap.tools.base import Services
from codetap.tools.sandbox import SandboxSettings
from codetap.types import JSON, Message, TaskState

log = logging.getLogger(__name__)
Notify = Callable[[int, int, str, JSON], None]
Updated = Callable[[TaskRow], Awaitable[None]]


class TaskJournal:
    """Journal of one task: store appends, worktree commits, listener notifications."""

    def __init__(self, store: Store, task: TaskRow, worktree: Path, notify: Notify,
                 updated: Updated) -> None:
        self.store = store
        self.task = task
        self.worktree = worktree
        self.notify = notify
        self.updated = updated
        self.commits = Checkpointer(worktree)
        self.held: list[tuple[int, list[tuple[str, JSON]]]] = []
        self.seen = 0  # the last seq this journal wrote: a lost write is looked for after it

    async def before_command(self) -> None:
        await self.commits.sync_index()

    async def record(self, step: int, entries: list[tuple[str, JSON]],
                     durable: bool = True) -> None:
        self.held.append((step, entries))
        if durable:
            self._tell(await self._write_held())

    async def _write_held(self, checkpoint: tuple[int, str, JSON] | None = None,
                          fields: dict[str, Any] | None = None) -> list[Event]:
        """Append the held entries (and ``checkpoint`` (step, commit, state) after them, and
        the task row's ``fields``) in one transaction, one ``append`` per run of entries of
        the same step. A transaction lost with the store's connection is written again
        once the store is back, unless reading the journal back finds it committed
        (:func:`codetap.store.retry.write_through`): the step goes on where it was, its
        tool calls are not run again."""
        runs = _runs(self.held, checkpoint)

        async def write() -> list[Event]:
            events: list[Event] = []
            with self.store.atomic():
                for i, (step, entries) in enumerate(runs):
                    last = checkpoint is not None and i == len(runs) - 1
                    cp = checkpoint[1:] if checkpoint is not None and last else None
                    events += await self.store.append(self.task.id, step, entries, cp)
                if fields is not None:
                    self.task = await self.store.update_task(self.task.id, **fields)
            return events

        async def landed() -> list[Event] | None:
            found = await journaled(self.store, self.task.id, self.seen, runs, checkpoint)
            if found is not None and fields is not None:
                self.task = await self.store.get_task(self.task.id)
            return found

        events = await write_through(self.store, write, landed, f"task {self.task.id}")
        self.held = []
        if events:
            self.seen = events[-1].seq
        return events

    def _tell(self, events: list[Event]) -> None:
        for ev in events:
            self.notify(ev.task_id, ev.seq, ev.kind, ev.data)

    async def changed_paths(self) -> list[str]:
        """Worktree-relative paths that differ from the task's base commit now (committed or
        not, untracked included; renames as delete + add). WorkspaceError if git fails."""
        base = self.task.base_commit
        diff = await git.git(self.worktree, "diff", "--name-only", "--no-renames", "-z", base)
        new = await git.git(self.worktree, "ls-files", "--others", "--exclude-standard", "-z")
        return sorted({p for p in (diff + new).split("\0") if p})

    async def checkpoint(self, state: AgentState, mutated: bool,
                         changed: frozenset[str] | None = None) -> None:
        commit = None
        if mutated:
            fault_point("before_commit")
            # Nothing new to commit after a restart can mean it was committed just before
            # the crash: HEAD, not the last checkpoint's commit, is the step's state.
            commit = await self.commits.commit(
                f"codetap task {self.task.id} step {state.step}", changed)
            fault_point("after_commit")
        if commit is None:
            commit = self.task.tip_commit or self.task.base_commit
        # The step's held entries, its checkpoint and the task row: one transaction.
        events = await self._write_held((state.step, commit, state.checkpoint_state()),
                                        {"steps": state.step, "usage": state.usage,
                                         "tip_commit": commit})
        self._tell(events)
        fault_point("after_checkpoint")
        await self.updated(self.task)


def _runs(held: list[tuple[int, list[tuple[str, JSON]]]],
          checkpoint: tuple[int, str, JSON] | None) -> list[tuple[int, list[tuple[str, JSON]]]]:
    """``held`` merged into runs of one step each, ending with the checkpoint's step."""
    runs: list[tuple[int, list[tuple[str, JSON]]]] = []
    for step, entries in held:
        if runs and runs[-1][0] == step:
            runs[-1][1].extend(entries)
        else:
            runs.append((step, list(entries)))
    if checkpoint is not None and not (runs and runs[-1][0] == checkpoint[0]):
        runs.append((checkpoint[0], []))
    return runs


@dataclass(slots=True)
class TaskDeps:
    """What a task run needs from the runtime."""

    store: Store
    worktrees_dir: Path
    provider: ModelProvider
    role: Role
    services: Services
    bash_timeout_s: float
    notify: Notify
    updated: Updated
    repo_map: Callable[[Path, str], Awaitable[str]] | None = None
    policy: CommandPolicy = field(default_factory=CommandPolicy)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    env_passthrough: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    verify: VerifySettings = field(default_factory=VerifySettings)
    user_instructions: Path | None = None
    roles: dict[str, Role] | None = None
    workflow: Workflow | None = None
    providers: Callable[[str], ModelProvider] | None = None
    subtasks: SubtaskHost | None = None


async def prepare_workspace(deps: TaskDeps, task: TaskRow) -> TaskRow:
    """Create the task's worktree on ``codetap/task-<id>`` at its base commit, or, for a
    resumed task, reset the existing worktree to its last checkpoint's commit (kept as it
    is when the journal has results after that checkpoint: a partial step, completed by
    :meth:`Agent.finish_pending`). WorkspaceError when git fails."""
    worktree = task.worktree or deps.worktrees_dir / f"task-{task.id}"
    checkpoint = await deps.store.latest_checkpoint(task.id)
    commit = (checkpoint.commit_id if checkpoint else None) or task.base_commit
    if not (worktree / ".git").exists():
        if worktree.exists() or task.worktree is not None:
            # A crash during `git worktree add` leaves a half-made directory or a stale
            # registration; the branch (and its commits) survive the removal.
            await git.remove_worktree(task.root, worktree)
        await git.add_worktree(task.root, worktree, task.branch, commit)
    else:
        _clear_stale_locks(worktree, task.branch)
        if not await _has_partial_step(deps.store, task.id, checkpoint.seq if checkpoint else 0):
            await git.reset_hard(worktree, commit)
    if task.worktree != worktree:
        task = await deps.store.update_task(task.id, worktree=worktree)
    return task


def _clear_stale_locks(worktree: Path, branch: str) -> None:
    """Remove git lock files left by a git process killed together with the daemon.

    Only the daemon (holder of the daemon lock) runs git in task worktrees, so when a task
    is prepared any lock there is stale, and it would make every later git command fail.
    Paths follow gitrepository-layout(5): ``.git`` is a ``gitdir:`` file, ``commondir``
    names the main repository's git directory.
    """
    try:
        text = (worktree / ".git").read_text()
    except OSError:
        return
    if not text.startswith("gitdir:"):
        return
    git_dir = (worktree / text.removeprefix("gitdir:").strip()).resolve()
    try:
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    except OSError:
        common = git_dir
    locks = [git_dir / "index.lock", git_dir / "HEAD.lock"]
    if branch:
        locks.append(common / "refs" / "heads" / f"{branch}.lock")
    for lock in locks:
        lock.unlink(missing_ok=True)


async def _has_partial_step(store: Store, task_id: int, after: int) -> bool:
    return any(e.kind == "tool_result" for e in await store.events(task_id, after))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended: the state the runtime moves the task to, and the row fields to
    write with it (``error``, ``summary``, ``tip_commit``, ``steps``, ``usage``,
    ``verification``)."""

    state: TaskState
    fields: dict[str, Any] = field(default_factory=dict)


async def run_task(deps: TaskDeps, task: TaskRow) -> Outcome:
    """:func:`_run_task` in a ``codetap.task`` span (:mod:`codetap.tracing`)."""
    with tracing.span("codetap.task", {"codetap.task.id": task.id,
                                       "codetap.task.workflow": task.workflow}) as span:
        outcome = await _until_done(deps, task)
        tracing.annotate(span, {"codetap.task.outcome": outcome.state.value})
        return outcome


async def _until_done(deps: TaskDeps, task: TaskRow) -> Outcome:
    """:func:`_run_task`, started again from the task's last checkpoint (the path of a
    resume after kill -9: worktree reset, state rebuilt from the journal, a partial step
    finished) each time the store goes away under it (StoreUnavailable: PostgreSQL
    restarted) in a way the journal's own writes did not ride out (a read, a wait's
    note), once the store is back. The task stays ``running`` meanwhile: its state cannot
    be written anyway. docs/scale-out.md, "When PostgreSQL goes away"."""
    while True:
        try:
            return await _run_task(deps, task)
        except StoreUnavailable as exc:
            what = f"task {task.id}"
            log.warning("%s: %s; resuming from its last checkpoint once the store is back",
                        what, exc)
            await until_available(deps.store, what)
            with contextlib.suppress(StoreUnavailable):  # gone again: the next round waits
                task = await deps.store.get_task(task.id)


async def _run_task(deps: TaskDeps, task: TaskRow) -> Outcome:
    """Run ``task`` (already ``running``) until it ends; how it ended.

    ready: the model called ``finish`` (and the ``[verify]`` run passed, or still failed
    after ``max_rounds`` runs: ``verification.passed`` says which, see
    :mod:`codetap.tasks.finish`); failed: limits, model errors after retries, git
    errors (the reason is in ``error``). The engine never writes the task's state itself:
    the runtime applies the outcome (ARCHITECTURE.md "Ownership"). Cancellation propagates
    (the caller sets the state it asked for).
    """
    try:
        task = await prepare_workspace(deps, task)
    except WorkspaceError as exc:
        return Outcome(TaskState.FAILED, {"error": str(exc)})
    assert task.worktree is not None
    events = await deps.store.events(task.id)
    state = rebuild(events, await deps.store.checkpoints(task.id))
    journal = TaskJournal(deps.store, task, task.worktree, deps.notify, deps.updated)
    journal.seen = events[-1].seq if events else 0
    if not state.messages:
        content = task_message(task.intent, _scope_for_model(task))
        state.messages.append(_user(content))
        await journal.record(0, [("user", {"content": content})])
    if deps.warnings:
        await journal.record(state.step, [("warning", {"message": w}) for w in deps.warnings])
    message = next((str(e.data["content"]) for e in events if e.kind == "user"),
                   state.messages[0].content if state.messages else "")
    runner = RoleRunner(deps, task, journal, state)
    roles = deps.roles or {deps.role.name: deps.role}
    drive = workflow.Drive(
        deps.workflow or Workflow(task.workflow, (Stage(deps.role.name),)),
        roles, journal, message, runner.run,
        lambda: deps.store.events(task.id), journal.changed_paths, deps.services.ask,
        FanOut(deps.subtasks, task, journal, runner, roles, message) if deps.subtasks
        else None)
    try:
        result = await workflow.drive(drive)
    except (LimitsExceeded, ModelError) as exc:
        reason = str(exc) if isinstance(exc, LimitsExceeded) else f"model error: {exc}"
        await journal.record(runner.state.step, [("error", {
            "reason": str(exc), "type": type(exc).__name__})])
        return Outcome(TaskState.FAILED, {"error": reason, **_totals(runner.state)})
    except (WorkspaceError, ConfigError) as exc:
        return Outcome(TaskState.FAILED, {"error": str(exc), **_totals(runner.state)})
    finally:
        runner.close()
    tip = await git.head(task.worktree)
    return Outcome(TaskState.READY, {"summary": result.summary, "tip_commit": tip,
                                     "verification": finish.task_field(result.verification),
                                     **_totals(runner.state)})


def _totals(state: AgentState) -> dict[str, Any]:
    """The row's totals are written with each checkpoint; a run that ends (or resumed after
    a crash) past the last one must still report what the journal says was spent."""
    return {"steps": state.step, "usage": state.usage}


def _scope_for_model(task: TaskRow) -> JSON | None:
    if not task.scope:
        return None
    uri = str(task.scope.get("uri", ""))
    path = uri.removeprefix("file://")
    try:
        rel = Path(path).resolve().relative_to(task.root).as_posix()
    except ValueError:
        rel = path
    return {**task.scope, "path": rel}


def _user(content: str) -> Message:
    return Message("user", content)


async def cancel_and_wait(task: asyncio.Task[Any], timeout: float = 2.0) -> None:
    """Cancel an asyncio task and wait up to ``timeout`` seconds for it to unwind."""
    task.cancel()
    await asyncio.wait({task}, timeout=timeout)
