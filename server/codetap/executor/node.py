"""The node side of the Ray executor: one attempt at running one task.

:func:`run_attempt` is the Ray task's function. It runs on some node of the cluster, in a
Ray worker process, and for its lifetime is the task's owner (ARCHITECTURE.md "Ownership"):

1. it takes the task's lease (:mod:`codetap.store.lease`) with ``steal``: Ray starts an
   attempt only when the previous one is gone (its node died), and if that one still
   writes somehow, the new token fences it off;
2. it opens the shared store (``[store]``) through a :class:`FencedStore`, so each of its
   journal, checkpoint and state writes checks the token, and each checkpoint saves the
   task's commits as a bundle (:mod:`codetap.executor.bundles`);
3. it works in its own data directory (``[executor] node_dir``): its own mirror of the
   repository URL and its own worktree, at the last checkpoint's commit fetched from the
   bundle;
4. it runs the task with a :class:`~codetap.runtime.Runtime` of its own (no lock, no
   recovery, no webhook sender: the head's runtime sends what this one writes to the
   outbox), so states change through the same ``Runtime._transition``. A task it finds
   ``running`` or ``waiting`` (its previous owner died) goes ``interrupted`` then
   ``queued``, and the engine resumes it from the journal as after a kill -9.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import uuid
from pathlib import Path
from typing import Any

from codetap.config import Config
from codetap.errors import StoreError
from codetap.executor.bundles import import_bundle, make_bundle
from codetap.store import Store, TaskRow
from codetap.store import lease as leases
from codetap.tasks.mirrors import sync_mirror
from codetap.tasks.remote import mirror_dir, parse_remote
from codetap.types import TaskState

log = logging.getLogger(__name__)


def node_config(config: Config, node_id: str) -> Config:
    """``config`` with this node's own data and runtime directories (``[executor]
    node_dir``, default ``<data_dir>/nodes/<node id[:12]>``); the store stays shared."""
    base = Path(config.executor.node_dir or config.data_dir / "nodes" / node_id[:12])
    # Tasks this node starts itself (sub-tasks) run here, not as further Ray tasks.
    return dataclasses.replace(config, data_dir=base, runtime_dir=base / "run",
                               executor=dataclasses.replace(config.executor, kind="inprocess"))


def run_attempt(config: Config, task_id: int) -> dict[str, Any]:
    """Ray task body: run task ``task_id`` here to its end. Returns ``{"state", "token",
    "node", "fenced"}``: the state the task was left in (by this attempt, or as found when
    it was fenced), the attempt's fencing token, the node id and whether it was fenced."""
    import ray
    node_id = ray.get_runtime_context().get_node_id()
    return asyncio.run(_attempt(config, task_id, node_id))


async def _open_store(config: Config) -> Store:
    url = getattr(config, "store_url", None)
    if url:
        return await Store.open(config.db_path, config.store_synchronous, url=url)
    return await Store.open(config.db_path, config.store_synchronous)


async def _attempt(config: Config, task_id: int, node_id: str) -> dict[str, Any]:
    from codetap.runtime import Runtime
    cfg = node_config(config, node_id)
    store = await _open_store(cfg)
    owner = f"{node_id[:12]}/{os.getpid()}/{uuid.uuid4().hex[:6]}"
    lease = leases.acquire(store, task_id, owner, cfg.executor.lease_ttl_s, steal=True)
    task = await store.get_task(task_id)
    fenced = leases.FencedStore(store, lease, bundle=lambda commit: make_bundle(
        cfg.worktrees_dir / f"task-{task_id}", commit))
    rt = Runtime(cfg, fenced)
    rt.attach_grace_s = 0.0  # nobody can answer a question here (docs/scale-out.md)
    beat = asyncio.create_task(_heartbeat(store, lease, asyncio.current_task()))
    result = {"token": lease.token, "node": node_id, "fenced": False}
    try:
        task = await _take_over(rt, fenced, cfg, task, lease)
        if task.state is TaskState.QUEUED:
            task = await rt._run(task)
        result["state"] = task.state.value
    except (StoreError, asyncio.CancelledError) as exc:
        result["fenced"] = isinstance(exc, leases.Fenced) or _fenced(store, lease)
        result["state"] = (await store.get_task(task_id)).state.value
        log.warning("task %s attempt %s on %s stopped: %s", task_id, lease.token, node_id, exc)
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        if not result["fenced"]:
            result["fenced"] = _fenced(store, lease)
        leases.release(store, lease)
        await rt.close()
    return result


def _fenced(store: Store, lease: leases.Lease) -> bool:
    held = leases.current(store, lease.task_id)
    return held is not None and held[0] != lease.token


async def _take_over(rt: Any, store: Store, cfg: Config, task: TaskRow,
                     lease: leases.Lease) -> TaskRow:
    """Point the task at this node's mirror and worktree, bring the last checkpoint's
    commits into the mirror, and move a task whose owner died to ``queued``."""
    assert task.repo_url is not None
    remote = parse_remote(task.repo_url)
    mirror = mirror_dir(cfg.data_dir, remote)
    if task.root != mirror or task.worktree is not None:
        task = await store.update_task(task.id, root=mirror, worktree=None)
    saved = leases.load_bundle(store, task.id)
    if saved is not None:
        await sync_mirror(cfg.git, cfg.data_dir, remote)
        error = await import_bundle(mirror, task.id, saved[1])
        if error:
            raise StoreError(f"task {task.id}: cannot import its checkpoint commits: {error}")
    if task.state in (TaskState.RUNNING, TaskState.WAITING):
        task = await rt._transition(
            task.id, TaskState.INTERRUPTED,
            reason=f"its node went away; attempt {lease.token} takes over on {lease.owner}")
    if task.state is TaskState.INTERRUPTED:
        task = await rt._transition(task.id, TaskState.QUEUED)
    return task


async def _heartbeat(store: Store, lease: leases.Lease, run: asyncio.Task[Any] | None) -> None:
    """Renew the lease every third of its TTL; when it was taken over, stop the run (its
    next write would be refused anyway)."""
    while True:
        await asyncio.sleep(lease.ttl_s / 3)  # the renewal period, not synchronisation
        try:
            leases.renew(store, lease)
        except leases.Fenced:
            if run is not None:
                run.cancel()
            return
        except StoreError as exc:  # the database briefly away: the next beat retries
            log.warning("lease heartbeat of task %s failed: %s", lease.task_id, exc)
