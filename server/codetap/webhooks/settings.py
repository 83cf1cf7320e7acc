"""Webhook configuration: a task's own webhook and the user's global ones.

User config (never a project's: an untrusted project must not route task data anywhere)::

    [[webhooks]]                     # every task's changes go here too
    url = "https://ci.example/hooks/codetap"
    secret_env = "CODETAP_WEBHOOK_SECRET"   # the secret is read from this variable
    events = ["task.ready", "task.failed"]  # optional: default all types
    interval_s = 60                          # optional: task.status period (seconds)

    [webhook_delivery]               # optional
    retry_schedule_s = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    timeout_s = 10                   # per attempt
    concurrency = 16                 # messages in flight at once

The delivery table is not ``[webhooks]``: TOML cannot have ``webhooks`` be both an array of
tables and a table. Secrets are Standard Webhooks secrets (``whsec_`` + base64).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from codetap import redact
from codetap.errors import ConfigError
from codetap.store.outbox import TaskWebhook

TYPES = ("task.created", "task.updated", "task.status", "task.waiting", "task.ready",
         "task.failed", "task.cancelled")
#: The Standard Webhooks retry schedule (seconds before each attempt): immediately, 5 s,
#: 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h; after the last, the message is dead.
RETRY_SCHEDULE_S = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0,
                    86400.0)
DEFAULT_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """``[webhook_delivery]``: retry schedule (seconds), per-attempt time-out (seconds),
    messages in flight at once."""

    retry_schedule_s: tuple[float, ...] = RETRY_SCHEDULE_S
    timeout_s: float = 10.0
    concurrency: int = 16


def check_secret(secret: str, where: str) -> None:
    """ConfigError unless ``secret`` is usable by the Standard Webhooks signer."""
    try:
        Webhook(secret)
    except (ValueError, RuntimeError, EmptyWebhookSecretError) as exc:
        raise ConfigError(f"{where}: not a webhook secret (expected whsec_ followed by base64): "
                          f"{type(exc).__name__}") from None


def _events(raw: Any, where: str) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list | tuple) or not all(isinstance(e, str) for e in raw):
        raise ConfigError(f"{where}.events: expected a list of event types")
    unknown = [e for e in raw if e not in TYPES]
    if unknown:
        raise ConfigError(f"{where}.events: unknown {', '.join(unknown)}; known: "
                          f"{', '.join(TYPES)}")
    return tuple(raw)


def task_webhook(spec: Mapping[str, Any]) -> TaskWebhook:
    """A task's webhook from ``{"url", "secret", "interval_s"?, "events"?}``; the secret is
    registered for redaction. ConfigError naming the bad field."""
    url, secret = spec.get("url"), spec.get("secret")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"webhook.url: expected an http(s) URL, got {url!r}")
    if not isinstance(secret, str) or not secret:
        raise ConfigError("webhook.secret: required (a Standard Webhooks secret, whsec_...)")
    check_secret(secret, "webhook.secret")
    redact.register({"webhook secret": secret})
    interval = spec.get("interval_s", DEFAULT_INTERVAL_S)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
        raise ConfigError(f"webhook.interval_s: expected a number > 0, got {interval!r}")
    unknown = set(spec) - {"url", "secret", "interval_s", "events"}
    if unknown:
        raise ConfigError(f"webhook: unknown key(s) {', '.join(sorted(unknown))}")
    return TaskWebhook(url, secret, float(interval), _events(spec.get("events"), "webhook"))


def global_webhooks(user_table: Mapping[str, Any],
                    env: Mapping[str, str] | None = None) -> list[TaskWebhook]:
    """The user's ``[[webhooks]]`` whose ``secret_env`` variable is set (others are skipped:
    an unsigned message is never sent). Values were checked by :mod:`codetap.config_schema`."""
    source = os.environ if env is None else env
    out = []
    for i, table in enumerate(user_table.get("webhooks", [])):
        secret = source.get(table["secret_env"], "")
        if not secret:
            continue
        check_secret(secret, f"webhooks[{i}].secret_env = {table['secret_env']!r}")
        redact.register({table["secret_env"]: secret})
        out.append(TaskWebhook(table["url"], secret,
                               float(table.get("interval_s", DEFAULT_INTERVAL_S)),
                               _events(table.get("events"), f"webhooks[{i}]")))
    return out


def delivery(user_table: Mapping[str, Any]) -> Delivery:
    """``[webhook_delivery]`` of the user's config (defaults where absent)."""
    table = user_table.get("webhook_delivery", {})
    return Delivery(
        retry_schedule_s=tuple(float(x) for x in table.get("retry_schedule_s",
                                                            RETRY_SCHEDULE_S)),
        timeout_s=float(table.get("timeout_s", 10.0)),
        concurrency=int(table.get("concurrency", 16)))
