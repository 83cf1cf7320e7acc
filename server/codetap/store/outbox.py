"""The webhook outbox and per-task webhooks in the codetap database (schema migration 3 -> 4).

A message is a row of ``outbox``: written with the state change it reports
(:meth:`codetap.store.Store.append` ``outbox=``), then taken by the delivery loop
(:mod:`codetap.webhooks.delivery`) when ``next_at`` (Unix seconds) is due and marked
``delivered``, rescheduled or ``dead``. Its ``msg_id`` is the Standard Webhooks
``webhook-id``: fixed when the row is written, so every attempt and every manual
redelivery of the message carries the same id. Rows hold the signing secret (the database
is 0600; see ARCHITECTURE.md "Trust and safety") so a message written before a restart can
still be signed after it.

All functions use the store's writer connection synchronously through
:meth:`codetap.store.base.Store.execute` (SQL both backends accept; each statement is a few
tens of microseconds on an indexed SQLite table, one round trip on PostgreSQL) and must be
called from the runtime's event loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codetap.store.store import Store

#: ``(msg_id, task_id, type, url, secret, payload, created, next_at)``
INSERT = ("INSERT INTO outbox (msg_id, task_id, type, url, secret, payload, created, next_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
_COLUMNS = ("id, msg_id, task_id, type, url, secret, payload, created, attempts, next_at, state, "
            "delivered_at, last_status, last_error")


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One message. Times are Unix seconds; ``payload`` is the exact JSON body sent."""

    id: int
    msg_id: str
    task_id: int
    type: str
    url: str
    secret: str
    payload: str
    created: float
    attempts: int
    next_at: float
    state: str
    delivered_at: float | None
    last_status: int | None
    last_error: str | None

    def public(self) -> dict[str, Any]:
        """The row as ``codetap webhooks list`` shows it: everything but the secret and
        the payload body."""
        return {"id": self.id, "webhook_id": self.msg_id, "task_id": self.task_id,
                "type": self.type, "url": self.url, "state": self.state,
                "attempts": self.attempts, "created": self.created, "next_at": self.next_at,
                "delivered_at": self.delivered_at, "last_status": self.last_status,
                "last_error": self.last_error}


@dataclass(frozen=True, slots=True)
class TaskWebhook:
    """A task's own webhook: where, the secret, the ``task.status`` period (seconds) and the
    message types wanted (None: all)."""

    url: str
    secret: str
    interval_s: float
    events: tuple[str, ...] | None


def _row(r: Sequence[Any]) -> OutboxRow:
    return OutboxRow(*r)


def add(store: Store, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert :data:`INSERT` rows in one transaction (``task.status`` messages, which
    report no state change)."""
    with store.atomic():
        store.executemany(INSERT, rows)


def put_task_webhook(store: Store, task_id: int, hook: TaskWebhook) -> None:
    """Store the task's webhook (inside the caller's :meth:`Store.atomic` when creating)."""
    store.execute(
        "INSERT INTO task_webhooks (task_id, url, secret, interval_s, events) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id) DO UPDATE SET url = excluded.url, "
        "secret = excluded.secret, interval_s = excluded.interval_s, events = excluded.events",
        (task_id, hook.url, hook.secret, hook.interval_s,
         json.dumps(list(hook.events)) if hook.events is not None else None))


def task_webhook(store: Store, task_id: int) -> TaskWebhook | None:
    """The task's own webhook, or None."""
    found = store.execute("SELECT url, secret, interval_s, events FROM task_webhooks "
                          "WHERE task_id = ?", (task_id,))
    if not found:
        return None
    r = found[0]
    return TaskWebhook(r[0], r[1], r[2], tuple(json.loads(r[3])) if r[3] else None)


def task_webhooks(store: Store) -> dict[int, TaskWebhook]:
    """Every stored task webhook by task id (the secrets of these are registered for
    redaction when the runtime opens)."""
    rows = store.execute("SELECT task_id, url, secret, interval_s, events FROM task_webhooks")
    return {r[0]: TaskWebhook(r[1], r[2], r[3], tuple(json.loads(r[4])) if r[4] else None)
            for r in rows}


def due(store: Store, now: float, limit: int, skip: Sequence[int] = ()) -> list[OutboxRow]:
    """Pending rows with ``next_at <= now``, oldest first, at most ``limit``, none of whose
    ids is in ``skip`` (rows being sent)."""
    sql = f"SELECT {_COLUMNS} FROM outbox WHERE state = ? AND next_at <= ?"
    args: list[Any] = [PENDING, now]
    if skip:
        sql += f" AND id NOT IN ({','.join('?' * len(skip))})"
        args.extend(skip)
    return [_row(r) for r in store.execute(sql + " ORDER BY next_at, id LIMIT ?",
                                           [*args, limit])]


def next_due(store: Store, skip: Sequence[int] = ()) -> float | None:
    """The earliest ``next_at`` of a pending row not in ``skip``; None if there is none."""
    sql = "SELECT MIN(next_at) FROM outbox WHERE state = ?"
    args: list[Any] = [PENDING]
    if skip:
        sql += f" AND id NOT IN ({','.join('?' * len(skip))})"
        args.extend(skip)
    r = store.execute(sql, args)
    return float(r[0][0]) if r and r[0][0] is not None else None


def delivered(store: Store, row_id: int, status: int, now: float) -> None:
    """Mark the row delivered (``status``: the receiver's 2xx code)."""
    store.execute("UPDATE outbox SET state = ?, attempts = attempts + 1, delivered_at = ?, "
                  "last_status = ?, last_error = NULL WHERE id = ?",
                  (DELIVERED, now, status, row_id))


def failed(store: Store, row_id: int, status: int | None, error: str,
           next_at: float | None) -> None:
    """Record a failed attempt: retried at ``next_at``, or dead-lettered when None."""
    if next_at is None:
        store.execute("UPDATE outbox SET state = ?, attempts = attempts + 1, "
                      "last_status = ?, last_error = ? WHERE id = ?",
                      (DEAD, status, error[:500], row_id))
    else:
        store.execute("UPDATE outbox SET attempts = attempts + 1, next_at = ?, "
                      "last_status = ?, last_error = ? WHERE id = ?",
                      (next_at, status, error[:500], row_id))


def listing(store: Store, *, dead: bool = False, limit: int = 100) -> list[OutboxRow]:
    """Newest messages first (only dead-lettered ones with ``dead``), at most ``limit``."""
    sql = f"SELECT {_COLUMNS} FROM outbox"
    args: list[Any] = []
    if dead:
        sql += " WHERE state = ?"
        args.append(DEAD)
    return [_row(r) for r in store.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])]


def find(store: Store, ref: str) -> OutboxRow | None:
    """The message whose row id (``"12"``) or webhook-id (``"msg_..."``) is ``ref``."""
    if ref.isdigit():
        found = store.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (int(ref),))
    else:
        found = store.execute(f"SELECT {_COLUMNS} FROM outbox WHERE msg_id = ?", (ref,))
    return _row(found[0]) if found else None


def requeue(store: Store, row_id: int) -> None:
    """Send the message again from the start of the retry schedule, same webhook-id."""
    store.execute("UPDATE outbox SET state = ?, attempts = 0, next_at = ?, last_error = NULL "
                  "WHERE id = ?", (PENDING, time.time(), row_id))
