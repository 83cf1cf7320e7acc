"""The state all editor sessions of one daemon share, around the one Runtime.

The hub subscribes to the runtime once and fans its callbacks out to every connected
:class:`~codetap.lsp.session.Session`. It also owns what must outlive a connection:
rejected suggestions, the cached file changes of ready tasks, and which session is being
asked which pending question (an unanswered question is re-asked on another session,
or on the next one to connect, when its session goes away).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from codetap.types import TaskState

if TYPE_CHECKING:
    from codetap.lsp.session import Session
    from codetap.runtime import FileChange, Question, Runtime, TaskRecord


class Hub:
    """Shared daemon state; implements the runtime's ``RuntimeListener`` protocol."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions: list[Session] = []
        self.rejected: dict[int, set[str]] = {}
        self._changes: dict[int, list[FileChange]] = {}
        self._asking: dict[tuple[int, str], Session] = {}
        self._unsubscribe: Callable[[], None] = runtime.subscribe(self)

    def close(self) -> None:
        """Stop listening to the runtime."""
        self._unsubscribe()

    def attach(self, session: Session) -> None:
        """Register a session once its client is initialized; it gets pending questions."""
        self.sessions.append(session)
        for q in self.runtime.pending_questions():
            self.question(q)

    def detach(self, session: Session) -> None:
        """Forget a closed session and re-ask its unanswered questions elsewhere."""
        if session in self.sessions:
            self.sessions.remove(session)
        lost = [key for key, s in self._asking.items() if s is session]
        for key in lost:
            del self._asking[key]
        if lost:
            for q in self.runtime.pending_questions():
                self.question(q)

    async def file_changes(self, task: TaskRecord) -> list[FileChange]:
        """The task's changed files (cached once the task is ready: its tip is final)."""
        cached = self._changes.get(task.id)
        if cached is not None and task.state == TaskState.READY:
            return cached
        changes = await self.runtime.file_changes(task.id)
        if task.state == TaskState.READY:
            self._changes[task.id] = changes
        return changes

    # RuntimeListener
    def task_updated(self, task: TaskRecord) -> None:
        if task.state != TaskState.READY:
            self._changes.pop(task.id, None)
        for s in list(self.sessions):
            s.on_task_updated(task)

    def task_event(self, task_id: int, seq: int, kind: str, data: dict[str, Any]) -> None:
        for s in list(self.sessions):
            s.on_task_event(task_id, seq, kind, data)

    def question(self, q: Question) -> None:
        key = (q.task_id, q.question_id)
        if key in self._asking or not self.sessions:
            return
        session = self.sessions[-1]
        self._asking[key] = session
        session.ask(q)

    def question_done(self, q: Question, session: Session, answered: bool) -> None:
        """Called by the asking session when its client answered or failed to answer."""
        key = (q.task_id, q.question_id)
        if self._asking.get(key) is session:
            del self._asking[key]
        if not answered and session in self.sessions:
            # The client declined; leave the question pending for codetap/answer.
            self._asking[key] = session
