"""A new task's worktree on an already indexed repository: symbol index build and repo map
time, and files parsed, with the content-keyed tag cache (issue 23 item 2).

Usage: ``.venv/bin/python bench/index_worktree.py [--src DIR] [--runs 3] [--full]``. DIR
(default: the running Python's stdlib) is copied into a git repository and indexed once
(cold, to fill the cache; the runtime's ``task_repo_map``, which also stores the ranking of
the commit); then each run adds a fresh ``git worktree`` with one file edited and, in a new
process as a restarted daemon would, times ``task_repo_map`` (what a task's first model
turn waits for; imports are not timed: a daemon has them loaded) and, with ``--full``, a
whole ``SymbolIndex`` build + ``render_repo_map`` (what the ``symbols`` tool needs).
Prints the median [range] over the runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

IGNORE = shutil.ignore_patterns("__pycache__", "site-packages", "*.so", ".git")
TASK_CHILD = """
import json, sys, time
from pathlib import Path
from codetap.index.quickmap import task_repo_map
t = time.perf_counter()
text = task_repo_map(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:], 1024)
print(json.dumps({"task_map": time.perf_counter() - t, "chars": len(text)}))
"""
INTENT = "fix the parser so that Series handles an empty path"
CHILD = """
import json, sys, time
from pathlib import Path
from codetap.index import SymbolIndex, render_repo_map
t = time.perf_counter()
index = SymbolIndex(Path(sys.argv[1]), Path(sys.argv[2]))
index.build()
built = time.perf_counter() - t
render_repo_map(index, max_tokens=1024, names=[])
print(json.dumps({"build": built, "map": time.perf_counter() - t,
                  "parsed": index.parse_count, "files": len(index)}))
"""


def run_child(root: Path, cache: Path, code: str = CHILD, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, str(root), str(cache), *args], check=True,
                         capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time a whole index build")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ct-idxwt-") as tmp:
        repo, cache = Path(tmp) / "repo", Path(tmp) / "cache"
        shutil.copytree(a.src, repo, ignore=IGNORE, symlinks=True)
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "init")
        names = INTENT.split()
        cold = run_child(repo, cache, TASK_CHILD, *names)
        print(f"{a.src}: cold task map (index build + ranking + model stored) "
              f"{cold['task_map']:.2f} s")
        edited = next(p for p in git(repo, "ls-files").splitlines() if p.endswith(".py"))
        runs = []
        for i in range(a.runs):
            wt = Path(tmp) / f"wt{i}"
            git(repo, "worktree", "add", "-q", str(wt), "HEAD")
            with (wt / edited).open("a") as f:
                f.write(f"\ndef added_in_run_{i}():\n    pass\n")
            run = run_child(wt, cache, TASK_CHILD, *names)
            if a.full:
                run.update(run_child(wt, cache))
            runs.append(run)
        for key in ("task_map", "build", "map") if a.full else ("task_map",):
            xs = [r[key] * 1000 for r in runs]
            print(f"  new worktree {key:5} (ms): median {statistics.median(xs):.0f} "
                  f"[{min(xs):.0f}..{max(xs):.0f}]")
        if a.full:
            print(f"  parsed per new worktree: {[int(r['parsed']) for r in runs]}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
