"""The state all editor sessions of one daemon share, around the one Runtime.

The hub subscribes to the runtime once and fans its callbacks out to every connected
:class:`~codetap.lsp.session.Session`. It also owns what must outlive a connection: the
user's decisions on suggestions (persisted through the runtime, cached here), the cached
file changes of ready tasks, and which session is being asked which pending question. An
unanswered question is re-asked on another session, or on the next one to connect, when
its session goes away; it is withdrawn from the asked client once the task stops waiting
(answered elsewhere, cancelled, interrupted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codetap.types import TaskState

if TYPE_CHECKING:
    from codetap.delivery.suggestions import Suggestion
    from codetap.lsp.session import Session
    from codetap.runtime import FileChange, Question, TaskRecord
    from codetap.runtime_api import RuntimeAPI

REJECTED = "rejected"
ACCEPTED = "accepted"


class Hub:
    """Shared daemon state; implements the runtime's ``RuntimeListener`` protocol."""

    def __init__(self, runtime: RuntimeAPI) -> None:
        self.runtime = runtime
        self.sessions: list[Session] = []
        self._statuses: dict[int, dict[str, str]] = {}
        self._changes: dict[int, list[FileChange]] = {}
        self._asking: dict[tuple[int, str], Session] = {}
        self._roots: dict[int, Path] = {}  # task id -> workspace root, from task updates
        self._unsubscribe: Callable[[], None] = runtime.subscribe(self)
        self._background: set[asyncio.Future[None]] = set()

    def close(self) -> None:
        """Stop listening to the runtime."""
        self._unsubscribe()

    def attach(self, session: Session) -> None:
        """Register a session once its client is initialized; it gets pending questions."""
        self.sessions.append(session)
        self._count_clients()
        self._ask_pending()

    def detach(self, session: Session) -> None:
        """Forget a closed session and re-ask its unanswered questions elsewhere."""
        if session in self.sessions:
            self.sessions.remove(session)
            self._count_clients()
        lost = [key for key, s in self._asking.items() if s is session]
        for key in lost:
            del self._asking[key]
        if lost:
            self._ask_pending()

    def _count_clients(self) -> None:
        """Let the runtime know whether anybody can answer an approval now."""
        task = asyncio.ensure_future(self.runtime.set_clients(len(self.sessions)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _ask_pending(self) -> None:
        for q in self.runtime.pending_questions():
            self.question(q)

    # -- suggestion decisions --------------------------------------------------------
    async def rejected(self, task_id: int) -> set[str]:
        """Hunk ids of ``task_id`` the user rejected (in any session, before any restart)."""
        return {h for h, s in (await self._load(task_id)).items() if s == REJECTED}

    async def accepted(self, task_id: int) -> bool:
        """Whether the user accepted any hunk of ``task_id``."""
        return ACCEPTED in (await self._load(task_id)).values()

    async def decide(self, task_id: int, items: Sequence[Suggestion], status: str) -> None:
        """Record ``status`` (``rejected`` | ``accepted``) for ``items`` durably."""
        if not items:
            return
        rows = [(s.hunk_id, s.path, status, {"uri": s.uri, "new_text": s.new_text[:2000]})
                for s in items]
        await self.runtime.set_suggestion_status(task_id, rows)
        (await self._load(task_id)).update((s.hunk_id, status) for s in items)

    async def _load(self, task_id: int) -> dict[str, str]:
        statuses = self._statuses.get(task_id)
        if statuses is None:
            statuses = await self.runtime.suggestion_statuses(task_id)
            statuses = self._statuses.setdefault(task_id, statuses)
        return statuses

    async def file_changes(self, task: TaskRecord) -> list[FileChange]:
        """The task's changed files (cached once the task is ready: its tip is final)."""
        cached = self._changes.get(task.id)
        if cached is not None and task.state == TaskState.READY:
            return cached
        changes = await self.runtime.file_changes(task.id)
        if task.state == TaskState.READY:
            self._changes[task.id] = changes
        return changes

    # -- RuntimeListener -------------------------------------------------------------
    def task_updated(self, task: TaskRecord) -> None:
        if task.state != TaskState.READY:
            self._changes.pop(task.id, None)
        if task.state != TaskState.WAITING:
            for key in [k for k in self._asking if k[0] == task.id]:
                self._asking.pop(key).withdraw(key[1])
        self._roots[task.id] = task.root
        for s in list(self.sessions):
            s.on_task_updated(task)

    def task_event(self, task_id: int, seq: int, kind: str, data: dict[str, Any]) -> None:
        root = self._roots.get(task_id)
        for s in list(self.sessions):
            s.on_task_event(task_id, seq, kind, data, root)

    def question(self, q: Question) -> None:
        key = (q.task_id, q.question_id)
        editors = [s for s in self.sessions if s.options.editor]
        if key in self._asking or not editors:
            return
        session = editors[-1]
        self._asking[key] = session
        session.ask(q)

    def question_answered(self, q: Question, session: Session) -> None:
        """The asking session's client answered ``q``: it is no longer being asked.

        A client that dismisses a question (or answers something invalid) keeps it: the
        question stays pending, answerable with ``codetap/answer``, and is only re-asked
        elsewhere when that client disconnects.
        """
        key = (q.task_id, q.question_id)
        if self._asking.get(key) is session:
            del self._asking[key]
