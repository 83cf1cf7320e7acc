"""The Ray executor on a real 3-node Ray cluster on this machine (dashboard off), a shared
SQLite store and a scripted model on loopback: tasks spread over the nodes; a stale owner
is fenced off; a worker node killed in the middle of tasks, whose tasks finish on another
node with the same diff and each effect once."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.ray_support import (
    HOLD_TURN,
    TURNS,
    ScriptedModel,
    config,
    job_intent,
    open_head,
    start_cluster,
    stop_cluster,
    upstream,
)
from tests.pg_fixture import pg_server, pg_url  # noqa: F401 - fixtures

from codetap.runtime import Runtime
from codetap.store import TaskRow
from codetap.store import lease as leases
from codetap.types import TaskState

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="ray is not installed (extra 'ray')")
SPREAD_TASKS = 12  # the 20 run in bench/ray_executor.py; 12 keep CI on 2 CPUs short


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    c = start_cluster(nodes=3, cpus=1)
    yield c
    stop_cluster(c)


async def _until(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)  # polling a condition across processes


async def _finish(rt: Runtime, tasks: list[TaskRow], timeout: float = 240) -> list[TaskRow]:
    return list(await asyncio.wait_for(asyncio.gather(*(rt.wait(t.id) for t in tasks)),
                                       timeout))


def _check_diff(diff: str) -> None:
    assert "+    return a + b" in diff and "-    return a - b" in diff
    assert diff.count("+once") == 1 and "+done" in diff


async def test_tasks_spread_over_the_nodes(cluster: Any, tmp_path: Path) -> None:
    url = upstream(tmp_path)
    with ScriptedModel() as model:
        rt = await open_head(config(tmp_path, model.url))
        try:
            tasks = [await rt.start_task(job_intent(i), None, repo={"url": url})
                     for i in range(SPREAD_TASKS)]
            done = await _finish(rt, tasks)
            assert [t.state for t in done] == [TaskState.READY] * len(done), \
                [t.error for t in done]
            diffs = {await rt.diff(t.id) for t in done}
            assert len(diffs) == 1
            _check_diff(diffs.pop())
            nodes = {rt.executor.results[t.id]["node"] for t in done}  # type: ignore[attr-defined]
            assert len(nodes) >= 2, nodes
            assert all(model.requests[(i, n)] == 1 for i in range(SPREAD_TASKS)
                       for n in range(len(TURNS)))
            # The head followed the nodes' journals: the row is the head mirror's now.
            assert all("nodes" not in t.root.parts for t in done), [t.root for t in done]
        finally:
            await rt.close()


async def test_a_stale_owner_is_fenced_off(cluster: Any, tmp_path: Path) -> None:
    url = upstream(tmp_path)
    with ScriptedModel() as model:
        rt = await open_head(config(tmp_path, model.url))
        try:
            model.hold()
            task = await rt.start_task(job_intent(50), None, repo={"url": url})
            await _until(lambda: 50 in model.held, 60, "the task to reach the held turn")
            before = await rt.store.events(task.id)
            taken = leases.acquire(rt.store, task.id, "second-attempt", 30.0, steal=True)
            model.release()
            await asyncio.wait_for(rt.wait(task.id), 60)
            result = rt.executor.results[task.id]  # type: ignore[attr-defined]
            assert result["fenced"] and result["token"] == taken.token - 1
            after = await rt.store.events(task.id)
            assert [e.seq for e in after] == [e.seq for e in before]
            assert (await rt.store.get_task(task.id)).state is TaskState.RUNNING
            assert leases.current(rt.store, task.id) == (taken.token, "second-attempt",
                                                          pytest.approx(time.time() + 30, abs=30))
            leases.release(rt.store, taken)
            assert (await rt.cancel(task.id)).state is TaskState.CANCELLED
        finally:
            model.release()
            await rt.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_worker_node_killed_mid_task(cluster: Any, tmp_path: Path, backend: str,
                                           request: pytest.FixtureRequest) -> None:
    url = upstream(tmp_path)
    jobs = range(100, 104) if backend == "sqlite" else range(200, 204)
    store = {"store_url": request.getfixturevalue("pg_url")} if backend == "postgresql" else {}
    with ScriptedModel() as model:
        rt = await open_head(config(tmp_path, model.url, **store))
        try:
            model.hold()
            tasks = [await rt.start_task(job_intent(j), None, repo={"url": url}) for j in jobs]
            await _until(lambda: len(model.held) == 3, 90, "three tasks at the held turn")
            workers = {n.node_id[:12]: n for n in cluster.worker_nodes}
            owners = {t.id: (leases.current(rt.store, t.id) or (0, "//", 0))[1].split("/")
                      for t in tasks}
            victim = next(o[0] for o in owners.values() if o[0] in workers)
            affected = [t for t in tasks if owners[t.id][0] == victim]
            # The node dies at once: its task processes first (the raylet's death reaches
            # them only after a moment), then its raylet and the rest.
            for t in affected:
                os.kill(int(owners[t.id][1]), signal.SIGKILL)
            cluster.remove_node(workers[victim], allow_graceful=False)
            model.release()
            cluster.add_node(num_cpus=1, object_store_memory=80 * 1024**2)  # for later tests
            done = await _finish(rt, tasks)
            assert [t.state for t in done] == [TaskState.READY] * len(done), \
                [t.error for t in done]
            for t in done:
                _check_diff(await rt.diff(t.id))
            assert len({await rt.diff(t.id) for t in done}) == 1
            for t, job in zip(tasks, jobs, strict=True):
                hit = t in affected
                result = rt.executor.results[t.id]  # type: ignore[attr-defined]
                assert result["node"][:12] != victim
                assert (result["token"] >= 2) == hit
                reasons = [e.data.get("reason", "") for e in await rt.store.events(t.id)
                           if e.kind == "state"]
                assert any("takes over" in str(r) for r in reasons) == hit
                # Each step ran once; only the turn in flight at the kill was asked again.
                for n in range(len(TURNS)):
                    assert model.requests[(job, n)] == (2 if hit and n == HOLD_TURN else 1)
        finally:
            model.release()
            await rt.close()
