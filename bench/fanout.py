"""Fan-out benchmark (issue 19): 4 sub-tasks with a scripted model that takes a fixed time
per turn (default 1 s), run as a fan-out stage with ``max_parallel = 4`` and, in the same
run, with ``max_parallel = 1`` (the same sub-tasks one after another, same machinery).

Per mode: the fan-out stage's wall time (from the ``fanout`` journal entry to the last
``merge`` entry: children's worktrees, runs, and the merges), and the ratio parallel /
serial (target <= 0.35). Also: the fan-out's start overhead (from the planner's hand-off
entry to the first child's first model request: child rows, scheduling, worktrees,
context) and the time per merge. Each child does 3 turns (read, edit, finish) on a file of
its own; the planner, tester and reviewer answer at once.

    .venv/bin/python bench/fanout.py [--runs 3] [--turn-s 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import make_repo
from tests.unit.tasks.team_server import ScriptedModel, call

from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime

N = 4


def scripts() -> dict[str, list[tuple[str, list[dict[str, Any]]]]]:
    subtasks = [{"intent": f"Set V{i} to {i}", "files": [f"f{i}.py"]} for i in range(N)]
    return {
        "planner": [("", [call("finish", summary="independent edits", subtasks=subtasks)])],
        "coder": [(f"Set V{i} to {i}", [
            call("read", path=f"f{i}.py"),
            call("edit", path=f"f{i}.py", old_string=f"V{i} = 0", new_string=f"V{i} = {i}"),
            call("finish", summary=f"V{i} set")]) for i in range(N)],
        "tester": [("", [call("finish", summary="ok", passed=True)])],
        "reviewer": [("", [call("finish", summary="ok", verdict="approve")])],
    }


async def once(tmp: Path, urls: dict[str, str], parallel: int) -> dict[str, float]:
    models = {r: ModelConfig(r, "openai", model=r, base_url=u, max_retries=0)
              for r, u in urls.items()}
    stages = [{"role": "planner"},
              {"role": "coder", "fan_out": "subtasks", "max_parallel": parallel},
              {"role": "tester"}, {"role": "reviewer"}]
    table = {"roles": {r: {"model": r} for r in ("planner", "tester", "reviewer")},
             "workflows": {"bench": {"stages": stages}},
             "scheduler": {"max_concurrent_tasks": 8}}
    config = dataclasses.replace(Config.load(), default_model="coder", models=models,
                                 user_table=table)
    repo = make_repo(tmp / "repo", {f"f{i}.py": f"V{i} = 0\n" for i in range(N)})
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("set the values", repo,
                                                  workflow="bench")).id)
        events = await rt.store.events(task.id)
        kids = [t for t in await rt.store.list_tasks() if t.parent_id == task.id]
        sent = []  # when each child's first request was sent
        for t in kids:
            turn = next(e for e in await rt.store.events(t.id) if e.kind == "model_turn")
            sent.append(turn.ts - float(turn.data.get("latency_s", 0.0)))
    finally:
        await rt.close()
    assert task.state.value == "ready", task.error
    fan = next(e for e in events if e.kind == "fanout")
    hand = next(e for e in events if e.kind == "handoff")
    merges = [e for e in events if e.kind == "merge"]
    return {"stage_s": merges[-1].ts - fan.ts, "start_s": min(sent) - hand.ts,
            "merge_s": (merges[-1].ts - merges[0].ts) / max(1, len(merges) - 1)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turn-s", type=float, default=1.0)
    args = parser.parse_args()
    servers = {r: ScriptedModel(s, delay_s=args.turn_s if r == "coder" else 0.0)
               for r, s in scripts().items()}
    for s in servers.values():
        await s.__aenter__()
    urls = {r: s.base_url for r, s in servers.items()}
    got: dict[int, list[dict[str, float]]] = {N: [], 1: []}
    with tempfile.TemporaryDirectory() as home:
        os.environ.update(HOME=home, XDG_CONFIG_HOME=f"{home}/config",
                          XDG_RUNTIME_DIR=f"{home}/run", XDG_CACHE_HOME=f"{home}/cache")
        for i in range(args.runs):
            for parallel in (N, 1):
                tmp = Path(home) / f"run{i}-{parallel}"
                tmp.mkdir()
                os.environ["XDG_DATA_HOME"] = f"{home}/data{i}-{parallel}"
                got[parallel].append(await once(tmp, urls, parallel))
    for s in servers.values():
        await s.__aexit__()

    def stat(values: list[float], unit: float = 1.0, fmt: str = ".2f") -> str:
        v = sorted(x * unit for x in values)
        return f"p50 {statistics.median(v):{fmt}} (range {v[0]:{fmt}}-{v[-1]:{fmt}})"

    ratios = [p["stage_s"] / s["stage_s"] for p, s in zip(got[N], got[1], strict=True)]
    print(f"{N} sub-tasks x 3 turns of {args.turn_s:g} s, {args.runs} runs")
    print(f"fan-out stage, max_parallel {N}: {stat([r['stage_s'] for r in got[N]])} s")
    print(f"fan-out stage, max_parallel 1: {stat([r['stage_s'] for r in got[1]])} s")
    print(f"ratio parallel/serial: {stat(ratios, fmt='.3f')} (target <= 0.35)")
    starts = [r["start_s"] for r in got[N] + got[1]]
    print(f"fan-out start (hand-off entry -> first child request sent): "
          f"{stat(starts, 1000, '.0f')} ms")
    merges = [r["merge_s"] for r in got[N] + got[1]]
    print(f"merge per sub-task: {stat(merges, 1000, '.0f')} ms")


if __name__ == "__main__":
    asyncio.run(main())
