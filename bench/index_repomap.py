"""Benchmark: repo map cold build time, codetap vs aider's RepoMap vs universal-ctags.

Run by hand: ``.venv/bin/python bench/index_repomap.py [--repeat N] [--tokens T]``.
Corpus: see ``index_common.py`` (stdlib .py files, no tests, no site-packages).
Each measurement runs in a fresh process with a cold cache:
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
    args = parser.parse_args()
    if args.codetap_once:
        print(json.dumps(codetap_once(args.codetap_once, args.tokens)))
        return
    root = corpus()
    ours, theirs, ctags = [], [], []
    for i in range(args.repeat):
        ours.append(run_codetap(root, args.tokens))
        aider = run_aider(root, args.tokens)
        if aider:
            theirs.append(aider)
        c = run_ctags(root)
        if c is not None:
            ctags.append(c)
        print(f"run {i + 1}: codetap {ours[-1]['total_s']:.2f}s (build {ours[-1]['build_s']:.2f}"
              f" + map {ours[-1]['render_s']:.2f}, {ours[-1]['tokens']} tokens)"
              + (f"  aider {aider['map_s']:.2f}s" if aider else "")
              + (f"  ctags {c:.2f}s" if c is not None else ""))
    ours_med = statistics.median(r["total_s"] for r in ours)
    print(f"\ncodetap cold repo map (median of {len(ours)}): {ours_med:.2f} s "
          f"[import {statistics.median(r['import_s'] for r in ours):.2f} s not included]")
    if theirs:
        aider_med = statistics.median(r["map_s"] for r in theirs)
        print(f"aider RepoMap cold (median of {len(theirs)}): {aider_med:.2f} s")
        print(f"ratio codetap/aider: {ours_med / aider_med:.3f} (target <= 0.2)")
        ours_cpu = statistics.median(r["cpu_s"] for r in ours)
        aider_cpu = statistics.median(r["cpu_s"] for r in theirs)
        print(f"CPU time incl. interpreter start and imports (user+sys, all processes): "
              f"codetap {ours_cpu:.2f} s, aider {aider_cpu:.2f} s, ratio {ours_cpu / aider_cpu:.3f}")
    if ctags:
        print(f"universal-ctags -R (median of {len(ctags)}): {statistics.median(ctags):.2f} s "
              "(tags only, no refs or ranking)")


if __name__ == "__main__":
    main()
