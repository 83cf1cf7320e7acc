"""Signing per the Standard Webhooks spec, with the ``standardwebhooks`` package.

Headers: ``webhook-id`` (the message's id, the same on every attempt), ``webhook-timestamp``
(Unix seconds of this attempt) and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>" keyed with the secret's decoded bytes>``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from standardwebhooks import Webhook


@lru_cache(maxsize=256)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def headers(msg_id: str, secret: str, body: str, now: datetime | None = None) -> dict[str, str]:
    """The request headers of one attempt (content type included)."""
    when = now or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": _signer(secret).sign(msg_id, when, body),
    }
