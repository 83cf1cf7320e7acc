"""codetap's Python SDK: drive the per-user daemon from programs (docs/sdk.md).

    result = codetap.run_sync("fix the failing test", repo=".")
    async with codetap.connect() as client:
        task = await client.start("...", repo=".")
        async for event in client.events(task.id): ...

Names are loaded on first use: importing ``codetap.sdk`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codetap.errors import CodetapError, InvalidTransition, TaskNotFound
    from codetap.sdk.client import Client, connect
    from codetap.sdk.errors import ConnectionLost, DaemonUnreachable, RequestError
    from codetap.sdk.models import END_STATES, Event, TaskResult
    from codetap.sdk.oneshot import run, run_sync

_WHERE = {
    "Client": "codetap.sdk.client", "connect": "codetap.sdk.client",
    "ConnectionLost": "codetap.sdk.errors", "DaemonUnreachable": "codetap.sdk.errors",
    "RequestError": "codetap.sdk.errors", "END_STATES": "codetap.sdk.models",
    "Event": "codetap.sdk.models", "TaskResult": "codetap.sdk.models",
    "run": "codetap.sdk.oneshot", "run_sync": "codetap.sdk.oneshot",
    "CodetapError": "codetap.errors", "InvalidTransition": "codetap.errors",
    "TaskNotFound": "codetap.errors",
}

__all__ = [
    "END_STATES", "Client", "CodetapError", "ConnectionLost", "DaemonUnreachable", "Event",
    "InvalidTransition", "RequestError", "TaskNotFound", "TaskResult", "connect", "run",
    "run_sync",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'codetap.sdk' has no attribute {name!r}")
    return getattr(importlib.import_module(where), name)
