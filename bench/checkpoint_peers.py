"""Peer side of bench/checkpoint_cost.py: LangGraph's AsyncSqliteSaver and DBOS on SQLite.

Run with the peers venv's python (bench/.venvs/peers, see bench/durability_README.md);
prints one JSON object: per-step checkpoint latencies (seconds), database bytes and the
installed versions. Both get the same workload as codetap: STEPS steps, each adding one
~2 KB record (``payload(i)``) to the agent's state.

- LangGraph: the state is ``{"messages": [...]}`` as in a LangGraph agent; each step
  ``aput``s a checkpoint of the whole state (the saver stores channel values inline).
- DBOS: one workflow whose STEPS steps each return the step's record; DBOS records every
  step output in its SQLite system database before the workflow goes on.

LangGraph runs at ``PRAGMA synchronous`` FULL (SQLite's default) and NORMAL; DBOS at its
default (FULL: its SQLAlchemy engine offers no hook before it opens the database).

Usage: bench/.venvs/peers/bin/python bench/checkpoint_peers.py DIR STEPS [SOURCE.json]
"""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import json
import os
import sys
import time
from pathlib import Path

SOURCE: list[str] = []
"""Real source text (see :func:`load_source`); when empty, ``payload`` is synthetic."""


def payload(i: int) -> dict[str, object]:
    """~2 KB of new state for step ``i`` (same shape codetap's bench writes): a slice of
    real source text when :data:`SOURCE` is loaded (it compresses ~2-3x, like tool
    output), else 48 near-identical numbered lines (they compress ~9x)."""
    if SOURCE:
        return {"role": "assistant", "step": i, "content": SOURCE[i % len(SOURCE)]}
    return {"role": "assistant", "step": i,
            "content": "".join(f"{n:4} line of tool output for step {i}\n" for n in range(48))}


def load_source(path: Path) -> None:
    """Fill :data:`SOURCE` from a JSON list of strings (written by checkpoint_cost.py)."""
    SOURCE[:] = json.loads(path.read_text())


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.exists())


async def langgraph(dirpath: Path, steps: int, synchronous: str) -> dict[str, object]:
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    db = dirpath / f"langgraph-{synchronous}.sqlite"
    times: list[float] = []
    async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
        await saver.setup()
        await saver.conn.execute(f"PRAGMA synchronous={synchronous}")
        config: dict[str, object] = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
        messages: list[dict[str, object]] = []
        for i in range(steps):
            messages.append(payload(i))
            cp = empty_checkpoint()
            cp["channel_values"] = {"messages": list(messages)}
            cp["channel_versions"] = {"messages": i + 1}
            t0 = time.perf_counter()
            config = await saver.aput(config, cp, {"source": "loop", "step": i},
                                      {"messages": i + 1})
            times.append(time.perf_counter() - t0)
    return {"times": times, "db_bytes": _size([db, Path(f"{db}-wal")]),
            "version": md.version("langgraph-checkpoint-sqlite")}


def dbos(dirpath: Path, steps: int) -> dict[str, object]:
    from dbos import DBOS

    db = dirpath / "dbos.sqlite"
    DBOS(config={"name": "bench", "system_database_url": f"sqlite:///{db}"})
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
        run(steps)
    finally:
        DBOS.destroy()
    return {"times": times, "db_bytes": _size([db, Path(f"{db}-wal")]),
            "version": md.version("dbos")}


def main() -> None:
    dirpath, steps = Path(sys.argv[1]), int(sys.argv[2])
    if len(sys.argv) > 3:
        load_source(Path(sys.argv[3]))
    os.environ.setdefault("DBOS__APPVERSION", "bench")
    out = {"langgraph FULL": asyncio.run(langgraph(dirpath, steps, "FULL")),
           "langgraph NORMAL": asyncio.run(langgraph(dirpath, steps, "NORMAL")),
           "dbos (default FULL)": dbos(dirpath, steps)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
