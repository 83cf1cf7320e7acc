"""Benchmark: incremental refresh after editing one file.

Run by hand: ``.venv/bin/python bench/index_incremental.py [--edits 50]``.
Corpus: see ``index_common.py``. The index is built first (cache in a temp dir); then,
``--edits`` times, one random file gets a line appended (new size and mtime) and we time
``refresh([path])`` (the caller names the edited file, as the edit tool can) and
``refresh()`` (full re-stat of the workspace, nothing named). Files are restored at the end.
Target: p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from index_common import corpus

from codetap.index import SymbolIndex


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=50)
    args = parser.parse_args()
    root = corpus()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as cache:
        index = SymbolIndex(root, Path(cache))
        index.build()
        files = sorted(index.files())
        named: list[float] = []
        full: list[float] = []
        originals: dict[Path, bytes] = {}
        try:
            for i in range(args.edits):
                rel = rng.choice(files)
                path = root / rel
                originals.setdefault(path, path.read_bytes())
                with path.open("a") as f:
                    f.write(f"\ndef bench_edit_{i}():\n    return {i}\n")
                t0 = time.perf_counter()
                changed = index.refresh([rel])
                named.append((time.perf_counter() - t0) * 1000)
                assert changed == [rel] and index.definitions(f"bench_edit_{i}")
                with path.open("a") as f:
                    f.write(f"# touched {i}\n")
                t0 = time.perf_counter()
                changed = index.refresh()
                full.append((time.perf_counter() - t0) * 1000)
                assert changed == [rel]
        finally:
            for path, data in originals.items():
                path.write_bytes(data)
    print(f"{len(files)} files indexed; {args.edits} edits")
    for label, values in (("refresh([path])", named), ("refresh() full re-stat", full)):
        print(f"{label:24} p50 {pct(values, 0.5):6.1f} ms  p95 {pct(values, 0.95):6.1f} ms  "
              f"max {max(values):6.1f} ms  mean {statistics.mean(values):6.1f} ms")
    print("target: p95 <= 50 ms")


if __name__ == "__main__":
    main()
