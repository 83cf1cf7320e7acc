"""Benchmark: resident memory of a process holding the stdlib index.

Run by hand: ``.venv/bin/python bench/index_rss.py [--src DIR] [--runs 3]``. Corpus: see
``index_common.py``, or DIR (e.g. the tree of ``bench/fixtures/big_tree.py``).
Each case runs in a fresh process and reports RSS (psutil) before and after, and the peak
(``ru_maxrss``) of the process and of its parse workers:
- cold: empty cache, parsing in worker processes (the peak of the process and its workers
  together is sampled every 20 ms);
- warm: the same index loaded from the cache written by the cold case;
- warm + repo map: after also rendering a 1024-token repo map.
Target: <= 150 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from index_common import corpus


def measure(root: str, cache: str, with_map: bool) -> None:
    import psutil

    proc = psutil.Process()
    before = proc.memory_info().rss
    tree_peak = [0]
    done = threading.Event()

    def sample() -> None:  # parent + parse workers, every 20 ms
        while not done.wait(0.02):
            total = proc.memory_info().rss
            for child in proc.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            tree_peak[0] = max(tree_peak[0], total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    from codetap.index import SymbolIndex, render_repo_map

    index = SymbolIndex(Path(root), Path(cache))
    index.build()
    if with_map:
        render_repo_map(index, max_tokens=1024)
    tags = index.tag_count()
    import resource
    done.set()
    sampler.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"before_mb": before / 2**20, "after_mb": proc.memory_info().rss / 2**20,
                      "peak_mb": peak, "tree_peak_mb": tree_peak[0] / 2**20,
                      "files": len(index), "tags": tags, "parsed": index.parse_count}))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        measure(sys.argv[2], sys.argv[3], sys.argv[4] == "map")
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", type=Path)
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    root = a.src.resolve() if a.src else corpus()
    results: dict[str, list[dict[str, float]]] = {}
    for _ in range(a.runs):
        with tempfile.TemporaryDirectory() as cache:
            for label, mode in (("cold", "nomap"), ("warm", "nomap"),
                                ("warm + repo map", "map")):
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", str(root), cache, mode],
                    check=True, capture_output=True, text=True,
                ).stdout
                r = json.loads(out)
                results.setdefault(label, []).append(r)
                extra = f", with parse workers {r['tree_peak_mb']:.0f} MB" \
                    if r["parsed"] else ""
                print(f"{label:16} RSS {r['after_mb']:6.1f} MB, peak {r['peak_mb']:6.1f} MB"
                      f"{extra} (interpreter alone {r['before_mb']:.1f} MB); {r['files']} "
                      f"files, {r['tags']} tags, {r['parsed']} parsed", flush=True)
    for label, rs in results.items():
        xs = [r["after_mb"] for r in rs]
        print(f"{label:16} RSS median {statistics.median(xs):.1f} MB "
              f"[{min(xs):.1f}..{max(xs):.1f}] over {len(xs)} runs")
    print("target: <= 150 MB")


if __name__ == "__main__":
    main()
