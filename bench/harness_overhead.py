"""Harness overhead per agent step (issue 2 target: p50 <= 5 ms).

A zero-latency replay model drives N steps of cheap tools (a deduplicated `read`, a
`todo`, a `glob`) on a small real git repository, through the real Runtime: SQLite
journal, checkpoints, tool execution. The per-step time is the gap between consecutive
`model_turn` journal timestamps, so it is everything codetap does around a model call.

Usage: .venv/bin/python bench/harness_overhead.py [--steps 300]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    (repo / "pkg").mkdir(parents=True)
    for i in range(20):
        (repo / "pkg" / f"mod{i}.py").write_text("".join(f"def f{j}():\n    return {j}\n" for j in range(50)))
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "i"],
                   cwd=repo, check=True)
    return repo


def session(path: Path, steps: int) -> Path:
    cycle = [
        {"name": "read", "arguments": {"path": "pkg/mod1.py", "limit": 20}},
        {"name": "todo", "arguments": {"items": [{"text": "bench", "status": "in_progress"}]}},
        {"name": "glob", "arguments": {"pattern": "pkg/*.py"}},
    ]
    lines = [json.dumps({"tool_calls": [cycle[i % 3]], "usage": {"input_tokens": 100, "output_tokens": 10}})
             for i in range(steps)]
    lines.append(json.dumps({"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}))
    path.write_text("\n".join(lines) + "\n")
    return path


async def main(steps: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="codetap-bench-"))
    os.environ.update(XDG_DATA_HOME=str(tmp / "data"), XDG_CONFIG_HOME=str(tmp / "config"))
    from codetap.config import Config, Limits
    from codetap.models.base import ModelConfig
    from codetap.runtime import Runtime

    repo = make_repo(tmp)
    model = ModelConfig("replay", "replay", path=str(session(tmp / "s.jsonl", steps)))
    config = dataclasses.replace(Config.load(), models={"replay": model}, default_model="replay",
                                 limits=Limits(max_steps=steps + 10))
    rt = await Runtime.open(config)
    rt.services.pool = None  # no language servers: measure the harness
    t0 = time.perf_counter()
    task = await rt.wait((await rt.start_task("bench", repo)).id)
    wall = time.perf_counter() - t0
    events = await rt.store.events(task.id)
    await rt.close()
    assert task.state.value == "ready", task.error
    ts = [e.ts for e in events if e.kind == "model_turn"]
    gaps = sorted((b - a) * 1000 for a, b in itertools.pairwise(ts[5:]))
    q = statistics.quantiles(gaps, n=100)
    print(f"steps: {task.steps}  wall: {wall:.2f} s  ({wall / task.steps * 1000:.2f} ms/step incl. setup)")
    print(f"per-step harness time: p50 {q[49]:.2f} ms  p90 {q[89]:.2f} ms  p99 {q[98]:.2f} ms  "
          f"(target p50 <= 5 ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    asyncio.run(main(parser.parse_args().steps))
