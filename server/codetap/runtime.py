"""The Runtime: the one owner of long-lived state (store, running tasks, services).

Every front end (CLI, LSP sessions in the daemon) goes through this API. It schedules task
runs as asyncio tasks, enforces state transitions (ARCHITECTURE.md "Tasks"), relays journal
entries and task updates to listeners, and routes questions from the ``ask`` tool to
whoever answers them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from codetap import redact, waits
from codetap.agent import teams_config
from codetap.config import Config
from codetap.errors import (
    CodetapError,
    ConfigError,
    InvalidTransition,
    StoreError,
    WorkspaceError,
)
from codetap.models.base import ModelProvider
from codetap.scheduler import Budget, GatedProvider, Scheduler, task_spent
from codetap.store import Store, TaskRow, now_rfc3339
from codetap.store.outbox import TaskWebhook
from codetap.store.retry import write_through
from codetap.tasks import git
from codetap.tasks import push as remote_push
from codetap.tasks.engine import TaskDeps, run_task
from codetap.tasks.gc import GcResult, collect
from codetap.tasks.git import FileChange
from codetap.tasks.mirrors import RemoteStart, prepare_remote_task, remote_start
from codetap.tasks.remote import branch_name
from codetap.tasks.states import check_transition
from codetap.tasks.subtasks import SubtaskHost
from codetap.tools.base import Services
from codetap.tools.sandbox import describe as sandbox_describe
from codetap.tools.sandbox import probe as sandbox_probe
from codetap.types import JSON, TaskState

log = logging.getLogger(__name__)
ATTACH_GRACE_S = 10.0
TaskRecord = TaskRow

__all__ = ["FileChange", "OwnerBusy", "Question", "Runtime", "RuntimeListener", "TaskRecord"]


@dataclass(slots=True)
class Question:
    """A question from a task to the user (``kind``: question | approval)."""

    task_id: int
    question_id: str
    kind: str
    question: str
    options: list[str] | None = None
    answer: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class OwnerBusy(CodetapError):
    """Another process owns the tasks (a daemon, or another embedded runtime)."""


def _take_owner_lock(config: Config) -> IO[bytes]:
    """The daemon lock of ``config.runtime_dir``, held until closed; OwnerBusy if taken."""
    from codetap.daemon.lock import DaemonRunning, acquire_lock
    from codetap.daemon.paths import DaemonPaths

    paths = DaemonPaths(config.runtime_dir).ensure()
    try:
        return acquire_lock(paths)
    except DaemonRunning as exc:
        raise OwnerBusy(f"{exc}: it owns codetap's tasks, so this process cannot run them "
                        "too; use the daemon (the CLI and editors do), or stop it with "
                        "`codetap daemon stop`") from None


class RuntimeListener(Protocol):
    """Receives runtime news on the event loop; implementations must not block."""

    def task_updated(self, task: TaskRecord) -> None: ...
    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None: ...
    def question(self, q: Question) -> None: ...


_ALLOWED: dict[str, set[TaskState]] = {
    "cancel": {TaskState.QUEUED, TaskState.RUNNING, TaskState.WAITING, TaskState.PAUSED,
               TaskState.INTERRUPTED, TaskState.FAILED},
    "pause": {TaskState.QUEUED, TaskState.RUNNING, TaskState.WAITING},
    "resume": {TaskState.PAUSED, TaskState.INTERRUPTED, TaskState.FAILED},
    "discard": {TaskState.READY, TaskState.FAILED, TaskState.CANCELLED, TaskState.PAUSED},
    "apply": {TaskState.READY},
    "message": {TaskState.READY, TaskState.APPLIED, TaskState.FAILED, TaskState.CANCELLED,
                TaskState.PAUSED, TaskState.INTERRUPTED},
    "rollback": {TaskState.PAUSED, TaskState.READY, TaskState.FAILED, TaskState.CANCELLED,
                 TaskState.INTERRUPTED},
    "push": {TaskState.READY},
}


class Runtime:
    """Shared state of one codetap process. Create with :meth:`open`, end with :meth:`close`."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        from codetap.services import default_services
        self.services: Services = default_services(config)
        self._runs: dict[int, asyncio.Task[TaskRow]] = {}
        self._stop_as: dict[int, TaskState] = {}
        self._providers: dict[str, ModelProvider] = {}
        self._listeners: list[RuntimeListener] = []
        self._questions: dict[int, Question] = {}
        self._qids = itertools.count(1)
        self._closing = False
        self._clients = 0
        self._client_attached = asyncio.Event()
        self.attach_grace_s = ATTACH_GRACE_S
        self._lock: IO[bytes] | None = None
        from codetap.webhooks.service import Webhooks
        self.webhooks = Webhooks(store, lambda: self.config)
        self.scheduler = Scheduler(teams_config.max_concurrent_tasks(config))
        self.budget = Budget()
        self._configure_budget()
        self.budget.refresh = self._reload_config
        self.waits = waits.Board()
        self._listeners.append(self.waits)
        self._slots: dict[str, asyncio.Semaphore] = {}
        from codetap.executor.base import make_executor
        self.executor = make_executor(self)

    @classmethod
    async def open(
        cls, config: Config, *, resume_interrupted: bool | None = None, recover: bool = True,
        listeners: Sequence[RuntimeListener] = (), take_lock: bool = True,
    ) -> Runtime:
        """Open the store; tasks that were active when the last process died become
        ``interrupted``, and every interrupted task (crash or orderly stop) is resumed
        unless ``resume_interrupted`` (or config ``[daemon] resume_interrupted``) says no.
        ``listeners`` are subscribed before recovery, so they see it.

        One owner (ARCHITECTURE.md "Ownership"): an embedded runtime (tests, ``codetap lsp
        --no-daemon``) first takes the daemon lock and raises :class:`OwnerBusy` while a
        daemon (or another embedded runtime) holds it; ``take_lock=False`` is only for the
        daemon's worker, whose parent holds the lock. Holding the lock, every active task
        in the database has lost its owner, so recovery may take them all."""
        redact.register_env(m.api_key_env for m in config.models.values() if m.api_key_env)
        lock = _take_owner_lock(config) if take_lock else None
        try:
            rt = cls(config, await Store.open(config.db_path, config.store_synchronous,
                                              url=config.store_url))
        except BaseException:
            if lock is not None:
                from codetap.daemon.lock import release_lock
                release_lock(lock)
            raise
        rt._lock = lock
        for listener in listeners:
            rt.subscribe(listener)
        rt.webhooks.start()
        await rt._seed_budget()
        if not recover:
            return rt
        groups = rt.services.process_groups
        if groups is not None:
            for pgid in groups.kill_leftovers():
                log.warning("killed process group %d left by a runtime that died", pgid)
        active = [TaskState.QUEUED, TaskState.RUNNING, TaskState.WAITING]
        resume = config.resume_interrupted if resume_interrupted is None else resume_interrupted
        for task in await rt.store.list_tasks(states=active):
            await rt._transition(task.id, TaskState.INTERRUPTED,
                                reason="codetap stopped while the task was active")
        if resume:
            for task in reversed(await rt.store.list_tasks(states=[TaskState.INTERRUPTED])):
                if task.parent_id is None:  # a sub-task is started by its parent
                    await rt.resume(task.id)
        return rt

    async def close(self) -> None:
        """Stop running tasks (they become ``interrupted`` and resume next start), close."""
        self._closing = True
        for task_id in list(self._runs):
            await self._stop(task_id, TaskState.INTERRUPTED)
        for p in self._providers.values():
            await p.aclose()
        await self.executor.close()
        await self.webhooks.close()
        if self.services.pool is not None:
            await self.services.pool.shutdown()
        await self.store.close()
        if self._lock is not None:
            from codetap.daemon.lock import release_lock
            release_lock(self._lock)
            self._lock = None

    def subscribe(self, listener: RuntimeListener) -> Callable[[], None]:
        """Register ``listener``; returns the function that unregisters it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- queries ---------------------------------------------------------------

    async def get_task(self, task_id: int) -> TaskRecord:
        """The task; TaskNotFound if unknown."""
        return await self.store.get_task(task_id)

    async def list_tasks(
        self, root: Path | None = None, states: Sequence[TaskState] | None = None
    ) -> list[TaskRecord]:
        """Tasks newest first, filtered by repository root and states."""
        return await self.store.list_tasks(root.resolve() if root else None, states)

    def waiting_reason(self, task: TaskRecord) -> str | None:
        """Why ``task`` waits now (``TaskInfo.waiting``, :mod:`codetap.waits`), or None."""
        return self.waits.reason(task)

    async def diff(self, task_id: int) -> str:
        """Unified diff of the task's change (base -> tip); empty before the first edit."""
        task = await self.store.get_task(task_id)
        tip = task.tip_commit or task.base_commit
        return await git.diff(task.root, task.base_commit, tip) if task.base_commit else ""

    async def file_changes(self, task_id: int) -> list[FileChange]:
        """Per file, the base and tip texts of the task's change."""
        task = await self.store.get_task(task_id)
        if not task.tip_commit:
            return []
        return await git.file_changes(task.root, task.base_commit, task.tip_commit)

    async def set_clients(self, count: int) -> None:
        """How many clients that can answer questions are attached now (editor sessions);
        called by the front on every attach and detach."""
        self._clients = max(0, count)
        if self._clients:
            self._client_attached.set()
        else:
            self._client_attached.clear()

    async def can_ask(self) -> bool:
        """Whether someone can answer a question: a client is attached now, or attaches
        within ``attach_grace_s`` seconds (an editor that started the daemon attaches right
        after it; tasks resumed at start-up must not fail for being a moment early)."""
        if self._clients:
            return True
        try:
            await asyncio.wait_for(self._client_attached.wait(), self.attach_grace_s)
        except TimeoutError:
            return False
        return True

    def pending_questions(self) -> list[Question]:
        """Questions waiting for an answer, oldest first."""
        return list(self._questions.values())

    async def wait(self, task_id: int) -> TaskRecord:
        """Wait until the task's current run ends; the task as it is then."""
        run = self._runs.get(task_id)
        if run is not None:
            await asyncio.wait({run})
        return await self.store.get_task(task_id)

    # -- commands --------------------------------------------------------------

    async def start_task(
        self, intent: str, root: Path | None, *, scope: JSON | None = None,
        model: str | None = None, workflow: str | None = None,
        overlay: Mapping[Path, str] | None = None, repo: Mapping[str, Any] | None = None,
        push: bool | None = None, pull_request: Mapping[str, Any] | bool | None = None,
        branch: str | None = None, webhook: Mapping[str, Any] | None = None,
        priority: int = 0,
    ) -> TaskRecord:
        """Create a task on a snapshot of ``root`` (uncommitted changes and ``overlay``
        buffers included) and schedule it. ConfigError for an unknown model or workflow,
        WorkspaceError for a directory that is not a git repository.

        A remote task has ``root=None`` and ``repo={"url", "ref"?}``: its mirror is cloned
        or fetched when it runs (:mod:`codetap.tasks.mirrors`); ``push`` (default ``[git]
        push``) and ``pull_request`` (True or ``{title?, draft?}``) say what happens when
        it ends (:mod:`codetap.tasks.push`). ``branch`` overrides ``[git]
        branch_template``. WorkspaceError for an unusable URL or branch name.

        ``webhook``: the task's own webhook ``{url, secret, interval_s?, events?}``
        (:mod:`codetap.webhooks`; ConfigError for a bad one), stored with the task in the
        database, its secret never in TaskInfo, the journal or the logs.

        The task waits in ``queued`` until the scheduler admits it (``[scheduler]
        max_concurrent_tasks``): higher ``priority`` first, FIFO within a priority (kept
        with the task, so a restart keeps the order)."""
        self._reload_config()
        hook = self.webhooks.configure(webhook)
        remote = remote_start(self.config.data_dir, repo, push, pull_request) if repo else None
        if branch is not None:
            branch_name("", 0, branch)
        if remote is None and root is None:
            raise WorkspaceError("a task needs a repository: a local root or a repo URL")
        if remote is not None:
            return await self._start_remote(intent, remote, scope, model, workflow, branch,
                                            hook, priority)
        assert root is not None
        repo_dir = await git.repo_root(root)
        model_cfg = self.config.model(model)
        workflow = self._workflow(workflow)
        rel_overlay = {p.resolve().relative_to(repo_dir).as_posix(): t for p, t in
                       (overlay or {}).items() if p.resolve().is_relative_to(repo_dir)}
        base = await git.snapshot(repo_dir, rel_overlay)
        return await self._create(intent, repo_dir, scope, model_cfg.name, workflow, branch,
                                  hook, priority, base_commit=base, tip_commit=base)

    async def _start_remote(self, intent: str, remote: RemoteStart, scope: JSON | None,
                            model: str | None, workflow: str | None,
                            branch: str | None, hook: TaskWebhook | None = None,
                            priority: int = 0) -> TaskRecord:
        model_cfg = self.config.model(model)
        workflow = self._workflow(workflow)
        return await self._create(intent, remote.mirror, scope, model_cfg.name, workflow,
                                  branch, hook, priority, repo_url=remote.url,
                                  remote=remote.options)

    async def _create(self, intent: str, root: Path, scope: JSON | None, model: str,
                      workflow: str, branch: str | None, hook: TaskWebhook | None,
                      priority: int, **fields: Any) -> TaskRecord:
        """Write the task, its branch name, ``fields``, its webhook and its task.created
        messages in one transaction, then tell the listeners and schedule it."""
        with self.store.atomic():
            task = await self.store.create_task(intent=intent, root=root, scope=scope,
                                                model=model, workflow=workflow,
                                                priority=priority)
            name = branch_name(self.config.git.branch_template, task.id, branch)
            task = await self.store.update_task(task.id, branch=name, **fields)
            self.webhooks.created(task, hook)
        self.webhooks.deliverer.wake()
        await self._publish(task)
        self._launch(task)
        return task

    async def cancel(self, task_id: int) -> TaskRecord:
        """Cancel the task: its tool processes are killed within 2 s; its sub-tasks that
        have not ended are cancelled too."""
        await self._check(task_id, "cancel")
        if task_id in self._runs:
            await self._stop(task_id, TaskState.CANCELLED)
            task = await self.store.get_task(task_id)
        else:
            task = await self._transition(task_id, TaskState.CANCELLED)
        for child in await self.store.list_tasks():
            if child.parent_id == task_id and child.state in _ALLOWED["cancel"]:
                await self.cancel(child.id)
        return task

    async def pause(self, task_id: int) -> TaskRecord:
        """Pause: the run stops now and resumes from its last checkpoint on :meth:`resume`."""
        await self._check(task_id, "pause")
        if task_id in self._runs:
            await self._stop(task_id, TaskState.PAUSED)
            return await self.store.get_task(task_id)
        return await self._transition(task_id, TaskState.PAUSED)

    async def resume(self, task_id: int) -> TaskRecord:
        """Run a paused, interrupted or failed task again from its last checkpoint."""
        task = await self._check(task_id, "resume")
        task = await self._transition(task.id, TaskState.QUEUED, error=None)
        self._launch(task)
        return task

    async def discard(self, task_id: int) -> TaskRecord:
        """Drop the task's result; its worktree is removed (the branch stays for audit)."""
        task = await self._check(task_id, "discard")
        if task.worktree:
            await git.remove_worktree(task.root, task.worktree)
        return await self._transition(task_id, TaskState.DISCARDED)

    async def mark_applied(self, task_id: int) -> TaskRecord:
        """Record that the task's change was applied to the user's files."""
        await self._check(task_id, "apply")
        return await self._transition(task_id, TaskState.APPLIED)

    async def rollback(self, task_id: int, step: int) -> TaskRecord:
        """Reset the worktree and agent state to the end of ``step`` (0 = before any step).

        The journal keeps the rolled-back steps (a ``rollback`` entry marks the branch
        point). The task is left ``paused``; :meth:`resume` continues from there.
        """
        task = await self._check(task_id, "rollback")
        cps = [c for c in await self.store.checkpoints(task_id) if c.step == step]
        if step != 0 and not cps:
            raise InvalidTransition(f"task {task_id} has no checkpoint for step {step}")
        if step == 0:
            commit, seq = task.base_commit, await self._zero_seq(task_id)
        else:
            commit, seq = cps[-1].commit_id or task.base_commit, cps[-1].seq
        if task.worktree and (task.worktree / ".git").exists():
            await git.reset_hard(task.worktree, commit)
        await self.store.append(task_id, step, [("rollback", {"to_step": step, "to_seq": seq})],
                                (commit, {**(cps[-1].state if cps else {"step": 0, "msg_count": 1}),
                                          "rollback": True}))
        await self.store.update_task(task_id, steps=step, tip_commit=commit, summary=None)
        return await self._transition(task_id, TaskState.PAUSED, reason=f"rolled back to step {step}")

    async def gc(self, older_than_days: float, include_unreviewed: bool = False,
                 dry_run: bool = False) -> GcResult:
        """Prune long-finished tasks (:func:`codetap.tasks.gc.collect`)."""
        return await collect(self.store, older_than_days, include_unreviewed=include_unreviewed,
                             dry_run=dry_run)

    async def message(self, task_id: int, text: str) -> TaskRecord:
        """A follow-up message on a finished task (ready, applied, failed, cancelled,
        paused or interrupted): journaled as a ``user`` entry, then the task runs again on
        the same conversation and branch. InvalidTransition for an active or discarded
        task (answer a pending question with :meth:`answer` instead)."""
        task = await self._check(task_id, "message")
        for ev in await self.store.append(task_id, task.steps, [
                ("user", {"content": text, "follow_up": True})]):
            self._notify(ev.task_id, ev.seq, ev.kind, ev.data)
        task = await self._transition(task_id, TaskState.QUEUED, reason="follow-up message",
                                      error=None, ended_at=None)
        self._launch(task)
        return task

    async def push(self, task_id: int,
                   pull_request: Mapping[str, Any] | bool | None = None) -> TaskRecord:
        """Push a ready remote task's branch now and, with ``pull_request`` (True or
        ``{title?, draft?}``), open its pull request (:func:`codetap.tasks.push.push_now`).
        InvalidTransition unless the task is a ready remote task."""
        task = await self._check(task_id, "push")
        return await remote_push.push_now(self.config.git, self.store, task, pull_request,
                                          self._notify, self._publish)

    async def answer(self, task_id: int, answer: str) -> TaskRecord:
        """Answer the task's pending question; InvalidTransition if it has none."""
        q = self._questions.get(task_id)
        if q is None:
            raise InvalidTransition(f"task {task_id} has no pending question")
        if not q.answer.done():
            q.answer.set_result(answer)
        return await self.store.get_task(task_id)

    # -- internals -------------------------------------------------------------

    async def ask(self, task_id: int, question: str, options: list[str] | None,
                  kind: str = "question") -> str:
        """Put the task in ``waiting`` until :meth:`answer` (used by the ``ask`` tool)."""
        q = Question(task_id, f"{task_id}-{next(self._qids)}", kind, question, options)
        self._questions[task_id] = q
        await self._transition(task_id, TaskState.WAITING)
        for listener in list(self._listeners):
            listener.question(q)
        try:
            return await q.answer
        finally:
            self._questions.pop(task_id, None)
            if not self._closing and task_id in self._runs:
                await self._transition(task_id, TaskState.RUNNING)

    async def _zero_seq(self, task_id: int) -> int:
        events = await self.store.events(task_id)
        first = [e.seq for e in events if e.kind == "user"]
        return first[0] if first else 0

    async def _check(self, task_id: int, op: str) -> TaskRow:
        task = await self.store.get_task(task_id)
        if task.state not in _ALLOWED[op]:
            raise InvalidTransition(f"cannot {op} task {task_id}: it is {task.state.value}")
        return task

    async def _transition(self, task_id: int, state: TaskState, reason: str | None = None,
                          **fields: Any) -> TaskRow:
        """THE place a task's state changes: checks the move is legal
        (:func:`codetap.tasks.states.check_transition`, InvalidTransition if not), writes
        the row with ``fields``, journals a ``state`` entry {from, to, reason?} and writes
        the webhook messages reporting it, all in one transaction, then tells the
        listeners. While the store is away (StoreUnavailable) the move waits for it and is
        written once (:func:`codetap.store.retry.write_through`; not while closing)."""
        once = functools.partial(self._move, task_id, state, reason, fields)
        if self._closing:
            return await once()
        return await write_through(self.store, once, functools.partial(
            self._moved, task_id, state), f"task {task_id} to {state.value}")

    async def _moved(self, task_id: int, state: TaskState) -> TaskRow | None:
        """The task, published, if a move whose write was lost had committed after all."""
        task = await self.store.get_task(task_id)
        if task.state is not state:
            return None
        await self._publish(task)
        return task

    async def _move(self, task_id: int, state: TaskState, reason: str | None,
                    fields: dict[str, Any]) -> TaskRow:
        old = await self.store.get_task(task_id)
        check_transition(task_id, old.state, state)
        if state.is_terminal or state in (TaskState.PAUSED, TaskState.CANCELLED):
            fields.setdefault("ended_at", now_rfc3339())
        data: JSON = {"from": old.state.value, "to": state.value}
        if reason or fields.get("error"):
            data["reason"] = reason or fields.get("error")
        # Row, journal entry and webhook outbox rows commit together (kill -9 safe).
        with self.store.atomic():
            task = await self.store.update_task(task_id, state=state, **fields)
            events = await self.store.append(task_id, task.steps, [("state", data)],
                                             outbox=self.webhooks.rows(task))
        self.webhooks.deliverer.wake()
        for ev in events:
            self._notify(ev.task_id, ev.seq, ev.kind, ev.data)
        await self._publish(task)
        return task

    async def _publish(self, task: TaskRow) -> None:
        for listener in list(self._listeners):
            listener.task_updated(task)

    def _notify(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        self.budget.note(kind, data)
        for listener in list(self._listeners):
            listener.task_event(task_id, seq, kind, data)

    def _configure_budget(self) -> None:
        table = teams_config.budget_settings(self.config)
        self.budget.set_limits(table.max_cost_usd_per_hour, table.max_cost_usd_per_day,
                               table.window_s)
        self.scheduler.cap = teams_config.max_concurrent_tasks(self.config)

    async def _seed_budget(self) -> None:
        """Count the last day's model costs from the journal (only with a budget set)."""
        if not self.budget.active:
            return
        for task in await self.store.list_tasks():
            for ev in await self.store.events(task.id):
                if ev.kind in ("model_turn", "compaction"):
                    self.budget.note(ev.kind, ev.data, ev.ts)

    def _gated(self, task_id: int, name: str) -> ModelProvider:
        """Task ``task_id``'s view of model ``name``: behind the budget and the model's
        concurrency slot; a budget wait and its end are journaled (:mod:`codetap.waits`)
        and shown as the task's ``waiting`` reason meanwhile."""
        inner = self._provider(name)
        limit = inner.config.max_concurrent
        slot = None
        if limit:
            slot = self._slots.setdefault(name, asyncio.Semaphore(limit))
        since, why = [0.0], [""]

        async def waiting(window: str, spent: float, cap: float, resume_in: float) -> None:
            since[0] = self.budget.clock()
            why[0] = waits.budget_reason(window, spent, cap, since[0] + resume_in)
            data: JSON = {"reason": why[0], "window": window, "spent_usd": round(spent, 6),
                          "limit_usd": cap}
            if window != "task":
                data.update(resume_in_s=round(resume_in, 3),
                            resumes_at=round(since[0] + resume_in, 3))
            await self._note_wait(task_id, waits.BUDGET, data)

        async def resumed() -> None:
            await self._note_wait(task_id, waits.OVER, {
                "reason": why[0], "waited_s": round(self.budget.clock() - since[0], 3)})

        async def over() -> tuple[float, float] | None:
            # [limits] max_cost_usd of the task's root, its project file applied; re-read
            # while waiting (the budget's refresh reloads the user config).
            root, spent = await task_spent(self.store, task_id)
            try:
                limit = self.config.for_project(root.worktree if root.repo_url and root.worktree
                                                else root.root).limits.max_cost_usd
            except ConfigError:
                limit = self.config.limits.max_cost_usd
            return (spent, limit) if spent >= limit else None

        return GatedProvider(inner, self.budget, slot, waiting, resumed, over)

    async def _note_wait(self, task_id: int, kind: str, data: JSON) -> None:
        """Journal a wait's start or end (:mod:`codetap.waits`) and publish the task."""
        task = await self.store.get_task(task_id)
        for ev in await self.store.append(task_id, task.steps, [(kind, data)]):
            self._notify(ev.task_id, ev.seq, ev.kind, ev.data)
        await self._publish(task)

    def _provider(self, name: str) -> ModelProvider:
        if name not in self._providers:
            from codetap.models.base import LazyProvider
            from codetap.models.registry import make_provider
            config = self.config.model(name)
            self._providers[name] = LazyProvider(config, lambda: make_provider(config))
        return self._providers[name]

    def _workflow(self, name: str | None) -> str:
        """``name`` (default ``default``) if it is a known workflow; ConfigError if not."""
        known = teams_config.workflows(self.config)
        name = name or "default"
        if name not in known:
            raise ConfigError(f"unknown workflow {name!r}; known: {', '.join(known)}")
        return name

    def _reload_config(self) -> None:
        """Pick up edits of the user's config (checked at each task start: two ``stat``
        calls). ConfigError, with the old config kept, when the edited file is invalid."""
        fresh = self.config.reloaded()
        if fresh is not self.config:
            log.info("user config %s changed: reloaded", fresh.user_config_path)
            redact.register_env(m.api_key_env for m in fresh.models.values() if m.api_key_env)
            self.config = fresh
            self._configure_budget()

    def _deps(self, task: TaskRow) -> TaskDeps:
        """What the task's run needs, with its repository's project config applied under the
        trust rules (read at each start: a project file edited since is seen).
        ConfigError for an invalid project file."""
        self._reload_config()
        # A remote task's repository is codetap's bare mirror: its project config (always
        # untrusted: a trust record names a local checkout) comes from the worktree.
        project = self.config.for_project(task.worktree if task.repo_url and task.worktree
                                          else task.root)
        if project.sandbox.mode != "off" and not sandbox_probe().works:
            # No silent fallback: the task's journal says bash ran unsandboxed (or refused).
            project = dataclasses.replace(project,
                                          warnings=(*project.warnings, sandbox_describe()))
        for warning in project.warnings:
            log.warning("task %s: %s", task.id, warning)
        from codetap.trust import TrustStore
        trusted = task.repo_url is None and TrustStore(self.config.config_dir).is_trusted(
            task.root)
        roles, role_warnings = teams_config.roles(
            project, project.limits, task.worktree if task.repo_url else task.root, trusted)
        if role_warnings:
            project = dataclasses.replace(project, warnings=(*project.warnings, *role_warnings))
        flow = teams_config.workflow_for(project, task.workflow, task.role, task.parent_id)
        if flow is None:
            raise ConfigError(f"unknown workflow {task.workflow!r}")
        role = roles.get(flow.stages[0].role) or roles["coder"]
        services = self.services.copy()
        services.ask = lambda question, options=None, kind="question": self.ask(
            task.id, question, options, kind)
        services.can_ask = self.can_ask
        from codetap.services import repo_map_for
        return TaskDeps(self.store, self.config.worktrees_dir, self._gated(task.id, task.model),
                        role,
                        services, project.bash_timeout_s, self._notify,
                        self._publish, repo_map_for(self), project.policy,
                        sandbox=project.sandbox, env_passthrough=project.env_passthrough,
                        warnings=project.warnings, verify=project.verify,
                        user_instructions=self.config.config_dir / "instructions.md",
                        roles=roles, workflow=flow,
                        providers=lambda name: self._gated(task.id, name),
                        subtasks=self._subtask_host(task))

    def _subtask_host(self, task: TaskRow) -> SubtaskHost:
        """Task ``task``'s capability to create, start and wait for its sub-tasks."""
        return SubtaskHost(self.store, self.scheduler, task.priority, self._launch,
                           self.resume, self.wait, lambda i: i in self._runs,
                           lambda i: branch_name(self.config.git.branch_template, i, None),
                           self._publish)

    def _launch(self, task: TaskRow) -> None:
        # [executor] kind = "ray": the task runs on a node, which owns it meanwhile.
        coro = self.executor.run(task) if self.executor.handles(task) else self._run(task)
        run = asyncio.create_task(coro, name=f"codetap-task-{task.id}")
        self._runs[task.id] = run

    async def _run(self, task: TaskRow) -> TaskRow:
        admitted = False
        try:
            await self.scheduler.admit(task.priority, task.id, lambda ahead: self._note_wait(
                task.id, waits.QUEUE, {"reason": waits.queue_reason(ahead), "ahead": ahead,
                                       "priority": task.priority}))
            admitted = True
            deps = None if task.repo_url else self._deps(task)
            task = await self._transition(task.id, TaskState.RUNNING)
            if task.repo_url:
                task = await prepare_remote_task(self.config.git, self.config.data_dir,
                                                 self.config.worktrees_dir, self.store, task)
                deps = self._deps(task)  # its project config is in the fresh worktree
            assert deps is not None
            outcome = await run_task(deps, task)
            fields = dict(outcome.fields)
            if task.repo_url:
                # Pushed (and the pull request opened) before the end state is written, so
                # whoever sees "ready" (clients, the task.ready webhook) sees the outcome.
                known = {f.name for f in dataclasses.fields(TaskRow)}
                ended = dataclasses.replace(task, state=outcome.state,
                                            **{k: v for k, v in fields.items() if k in known})
                published = await remote_push.publish(self.config.git, self.store, ended,
                                                      self._notify, self._publish)
                if published.pull_request_url:
                    fields["pull_request_url"] = published.pull_request_url
                if published.error and "error" not in fields:
                    fields["error"] = published.error
            return await self._transition(task.id, outcome.state, **fields)
        except asyncio.CancelledError:
            target = self._stop_as.pop(task.id, TaskState.INTERRUPTED)
            return await self._transition(task.id, target)
        except StoreError as exc:
            # Disk full: record the failure if there is room; else the task stays active
            # in the database and the next start marks it interrupted. Either way its last
            # checkpoint is intact and it can be resumed.
            log.error("task %s stopped: %s", task.id, exc)
            try:
                return await self._transition(task.id, TaskState.FAILED, error=str(exc))
            except (StoreError, sqlite3.Error):
                return await self.store.get_task(task.id)
        except (ConfigError, WorkspaceError) as exc:  # e.g. an invalid project [policy]
            return await self._transition(task.id, TaskState.FAILED, error=str(exc))
        except Exception as exc:  # a bug must fail the task visibly, not kill the daemon
            log.exception("task %s crashed", task.id)
            return await self._transition(task.id, TaskState.FAILED, error=f"internal error: {exc!r}")
        finally:
            self._runs.pop(task.id, None)
            if admitted:
                self.scheduler.release()

    async def _stop(self, task_id: int, target: TaskState) -> None:
        run = self._runs.get(task_id)
        if run is None:
            return
        self._stop_as[task_id] = target
        run.cancel()
        await asyncio.wait({run}, timeout=5.0)

    # -- webhooks --------------------------------------------------------------------

    async def webhook_deliveries(self, dead: bool = False, limit: int = 100) -> list[JSON]:
        """Webhook messages newest first (only dead-lettered ones with ``dead``): dicts
        of :meth:`codetap.store.outbox.OutboxRow.public` (no secrets, no bodies)."""
        return list(self.webhooks.listing(dead, limit))

    async def redeliver_webhook(self, ref: str) -> JSON:
        """Send webhook message ``ref`` (row id or webhook-id) again, same webhook-id;
        WebhookNotFound if unknown."""
        return self.webhooks.redeliver(ref)

    # -- suggestion decisions (the editor front's review state) --------------------

    async def set_suggestion_status(
        self, task_id: int, rows: Sequence[tuple[str, str, str, JSON]]
    ) -> None:
        """Record the user's decisions on suggestions of a task, so they outlive restarts.

        ``rows``: ``(hunk_id, path, status, data)``; ``status`` is ``"rejected"`` or
        ``"accepted"``, ``path`` repository-relative, ``data`` a small JSON object. A row
        replaces the earlier row of the same hunk. TaskNotFound for an unknown task.
        """
        await self.store.get_task(task_id)
        if rows:
            await self.store.put_suggestions(task_id, list(rows))

    async def suggestion_statuses(self, task_id: int) -> dict[str, str]:
        """``{hunk_id: status}`` of every suggestion of the task the user decided on."""
        return {hunk: status for hunk, _, status, _ in await self.store.suggestions(task_id)}
