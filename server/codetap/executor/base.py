"""The executor interface: who runs a task once the runtime launched it.

:class:`InProcess` (``[executor] kind = "inprocess"``, the default) runs it in the runtime
worker's event loop (``Runtime._run``). :class:`codetap.executor.ray_head.RayExecutor`
(``kind = "ray"``) runs each task that has a repository URL as a Ray task on some node;
tasks on a local checkout stay in-process (their repository is on this machine).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from codetap.store import TaskRow

if TYPE_CHECKING:
    from codetap.runtime import Runtime


class Executor(Protocol):
    """Runs launched tasks. ``run(task)`` is awaited in an asyncio task that the runtime
    keeps in ``Runtime._runs`` (cancelling it stops the run: the state to end in is in
    ``Runtime._stop_as``); it returns the task row as the run left it."""

    def handles(self, task: TaskRow) -> bool:
        """Whether this executor runs ``task`` (else the runtime runs it in-process)."""
        ...

    def run(self, task: TaskRow) -> Coroutine[Any, Any, TaskRow]:
        """The coroutine that runs ``task`` (already ``queued``) to its end."""
        ...

    async def close(self) -> None:
        """Release the executor's resources (connections to a cluster)."""
        ...


class InProcess:
    """The default: every task runs in the runtime's event loop (:meth:`Runtime._run`)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def handles(self, task: TaskRow) -> bool:
        """Always True."""
        return True

    def run(self, task: TaskRow) -> Coroutine[Any, Any, TaskRow]:
        """``Runtime._run(task)``."""
        return self.runtime._run(task)

    async def close(self) -> None:
        """Nothing to release."""


def make_executor(runtime: Runtime) -> Executor:
    """The executor ``runtime.config.executor`` names (Ray is imported only then)."""
    if runtime.config.executor.kind == "ray":
        from codetap.executor.ray_head import RayExecutor
        return RayExecutor(runtime)
    return InProcess(runtime)
