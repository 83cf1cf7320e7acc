"""``Idempotency-Key`` for ``POST /v1/tasks`` (after the IETF httpapi draft
"The Idempotency-Key HTTP Header Field").

A key maps to the task its first request created and a SHA-256 of that request's body
(canonical JSON). The same key with the same body returns that task again (no new task);
the same key with another body is refused (422). Keys are kept for :data:`KEEP_S` seconds
in ``<data_dir>/http.db``, a small SQLite file of the front's own (the task database is
written only by the runtime worker), so they survive daemon restarts. Requests are
serialised per process, so two concurrent retries never start two tasks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

KEEP_S = 24 * 3600.0
MAX_KEY_LEN = 255


class KeyReused(Exception):
    """The key was first used with another request body."""


class IdempotencyKeys:
    """Keys of one front process; ``close()`` when done."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, "
                         "body_sha256 TEXT NOT NULL, task_id INTEGER NOT NULL, "
                         "created REAL NOT NULL)")
        self._lock = asyncio.Lock()

    @staticmethod
    def digest(body: Any) -> str:
        """SHA-256 (hex) of ``body`` as canonical JSON (sorted keys, no spaces)."""
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    async def run_once(self, key: str, body: Any,
                       create: Callable[[], Awaitable[int]]) -> tuple[int, bool]:
        """``(task_id, replayed)``: the task ``key`` already names (``replayed`` True), or
        the one ``create()`` makes now, remembered under ``key``. KeyReused when ``key`` was
        used with a different ``body``; ``create``'s errors propagate (nothing is kept)."""
        digest = self.digest(body)
        async with self._lock:
            self._db.execute("DELETE FROM idempotency WHERE created < ?",
                             (time.time() - KEEP_S,))
            row = self._db.execute("SELECT body_sha256, task_id FROM idempotency WHERE key = ?",
                                   (key,)).fetchone()
            if row is not None:
                if row[0] != digest:
                    raise KeyReused(key)
                return int(row[1]), True
            task_id = await create()
            self._db.execute("INSERT INTO idempotency VALUES (?, ?, ?, ?)",
                             (key, digest, task_id, time.time()))
            return task_id, False

    def close(self) -> None:
        """Close the database."""
        self._db.close()
