"""Ray executor benchmarks (issue 22): throughput on 1, 2 and 3 Ray nodes, overhead per
task against the in-process executor, and recovery after a worker node is killed.

Every task runs the same 5-turn conversation of a scripted OpenAI-compatible model on
loopback (``tests/e2e/ray_support.py``) that takes ``--turn-s`` (0.5 s) per turn, against a
``file://`` repository, on a shared SQLite store. Nodes are Ray nodes of a
``ray.cluster_utils.Cluster`` on this machine, 1 CPU each (one task at a time per node).

- throughput: ``--tasks`` tasks started at once, tasks/min from the first start to the last end;
- overhead: per task, wall time of one task alone on a 1-node cluster minus the same task
  in-process (median over ``--runs``);
- recovery: a task held at turn 3 on a worker node, the node killed (its task process and
  raylet), then the time until the task's next journal entry written by the new attempt
  on another node (median over ``--runs`` kills).

    .venv/bin/python bench/ray_executor.py [--tasks 24] [--runs 3] [--turn-s 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.ray_support import (
    ScriptedModel,
    config,
    job_intent,
    open_head,
    start_cluster,
    stop_cluster,
    upstream,
)

from codetap.store import lease as leases


async def _batch(tmp: Path, model: ScriptedModel, n: int, kind: str, first: int) -> float:
    url = upstream(tmp)
    rt = await open_head(config(tmp, model.url, kind=kind))
    try:
        t0 = time.monotonic()
        tasks = [await rt.start_task(job_intent(first + i), None, repo={"url": url})
                 for i in range(n)]
        done = await asyncio.gather(*(rt.wait(t.id) for t in tasks))
        wall = time.monotonic() - t0
        bad = [t.error for t in done if t.state.value != "ready"]
        assert not bad, bad
        return wall
    finally:
        await rt.close()


async def _recovery(tmp: Path, model: ScriptedModel, cluster: object, job: int) -> float:
    url = upstream(tmp)
    rt = await open_head(config(tmp, model.url))
    try:
        workers = {n.node_id[:12]: n for n in cluster.worker_nodes}  # type: ignore[attr-defined]
        model.hold()
        task = await rt.start_task(job_intent(job), None, repo={"url": url})
        while job not in model.held:
            await asyncio.sleep(0.02)
        owner = (leases.current(rt.store, task.id) or (0, "//", 0))[1].split("/")
        if owner[0] not in workers:  # landed on the head node: not a worker to kill
            model.release()
            await rt.wait(task.id)
            return float("nan")
        last = (await rt.store.events(task.id))[-1].seq
        t0 = time.monotonic()
        os.kill(int(owner[1]), signal.SIGKILL)
        cluster.remove_node(workers[owner[0]], allow_graceful=False)  # type: ignore[attr-defined]
        model.release()
        while not await rt.store.events(task.id, last):
            await asyncio.sleep(0.01)
        took = time.monotonic() - t0
        await rt.wait(task.id)
        return took
    finally:
        model.release()
        await rt.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=24)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--turn-s", type=float, default=0.5)
    ap.add_argument("--only-recovery", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    import ray
    with ScriptedModel(args.turn_s) as model, tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        job = 0
        inproc = []
        for r in range(args.runs):
            inproc.append(asyncio.run(_batch(tmp / f"in{r}", model, 1, "inprocess", job)))
            job += 1
        for nodes in () if args.only_recovery else (1, 2, 3):
            cluster = start_cluster(nodes=nodes, cpus=1)
            try:
                if nodes == 1:
                    one = []
                    for r in range(args.runs):
                        one.append(asyncio.run(_batch(tmp / f"one{r}", model, 1, "ray", job)))
                        job += 1
                    print(f"one task: in-process p50 {statistics.median(inproc):.2f} s "
                          f"(range {min(inproc):.2f}-{max(inproc):.2f}), ray 1 node p50 "
                          f"{statistics.median(one):.2f} s (range {min(one):.2f}-{max(one):.2f});"
                          f" overhead {statistics.median(one) - statistics.median(inproc):.2f} s")
                wall = asyncio.run(_batch(tmp / f"n{nodes}", model, args.tasks, "ray", job))
                job += args.tasks
                print(f"{nodes} node(s): {args.tasks} tasks in {wall:.1f} s = "
                      f"{args.tasks / wall * 60:.1f} tasks/min")
            finally:
                stop_cluster(cluster)
        rec = []
        for r in range(args.runs):
            cluster = start_cluster(nodes=3, cpus=1, head_cpus=0)  # the task lands on a worker
            try:
                rec.append(asyncio.run(_recovery(tmp / f"rec{r}", model, cluster, 10_000 + r)))
            finally:
                stop_cluster(cluster)
        ok = [x for x in rec if not math.isnan(x)]
        if ok:
            print(f"recovery (kill -> next journal entry on another node): p50 "
                  f"{statistics.median(ok):.2f} s, range {min(ok):.2f}-{max(ok):.2f} "
                  f"over {len(ok)} kills")
    assert not ray.is_initialized()


if __name__ == "__main__":
    main()
