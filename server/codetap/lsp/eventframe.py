"""One journal entry as a ``codetap/task/event`` notification, encoded at most once.

The hub hands the same :class:`EventFrame` to every session; the first session that wants
the entry pays for shrinking (:func:`codetap.protocol.large.shrink`), validating and
encoding it, the others write the same bytes. With many clients following a task, the
front's event loop (which also carries the worker's frames) no longer encodes each entry
once per client.
"""

from __future__ import annotations

from typing import Any

from codetap.lsp.wire import frame
from codetap.protocol import methods
from codetap.protocol.large import shrink
from codetap.protocol.models import TaskEventParams, dump


class EventFrame:
    """The entry ``(task_id, seq, kind, data)`` and, once asked for, its wire bytes."""

    __slots__ = ("_bytes", "data", "kind", "seq", "task_id")

    def __init__(self, task_id: int, seq: int, kind: str, data: dict[str, Any]) -> None:
        self.task_id, self.seq, self.kind, self.data = task_id, seq, kind, data
        self._bytes: bytes | None = None

    def bytes(self) -> bytes:
        """The whole LSP message (header and JSON body), large entries made partial."""
        if self._bytes is None:
            small, partial = shrink(str(self.task_id), self.seq, self.data)
            body = TaskEventParams(id=str(self.task_id), seq=self.seq, kind=self.kind,
                                   data=small, partial=partial or None)
            self._bytes = frame({"jsonrpc": "2.0", "method": methods.TASK_EVENT,
                                 "params": dump(body)})
        return self._bytes
