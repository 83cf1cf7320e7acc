"""Checkpoint cost per step: codetap's store versus LangGraph's AsyncSqliteSaver and DBOS.

One workload for all three, in the same run: STEPS steps, each adding ~2 KB of new state
(``payload(i)`` of bench/checkpoint_peers.py: a message with 48 lines of tool output).
codetap writes the step as the agent does at its cheapest (one ``Store.append``: the
journal entry plus the checkpoint row, one transaction) and, separately, as the agent's
loop actually does per step (model turn + intent, then result, then checkpoint: three
transactions). Peers run in their own venv (bench/.venvs/peers) through
bench/checkpoint_peers.py.

Targets (issue 5): codetap p50 <= 1/5 of the faster peer's p50; database bytes / payload
bytes <= 1.5 (database = db file + WAL after the run; payload = JSON bytes of the new
state). Prints a table and exits 1 when a target is missed.

Usage: .venv/bin/python bench/checkpoint_cost.py [--steps 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from codetap.store import Store

HERE = Path(__file__).resolve().parent
PEERS_PY = HERE / ".venvs" / "peers" / "bin" / "python"
sys.path.insert(0, str(HERE))
from checkpoint_peers import payload


def _db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


async def codetap(dirpath: Path, steps: int, agent_pattern: bool) -> dict[str, Any]:
    """Per-step write latencies (s), database bytes and payload bytes for codetap."""
    import time

    db = dirpath / ("agent.db" if agent_pattern else "codetap.db")
    store = await Store.open(db)
    task = await store.create_task(intent="bench", root=dirpath, scope=None, model="m",
                                   workflow="default")
    times: list[float] = []
    payload_bytes = 0
    for i in range(steps):
        msg = payload(i)
        state = {"step": i + 1, "msg_count": i + 2, "todo": [], "elapsed_s": 0.01 * i}
        payload_bytes += len(json.dumps(msg, separators=(",", ":")))
        t0 = time.perf_counter()
        if agent_pattern:
            intent = {"call_id": f"c{i}", "name": "read", "arguments": {"path": "a.py"}}
            await store.append(task.id, i + 1, [("model_turn", {"message": {
                "role": "assistant", "content": "", "tool_calls": [intent]}}),
                ("tool_intent", intent)])
            await store.append(task.id, i + 1, [("tool_result", {"call_id": f"c{i}", **msg})])
            await store.append(task.id, i + 1, [], ("0" * 40, state))
        else:
            await store.append(task.id, i + 1, [("model_turn", msg)], ("0" * 40, state))
        times.append(time.perf_counter() - t0)
    await store.close()
    return {"times": times, "db_bytes": _db_bytes(db), "payload_bytes": payload_bytes}


def peers(dirpath: Path, steps: int) -> dict[str, Any]:
    """Run bench/checkpoint_peers.py with the peers venv; its JSON output."""
    if not PEERS_PY.exists():
        sys.exit(f"no peers venv at {PEERS_PY}; see bench/durability_README.md")
    out = subprocess.run([str(PEERS_PY), str(HERE / "checkpoint_peers.py"), str(dirpath),
                          str(steps)], check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="codetap-ckpt-") as tmp:
            d = Path(tmp)
            runs.setdefault("codetap", []).append(asyncio.run(codetap(d, args.steps, False)))
            runs.setdefault("codetap (agent loop, 3 tx/step)", []).append(
                asyncio.run(codetap(d, args.steps, True)))
            for name, res in peers(d, args.steps).items():
                runs.setdefault(f"{name} {res['version']}", []).append(res)
    payload_bytes = runs["codetap"][0]["payload_bytes"]
    rows = {}
    print(f"{args.steps} steps x ~{payload_bytes // args.steps} B new state, "
          f"{args.repeat} runs (median of per-run p50/p95)")
    print(f"{'system':36} {'p50 ms':>8} {'p95 ms':>8} {'db KiB':>9} {'db/payload':>10}")
    for name, results in runs.items():
        p50 = statistics.median(statistics.median(r["times"]) for r in results) * 1000
        p95 = statistics.median(statistics.quantiles(r["times"], n=20)[18] for r in results) * 1000
        size = statistics.median(r["db_bytes"] for r in results)
        rows[name] = (p50, size / payload_bytes)
        print(f"{name:36} {p50:8.3f} {p95:8.3f} {size / 1024:9.0f} {size / payload_bytes:10.2f}")
    fastest_peer = min(v[0] for k, v in rows.items() if not k.startswith("codetap"))
    ok_time = rows["codetap"][0] <= fastest_peer / 5
    ok_size = rows["codetap"][1] <= 1.5
    print(f"target p50 <= {fastest_peer / 5:.3f} ms (1/5 of the faster peer): "
          f"{'met' if ok_time else 'MISSED'}; db/payload <= 1.5: {'met' if ok_size else 'MISSED'}")
    sys.exit(0 if ok_time and ok_size else 1)


if __name__ == "__main__":
    main()
