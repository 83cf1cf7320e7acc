"""The state all editor sessions of one daemon share, around the one Runtime.

The hub subscribes to the runtime once and fans its callbacks out to every connected
session (a :class:`Member`: :class:`~codetap.lsp.session.Session` is one; the hub does not
import it). It also owns what must outlive a connection: the user's decisions on
suggestions (:class:`~codetap.lsp.decisions.Decisions`), the cached file changes of ready
tasks, and which session is being asked which pending question. It is the
:class:`~codetap.lsp.review.ReviewState` the sessions' suggestion books share. An
unanswered question is re-asked on another session, or on the next one to connect, when
its session goes away; it is withdrawn from the asked client once the task stops waiting
(answered elsewhere, cancelled, interrupted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from codetap.lsp.decisions import Decisions
from codetap.lsp.eventframe import EventFrame
from codetap.types import TaskState

if TYPE_CHECKING:
    from codetap.protocol.models import ClientOptions
    from codetap.runtime import FileChange, Question, TaskRecord
    from codetap.runtime_api import RuntimeAPI


class Member(Protocol):
    """An editor session as the hub sees it."""

    @property
    def options(self) -> ClientOptions:
        """What the client declared in ``initializationOptions.codetap``."""

    def on_task_updated(self, task: TaskRecord) -> None:
        """A task changed state or progressed."""

    def on_task_event(self, event: EventFrame, root: Path | None) -> None:
        """A journal entry of a task (``root``: its workspace root, None if not known)."""

    def ask(self, q: Question) -> None:
        """Ask the user ``q``; the session answers the task itself."""

    def withdraw(self, question_id: str) -> None:
        """Stop asking a question (answered elsewhere, or the task stopped waiting)."""

    def refresh_suggestions(self, task_id: int) -> None:
        """Recompute and republish ``task_id``'s suggestions if this session shows them."""


class Hub:
    """Shared daemon state; implements the runtime's ``RuntimeListener`` protocol."""

    def __init__(self, runtime: RuntimeAPI) -> None:
        self.runtime = runtime
        self.decisions = Decisions(runtime)
        self.sessions: list[Member] = []
        self._changes: dict[int, list[FileChange]] = {}
        self._asking: dict[tuple[int, str], Member] = {}
        self._roots: dict[int, Path] = {}  # task id -> workspace root, from task updates
        self._unsubscribe: Callable[[], None] = runtime.subscribe(self)
        self._background: set[asyncio.Future[None]] = set()

    def close(self) -> None:
        """Stop listening to the runtime."""
        self._unsubscribe()

    def attach(self, session: Member) -> None:
        """Register a session once its client is initialized; it gets pending questions."""
        self.sessions.append(session)
        self._count_clients()
        self._ask_pending()

    def detach(self, session: Member) -> None:
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

    # -- review state shared by the sessions' suggestion books --------------------
    def refresh_suggestions(self, task_id: int) -> None:
        """Every session showing ``task_id`` recomputes it (after a decision in one)."""
        for s in list(self.sessions):
            s.refresh_suggestions(task_id)

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
        event = EventFrame(task_id, seq, kind, data)  # encoded once, for every session
        for s in list(self.sessions):
            s.on_task_event(event, root)

    def question(self, q: Question) -> None:
        key = (q.task_id, q.question_id)
        editors = [s for s in self.sessions if s.options.editor]
        if key in self._asking or not editors:
            return
        session = editors[-1]
        self._asking[key] = session
        session.ask(q)

    def question_answered(self, q: Question, session: Member) -> None:
        """The asking session's client answered ``q``: it is no longer being asked.

        A client that dismisses a question (or answers something invalid) keeps it: the
        question stays pending, answerable with ``codetap/answer``, and is only re-asked
        elsewhere when that client disconnects.
        """
        key = (q.task_id, q.question_id)
        if self._asking.get(key) is session:
            del self._asking[key]
