"""Journal + checkpoint write per step on PostgreSQL: codetap's PostgreSQL store next to
LangGraph's AsyncPostgresSaver and DBOS, on the same server in the same run.

One workload for all, as bench/checkpoint_cost.py on SQLite: STEPS steps, each adding ~2 KB
of new state (``payload(i)`` of bench/checkpoint_peers.py, slices of real Python source).
codetap writes a step as one ``Store.append`` (journal entry plus checkpoint row, one
transaction) and as the agent loop writes a read-only step (model turn, intent, result,
checkpoint and task row, one transaction). LangGraph ``aput``s a checkpoint of the whole
``{"messages": [...]}`` state per step; DBOS runs one workflow whose steps each return the
step's record (DBOS records every step output before the workflow goes on).

Each system gets a fresh database on one PostgreSQL started here with the default
durability (fsync on, synchronous_commit on; ``--url`` uses an existing server instead: a
superuser URL, databases are created and dropped). Reported per system: p50 and p95 of the
per-step write (ms; median and range over ``--repeat`` runs), table bytes per step (growth
of the database's tables and indexes, ``pg_total_relation_size``) and WAL bytes per step
(``pg_current_wal_lsn`` before and after; the server does nothing else meanwhile).

Peers run in their own venv (not the project's dependencies)::

    python3.11 -m venv /tmp/pgpeers
    /tmp/pgpeers/bin/pip install langgraph-checkpoint-postgres dbos "psycopg[binary,pool]"

Usage: .venv/bin/python bench/pg_checkpoint.py [--steps 100] [--repeat 3]
       [--peers-python /tmp/pgpeers/bin/python] [--url postgresql://...]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from checkpoint_peers import SOURCE, load_source, payload

# -- measuring on the server (both sides; psycopg is in both venvs) ---------------------


def _wal_lsn(url: str) -> int:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')").fetchone()
        assert row is not None
        return int(row[0])


def _table_bytes(url: str) -> int:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')").fetchone()
        assert row is not None
        return int(row[0])


class Meter:
    """Table and WAL bytes from construction (after the system's setup) to :meth:`done`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tables = _table_bytes(url)
        self.wal = _wal_lsn(url)

    def done(self, times: list[float], steps: int) -> dict[str, Any]:
        return {"times": times, "table_bytes": (_table_bytes(self.url) - self.tables) / steps,
                "wal_bytes": (_wal_lsn(self.url) - self.wal) / steps}


# -- peers (run in the peers venv) -------------------------------------------------------


async def langgraph(url: str, steps: int) -> dict[str, Any]:
    import importlib.metadata as md

    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        await saver.setup()
        meter = Meter(url)
        config: Any = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
        messages: list[dict[str, object]] = []
        times: list[float] = []
        for i in range(steps):
            messages.append(payload(i))
            cp = empty_checkpoint()
            cp["channel_values"] = {"messages": list(messages)}
            cp["channel_versions"] = {"messages": i + 1}
            t0 = time.perf_counter()
            config = await saver.aput(config, cp, {"source": "loop", "step": i},
                                      {"messages": i + 1})
            times.append(time.perf_counter() - t0)
    return {**meter.done(times, steps), "version": md.version("langgraph-checkpoint-postgres")}


def dbos(url: str, steps: int) -> dict[str, Any]:
    import importlib.metadata as md

    from dbos import DBOS

    DBOS(config={"name": "bench", "system_database_url": url})
    times: list[float] = []

    @DBOS.step()
    def one(i: int) -> dict[str, object]:
        return payload(i)

    @DBOS.workflow()
    def run(n: int) -> int:
        for i in range(n):
            t0 = time.perf_counter()
            one(i)
            times.append(time.perf_counter() - t0)
        return n

    DBOS.launch()
    try:
        meter = Meter(url)
        run(steps)
        out = meter.done(times, steps)
    finally:
        DBOS.destroy()
    return {**out, "version": md.version("dbos")}


def peer_main(lg_url: str, dbos_url: str, steps: int, source: Path) -> None:
    load_source(source)
    os.environ.setdefault("DBOS__APPVERSION", "bench")
    print(json.dumps({"LangGraph AsyncPostgresSaver": asyncio.run(langgraph(lg_url, steps)),
                      "DBOS": dbos(dbos_url, steps)}))


# -- codetap (project venv) --------------------------------------------------------------


async def codetap(url: str, steps: int, agent_pattern: bool) -> dict[str, Any]:
    from codetap.store import Store

    store = await Store.open(Path("unused.db"), url=url)
    task = await store.create_task(intent="bench", root=Path("/tmp"), scope=None, model="m",
                                   workflow="default")
    meter = Meter(url)
    times: list[float] = []
    for i in range(steps):
        msg = payload(i)
        state = {"step": i + 1, "msg_count": i + 2, "todo": [], "elapsed_s": 0.01 * i}
        t0 = time.perf_counter()
        if agent_pattern:
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
    out = meter.done(times, steps)
    await store.close()
    return out


def _admin(url: str, sql: str) -> None:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peers-python", default=os.environ.get("PG_PEERS_PYTHON",
                                                             "/tmp/pgpeers/bin/python"))
    ap.add_argument("--url", help="superuser URL of an existing server (default: start one)")
    args = ap.parse_args()
    from checkpoint_cost import source_chunks
    from tests.pg_fixture import find_bindir, start_server

    SOURCE[:] = source_chunks(args.steps)
    server = base = None
    admin = args.url
    if admin is None:
        bindir = find_bindir()
        if bindir is None:
            sys.exit("PostgreSQL binaries not found (apt-get install postgresql)")
        server, base = start_server(bindir, durable=True)
        admin = server.url()
    peers_ok = Path(args.peers_python).exists()
    if not peers_ok:
        print(f"no peers venv at {args.peers_python}: codetap only", file=sys.stderr)
    runs: dict[str, list[dict[str, Any]]] = {}
    n = 0
    try:
        with tempfile.TemporaryDirectory(prefix="codetap-pgbench-") as tmp:
            source = Path(tmp) / "source.json"
            source.write_text(json.dumps(SOURCE))
            for _ in range(args.repeat):
                names = []
                for _ in range(4):
                    n += 1
                    names.append(f"bench{os.getpid()}_{n}")
                    _admin(admin, f'CREATE DATABASE "{names[-1]}"')
                urls = [admin.rsplit("/", 1)[0] + "/" + name for name in names]
                runs.setdefault("codetap (one append)", []).append(
                    asyncio.run(codetap(urls[0], args.steps, False)))
                runs.setdefault("codetap agent step", []).append(
                    asyncio.run(codetap(urls[1], args.steps, True)))
                if peers_ok:
                    out = subprocess.run(
                        [args.peers_python, __file__, "--peer", urls[2], urls[3],
                         str(args.steps), str(source)], check=True, capture_output=True,
                        text=True).stdout
                    for name, res in json.loads(out.strip().splitlines()[-1]).items():
                        runs.setdefault(f"{name} {res['version']}", []).append(res)
                for name in names:
                    _admin(admin, f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        if server is not None and base is not None:
            server.stop("fast")
            import shutil
            shutil.rmtree(base, ignore_errors=True)
    _report(runs, args.steps, args.repeat)


def _report(runs: dict[str, list[dict[str, Any]]], steps: int, repeat: int) -> None:
    def fmt(values: list[float]) -> str:
        return (f"{statistics.median(values):.3f} "
                f"[{min(values):.3f}..{max(values):.3f}]")

    print(f"{steps} steps, {repeat} runs; median [range] over the runs")
    print(f"{'system':44} {'p50 ms':22} {'p95 ms':22} {'table B/step':>12} {'WAL B/step':>11}")
    for name, results in runs.items():
        p50 = [statistics.median(r["times"]) * 1000 for r in results]
        p95 = [statistics.quantiles(r["times"], n=20)[18] * 1000 for r in results]
        tb = statistics.median(r["table_bytes"] for r in results)
        wal = statistics.median(r["wal_bytes"] for r in results)
        print(f"{name:44} {fmt(p50):22} {fmt(p95):22} {tb:12.0f} {wal:11.0f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":
        peer_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]))
    else:
        main()
