"""The typed seam between front ends and the task owner (ARCHITECTURE.md "Ownership").

:class:`RuntimeAPI` is everything an LSP session, the hub or any other front may ask of the
runtime. Two classes implement it: :class:`codetap.runtime.Runtime` (in process: tests,
``codetap lsp --no-daemon``) and :class:`codetap.daemon.runtime_proxy.RemoteRuntime` (the
daemon's front process, forwarding to its runtime worker). :data:`WORKER_CALLS` is the
worker's routing table: the only methods a front may call across the process boundary.
Errors cross it as data and are rebuilt as the same :class:`~codetap.errors.CodetapError`
subclass (``runtime_proxy.rebuild_error``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from codetap.types import JSON, TaskState

if TYPE_CHECKING:
    from codetap.config import Config
    from codetap.runtime import FileChange, Question, RuntimeListener, TaskRecord
    from codetap.tasks.gc import GcResult


class RuntimeAPI(Protocol):
    """What front ends may ask of the one owner of tasks. Task ids are ints; every method
    raises TaskNotFound for an unknown id and InvalidTransition for an operation the task's
    state does not allow (:mod:`codetap.tasks.states`)."""

    config: Config

    def subscribe(self, listener: RuntimeListener) -> Callable[[], None]:
        """Register ``listener`` for task updates, journal events and questions."""
        ...

    def pending_questions(self) -> list[Question]:
        """Questions waiting for an answer, oldest first."""
        ...

    async def get_task(self, task_id: int) -> TaskRecord:
        """The task's row."""
        ...

    async def list_tasks(self, root: Path | None = None,
                         states: Sequence[TaskState] | None = None) -> list[TaskRecord]:
        """Tasks newest first, filtered by repository root and states."""
        ...

    def waiting_reason(self, task: TaskRecord) -> str | None:
        """Why ``task`` (as it is now) waits for the queue or a budget (``TaskInfo.waiting``,
        :mod:`codetap.waits`), or None."""
        ...

    async def diff(self, task_id: int) -> str:
        """The task's change (base -> tip) as a unified diff."""
        ...

    async def file_changes(self, task_id: int) -> list[FileChange]:
        """Per file, the base and tip of the task's change."""
        ...

    async def start_task(self, intent: str, root: Path | None, *, scope: JSON | None = None,
                         model: str | None = None, workflow: str | None = None,
                         overlay: Mapping[Path, str] | None = None,
                         repo: Mapping[str, Any] | None = None, push: bool | None = None,
                         pull_request: Mapping[str, Any] | bool | None = None,
                         branch: str | None = None,
                         webhook: Mapping[str, Any] | None = None,
                         priority: int = 0) -> TaskRecord:
        """Create and schedule a task on a snapshot of ``root``, or on the remote
        repository ``repo={"url", "ref"?}`` (``root=None``); ``webhook``: its own
        webhook ``{url, secret, interval_s?, events?}``; ``priority``: the scheduler
        admits higher first."""
        ...

    async def webhook_deliveries(self, dead: bool = False, limit: int = 100) -> list[JSON]:
        """Webhook messages newest first (no secrets); only dead-lettered with ``dead``."""
        ...

    async def redeliver_webhook(self, ref: str) -> JSON:
        """Send webhook message ``ref`` (row id or webhook-id) again, same webhook-id."""
        ...

    async def cancel(self, task_id: int) -> TaskRecord:
        """Cancel the task."""
        ...

    async def pause(self, task_id: int) -> TaskRecord:
        """Pause the task at once; it resumes from its last checkpoint."""
        ...

    async def resume(self, task_id: int) -> TaskRecord:
        """Run a paused, interrupted or failed task again."""
        ...

    async def discard(self, task_id: int) -> TaskRecord:
        """Drop the task's result and its worktree."""
        ...

    async def mark_applied(self, task_id: int) -> TaskRecord:
        """Record that the task's change reached the user's files."""
        ...

    async def rollback(self, task_id: int, step: int) -> TaskRecord:
        """Reset the task to the end of ``step``; it is left paused."""
        ...

    async def gc(self, older_than_days: float, include_unreviewed: bool = False,
                 dry_run: bool = False) -> GcResult:
        """Prune tasks that ended more than ``older_than_days`` days ago."""
        ...

    async def message(self, task_id: int, text: str) -> TaskRecord:
        """A follow-up message on a finished task; it runs again."""
        ...

    async def answer(self, task_id: int, answer: str) -> TaskRecord:
        """Answer the task's pending question or approval."""
        ...

    async def push(self, task_id: int,
                   pull_request: Mapping[str, Any] | bool | None = None) -> TaskRecord:
        """Push a ready remote task's branch now (and open its pull request when asked)."""
        ...

    async def set_clients(self, count: int) -> None:
        """How many clients that can answer questions are attached."""
        ...

    async def set_suggestion_status(self, task_id: int,
                                    rows: Sequence[tuple[str, str, str, JSON]]) -> None:
        """Record the user's decisions on suggestions (hunk_id, path, status, data)."""
        ...

    async def suggestion_statuses(self, task_id: int) -> dict[str, str]:
        """``{hunk_id: status}`` of the suggestions the user decided on."""
        ...

    async def close(self) -> None:
        """Stop running tasks (they resume at the next start) and release everything."""
        ...


#: Methods the front may call in the worker (its routing table). Reads of task rows are
#: answered by the front from its read-only store connection and never cross.
WORKER_CALLS: frozenset[str] = frozenset({
    "diff", "file_changes", "start_task", "cancel", "pause", "resume", "discard",
    "mark_applied", "rollback", "message", "answer", "set_clients", "set_suggestion_status",
    "suggestion_statuses", "pending_questions", "gc", "webhook_deliveries", "redeliver_webhook",
    "push",
})

