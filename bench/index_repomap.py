"""Benchmark: repo map cold build time, codetap vs aider's RepoMap vs universal-ctags.

Run by hand: ``.venv/bin/python bench/index_repomap.py [--repeat N] [--tokens T] [--src DIR]``.
Corpus: see ``index_common.py`` (stdlib .py files, no tests, no site-packages), or DIR.
Each measurement runs in a fresh process with a cold cache:
- floor: the files codetap indexes, parsed and run through the tags query (every match
  iterated, nothing kept) by as many processes as codetap's parse workers, each getting
  the same interleaved share (issue 23 item 5: codetap <= 1.3x this, same run);
- codetap: ``SymbolIndex(...).build()`` + ``render_repo_map(max_tokens=T)`` (empty cache dir);
- aider: ``RepoMap(map_tokens=T).get_repo_map(chat_files=[], other_files=all)`` run with the
  separate venv ``bench/.venvs/aider`` (``.aider.tags.cache*`` deleted first; model
  setup not timed);
- ctags: ``ctags -R --fields=+n -f - DIR`` (tags only, no ranking: a floor, not a peer).
Target: codetap <= 0.2x aider.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from index_common import BENCH, corpus

AIDER_PY = BENCH / ".venvs" / "aider" / "bin" / "python"


def codetap_once(root: Path, tokens: int) -> dict[str, float]:
    """In this process: cold build + map; returns timings (seconds)."""
    t0 = time.perf_counter()
    from codetap.index import SymbolIndex, estimate_tokens, render_repo_map

    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        index = SymbolIndex(root, Path(cache))
        index.build()
        t2 = time.perf_counter()
        text = render_repo_map(index, max_tokens=tokens)
        t3 = time.perf_counter()
    return {"import_s": t1 - t0, "build_s": t2 - t1, "render_s": t3 - t2, "total_s": t3 - t1,
            "files": len(index), "tokens": estimate_tokens(text)}


FLOOR_CHILD = """
import marshal, sys
from pathlib import Path
import tree_sitter
from codetap.index.languages import get_parser, get_query, language_for_path
root = Path(sys.argv[1])
for rel in marshal.loads(sys.stdin.buffer.read()):
    lang = language_for_path(rel)
    data = (root / rel).read_bytes()
    tree = get_parser(lang).parse(data)
    for _ in tree_sitter.QueryCursor(get_query(lang)).matches(tree.root_node):
        pass
"""


def run_floor(root: Path) -> dict[str, float]:
    """The tree-sitter floor (see the module docstring): wall and CPU seconds."""
    import marshal
    import os

    from codetap.index.index import MAX_FILE_BYTES
    from codetap.index.parse import default_workers
    from codetap.index.walk import list_source_files

    workers = default_workers()
    cpu = _child_cpu()
    t0 = time.perf_counter()
    rels = [rel for rel in list_source_files(root)
            if os.path.isfile(root / rel) and not os.path.islink(root / rel)
            and os.path.getsize(root / rel) <= MAX_FILE_BYTES]
    procs = []
    for share in (rels[i::workers] for i in range(workers)):
        proc = subprocess.Popen([sys.executable, "-c", FLOOR_CHILD, str(root)],
                                stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(marshal.dumps(share))
        proc.stdin.close()
        procs.append(proc)
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError("floor worker failed")
    return {"total_s": time.perf_counter() - t0, "cpu_s": _child_cpu() - cpu,
            "files": len(rels), "workers": workers}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_codetap(root: Path, tokens: int) -> dict[str, float]:
    cpu = _child_cpu()
    out = subprocess.run(
        [sys.executable, __file__, "--codetap-once", str(root), "--tokens", str(tokens)],
        check=True, capture_output=True, text=True,
    ).stdout
    result: dict[str, float] = json.loads(out)
    result["cpu_s"] = _child_cpu() - cpu  # whole process tree, interpreter start included
    return result


def run_aider(root: Path, tokens: int) -> dict[str, float] | None:
    if not AIDER_PY.exists():
        print(f"aider venv missing ({AIDER_PY}); see bench/index_README.md", file=sys.stderr)
        return None
    cpu = _child_cpu()
    proc = subprocess.run(
        [str(AIDER_PY), str(BENCH / "index_aider_driver.py"), str(root), str(tokens)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return None
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["cpu_s"] = _child_cpu() - cpu
    return result


def run_ctags(root: Path) -> float | None:
    if shutil.which("ctags") is None:
        return None
    t0 = time.perf_counter()
    subprocess.run(["ctags", "-R", "--fields=+n", "-f", "-", str(root)],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--codetap-once", type=Path)
    parser.add_argument("--src", type=Path)
    args = parser.parse_args()
    if args.codetap_once:
        print(json.dumps(codetap_once(args.codetap_once, args.tokens)))
        return
    root = args.src.resolve() if args.src else corpus()
    ours, theirs, ctags, floors = [], [], [], []
    for i in range(args.repeat):
        floors.append(run_floor(root))
        ours.append(run_codetap(root, args.tokens))
        aider = run_aider(root, args.tokens)
        if aider:
            theirs.append(aider)
        c = run_ctags(root)
        if c is not None:
            ctags.append(c)
        print(f"run {i + 1}: codetap {ours[-1]['total_s']:.2f}s (build {ours[-1]['build_s']:.2f}"
              f" + map {ours[-1]['render_s']:.2f}, {ours[-1]['tokens']} tokens)"
              + f"  floor {floors[-1]['total_s']:.2f}s"
              f" ({floors[-1]['workers']:.0f} processes, {floors[-1]['files']:.0f} files)"
              + (f"  aider {aider['map_s']:.2f}s" if aider else "")
              + (f"  ctags {c:.2f}s" if c is not None else ""))
    ours_med = statistics.median(r["total_s"] for r in ours)
    print(f"\ncodetap cold repo map (median of {len(ours)}): {ours_med:.2f} s "
          f"[import {statistics.median(r['import_s'] for r in ours):.2f} s not included]")
    wall = [o["total_s"] / f["total_s"] for o, f in zip(ours, floors, strict=True)]
    cpu = [o["cpu_s"] / f["cpu_s"] for o, f in zip(ours, floors, strict=True)]
    print(f"codetap / floor, per run: wall median {statistics.median(wall):.2f} "
          f"[{min(wall):.2f}..{max(wall):.2f}], CPU median {statistics.median(cpu):.2f} "
          f"[{min(cpu):.2f}..{max(cpu):.2f}] (target wall <= 1.3)")
    if theirs:
        aider_med = statistics.median(r["map_s"] for r in theirs)
        print(f"aider RepoMap cold (median of {len(theirs)}): {aider_med:.2f} s")
        print(f"ratio codetap/aider: {ours_med / aider_med:.3f} (target <= 0.2)")
        ours_cpu = statistics.median(r["cpu_s"] for r in ours)
        aider_cpu = statistics.median(r["cpu_s"] for r in theirs)
        print(f"CPU time incl. interpreter start and imports (user+sys, all processes): "
              f"codetap {ours_cpu:.2f} s, aider {aider_cpu:.2f} s, ratio {ours_cpu / aider_cpu:.3f}")
        floor_cpu = statistics.median(f["cpu_s"] for f in floors)
        print(f"floor CPU (median) {floor_cpu:.2f} s: floor / aider CPU "
              f"{floor_cpu / aider_cpu:.3f} (what codetap's CPU ratio cannot go below "
              "while it parses and queries every file)")
    if ctags:
        print(f"universal-ctags -R (median of {len(ctags)}): {statistics.median(ctags):.2f} s "
              "(tags only, no refs or ranking)")


if __name__ == "__main__":
    main()
