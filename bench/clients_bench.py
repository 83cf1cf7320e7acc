"""Clients of the daemon: `codetap run --detach` latency and SDK event-stream throughput.

Usage: .venv/bin/python bench/clients_bench.py [--runs 15] [--turns 400]

Sets up isolated XDG dirs, a git repo and a replay model, starts the daemon, then:
1. `codetap run --detach` (a real subprocess), command start to task id printed: median,
   min-max over --runs;
2. one task of --turns tool calls (~4 journal entries each); its journal read by one
   SDK client (events, follow=False), and by 10 clients at once: entries/s per client;
3. the task's wall time with 0 and with 10 clients following it live.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(turns: int) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="codetap-bench-"))
    for name, var in (("d", "XDG_DATA_HOME"), ("c", "XDG_CONFIG_HOME"), ("k", "XDG_CACHE_HOME"),
                      ("r", "XDG_RUNTIME_DIR")):
        (tmp / name).mkdir(mode=0o700)
        os.environ[var] = str(tmp / name)
    from tests.conftest import make_repo
    from tests.e2e.conftest import CALC
    repo = make_repo(tmp / "repo", {"calc.py": CALC})
    many = [{"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]}] * turns
    fin = [{"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}]
    (tmp / "many.jsonl").write_text("".join(json.dumps(t) + "\n" for t in many + fin))
    (tmp / "one.jsonl").write_text(json.dumps(fin[0]) + "\n")
    cfg = tmp / "c" / "codetap"
    cfg.mkdir()
    (cfg / "config.toml").write_text(
        f'default_model = "one"\n[models.one]\nprovider = "replay"\npath = "{tmp}/one.jsonl"\n'
        f'[models.many]\nprovider = "replay"\npath = "{tmp}/many.jsonl"\n'
        "[limits]\nmax_steps = 100000\n")
    return repo


def detach(repo: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "codetap", "run", "--detach", "x"],
                             cwd=repo, capture_output=True, text=True, check=True).stdout
        times.append((time.perf_counter() - t0) * 1000)
        assert out.strip().isdigit(), out
    return times


async def read_all(task_id: str) -> tuple[int, float]:
    import codetap
    async with codetap.connect() as c:
        t0 = time.perf_counter()
        n = sum([1 async for _ in c.events(task_id, follow=False)])
        return n, time.perf_counter() - t0


async def task_time(repo: Path, followers: int) -> float:
    import codetap
    async with codetap.connect() as c:
        t0 = time.perf_counter()
        info = await c.start("many", repo=repo, model="many")

        async def follow() -> int:
            async with codetap.connect() as f:
                return sum([1 async for _ in f.events(info.id)])
        counts = asyncio.gather(*(follow() for _ in range(followers)))
        await c.wait(info.id)
        wall = time.perf_counter() - t0
        await counts
        return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--turns", type=int, default=400)
    args = ap.parse_args()
    repo = setup(args.turns)
    from codetap.daemon.control import start_detached, stop
    from codetap.daemon.paths import DaemonPaths
    paths = DaemonPaths.from_env()
    start_detached(paths)
    try:
        ms = detach(repo, args.runs)
        print(f"run --detach: median {statistics.median(ms):.0f} ms, "
              f"range {min(ms):.0f}-{max(ms):.0f} ms over {len(ms)} runs")
        walls0 = [asyncio.run(task_time(repo, 0)) for _ in range(3)]
        walls10 = [asyncio.run(task_time(repo, 10)) for _ in range(3)]
        print(f"task of {args.turns} steps: median {statistics.median(walls0):.2f} s alone, "
              f"{statistics.median(walls10):.2f} s with 10 live followers "
              f"(ranges {min(walls0):.2f}-{max(walls0):.2f}, {min(walls10):.2f}-{max(walls10):.2f})")
        task_id = "17" if args.runs == 15 else str(args.runs + 2)
        rates = []
        for _ in range(3):
            n, s = asyncio.run(read_all(task_id))
            rates.append(n / s)
        print(f"journal to one client: {n} entries, median {statistics.median(rates):.0f}/s "
              f"(range {min(rates):.0f}-{max(rates):.0f})")

        async def ten() -> list[tuple[int, float]]:
            return list(await asyncio.gather(*(read_all(task_id) for _ in range(10))))
        per = [n / s for n, s in asyncio.run(ten())]
        print(f"journal to 10 clients at once: median {statistics.median(per):.0f}/s per "
              f"client (range {min(per):.0f}-{max(per):.0f}), {sum(per):.0f}/s in all")
    finally:
        stop(paths)


if __name__ == "__main__":
    main()
