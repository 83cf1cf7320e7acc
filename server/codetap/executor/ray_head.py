"""The head side of the Ray executor (``[executor] kind = "ray"``).

Each launched task that has a repository URL becomes one Ray task
(:func:`codetap.executor.node.run_attempt`) with the configured resources and
``max_retries``: when its node dies, Ray starts it again elsewhere and the new attempt takes
the lease over. While it runs, the head follows the shared store: new journal entries and
row changes go to the runtime's listeners (editors, SSE streams, the web panel) and wake
the webhook sender, as if the task ran here. Stopping a run (cancel, pause, shutdown)
takes the lease (the node is fenced off from then on), cancels the Ray task and moves the
task to the requested state through ``Runtime._transition``. When the run ends, the task's
commits are fetched from the store into this machine's mirror, so diffs and reports work
here as for a local run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from codetap.executor.bundles import RESUME_REF, import_bundle
from codetap.executor.node import run_attempt
from codetap.store import Store, TaskRow
from codetap.store import lease as leases
from codetap.tasks.mirrors import sync_mirror
from codetap.tasks.remote import mirror_dir, parse_remote
from codetap.types import TaskState

if TYPE_CHECKING:
    from codetap.runtime import Runtime

log = logging.getLogger(__name__)
FOLLOW_S = 0.2
HEAD_OWNER = "runtime"
_ACTIVE = (TaskState.QUEUED, TaskState.RUNNING, TaskState.WAITING)


def forget_seq(store: Store, task_id: int) -> None:
    """Drop the SQLite store's cached next journal seq of ``task_id``: another process
    appended to its journal meanwhile (PostgreSQL keeps no such cache)."""
    cache = getattr(store, "_next_seq", None)
    if isinstance(cache, dict):
        cache.pop(task_id, None)


class RayExecutor:
    """Runs tasks with a repository URL on the Ray cluster at ``[executor] address``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._remote: Any = None
        self._pos: dict[int, tuple[str, int]] = {}
        #: task id -> what its last Ray task returned ({state, token, node, fenced}).
        self.results: dict[int, dict[str, Any]] = {}

    def handles(self, task: TaskRow) -> bool:
        """Tasks with a repository URL (a local checkout is on this machine only)."""
        return task.repo_url is not None

    def run(self, task: TaskRow) -> Coroutine[Any, Any, TaskRow]:
        """The coroutine following ``task``'s Ray task to its end."""
        return self._run(task)

    async def close(self) -> None:
        """Nothing to release: the Ray connection belongs to the process."""

    async def _connect(self) -> Any:
        if self._remote is None:
            import ray
            settings = self.runtime.config.executor
            if not ray.is_initialized():
                await asyncio.to_thread(ray.init, address=settings.address,
                                        ignore_reinit_error=True, log_to_driver=False)
            self._remote = ray.remote(run_attempt).options(
                num_cpus=settings.num_cpus, memory=settings.memory_mb * 1024 * 1024 or None,
                max_retries=settings.max_retries, retry_exceptions=False)
        return self._remote

    async def _run(self, task: TaskRow) -> TaskRow:
        rt = self.runtime
        ref: Any = None
        follow: asyncio.Task[None] | None = None
        try:
            remote = await self._connect()
            ref = remote.remote(rt.config, task.id)
            follow = asyncio.create_task(self._follow(task))
            result = await ref
            self.results[task.id] = result
            log.info("task %s ended on node %s (attempt %s)", task.id, result.get("node"),
                     result.get("token"))
            return await self._ended(task.id, follow)
        except asyncio.CancelledError:
            target = rt._stop_as.pop(task.id, TaskState.INTERRUPTED)
            return await self._take_back(task.id, ref, follow, target, None)
        except Exception as exc:  # noqa: BLE001 - Ray's errors (retries spent, no cluster)
            log.error("task %s: its Ray task failed: %s", task.id, exc)
            return await self._take_back(task.id, ref, follow, TaskState.FAILED,
                                         f"executor: {type(exc).__name__}: {exc}"[:2000])
        finally:
            rt._runs.pop(task.id, None)

    async def _ended(self, task_id: int, follow: asyncio.Task[None] | None) -> TaskRow:
        await _stop_following(follow)
        store = self.runtime.store
        forget_seq(store, task_id)
        await self._catch_up(task_id)
        await self._adopt(task_id)
        task = await store.get_task(task_id)
        await self.runtime._publish(task)
        self.runtime.webhooks.deliverer.wake()
        return task

    async def _take_back(self, task_id: int, ref: Any, follow: asyncio.Task[None] | None,
                         target: TaskState, error: str | None) -> TaskRow:
        """Fence the node off (the head takes the lease), cancel its Ray task and end the
        run in ``target`` if the task is still active."""
        rt = self.runtime
        lease = leases.acquire(rt.store, task_id, HEAD_OWNER, rt.config.executor.lease_ttl_s,
                               steal=True)
        if ref is not None:
            import ray
            ray.cancel(ref, force=False)
        await _stop_following(follow)
        forget_seq(rt.store, task_id)
        await self._catch_up(task_id)
        try:
            task = await rt.store.get_task(task_id)
            if task.state in _ACTIVE:
                fields = {"error": error} if error else {}
                task = await rt._transition(task_id, target, **fields)
            return task
        finally:
            leases.release(rt.store, lease)

    async def _follow(self, task: TaskRow) -> None:
        """Relay the task's new journal entries and row changes to the runtime's
        listeners every FOLLOW_S seconds while it runs elsewhere."""
        seq = max((e.seq for e in await self.runtime.store.events(task.id)), default=0)
        self._pos[task.id] = (task.updated_at, seq)
        while True:
            await asyncio.sleep(FOLLOW_S)  # polling period of the shared store
            try:
                await self._relay(task.id)
            except Exception:  # the store briefly away: the next round catches up
                log.exception("following task %s failed", task.id)

    async def _catch_up(self, task_id: int) -> None:
        """The last relay of a run that ended: what its last moments wrote."""
        try:
            if task_id in self._pos:
                await self._relay(task_id)
        except Exception:
            log.exception("following task %s failed", task_id)
        finally:
            self._pos.pop(task_id, None)

    async def _relay(self, task_id: int) -> None:
        rt = self.runtime
        stamp, seq = self._pos[task_id]
        events = await rt.store.events(task_id, seq)
        for ev in events:
            rt._notify(ev.task_id, ev.seq, ev.kind, ev.data)
        if any(ev.kind == "state" for ev in events):
            rt.webhooks.deliverer.wake()
        row = await rt.store.get_task(task_id)
        if row.updated_at != stamp:
            await rt._publish(row)
        self._pos[task_id] = (row.updated_at, events[-1].seq if events else seq)

    async def _adopt(self, task_id: int) -> None:
        """Fetch the task's commits (its last bundle) into this machine's mirror and point
        the row there, so diff, file changes and discard work on this machine."""
        rt = self.runtime
        task = await rt.store.get_task(task_id)
        saved = leases.load_bundle(rt.store, task_id)
        if task.repo_url is None or saved is None:
            return
        remote = parse_remote(task.repo_url)
        mirror = mirror_dir(rt.config.data_dir, remote)
        if task.root == mirror:
            return
        try:
            await sync_mirror(rt.config.git, rt.config.data_dir, remote)
            error = await import_bundle(mirror, task_id, saved[1])
        except Exception as exc:  # noqa: BLE001 - the diff then stays on the node's mirror
            error = str(exc)
        if error:
            log.warning("task %s: its commits stay on its node: %s", task_id, error)
            return
        if task.state not in _ACTIVE:
            await rt.store.update_task(task_id, root=mirror, worktree=None)
        log.debug("task %s adopted into %s (%s)", task_id, mirror,
                  RESUME_REF.format(id=task_id))


async def _stop_following(follow: asyncio.Task[None] | None) -> None:
    if follow is not None:
        follow.cancel()
        await asyncio.wait({follow})
