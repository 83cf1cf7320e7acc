"""codetap: a local runtime for long-running AI coding tasks, next to your editor.

The public Python API is the SDK (:mod:`codetap.sdk`, docs/sdk.md), re-exported here:
``codetap.run_sync``, ``codetap.run``, ``codetap.connect``, ``codetap.Event``,
``codetap.TaskResult`` and the error classes. They load on first use, so ``import codetap``
(and the ``codetap`` command's start-up) stays cheap.
"""

from __future__ import annotations

from typing import Any

_SDK = frozenset({
    "Client", "connect", "ConnectionLost", "DaemonUnreachable", "RequestError", "END_STATES",
    "Event", "TaskResult", "run", "run_sync", "CodetapError", "InvalidTransition",
    "TaskNotFound",
})


def __getattr__(name: str) -> Any:
    if name in _SDK:
        from codetap import sdk
        return getattr(sdk, name)
    raise AttributeError(f"module 'codetap' has no attribute {name!r}")
