"""The messages a task change produces: type, ``webhook-id``, JSON body, outbox row.

Body (Standard Webhooks payload structure): ``{"type": "task.ready", "timestamp":
"2026-11-20T23:10:00.123Z", "data": TaskInfo}`` with TaskInfo as the editor protocol
dumps it (:func:`codetap.lsp.convert.task_info`), known secrets redacted.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from codetap.redact import redact_json
from codetap.store import now_rfc3339
from codetap.store.outbox import TaskWebhook
from codetap.types import TaskState

if TYPE_CHECKING:
    from codetap.store import TaskRow

_BY_STATE = {TaskState.WAITING: "task.waiting", TaskState.READY: "task.ready",
             TaskState.FAILED: "task.failed", TaskState.CANCELLED: "task.cancelled"}


def state_type(state: TaskState) -> str:
    """The message type reporting a move into ``state`` (``task.updated`` for the states
    without a type of their own: queued, running, paused, interrupted, applied...)."""
    return _BY_STATE.get(state, "task.updated")


def body(kind: str, task: TaskRow) -> str:
    """The JSON body of a ``kind`` message about ``task`` (compact, UTF-8 safe)."""
    from codetap.lsp.convert import task_info
    from codetap.protocol.models import dump
    payload: dict[str, Any] = {"type": kind, "timestamp": now_rfc3339(),
                               "data": dump(task_info(task))}
    return json.dumps(redact_json(payload), separators=(",", ":"), ensure_ascii=False)


def new_id() -> str:
    """A fresh ``webhook-id`` (``msg_`` + 32 hex digits)."""
    return f"msg_{uuid.uuid4().hex}"


def rows(kind: str, task: TaskRow, targets: Iterable[TaskWebhook]) -> list[tuple[Any, ...]]:
    """Outbox rows (:data:`codetap.store.outbox.INSERT`) for the targets that want
    ``kind``; due now. The body is built once and shared."""
    wanted = [t for t in targets if t.events is None or kind in t.events]
    if not wanted:
        return []
    text, now = body(kind, task), time.time()
    return [(new_id(), task.id, kind, t.url, t.secret, text, now, now) for t in wanted]
