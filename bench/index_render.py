"""Benchmark: repo map render time alone (ranking + rendering) on a built stdlib index.

Run by hand: ``.venv/bin/python bench/index_render.py [--repeat N] [--tokens T]
[--dump FILE]``. Builds the index once (cache in ``bench/.cache/render-cache``, so later
runs load it), then times ``rank_definitions`` (on ``SymbolIndex.name_tables()``) and
``render_repo_map`` N times each in this process: wall and CPU (``time.process_time``),
median and minimum (on a shared machine the minimum is the steadier figure; the load
average is printed). Automatic garbage collection stays on, as in the daemon. ``--dump`` writes the ranking (top 2000) and the map,
to compare outputs across versions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from index_common import BENCH, corpus

from codetap.index import SymbolIndex, render_repo_map
from codetap.index.rank import rank_definitions


def _timed(label: str, fn: Callable[[], object], repeat: int) -> None:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    print(f"{label} (n={repeat}): wall median {statistics.median(walls) * 1000:.0f} ms, "
          f"min {min(walls) * 1000:.0f} ms; CPU median {statistics.median(cpus) * 1000:.0f} ms,"
          f" min {min(cpus) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--dump", type=Path)
    args = parser.parse_args()
    index = SymbolIndex(corpus(), BENCH / ".cache" / "render-cache")
    index.build()
    n_tags = sum(len(t) for t in index.files().values())
    print(f"index: {len(index)} files, {n_tags} tags; load average {os.getloadavg()}")
    _timed("name_tables + rank_definitions",
           lambda: rank_definitions(index.name_tables()), args.repeat)
    _timed("render_repo_map", lambda: render_repo_map(index, max_tokens=args.tokens), args.repeat)
    print(f"load average after: {os.getloadavg()}")
    if args.dump:
        ranked = rank_definitions(index.name_tables())
        text = render_repo_map(index, max_tokens=args.tokens)
        args.dump.write_text("\n".join(f"{r}\t{n}" for r, n in ranked[:2000])
                             + "\n=== map ===\n" + text)


if __name__ == "__main__":
    main()
