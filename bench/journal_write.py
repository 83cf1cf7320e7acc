"""Journal + checkpoint write cost per step, and database size (issue 2 targets:
p50 <= 0.25 ms, p99 <= 1 ms per step; database bytes / payload bytes <= 1.5 over 200 steps).

Each step writes what the agent writes: a model turn with its tool intent (one
transaction, before the tool runs), then the tool result together with the checkpoint
(one transaction). Payload = the JSON bytes of the entries and checkpoint states. The same
writes through plain synchronous sqlite3 (no event loop, no thread hop) are the floor.

Usage: .venv/bin/python bench/journal_write.py [--steps 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from codetap.store import Store


def step_entries(i: int) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]], dict]:
    turn = {"message": {"role": "assistant", "content": f"step {i}: looking at the parser " * 8,
                        "tool_calls": [{"id": f"call_{i}", "name": "read",
                                        "arguments": {"path": f"src/mod{i % 17}.py"}}]},
            "usage": {"input_tokens": 1200 + i, "output_tokens": 80, "cost_usd": 0.0042},
            "stop_reason": "tool_use", "model": "bench"}
    intent = {"call_id": f"call_{i}", "name": "read", "arguments": {"path": f"src/mod{i % 17}.py"}}
    result = {"call_id": f"call_{i}", "name": "read", "is_error": False, "meta": {},
              "output": "".join(f"{n:6}\tdef function_{n}(x):  # line of code\n" for n in range(40))}
    state = {"step": i, "msg_count": 2 * i + 1, "todo": [], "elapsed_s": i * 0.01,
             "reads": {f"src/mod{i % 17}.py": {"mtime_ns": 1, "size": 2, "offset": 1, "limit": 2000,
                                               "sha256": "ab" * 32}}}
    return [("model_turn", turn), ("tool_intent", intent)], [("tool_result", result)], state


def payload_bytes(steps: int) -> int:
    total = 0
    for i in range(1, steps + 1):
        first, second, state = step_entries(i)
        total += sum(len(json.dumps(d, separators=(",", ":"))) for _, d in first + second)
        total += len(json.dumps(state, separators=(",", ":")))
    return total


async def codetap_run(path: Path, steps: int) -> list[float]:
    store = await Store.open(path)
    task = await store.create_task(intent="bench", root=path.parent, scope=None, model="m",
                                   workflow="default")
    times = []
    for i in range(1, steps + 1):
        first, second, state = step_entries(i)
        t0 = time.perf_counter()
        await store.append(task.id, i, first)
        await store.append(task.id, i, second, ("0" * 40, state))
        times.append((time.perf_counter() - t0) * 1000)
    await store.close()
    return times


def sqlite_floor(path: Path, steps: int) -> list[float]:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE e (t INT, s INT, k TEXT, d TEXT, PRIMARY KEY (t, s)) WITHOUT ROWID")
    times, seq = [], 0
    for i in range(1, steps + 1):
        first, second, state = step_entries(i)
        t0 = time.perf_counter()
        for batch in (first, second + [("checkpoint", state)]):
            con.execute("BEGIN")
            for kind, data in batch:
                seq += 1
                con.execute("INSERT INTO e VALUES (1, ?, ?, ?)", (seq, kind, json.dumps(data)))
            con.execute("COMMIT")
        times.append((time.perf_counter() - t0) * 1000)
    con.close()
    return times


def db_bytes(path: Path) -> int:
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("VACUUM")
    con.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def pct(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49]:.3f} ms  p99 {q[98]:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="codetap-journal-"))
    ours: list[float] = []
    floor: list[float] = []
    for r in range(args.repeat):
        ours += asyncio.run(codetap_run(tmp / f"c{r}" / "codetap.db", args.steps))
        (tmp / f"s{r}").mkdir()
        floor += sqlite_floor(tmp / f"s{r}" / "floor.db", args.steps)
    size = os.path.getsize(tmp / "c0" / "codetap.db") if False else db_bytes(tmp / "c0" / "codetap.db")
    payload = payload_bytes(args.steps)
    print(f"{args.steps} steps x {args.repeat} runs, per-step write (2 transactions):")
    print(f"  codetap Store:             {pct(ours)}   (target p50 <= 0.25, p99 <= 1)")
    print(f"  plain sqlite3, same rows:  {pct(floor)}   (floor: no event loop, no thread hop)")
    print(f"  database {size} B / payload {payload} B = {size / payload:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
