"""Benchmark: resident memory of a process holding the stdlib index.

Run by hand: ``.venv/bin/python bench/index_rss.py``. Corpus: see ``index_common.py``.
Each case runs in a fresh process and reports RSS (psutil) before and after:
- cold: empty cache, parsing in worker processes (their memory is not counted; they exit);
- warm: the same index loaded from the cache written by the cold case;
- warm + repo map: after also rendering a 1024-token repo map.
Target: <= 150 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from index_common import corpus


def measure(root: str, cache: str, with_map: bool) -> None:
    import psutil

    proc = psutil.Process()
    before = proc.memory_info().rss
    from codetap.index import SymbolIndex, render_repo_map

    index = SymbolIndex(Path(root), Path(cache))
    index.build()
    if with_map:
        render_repo_map(index, max_tokens=1024)
    tags = sum(len(t) for t in index.files().values())
    print(json.dumps({"before_mb": before / 2**20, "after_mb": proc.memory_info().rss / 2**20,
                      "files": len(index), "tags": tags, "parsed": index.parse_count}))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        measure(sys.argv[2], sys.argv[3], sys.argv[4] == "map")
        return
    root = corpus()
    with tempfile.TemporaryDirectory() as cache:
        for label, mode in (("cold", "nomap"), ("warm", "nomap"), ("warm + repo map", "map")):
            out = subprocess.run(
                [sys.executable, __file__, "--measure", str(root), cache, mode],
                check=True, capture_output=True, text=True,
            ).stdout
            r = json.loads(out)
            print(f"{label:16} RSS {r['after_mb']:6.1f} MB (interpreter alone "
                  f"{r['before_mb']:.1f} MB); {r['files']} files, {r['tags']} tags, "
                  f"{r['parsed']} parsed")
    print("target: <= 150 MB")


if __name__ == "__main__":
    main()
