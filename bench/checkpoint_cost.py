"""Checkpoint cost per step: codetap's store versus LangGraph's AsyncSqliteSaver and DBOS.

One workload for all three, in the same run: STEPS steps, each adding ~2 KB of new state
(``payload(i)`` of bench/checkpoint_peers.py: by default a slice of real Python source,
``--synthetic`` for the old 48 near-identical lines). codetap writes the step as one
``Store.append`` (journal entry plus checkpoint row) and, separately, as the agent loop
writes a read-only step (model turn, intent, result, checkpoint and task row: one
transaction). Each at ``[store] synchronous`` NORMAL and FULL; LangGraph at both too,
DBOS at its default (FULL). Peers run in their own venv (bench/.venvs/peers) through
bench/checkpoint_peers.py.

Targets (issue 23 item 6): at equal settings, codetap p50 <= 0.5x LangGraph's at FULL and
<= 0.2x at NORMAL; database bytes / payload bytes <= 1.5 (database = db file + WAL after the run; payload = JSON bytes of the new
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
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from codetap.store import Store

HERE = Path(__file__).resolve().parent
PEERS_PY = HERE / ".venvs" / "peers" / "bin" / "python"
sys.path.insert(0, str(HERE))
from checkpoint_peers import SOURCE, payload


def _db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


def source_chunks(count: int, size: int = 2000) -> list[str]:
    """``count`` slices of ~``size`` characters of real Python source (the running
    interpreter's stdlib, files in name order), cut at line ends."""
    out: list[str] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        text = path.read_text(errors="replace")
        while text and len(out) < count:
            cut = text.find("\n", size)
            cut = len(text) if cut < 0 else cut + 1
            out.append(text[:cut])
            text = text[cut:]
        if len(out) >= count:
            break
    return out


async def codetap(dirpath: Path, steps: int, agent_pattern: bool,
                  synchronous: str) -> dict[str, Any]:
    """Per-step write latencies (s), database bytes and payload bytes for codetap."""
    import time

    db = dirpath / f"{'agent' if agent_pattern else 'codetap'}-{synchronous}.db"
    store = await Store.open(db, synchronous)
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
            # As TaskJournal writes a read-only step: the held model turn, intent and
            # result, the checkpoint and the task row, in one transaction.
            intent = {"call_id": f"c{i}", "name": "read", "arguments": {"path": "a.py"}}
            with store.atomic():
                await store.append(task.id, i + 1, [("model_turn", {"message": {
                    "role": "assistant", "content": "", "tool_calls": [intent]}}),
                    ("tool_intent", intent), ("tool_result", {"call_id": f"c{i}", **msg})],
                    ("0" * 40, state))
                await store.update_task(task.id, steps=i + 1, tip_commit="0" * 40)
        else:
            await store.append(task.id, i + 1, [("model_turn", msg)], ("0" * 40, state))
        times.append(time.perf_counter() - t0)
    await store.close()
    return {"times": times, "db_bytes": _db_bytes(db), "payload_bytes": payload_bytes}


def peers(dirpath: Path, steps: int, source: Path | None) -> dict[str, Any]:
    """Run bench/checkpoint_peers.py with the peers venv; its JSON output."""
    if not PEERS_PY.exists():
        sys.exit(f"no peers venv at {PEERS_PY}; see bench/durability_README.md")
    extra = [str(source)] if source else []
    out = subprocess.run([str(PEERS_PY), str(HERE / "checkpoint_peers.py"), str(dirpath),
                          str(steps), *extra], check=True, capture_output=True,
                         text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--synthetic", action="store_true",
                    help="the old payload: 48 near-identical lines (compresses ~9x)")
    args = ap.parse_args()
    if not args.synthetic:
        SOURCE[:] = source_chunks(args.steps)
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="codetap-ckpt-") as tmp:
            d = Path(tmp)
            source = None
            if SOURCE:
                source = d / "source.json"
                source.write_text(json.dumps(SOURCE))
            for sync in ("normal", "full"):
                runs.setdefault(f"codetap {sync.upper()}", []).append(
                    asyncio.run(codetap(d, args.steps, False, sync)))
                runs.setdefault(f"codetap agent step {sync.upper()}", []).append(
                    asyncio.run(codetap(d, args.steps, True, sync)))
            for name, res in peers(d, args.steps, source).items():
                runs.setdefault(f"{name} {res['version']}", []).append(res)
    payload_bytes = runs["codetap NORMAL"][0]["payload_bytes"]
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
    ok = True
    for sync, target in (("FULL", 0.5), ("NORMAL", 0.2)):
        lg = next(v[0] for k, v in rows.items() if k.startswith(f"langgraph {sync}"))
        for mine in (f"codetap {sync}", f"codetap agent step {sync}"):
            ratio = rows[mine][0] / lg
            ok = ok and ratio <= target
            print(f"{mine:28} / LangGraph {sync}: {ratio:.3f}x (target <= {target}x): "
                  f"{'met' if ratio <= target else 'MISSED'}")
    ok_size = rows["codetap NORMAL"][1] <= 1.5
    print(f"db/payload <= 1.5: {'met' if ok_size else 'MISSED'}")
    sys.exit(0 if ok and ok_size else 1)


if __name__ == "__main__":
    main()
