"""HTTP API latency: ``GET /v1/tasks/{id}`` under load, and SSE fan-out.

Usage: .venv/bin/python bench/http_api.py [--runs 3] [--seconds 10] [--subscribers 20]

Sets up isolated XDG dirs, a git repo and a replay model that answers at once (each task
reads a file for --turns turns, then finishes), starts the daemon with
``codetap serve --http 127.0.0.1:0 --detach``, then per run:

1. API: starts 4 tasks that run flat out and sends ``GET /v1/tasks/{id}`` at 50 requests/s
   (open loop, one request every 20 ms, each timed from its scheduled send) for --seconds;
   p50 and p99. Target p99 <= 20 ms.
2. SSE: starts one task and connects --subscribers streams to its events before it runs;
   each event's added latency is its arrival at the subscriber minus its journal ``ts``
   (written by the runtime worker just before it is committed); checks every subscriber
   got every event once, in order. p50 and p99 over all subscribers. Target p99 <= 50 ms.

Prints each run, then the median and range of the runs' figures.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


MODELS = 40


def setup(turns: int) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="codetap-http-bench-"))
    for name, var in (("d", "XDG_DATA_HOME"), ("c", "XDG_CONFIG_HOME"), ("k", "XDG_CACHE_HOME"),
                      ("r", "XDG_RUNTIME_DIR")):
        (tmp / name).mkdir(mode=0o700)
        os.environ[var] = str(tmp / name)
    from tests.conftest import make_repo
    from tests.e2e.conftest import CALC
    repo = make_repo(tmp / "repo", {"calc.py": CALC})
    read = {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]}
    done = {"tool_calls": [{"name": "finish", "arguments": {"summary": "ok"}}]}
    # A replay model's turns are shared by the tasks using it: one model per task.
    (tmp / "s.jsonl").write_text((json.dumps(read) + "\n") * turns + json.dumps(done) + "\n")
    cfg = tmp / "c" / "codetap"
    cfg.mkdir()
    models = "".join(f'[models.m{i}]\nprovider = "replay"\npath = "{tmp}/s.jsonl"\n'
                     for i in range(MODELS))
    (cfg / "config.toml").write_text(f'default_model = "m0"\n{models}'
                                     '[verify]\nstrategy = "none"\n'
                                     '[limits]\nmax_steps = 100000\n')
    return repo


_models = iter(range(MODELS))


def serve() -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-m", "codetap", "serve", "--http", "127.0.0.1:0",
                          "--detach"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    return lines[-1].rsplit(" ", 1)[1], lines[1].strip()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


async def start(http: Any, repo: Path) -> str:
    r = await http.post("/v1/tasks", json={"intent": "read", "repo": {"path": str(repo)},
                                           "model": f"m{next(_models)}"})
    r.raise_for_status()
    return str(r.json()["id"])


async def api_run(http: Any, repo: Path, seconds: float) -> tuple[float, float, int]:
    ids = [await start(http, repo) for _ in range(4)]
    lat: list[float] = []
    period, n = 0.02, int(seconds / 0.02)
    t0 = time.perf_counter()

    async def one(i: int) -> None:
        due = t0 + i * period
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        r = await http.get(f"/v1/tasks/{ids[i % 4]}")
        r.raise_for_status()
        lat.append((time.perf_counter() - due) * 1000)

    await asyncio.gather(*(one(i) for i in range(n)))
    running = 0
    for tid in ids:
        state = (await http.get(f"/v1/tasks/{tid}")).json()["state"]
        running += state in ("queued", "running")
        if state in ("queued", "running"):
            await http.post(f"/v1/tasks/{tid}/cancel")
    return pct(lat, 0.5), pct(lat, 0.99), running


async def sse_run(http: Any, repo: Path, subscribers: int) -> tuple[float, float, int]:
    from httpx_sse import aconnect_sse
    tid = await start(http, repo)
    await http.post(f"/v1/tasks/{tid}/pause")
    lat: list[float] = []
    counts: list[list[int]] = []
    ready = asyncio.Event()
    connected = 0

    async def sub() -> None:
        nonlocal connected
        seqs: list[int] = []
        async with aconnect_sse(http, "GET", f"/v1/tasks/{tid}/events") as src:
            connected += 1
            if connected == subscribers:
                ready.set()
            async for ev in src.aiter_sse():
                if ev.event == "end":
                    break
                data = json.loads(ev.data)
                seqs.append(data["seq"])
                if data["kind"] != "state" or data["data"].get("to") != "paused":
                    lat.append((time.time() - data["ts"]) * 1000)
        counts.append(seqs)

    tasks = [asyncio.create_task(sub()) for _ in range(subscribers)]
    await ready.wait()
    await http.post(f"/v1/tasks/{tid}/resume")
    await asyncio.gather(*tasks)
    total = len(counts[0])
    assert all(c == list(range(1, total + 1)) for c in counts), "a subscriber missed events"
    return pct(lat, 0.5), pct(lat, 0.99), total


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--subscribers", type=int, default=20)
    ap.add_argument("--turns", type=int, default=1000)
    args = ap.parse_args()
    repo = setup(args.turns)
    url, token = serve()
    import httpx

    from codetap.daemon.control import stop
    from codetap.daemon.paths import DaemonPaths
    api: list[tuple[float, float]] = []
    sse: list[tuple[float, float]] = []
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(
                max_connections=200), headers={"Authorization": f"Bearer {token}"}) as http:
            for run in range(args.runs):
                p50, p99, busy = await api_run(http, repo, args.seconds)
                api.append((p50, p99))
                print(f"run {run + 1}: GET /v1/tasks/{{id}} at 50/s: p50 {p50:.1f} ms, "
                      f"p99 {p99:.1f} ms ({busy} of 4 tasks still running at the end)")
                s50, s99, n = await sse_run(http, repo, args.subscribers)
                sse.append((s50, s99))
                print(f"run {run + 1}: SSE x{args.subscribers}, {n} events each: added "
                      f"latency p50 {s50:.1f} ms, p99 {s99:.1f} ms")
    finally:
        stop(DaemonPaths.from_env())
    for name, rows in (("GET p50", [a[0] for a in api]), ("GET p99", [a[1] for a in api]),
                       ("SSE p50", [s[0] for s in sse]), ("SSE p99", [s[1] for s in sse])):
        print(f"{name}: median {statistics.median(rows):.1f} ms "
              f"[{min(rows):.1f}..{max(rows):.1f}]")


if __name__ == "__main__":
    asyncio.run(main())
