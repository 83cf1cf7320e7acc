"""Parsing many files, in worker processes when there are enough of them.

tree-sitter parsing is CPU-bound and holds the GIL, so a cold build of a large workspace
is spread over child processes running ``python -m codetap.index.worker`` (plain
subprocesses: no ``multiprocessing`` start-method pitfalls in a threaded daemon, no
re-import of ``__main__``). Small batches are parsed in the calling thread; a worker that
fails has its share parsed in the calling thread instead.
"""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codetap.index.tags import Tag, decode_rows
from codetap.index.worker import file_rows, parse_to_payloads

PARALLEL_MIN_FILES = 150


def parse_file(root: Path, rel_path: str) -> list[Tag] | None:
    """Tags of ``root / rel_path``, or None if the file cannot be read."""
    rows = file_rows(root, rel_path)
    return None if rows is None else decode_rows(rel_path, rows)


def default_workers() -> int:
    """Worker processes for a cold build: the usable CPUs, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _run_worker(root: Path, rel_paths: list[str]) -> dict[str, bytes | None]:
    """Parse ``rel_paths`` in a child process; rel_path -> cache payload or None."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_parent(), env.get("PYTHONPATH")) if p)
    results: dict[str, bytes | None] = {}
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "codetap.index.worker", str(root)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        ) as proc:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(marshal.dumps(rel_paths))
            proc.stdin.close()
            for _ in rel_paths:
                rel, payload = marshal.load(proc.stdout)
                if not (payload is None or isinstance(payload, bytes)):
                    raise ValueError(f"bad payload for {rel}")
                results[rel] = payload
            if proc.wait(timeout=60) == 0:
                return results
    except (OSError, subprocess.SubprocessError, ValueError, EOFError, TypeError):
        pass
    missing = [rel for rel in rel_paths if rel not in results]
    results.update(parse_to_payloads(root, missing))
    return results


def _package_parent() -> str:
    return str(Path(__file__).resolve().parents[2])


def parse_files(root: Path, rel_paths: list[str], workers: int) -> dict[str, bytes | None]:
    """Parse ``rel_paths`` under ``root``: rel_path -> cache payload
    (:func:`codetap.index.tags.encode_rows`), or None for an unreadable file.

    Uses ``workers`` child processes when ``workers > 1`` and there are at least
    :data:`PARALLEL_MIN_FILES` files; otherwise parses in the calling thread.
    """
    if workers <= 1 or len(rel_paths) < PARALLEL_MIN_FILES:
        return parse_to_payloads(root, rel_paths)
    results: dict[str, bytes | None] = {}
    # Interleaved shares mix large and small files, so workers finish together.
    shares = [rel_paths[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as threads:
        for part in threads.map(lambda share: _run_worker(root, share), shares):
            results.update(part)
    return results
