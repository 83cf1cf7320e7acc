"""Teams benchmarks (issue 19): hand-off overhead between two roles, and the scheduler's
overhead per admitted task.

Hand-off: a ``plan-execute`` task on a replay model whose planner finishes at once; the
overhead is the time from the planner's ``finish`` result to the coder's first model
request being sent (journal entry, context build, rebuild of the next role's state, its
system prompt), measured from journal timestamps (p50 over the runs).

Scheduler: 500 tasks admitted through :class:`codetap.scheduler.Scheduler` with a cap of 8
and a zero-latency "model" (each admitted run yields once and releases): overhead per
admitted task = wall time / 500; the cap is checked at every admission.

    .venv/bin/python bench/teams.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.scheduler import Scheduler


def _repo(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "calc.py").write_text("A = 1\n")
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=path, check=True)
    return path


async def handoff_once(tmp: Path) -> float:
    turns = [{"tool_calls": [{"name": "finish", "arguments": {
                "summary": "plan", "subtasks": [{"intent": "make A ten",
                                                 "files": ["calc.py"]}]}}]},
             {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}]
    model = tmp / "m.jsonl"
    model.write_text("\n".join(json.dumps(t) for t in turns) + "\n")
    config = dataclasses.replace(Config.load(), default_model="m",
                                 models={"m": ModelConfig("m", "replay", path=str(model))})
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("ten", _repo(tmp / "repo"),
                                                  workflow="plan-execute")).id)
        events = await rt.store.events(task.id)
    finally:
        await rt.close()
    assert task.state.value == "ready", task.error
    finish = next(e for e in events if e.kind == "tool_result" and e.data["name"] == "finish")
    second = [e for e in events if e.kind == "model_turn"][1]
    latency = float(second.data.get("latency_s", 0.0))
    return second.ts - finish.ts - latency


async def scheduler_once(n: int = 500, cap: int = 8) -> tuple[float, int]:
    sched = Scheduler(cap)
    over = 0

    async def run(priority: int) -> None:
        nonlocal over
        await sched.admit(priority)
        try:
            over += sched.running > cap
            await asyncio.sleep(0)
        finally:
            sched.release()

    start = time.perf_counter()
    await asyncio.gather(*(run(i % 3) for i in range(n)))
    return (time.perf_counter() - start) / n, over + (sched.peak > cap)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ.update(HOME=home, XDG_DATA_HOME=f"{home}/data",
                          XDG_CONFIG_HOME=f"{home}/config", XDG_RUNTIME_DIR=f"{home}/run")
        hand = []
        for i in range(args.runs):
            tmp = Path(home) / f"run{i}"
            tmp.mkdir()
            os.environ["XDG_DATA_HOME"] = f"{home}/data{i}"  # a fresh database and worktrees
            hand.append(await handoff_once(tmp))
    ms = sorted(h * 1000 for h in hand)
    print(f"hand-off overhead: p50 {statistics.median(ms):.1f} ms "
          f"(range {ms[0]:.1f}-{ms[-1]:.1f} ms, {len(ms)} runs; target <= 50 ms)")
    per, bad = [], 0
    for _ in range(args.runs):
        p, over = await scheduler_once()
        per.append(p * 1000)
        bad += over
    per.sort()
    print(f"scheduler, 500 tasks, cap 8: {statistics.median(per):.3f} ms per admitted task "
          f"(range {per[0]:.3f}-{per[-1]:.3f} ms); cap exceeded {bad} times "
          "(target <= 5 ms, never)")


if __name__ == "__main__":
    asyncio.run(main())
