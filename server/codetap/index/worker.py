"""Parsing in this process, and the child process of :func:`codetap.index.parse.parse_files`.

Protocol of ``python -m codetap.index.worker ROOT``: stdin holds
``marshal.dumps(list[rel_path])``; stdout receives, per file as soon as it is parsed,
``marshal.dumps((rel_path, payload))`` where payload is the cache form of the file's tags
(:func:`codetap.index.tags.encode_rows`) or None for an unreadable file. Exit status 0 on
success. The module imports only what parsing needs (no sqlite3, subprocess or threads):
each worker's start-up is on the critical path of a cold build.
"""

from __future__ import annotations

import marshal
import sys
from pathlib import Path

from codetap.index.languages import language_for_path
from codetap.index.tags import Row, encode_rows, extract_rows


def file_rows(root: Path, rel_path: str) -> list[Row] | None:
    """Tag rows of ``root / rel_path`` (``[]`` for an unsupported language), or None if
    the file cannot be read."""
    try:
        data = (root / rel_path).read_bytes()
    except OSError:
        return None
    lang = language_for_path(rel_path)
    return [] if lang is None else extract_rows(data, lang)


def parse_to_payloads(root: Path, rel_paths: list[str]) -> dict[str, bytes | None]:
    """Parse in this thread; rel_path -> cache payload (:func:`encode_rows`) or None."""
    out: dict[str, bytes | None] = {}
    for rel in rel_paths:
        rows = file_rows(root, rel)
        out[rel] = None if rows is None else encode_rows(rows)
    return out


def main() -> int:
    """Run one batch; returns the process exit status."""
    root = Path(sys.argv[1])
    rel_paths = marshal.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    for rel in rel_paths:
        rows = file_rows(root, rel)
        out.write(marshal.dumps((rel, None if rows is None else encode_rows(rows))))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
