"""Shared setup of the index benchmarks: the corpus is the Python standard library.

The corpus is copied once to ``bench/.cache/stdlib`` (gitignored) so every tool reads
the same files: the ``.py`` files of the interpreter's ``lib/python3.X`` tree, without
``site-packages`` and without test directories (``test``, ``tests``, ``idle_test``),
skipping files over 1 MB (the index's limit).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CORPUS = BENCH / ".cache" / "stdlib"
SKIP = {"site-packages", "test", "tests", "idle_test", "__pycache__"}


def stdlib_dir() -> Path:
    """The standard library source directory (override with $CODETAP_BENCH_STDLIB)."""
    env = os.environ.get("CODETAP_BENCH_STDLIB")
    if env:
        return Path(env)
    default = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
    return default if default.is_dir() else Path(sysconfig.get_paths()["stdlib"])


def corpus() -> Path:
    """Copy the corpus if needed; return its root. Prints what it holds."""
    if not (CORPUS / ".complete").exists():
        shutil.rmtree(CORPUS, ignore_errors=True)
        src = stdlib_dir()
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames[:] = [d for d in dirnames if d not in SKIP]
            rel = Path(dirpath).relative_to(src)
            for name in filenames:
                path = Path(dirpath) / name
                if name.endswith(".py") and path.stat().st_size <= 1_000_000:
                    (CORPUS / rel).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, CORPUS / rel / name)
        (CORPUS / ".complete").touch()
    files = [p for p in CORPUS.rglob("*.py")]
    size = sum(p.stat().st_size for p in files)
    print(f"corpus: {stdlib_dir()} -> {CORPUS}: {len(files)} .py files, {size / 1e6:.1f} MB "
          f"(no site-packages, no test dirs)", file=sys.stderr)
    return CORPUS
