"""Benchmark: the LSP pool on the Python standard library with real basedpyright.

Figures printed:
- cold start to the first *complete* references answer (server start, workspace load,
  readiness wait, the request), seconds;
- warm ``definition`` through the pool (file sync check, readiness check, request,
  result conversion), p50 / p95 in ms over N calls (target: p50 <= 5 ms);
- the language server's resident memory (process tree), MB.

The stdlib's ``.py`` files (without site-packages, test suites, idlelib, lib2to3) are
copied to a temporary directory so the workspace is a plain sizeable project.

Run: .venv/bin/python bench/pool_definition.py [--stdlib DIR] [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sysconfig
import tempfile
import time
from pathlib import Path

from codetap.pool import LspPool, default_specs, run_operation

SKIP = {"site-packages", "test", "tests", "idlelib", "lib2to3", "__pycache__", "turtledemo"}


def copy_stdlib(src: Path, dst: Path) -> int:
    """Copy ``src``'s .py files (minus SKIP directories) under ``dst``; returns the count."""
    count = 0
    for path in src.rglob("*.py"):
        rel = path.relative_to(src)
        if any(part in SKIP for part in rel.parts[:-1]):
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        count += 1
    return count


def find_position(path: Path, needle: str) -> tuple[int, int]:
    """1-based (line, character) of the first ``needle`` in ``path``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        column = line.find(needle)
        if column >= 0:
            return number, column + 1
    raise SystemExit(f"{needle!r} not found in {path}")


async def main(stdlib: Path, calls: int) -> None:
    with tempfile.TemporaryDirectory(prefix="codetap-bench-") as tmp:
        root = Path(tmp).resolve()
        files = copy_stdlib(stdlib, root)
        print(f"workspace: {files} .py files copied from {stdlib}")
        pool = LspPool(default_specs(), ready_timeout_s=120.0, request_timeout_s=300.0)
        try:
            textwrap_py = root / "textwrap.py"
            line, col = find_position(textwrap_py, "def dedent(")
            start = time.perf_counter()
            refs = await run_operation(pool, root, textwrap_py, "references", line, col + 4)
            cold = time.perf_counter() - start
            print(
                f"cold start -> first references answer: {cold:.2f} s "
                f"({len(refs.spots)} references of textwrap.dedent, partial={refs.partial})"
            )

            user = root / "importlib" / "metadata" / "__init__.py"
            uline, ucol = find_position(user, "textwrap.dedent(")
            ucol += len("textwrap.")
            answer = await run_operation(pool, root, user, "definition", uline, ucol)
            assert any(s.path == textwrap_py for s in answer.spots), answer
            # let the server finish the background checking the cold references started
            for _ in range(100):
                await run_operation(pool, root, user, "definition", uline, ucol)
            await asyncio.sleep(2.0)
            samples = []
            for _ in range(calls):
                t0 = time.perf_counter()
                await run_operation(pool, root, user, "definition", uline, ucol)
                samples.append((time.perf_counter() - t0) * 1000)
            samples.sort()
            p50 = statistics.median(samples)
            p95 = samples[int(len(samples) * 0.95) - 1]
            verdict = "meets" if p50 <= 5.0 else "misses"
            print(
                f"warm definition through the pool: p50 {p50:.2f} ms, p95 {p95:.2f} ms "
                f"over {calls} calls ({verdict} the 5 ms target)"
            )
            for stats in pool.stats():
                print(
                    f"server RSS: {stats.name} {stats.rss_bytes / 2**20:.0f} MB (pid {stats.pid})"
                )
        finally:
            await pool.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdlib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.stdlib, args.calls))
