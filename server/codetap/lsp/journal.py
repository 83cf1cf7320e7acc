"""Reading a task's journal for clients (``codetap/task/events``, ``codetap/task/eventData``).

The front answers these from its own read-only connection (SQLite ``mode=ro``: WAL lets it
read while the runtime worker writes; or PostgreSQL, :mod:`codetap.store.readconn`), never
through the worker: replaying a long journal
to a client that reconnects must not wait behind running tasks, nor slow them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from codetap.store.base import decode_data
from codetap.store.readconn import connect_readonly


class JournalReader:
    """Read-only access to the ``events`` table of the database at ``path`` (or of the
    PostgreSQL database at ``url``)."""

    def __init__(self, path: Path, url: str | None = None) -> None:
        self.path = path
        self._conn = connect_readonly(path, url)

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._conn.query(sql, args)

    async def after(self, task_id: int, after: int, limit: int
                    ) -> tuple[list[tuple[int, int, float, str, dict[str, Any]]], bool]:
        """``(events, more)``: up to ``limit`` entries ``(seq, step, ts, kind, data)`` with
        ``seq > after`` in order, and whether more follow them."""
        rows = await asyncio.to_thread(
            self._query,
            "SELECT seq, step, ts, kind, data FROM events WHERE task_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?", (task_id, after, limit + 1))
        events = [(r[0], r[1], r[2], r[3], decode_data(r[4])) for r in rows[:limit]]
        return events, len(rows) > limit

    async def one(self, task_id: int, seq: int
                  ) -> tuple[int, int, float, str, dict[str, Any]] | None:
        """The entry ``seq`` of the task, or None."""
        rows = await asyncio.to_thread(
            self._query, "SELECT seq, step, ts, kind, data FROM events "
            "WHERE task_id = ? AND seq = ?", (task_id, seq))
        if not rows:
            return None
        r = rows[0]
        return r[0], r[1], r[2], r[3], decode_data(r[4])


_readers: dict[Path, JournalReader] = {}


def reader(path: Path, url: str | None = None) -> JournalReader:
    """The process's reader of the database at ``path`` (``url``: PostgreSQL's, ``[store]
    url``), opened on first use."""
    found = _readers.get(path)
    if found is None:
        found = _readers[path] = JournalReader(path, url)
    return found
