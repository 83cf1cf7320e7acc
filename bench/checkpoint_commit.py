"""Per-step checkpoint commit cost vs repository size: ``index.add_all()`` (before issue 23)
against staging the reported path (an edit step) and a ``git status`` scan (a bash step).

Usage: ``.venv/bin/python bench/checkpoint_commit.py [--src DIR ...] [--steps 30] [--runs 3]``.
Each ``--src`` directory is copied into a fresh git repository (default: a 20-file repo and
the running Python's stdlib); every step appends a line to one file and commits it. Prints
p50 per run, then the median and range of the runs' p50s and p95s, in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from codetap.tasks import git as tgit
from codetap.tasks.stage import Checkpointer

IGNORE = shutil.ignore_patterns("__pycache__", "site-packages", "*.so", ".git")


def make_repo(root: Path, src: Path | None) -> Path:
    repo = root / "repo"
    if src is None:
        repo.mkdir()
        for i in range(20):
            (repo / f"m{i}.py").write_text(f"x = {i}\n" * 20)
    else:
        shutil.copytree(src, repo, ignore=IGNORE, symlinks=True)
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b", "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    return repo


def append(path: Path, line: str) -> None:
    with path.open("a") as f:
        f.write(line)


def count_files(repo: Path) -> int:
    return len(subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True,
                              check=True).stdout.splitlines())


async def steps(wt: Path, rel: str, n: int,
                commit: Callable[[int], Awaitable[object]]) -> list[float]:
    out = []
    for i in range(n):
        append(wt / rel, f"# step {i}\n")
        t = time.perf_counter()
        await commit(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


async def one_run(repo: Path, root: Path, n: int) -> dict[str, tuple[float, float]]:
    base = await tgit.snapshot(repo)
    wt = root / "wt"
    await tgit.add_worktree(repo, wt, "bench", base)
    rel = next(p for p in (await tgit.git(wt, "ls-files")).split("\n") if p.endswith(".py"))
    cp = Checkpointer(wt)
    res = {}
    modes: dict[str, Callable[[int], Awaitable[object]]] = {
        "add_all (old)": lambda i: tgit.commit_all(wt, f"s{i}"),
        "edit: reported path": lambda i: cp.commit(f"s{i}", [rel]),
        "bash: git status scan": lambda i: cp.commit(f"s{i}", None),
    }
    for name, fn in modes.items():
        xs = await steps(wt, rel, n, fn)
        xs.sort()
        res[name] = (statistics.median(xs), xs[int(0.95 * (len(xs) - 1))])
    await tgit.remove_worktree(repo, wt, "bench")
    return res


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", action="append", type=Path)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    srcs: list[Path | None] = a.src or [None, Path(sysconfig.get_paths()["stdlib"])]
    for src in srcs:
        with tempfile.TemporaryDirectory(prefix="ct-ckpt-") as tmp:
            repo = make_repo(Path(tmp), src)
            files = count_files(repo)
            runs = [await one_run(repo, Path(tmp), a.steps) for _ in range(a.runs)]
        print(f"\n{src or '20-file repo'}: {files} files, {a.steps} steps x {a.runs} runs")
        for name in runs[0]:
            p50 = [r[name][0] for r in runs]
            p95 = [r[name][1] for r in runs]
            print(f"  {name:24} p50 {statistics.median(p50):7.2f} ms "
                  f"[{min(p50):.2f}..{max(p50):.2f}]  p95 {statistics.median(p95):7.2f} ms [{min(p95):.2f}..{max(p95):.2f}]")


if __name__ == "__main__":
    asyncio.run(main())
