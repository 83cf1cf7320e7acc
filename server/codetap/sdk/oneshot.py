"""One-call entry points: ``codetap.run`` (async, streaming) and ``codetap.run_sync``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from codetap.sdk.client import connect
from codetap.sdk.models import Event, TaskResult


async def run(intent: str, *, repo: str | Path, model: str | None = None,
              workflow: str | None = None, priority: int = 0
              ) -> AsyncIterator[Event | TaskResult]:
    """Start a task in the daemon (started if none runs) and yield its journal events as
    they happen (:class:`Event`, each with its ``seq``), then the :class:`TaskResult` once
    the task ends (ready, failed, cancelled ...). Leaving the loop early leaves the task
    running in the daemon. ``priority``: as :meth:`Client.start`."""
    async with connect() as client:
        info = await client.start(intent, repo=repo, model=model, workflow=workflow,
                                     priority=priority)
        async for event in client.events(info.id):
            yield event
        yield await client.result(info.id)


def run_sync(intent: str, *, repo: str | Path, model: str | None = None,
             workflow: str | None = None, priority: int = 0) -> TaskResult:
    """Run a task to its end and return its :class:`TaskResult` (blocking; not from inside
    a running event loop: use :func:`run` there)."""
    async def go() -> TaskResult:
        async with connect() as client:
            info = await client.start(intent, repo=repo, model=model, workflow=workflow,
                                     priority=priority)
            await client.wait(info.id)
            return await client.result(info.id)
    return asyncio.run(go())
