"""``GET /v1/tasks/{id}/events``: a task's journal as Server-Sent Events (WHATWG HTML,
"Server-sent events").

Each journal entry is one event: ``id:`` its ``seq`` (1, 2, ... per task, no gaps),
``event:`` its kind (``state``, ``model_turn``, ``tool_result`` ...), ``data:`` the JSON
``{id, seq, step, ts, kind, data}``. A client that reconnects sends ``Last-Event-ID`` (or
``?after=SEQ``) and gets the entries after it. The entries always come from the front's
read-only journal reader, so they arrive in order with no gap and no duplicate; the runtime
listener (:class:`EventHub`) only wakes the streams of a task when it has news. Once the
task is in a state it does not leave by itself (ready, failed, cancelled, applied,
discarded) and its journal is sent, a last ``event: end`` carries its TaskInfo and the
stream closes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from codetap.types import JSON, TaskState

if TYPE_CHECKING:
    from codetap.lsp.journal import JournalReader
    from codetap.runtime import Question, TaskRecord
    from codetap.runtime_api import RuntimeAPI

END_STATES = frozenset({TaskState.READY, TaskState.FAILED, TaskState.CANCELLED,
                        TaskState.APPLIED, TaskState.DISCARDED})
PAGE = 500


Row = tuple[int, int, float, str, dict[str, Any]]
BUFFER = 2000


class _Feed:
    """The recent journal of one task, read once for all of its streams: ``rows`` (seq
    ascending, contiguous) up to ``last``; ``version`` counts the hub's news of the task,
    ``read`` the news already read."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.encoded: dict[int, dict[str, str]] = {}  # seq -> its SSE event, built once
        self.last = 0
        self.version = 0
        self.read = -1
        self.lock = asyncio.Lock()


class EventHub:
    """A :class:`~codetap.runtime.RuntimeListener` that wakes the SSE streams of a task and
    reads its new journal entries once for all of them. ``watch(task_id)`` returns an
    :class:`asyncio.Event` set at each journal entry or task update of that task;
    ``unwatch`` drops it; :meth:`rows_after` returns entries."""

    def __init__(self, journal: JournalReader) -> None:
        self.journal = journal
        self._watchers: dict[int, set[asyncio.Event]] = {}
        self._feeds: dict[int, _Feed] = {}

    def watch(self, task_id: int) -> asyncio.Event:
        """A new wake-up event for ``task_id``'s news."""
        ev = asyncio.Event()
        self._watchers.setdefault(task_id, set()).add(ev)
        self._feeds.setdefault(task_id, _Feed())
        return ev

    def unwatch(self, task_id: int, ev: asyncio.Event) -> None:
        """Stop waking ``ev`` (the task's feed goes with its last stream)."""
        found = self._watchers.get(task_id)
        if found is not None:
            found.discard(ev)
            if not found:
                del self._watchers[task_id]
                self._feeds.pop(task_id, None)

    @property
    def subscribers(self) -> int:
        """How many streams are open (all tasks)."""
        return sum(len(s) for s in self._watchers.values())

    async def rows_after(self, task_id: int, after: int) -> tuple[list[Row], bool]:
        """``(rows, more)``: journal entries of a watched task with ``seq > after``, in
        order, and whether more follow. Entries seen recently come from the shared feed
        (one database read per piece of news, whatever the number of streams); older ones
        (a stream resuming far back) from the database."""
        feed = self._feeds[task_id]
        async with feed.lock:
            if feed.read != feed.version:
                version = feed.version
                more = True
                while more:
                    rows, more = await self.journal.after(task_id, feed.last, PAGE)
                    if rows:
                        feed.rows.extend(rows)
                        feed.last = rows[-1][0]
                del feed.rows[:-BUFFER]
                if feed.rows:
                    first = feed.rows[0][0]
                    for seq in [s for s in feed.encoded if s < first]:
                        del feed.encoded[seq]
                feed.read = version
        if feed.rows and feed.rows[0][0] <= after + 1:
            start = after + 1 - feed.rows[0][0]
            return feed.rows[start:start + PAGE], len(feed.rows) > start + PAGE
        return await self.journal.after(task_id, after, PAGE)

    def event(self, task_id: int, row: Row) -> dict[str, str]:
        """``row`` as an SSE event, encoded once for all of the task's streams."""
        feed = self._feeds.get(task_id)
        if feed is None:
            return sse_event(task_id, row)
        found = feed.encoded.get(row[0])
        if found is None:
            found = feed.encoded[row[0]] = sse_event(task_id, row)
        return found

    def _wake(self, task_id: int) -> None:
        feed = self._feeds.get(task_id)
        if feed is not None:
            feed.version += 1
        for ev in self._watchers.get(task_id, ()):
            ev.set()

    def task_updated(self, task: TaskRecord) -> None:
        self._wake(task.id)

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        self._wake(task_id)

    def question(self, q: Question) -> None:
        self._wake(q.task_id)


def sse_event(task_id: int, row: Row) -> dict[str, str]:
    """One journal row ``(seq, step, ts, kind, data)`` as an sse-starlette event dict."""
    seq, step, ts, kind, data = row
    body = {"id": str(task_id), "seq": seq, "step": step, "ts": ts, "kind": kind, "data": data}
    return {"id": str(seq), "event": kind,
            "data": json.dumps(body, ensure_ascii=False, separators=(",", ":"))}


async def stream(task_id: int, after: int, runtime: RuntimeAPI,
                 hub: EventHub) -> AsyncIterator[dict[str, str]]:
    """The events of ``task_id`` after ``after`` (see the module doc); ends with
    ``event: end`` once the task is settled and everything was sent."""
    from codetap.lsp.convert import task_info

    wake = hub.watch(task_id)  # before the first read: no entry can slip between the two
    try:
        last = after
        check = True  # the task's state is read at start and after each state entry
        while True:
            wake.clear()
            more = True
            while more:
                rows, more = await hub.rows_after(task_id, last)
                for row in rows:
                    yield hub.event(task_id, row)
                    last = row[0]
                    check = check or row[3] == "state"
            if check:
                check = False
                task = await runtime.get_task(task_id)
                if task.state in END_STATES:
                    # An entry written after the read above shows up here; send it first.
                    rows, _ = await hub.journal.after(task_id, last, 1)
                    if not rows:
                        info = task_info(task).model_dump(mode="json", exclude_none=True)
                        yield {"event": "end",
                               "data": json.dumps(info, separators=(",", ":"))}
                        return
                    check = True
                    continue
            await wake.wait()
    finally:
        hub.unwatch(task_id, wake)
