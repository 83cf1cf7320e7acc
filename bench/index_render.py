"""Benchmark: repo map render time alone (ranking + rendering) on a built stdlib index.

Run by hand: ``.venv/bin/python bench/index_render.py [--repeat N] [--tokens T]
[--dump FILE]``. Builds the index once (cache in ``bench/.cache/render-cache``, so later
runs load it), then times ``rank_definitions`` and ``render_repo_map`` N times each in
this process: wall and CPU (``time.process_time``) medians. The load average is printed
because the machine may be shared. ``--dump`` writes the ranking (top 2000) and the map,
to compare outputs across versions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from index_common import BENCH, corpus

from codetap.index import SymbolIndex, render_repo_map
from codetap.index.rank import rank_definitions


def _timed(fn: object, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--dump", type=Path)
    args = parser.parse_args()
    index = SymbolIndex(corpus(), BENCH / ".cache" / "render-cache")
    index.build()
    n_tags = sum(len(t) for t in index.files().values())
    print(f"index: {len(index)} files, {n_tags} tags; load average {os.getloadavg()}")
    rank_w, rank_c = _timed(lambda: rank_definitions(index.files()), args.repeat)
    map_w, map_c = _timed(lambda: render_repo_map(index, max_tokens=args.tokens), args.repeat)
    print(f"rank_definitions (median of {args.repeat}): {rank_w * 1000:.0f} ms wall, "
          f"{rank_c * 1000:.0f} ms CPU")
    print(f"render_repo_map  (median of {args.repeat}): {map_w * 1000:.0f} ms wall, "
          f"{map_c * 1000:.0f} ms CPU")
    if args.dump:
        ranked = rank_definitions(index.files())
        text = render_repo_map(index, max_tokens=args.tokens)
        args.dump.write_text("\n".join(f"{r}\t{n}" for r, n in ranked[:2000])
                             + "\n=== map ===\n" + text)


if __name__ == "__main__":
    main()
