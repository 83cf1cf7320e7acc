"""Task leases with fencing tokens (ARCHITECTURE.md "Ownership", "Scale-out").

When tasks run on other nodes (:mod:`codetap.executor`), the process that runs a task owns
it through one row of ``task_leases``: ``(task_id, token, owner, expires_at)``. Acquiring
the lease increments ``token`` (the attempt number); the owner renews ``expires_at`` (Unix
seconds) while it works. Every journal, checkpoint and task-row write of a leased task goes
through :class:`FencedStore`, whose first statement in the write's transaction is

    UPDATE task_leases SET expires_at = ? WHERE task_id = ? AND token = ?

so a stale owner (its token was superseded by a later attempt) matches no row, raises
:class:`Fenced` and writes nothing. On PostgreSQL the same UPDATE takes the row lock, so a
takeover and a fenced write are serialised; on SQLite the writer lock does the same.

The SQL is portable (``INSERT ... ON CONFLICT DO UPDATE``, no RETURNING, no vendor
functions). Clocks: ``expires_at`` is compared with the acquirer's clock, so nodes' clocks
must agree to well within the TTL (NTP does).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codetap.errors import StoreError
from codetap.store.base import Checkpoint, Event, Store, TaskRow
from codetap.types import JSON, TaskState


class Fenced(StoreError):
    """A write by an owner whose lease was taken over: nothing was written."""


class LeaseHeld(StoreError):
    """The lease is held by another live owner (acquire without ``steal``)."""


@dataclass(frozen=True, slots=True)
class Lease:
    """An acquired lease: the fencing ``token`` (1 for the first attempt, +1 per takeover),
    the ``owner`` label and the time to live in seconds."""

    task_id: int
    token: int
    owner: str
    ttl_s: float


def acquire(store: Store, task_id: int, owner: str, ttl_s: float, *, steal: bool = False,
            now: float | None = None) -> Lease:
    """Take the lease of ``task_id`` for ``owner`` for ``ttl_s`` seconds; the new token is
    the old one + 1 (1 if there was none). Allowed when there is no lease, it expired, it
    is ``owner``'s own, or ``steal`` (a retry that knows the previous attempt is gone, or
    the head stopping a task: the previous owner is fenced from now on). LeaseHeld
    otherwise."""
    now = time.time() if now is None else now
    with store.atomic():
        store.execute(
            "INSERT INTO task_leases (task_id, token, owner, expires_at) VALUES (?, 1, ?, ?) "
            "ON CONFLICT (task_id) DO UPDATE SET token = task_leases.token + 1, "
            "owner = excluded.owner, expires_at = excluded.expires_at "
            "WHERE task_leases.expires_at < ? OR task_leases.owner = excluded.owner OR ? = 1",
            (task_id, owner, now + ttl_s, now, 1 if steal else 0))
        row = store.execute("SELECT token, owner, expires_at FROM task_leases "
                            "WHERE task_id = ?", (task_id,))[0]
    token, holder, expires = int(row[0]), str(row[1]), float(row[2])
    if holder != owner:
        raise LeaseHeld(f"task {task_id} is owned by {holder} (attempt {token}) for another "
                        f"{max(0.0, expires - now):.1f} s")
    return Lease(task_id, token, owner, ttl_s)


def current(store: Store, task_id: int) -> tuple[int, str, float] | None:
    """``(token, owner, expires_at)`` of the task's lease, or None."""
    rows = store.execute("SELECT token, owner, expires_at FROM task_leases WHERE task_id = ?",
                         (task_id,))
    return (int(rows[0][0]), str(rows[0][1]), float(rows[0][2])) if rows else None


def fence(store: Store, lease: Lease, now: float | None = None) -> None:
    """Check ``lease`` is still the task's and extend it by its TTL, as one UPDATE that
    joins the caller's transaction (call it first inside ``store.atomic()``). Fenced,
    naming the attempt that took over, when the token was superseded or the row is gone."""
    now = time.time() if now is None else now
    if store.execute("UPDATE task_leases SET expires_at = ? WHERE task_id = ? AND token = ? "
                     "RETURNING token", (now + lease.ttl_s, lease.task_id, lease.token)):
        return
    held = current(store, lease.task_id)
    by = f"attempt {held[0]} ({held[1]})" if held else "the runtime (lease released)"
    raise Fenced(f"fenced: lease of task {lease.task_id} taken over by {by}; attempt "
                 f"{lease.token} ({lease.owner}) wrote nothing")


def renew(store: Store, lease: Lease) -> None:
    """Heartbeat: :func:`fence` in a transaction of its own. Fenced if taken over."""
    with store.atomic():
        fence(store, lease)


def release(store: Store, lease: Lease) -> bool:
    """Drop the lease if it is still ``lease``'s; whether it was."""
    with store.atomic():
        return bool(store.execute("DELETE FROM task_leases WHERE task_id = ? AND token = ? "
                                  "RETURNING token", (lease.task_id, lease.token)))


def save_bundle(store: Store, task_id: int, commit_id: str, data: bytes) -> None:
    """Keep ``data`` (a git bundle of the task's base..``commit_id``) as the task's bundle,
    replacing the previous one; joins the caller's transaction."""
    store.execute(
        "INSERT INTO task_bundles (task_id, commit_id, data) VALUES (?, ?, ?) "
        "ON CONFLICT (task_id) DO UPDATE SET commit_id = excluded.commit_id, "
        "data = excluded.data", (task_id, commit_id, data))


def load_bundle(store: Store, task_id: int) -> tuple[str, bytes] | None:
    """``(commit_id, bundle bytes)`` of the task's last checkpoint bundle, or None."""
    rows = store.execute("SELECT commit_id, data FROM task_bundles WHERE task_id = ?",
                         (task_id,))
    return (str(rows[0][0]), bytes(rows[0][1])) if rows else None


BundleMaker = Callable[[str], bytes | None]


class FencedStore(Store):
    """The store as seen by a lease holder: writes of the leased task are fenced
    (:func:`fence` first in their transaction); a checkpoint naming a commit also saves
    ``bundle(commit)`` (git bundle bytes, or None for nothing new) in the same transaction.
    It delegates to ``inner`` (either backend), which the caller no longer uses directly."""

    def __init__(self, inner: Store, lease: Lease, bundle: BundleMaker | None = None) -> None:
        self.inner = inner
        self.lease = lease
        self.bundle = bundle
        self.path: Path = inner.path
        self.dialect: str = inner.dialect

    def _mine(self, task_id: int) -> bool:
        return task_id == self.lease.task_id

    async def close(self) -> None:
        """Close the inner store."""
        await self.inner.close()

    def atomic(self) -> AbstractContextManager[None]:
        """The inner store's transaction."""
        return self.inner.atomic()

    async def wait_available(self) -> None:
        """The inner store's :meth:`Store.wait_available`."""
        await self.inner.wait_available()

    async def create_task(self, **fields: Any) -> TaskRow:
        """:meth:`Store.create_task` (a new task is nobody's lease)."""
        return await self.inner.create_task(**fields)

    async def get_task(self, task_id: int) -> TaskRow:
        """:meth:`Store.get_task`."""
        return await self.inner.get_task(task_id)

    def _get(self, task_id: int) -> TaskRow:
        return self.inner._get(task_id)

    async def list_tasks(self, root: Path | None = None,
                         states: Sequence[TaskState] | None = None) -> list[TaskRow]:
        """:meth:`Store.list_tasks`."""
        return await self.inner.list_tasks(root, states)

    async def update_task(self, task_id: int, **fields: Any) -> TaskRow:
        """:meth:`Store.update_task`, fenced for the leased task."""
        if not self._mine(task_id):
            return await self.inner.update_task(task_id, **fields)
        with self.atomic():
            fence(self.inner, self.lease)
            return await self.inner.update_task(task_id, **fields)

    async def delete_task(self, task_id: int) -> None:
        """:meth:`Store.delete_task`; refused (Fenced) for the leased task."""
        if self._mine(task_id):
            raise Fenced(f"task {task_id} is leased; it cannot be deleted by its owner")
        await self.inner.delete_task(task_id)

    async def append(self, task_id: int, step: int, entries: Iterable[tuple[str, JSON]],
                     checkpoint: tuple[str | None, JSON] | None = None,
                     outbox: Sequence[tuple[Any, ...]] = ()) -> list[Event]:
        """:meth:`Store.append`, fenced for the leased task."""
        if not self._mine(task_id):
            return await self.inner.append(task_id, step, entries, checkpoint, outbox)
        data = None
        if checkpoint is not None and checkpoint[0] and self.bundle is not None:
            data = self.bundle(checkpoint[0])  # before any statement: git runs here
        with self.atomic():
            fence(self.inner, self.lease)
            if data is not None and checkpoint is not None and checkpoint[0]:
                save_bundle(self.inner, task_id, checkpoint[0], data)
            return await self.inner.append(task_id, step, entries, checkpoint, outbox)

    async def events(self, task_id: int, after_seq: int = 0,
                     limit: int | None = None) -> list[Event]:
        """:meth:`Store.events`."""
        return await self.inner.events(task_id, after_seq, limit)

    async def checkpoints(self, task_id: int) -> list[Checkpoint]:
        """:meth:`Store.checkpoints`."""
        return await self.inner.checkpoints(task_id)

    async def latest_checkpoint(self, task_id: int) -> Checkpoint | None:
        """:meth:`Store.latest_checkpoint`."""
        return await self.inner.latest_checkpoint(task_id)

    async def put_suggestions(self, task_id: int,
                              rows: Iterable[tuple[str, str, str, JSON]]) -> None:
        """:meth:`Store.put_suggestions`, fenced for the leased task."""
        with self.atomic():
            if self._mine(task_id):
                fence(self.inner, self.lease)
            await self.inner.put_suggestions(task_id, rows)

    async def suggestions(self, task_id: int) -> list[tuple[str, str, str, JSON]]:
        """:meth:`Store.suggestions`."""
        return await self.inner.suggestions(task_id)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """:meth:`Store.execute` (outbox rows: written inside the fenced transactions)."""
        return self.inner.execute(sql, args)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """:meth:`Store.executemany`."""
        self.inner.executemany(sql, rows)
