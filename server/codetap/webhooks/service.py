"""The runtime's webhooks: targets of a task, its outbox rows, the loops, list/redeliver.

:class:`Webhooks` is owned by :class:`codetap.runtime.Runtime` (the runtime worker in the
daemon). The runtime asks it for the rows of each state change and writes them in the
same transaction (:meth:`codetap.store.Store.append` ``outbox=``); :meth:`start` runs the
delivery loop (:mod:`.delivery`) and the ``task.status`` ticker, which every
``interval_s`` seconds of a target writes one ``task.status`` message per running task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from codetap import redact
from codetap.config import Config
from codetap.errors import CodetapError, ConfigError
from codetap.store import Store, TaskRow
from codetap.store import outbox as ob
from codetap.types import TaskState
from codetap.webhooks import messages, settings
from codetap.webhooks.delivery import Deliverer

log = logging.getLogger(__name__)
TICK_S = 0.1


class WebhookNotFound(CodetapError):
    """No outbox message has this id."""


class Webhooks:
    """Webhooks of one runtime. ``config()`` returns the runtime's current config."""

    def __init__(self, store: Store, config: Callable[[], Config]) -> None:
        self.store = store
        self.config = config
        self._globals: tuple[int, list[ob.TaskWebhook]] = (-1, [])
        self._last_status: dict[tuple[int, str], float] = {}
        self._ticker: asyncio.Task[None] | None = None
        self.deliverer = Deliverer(store, self._delivery, _count)

    def _delivery(self) -> settings.Delivery:
        return settings.delivery(self.config().user_table)

    def globals(self) -> list[ob.TaskWebhook]:
        """The user's ``[[webhooks]]`` with their secrets (re-read when the config object
        changes; one whose variable is unset is skipped with a warning, once)."""
        cfg = self.config()
        if self._globals[0] != id(cfg.user_table):
            hooks = settings.global_webhooks(cfg.user_table)
            for table in cfg.user_table.get("webhooks", []):
                if not any(h.url == table["url"] for h in hooks):
                    log.warning("[[webhooks]] %s: %s is not set, so nothing is sent there",
                                table["url"], table["secret_env"])
            self._globals = (id(cfg.user_table), hooks)
        return self._globals[1]

    def targets(self, task_id: int) -> list[ob.TaskWebhook]:
        """Where messages about the task go: its own webhook, then the global ones."""
        own = ob.task_webhook(self.store, task_id)
        return ([own] if own else []) + self.globals()

    # -- the runtime's hooks -------------------------------------------------------------

    def configure(self, spec: Mapping[str, Any] | None) -> ob.TaskWebhook | None:
        """Validate a ``start_task(webhook=...)`` spec before the task exists (ConfigError)."""
        return settings.task_webhook(spec) if spec is not None else None

    def created(self, task: TaskRow, hook: ob.TaskWebhook | None) -> None:
        """Inside the creating transaction: store the task's webhook and its
        ``task.created`` messages."""
        if hook is not None:
            ob.put_task_webhook(self.store, task.id, hook)
        rows = messages.rows("task.created", task, self.targets(task.id))
        if rows:
            self.store.executemany(ob.INSERT, rows)

    def rows(self, task: TaskRow) -> list[tuple[Any, ...]]:
        """Outbox rows reporting that ``task`` just moved into its state."""
        targets = self.targets(task.id)
        if not targets:
            return []
        if task.state is not TaskState.RUNNING:
            for key in [k for k in self._last_status if k[0] == task.id]:
                del self._last_status[key]
        return messages.rows(messages.state_type(task.state), task, targets)

    # -- loops ---------------------------------------------------------------------------

    def start(self) -> None:
        """Register stored secrets for redaction, start the delivery loop and the ticker."""
        redact.register({f"webhook secret of task {tid}": h.secret
                         for tid, h in ob.task_webhooks(self.store).items()})
        try:
            self.globals()
        except ConfigError as exc:
            log.error("webhooks: %s", exc)
        self.deliverer.start()
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="codetap-webhook-status")

    async def close(self) -> None:
        """Stop the ticker and the delivery loop."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(BaseException):
                await self._ticker
            self._ticker = None
        await self.deliverer.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)  # the period of the status clock, not synchronisation
            try:
                self.status_due(time.monotonic())
            except Exception:
                log.exception("webhook status tick failed")

    def status_due(self, now: float) -> int:
        """Write the ``task.status`` messages that are due at monotonic time ``now``; how
        many. A target's first one comes ``interval_s`` after the task was first seen
        running by this process."""
        written = []
        running = self.store.execute("SELECT id FROM tasks WHERE state = ?",
                                     (TaskState.RUNNING.value,))
        for (task_id,) in running:
            for hook in self.targets(task_id):
                key = (task_id, hook.url)
                first = self._last_status.setdefault(key, now)
                if now - first >= hook.interval_s:
                    self._last_status[key] = now
                    written += messages.rows("task.status", self.store._get(task_id), [hook])
        if written:
            ob.add(self.store, written)
            self.deliverer.wake()
        return len(written)

    # -- list / redeliver ----------------------------------------------------------------

    def listing(self, dead: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        """Messages newest first as :meth:`OutboxRow.public` dicts (no secrets)."""
        return [r.public() for r in ob.listing(self.store, dead=dead, limit=limit)]

    def redeliver(self, ref: str) -> dict[str, Any]:
        """Send message ``ref`` (row id or webhook-id) again with the same webhook-id, from
        the start of the retry schedule; the row after. WebhookNotFound if unknown."""
        row = ob.find(self.store, ref)
        if row is None:
            raise WebhookNotFound(f"no webhook message {ref!r} (see `codetap webhooks list`)")
        ob.requeue(self.store, row.id)
        self.deliverer.wake()
        found = ob.find(self.store, str(row.id))
        assert found is not None
        return found.public()


def _count(outcome: str, latency_s: float | None) -> None:
    """:mod:`codetap.metrics`: ``WEBHOOK_DELIVERIES{outcome}`` and ``WEBHOOK_LATENCY``."""
    from codetap import metrics
    metrics.WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    if latency_s is not None:
        metrics.WEBHOOK_LATENCY.observe(latency_s)
