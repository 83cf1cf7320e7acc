"""Benchmark: incremental refresh after editing one file.

Run by hand: ``.venv/bin/python bench/index_incremental.py [--edits 50] [--src DIR]``.
Corpus: see ``index_common.py``, or DIR (e.g. the tree of ``bench/fixtures/big_tree.py``;
its files are edited and restored). The index is built first (cache in a temp dir); then,
``--edits`` times, one random file gets a line appended (new size and mtime) and we time
``refresh([path])`` (the caller names the edited file, as the edit tool can) and
``refresh()`` (nothing named) with the inotify watcher and, on a second index of the same
tree built with ``watch=False``, the full re-list and re-stat. Files are restored at the
end. Targets: p95 <= 50 ms named, <= 20 ms unnamed (issue 23 item 4).
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
    parser.add_argument("--src", type=Path)
    parser.add_argument("--same-files-under", metavar="PREFIX",
                        help="edit only PREFIX/<f> for the files f of the stdlib corpus, so "
                             "that a larger tree gets the very edits the corpus gets")
    args = parser.parse_args()
    root = args.src.resolve() if args.src else corpus()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as cache:
        index = SymbolIndex(root, Path(cache))
        index.build()
        plain = SymbolIndex(root, Path(cache), watch=False)
        plain.build()
        files = sorted(index.files())
        if args.same_files_under:
            prefix = args.same_files_under.rstrip("/") + "/"
            base = corpus()
            rels = sorted(p.relative_to(base).as_posix() for p in base.rglob("*.py"))
            files = [prefix + rel for rel in rels if prefix + rel in index.files()]
        named: list[float] = []
        full: list[float] = []
        watched: list[float] = []
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
                watched.append((time.perf_counter() - t0) * 1000)
                assert changed == [rel], changed
                t0 = time.perf_counter()
                changed = plain.refresh()
                full.append((time.perf_counter() - t0) * 1000)
                assert changed == [rel]
        finally:
            for path, data in originals.items():
                path.write_bytes(data)
    print(f"{len(files)} files indexed; {args.edits} edits")
    for label, values in (("refresh([path])", named), ("refresh() watched", watched),
                          ("refresh() full re-stat", full)):
        print(f"{label:24} p50 {pct(values, 0.5):6.1f} ms  p95 {pct(values, 0.95):6.1f} ms  "
              f"max {max(values):6.1f} ms  mean {statistics.mean(values):6.1f} ms")
    print("targets: p95 <= 50 ms named, <= 20 ms watched")


if __name__ == "__main__":
    main()
