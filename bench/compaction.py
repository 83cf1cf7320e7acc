"""Compaction on a long task: a 200-turn replay task with large tool outputs, run with the
configured context window and, in the same run, with a window so large nothing is ever
compacted (real Runtime, tools, git, SQLite).

Prints, per variant: total input tokens sent (sum of the prompts, as the replay provider
counts them), the peak prompt, compactions by layer; and the per-turn cost of deciding
what to compact (``Context.prompt``: estimating the prompt and, when due, choosing what to
mask or summarize; the replay summary turn itself costs nothing) as p50/p95 over all turns
and p50 over the turns that compacted. Medians and ranges over ``--runs`` runs.

    .venv/bin/python bench/compaction.py [--turns 200] [--runs 3] [--window 32768]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from codetap.agent import compaction
from codetap.config import Config, Limits
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime

LINES = 100
MAX_OUT = 4096


def session(turns: int) -> str:
    out = []
    for n in range(turns - 1):
        calls: list[dict[str, Any]] = [{"name": "read", "arguments": {
            "path": "big.txt", "offset": n * LINES + 1, "limit": LINES}}]
        if n % 20 == 0:
            calls.append({"name": "write", "arguments": {"path": f"out/f{n}.txt",
                                                         "content": f"file {n}\n"}})
        out.append(json.dumps({"text": f"Reading part {n}.", "tool_calls": calls}))
    out.append(json.dumps({"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}))
    return "\n".join(out) + "\n"


def make_repo(path: Path, turns: int) -> None:
    path.mkdir(parents=True)
    line = "value = compute(alpha, beta, gamma)  # " + "lorem ipsum dolor sit amet " * 2
    (path / "big.txt").write_text("".join(f"{i:06d} {line}\n" for i in range(turns * LINES)))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@localhost", *args],
                       cwd=path, check=True)


async def run_once(base: Path, turns: int, window: int, label: str) -> dict[str, Any]:
    sess = base / f"{label}.jsonl"
    sess.write_text(session(turns))
    repo = base / f"repo-{label}"
    make_repo(repo, turns)
    model = ModelConfig("replay", "replay", path=str(sess), context_window=window,
                        max_output_tokens=MAX_OUT)
    config = dataclasses.replace(Config.load(), models={"replay": model}, default_model="replay",
                                 limits=Limits(max_steps=10 * turns, max_tokens=10**12,
                                               max_cost_usd=10.0**6, max_wall_s=3600))
    timings: list[tuple[float, bool]] = []
    original = compaction.Context.prompt

    async def timed(self: compaction.Context, *, force: bool = False) -> compaction.Prompt:
        before = len(self.state.context.masks), self.state.context.note_at
        start = time.perf_counter()
        result = await original(self, force=force)
        compacted = (len(self.state.context.masks), self.state.context.note_at) != before
        timings.append((time.perf_counter() - start, compacted))
        return result

    compaction.Context.prompt = timed  # type: ignore[method-assign]
    try:
        rt = await Runtime.open(config)
        try:
            task = await rt.wait((await rt.start_task("read it all", repo)).id)
            events = await rt.store.events(task.id)
        finally:
            await rt.close()
    finally:
        compaction.Context.prompt = original  # type: ignore[method-assign]
    assert task.state.value == "ready", task.error
    turns_ = [e.data for e in events if e.kind == "model_turn"]
    layers = [e.data["layer"] for e in events if e.kind == "compaction"]
    return {
        "input": sum(t["usage"]["input_tokens"] for t in turns_),
        "peak": max(t["usage"]["input_tokens"] for t in turns_),
        "mask": layers.count("mask"), "summary": layers.count("summary"),
        "decide_ms": [t * 1000 for t, _ in timings],
        "compact_ms": [t * 1000 for t, c in timings if c],
    }


def med_range(values: list[float], fmt: str = "{:,.0f}") -> str:
    return (f"{fmt.format(statistics.median(values))} "
            f"[{fmt.format(min(values))}-{fmt.format(max(values))}]")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=int, default=32768)
    args = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {"compacted": [], "uncompacted": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            base = Path(tmp) / f"run{run}"
            for name in ("data", "config", "runtime", "cache"):
                (base / name).mkdir(parents=True, mode=0o700)
                os.environ["XDG_RUNTIME_DIR" if name == "runtime"
                           else f"XDG_{name.upper()}_HOME"] = str(base / name)
            results["compacted"].append(
                await run_once(base, args.turns, args.window, "compacted"))
            results["uncompacted"].append(
                await run_once(base, args.turns, 10**9, "uncompacted"))
    print(f"{args.turns} turns, {LINES} lines (~{LINES * 83 // 4:,} tokens) read per turn, "
          f"window {args.window:,} (reply budget {MAX_OUT:,}), {args.runs} runs")
    for name, rows in results.items():
        print(f"{name:12s} input tokens {med_range([r['input'] for r in rows])}  "
              f"peak prompt {med_range([r['peak'] for r in rows])}  "
              f"compactions mask {med_range([r['mask'] for r in rows])} "
              f"summary {med_range([r['summary'] for r in rows])}")
    ratio = [c["input"] / u["input"] for c, u in zip(results["compacted"],
                                                     results["uncompacted"], strict=True)]
    print(f"input tokens compacted/uncompacted: {med_range(ratio, '{:.3f}')} (target <= 0.5)")
    peak_ok = all(r["peak"] <= args.window for r in results["compacted"])
    print(f"peak prompt <= window: {peak_ok}")
    p50 = [statistics.median(r["decide_ms"]) for r in results["compacted"]]
    p95 = [statistics.quantiles(r["decide_ms"], n=20)[18] for r in results["compacted"]]
    comp = [statistics.median(r["compact_ms"]) for r in results["compacted"] if r["compact_ms"]]
    print(f"decide per turn ms: p50 {med_range(p50, '{:.3f}')} p95 {med_range(p95, '{:.3f}')} "
          f"(target p50 <= 2); turns that compacted p50 {med_range(comp, '{:.3f}')}")


if __name__ == "__main__":
    asyncio.run(main())
