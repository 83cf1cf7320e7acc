"""The SDK's typed values: journal events and task results, built on the protocol models.

:class:`Event` is the wire ``TaskEventParams`` (``{id, seq, kind, data, step?, ts?,
partial?}``) plus :meth:`Event.full`; :class:`TaskResult` is what ``run``/``run_sync``
end with. Task info is the protocol's :class:`~codetap.protocol.models.TaskInfo` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from codetap.protocol.models import TaskEventParams, UsageInfo

if TYPE_CHECKING:
    from codetap.sdk.client import Client

END_STATES = frozenset({"ready", "failed", "cancelled", "applied", "discarded"})
"""States a task does not leave by itself: following its events ends there."""


class Event(TaskEventParams):
    """One journal entry of task ``id``: ``seq`` (1, 2, ... per task, no gaps), ``kind``
    (``user``, ``model_turn``, ``tool_intent``, ``tool_result``, ``state``, ``approval``
    ...) and ``data``. ``partial`` events had big strings replaced by references
    (``{"ref": {"id", "seq"}, "bytes", "preview"}``); :meth:`full` fetches the whole one."""

    _client: Client | None = PrivateAttr(default=None)

    async def full(self) -> Event:
        """This event with every string whole (itself when it is not partial). Needs the
        client it came from to be connected."""
        if not self.partial:
            return self
        if self._client is None:
            raise RuntimeError("this event is not attached to a client")
        return await self._client.event(self.id, self.seq)


class TaskResult(BaseModel):
    """How a task ended: ``state`` (``ready``, ``failed``, ``cancelled`` ...), the model's
    ``summary``, the change as a unified ``diff`` (base -> tip, "" when none), token
    ``usage`` and cost, the ``error`` of a failed task. ``verification`` is
    ``{command, passed, summary}`` of the ``[verify]`` run after ``finish`` (None when
    nothing was verified)."""

    model_config = ConfigDict(frozen=True)

    id: str
    state: str
    summary: str | None = None
    diff: str = ""
    usage: UsageInfo = UsageInfo()
    error: str | None = None
    verification: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Whether the task ended ready (or applied)."""
        return self.state in ("ready", "applied")
