"""Pure-Python grep engine, used when ripgrep is not installed.

Matches line by line with :mod:`re` (close to, not identical with, ripgrep's syntax),
walks files with :func:`codetap.tools.ignore.walk_files` and skips binary files.
"""

from __future__ import annotations

import re
from pathlib import Path

from wcmatch import glob as wcglob

from codetap.errors import ToolError
from codetap.tools.fileio import looks_binary
from codetap.tools.grep_output import Formatter, GrepQuery
from codetap.tools.ignore import walk_files
from codetap.tools.text import split_lines

MAX_FILE_BYTES = 50 * 1024 * 1024
GLOB_FLAGS = wcglob.GLOBSTAR | wcglob.BRACE | wcglob.DOTGLOB | wcglob.MATCHBASE


def search_python(root: Path, target: Path, query: GrepQuery, out: Formatter) -> None:
    """Search ``target`` (file or directory inside ``root``) and feed ``out``; blocking.

    Raises ToolError for an invalid regex or glob.
    """
    try:
        regex = re.compile(query.pattern, re.IGNORECASE if query.case_insensitive else 0)
    except re.error as exc:
        raise ToolError(f"invalid regex {query.pattern!r}: {exc}") from None
    matcher = None
    if query.glob and not target.is_file():
        try:
            matcher = wcglob.compile(query.glob.lstrip("/"), flags=GLOB_FLAGS)
        except ValueError as exc:
            raise ToolError(f"invalid glob {query.glob!r}: {exc}") from None
    for rel in walk_files(root, target):
        if matcher is not None and not matcher.match(rel):
            continue
        if not _search_file(root / rel, rel, regex, query.context, out):
            return


def _search_file(path: Path, rel: str, regex: re.Pattern[str], context: int, out: Formatter) -> bool:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return True
        data = path.read_bytes()
    except OSError:
        return True
    if looks_binary(data):
        return True
    lines = split_lines(data.decode("utf-8", errors="replace"))
    shown = -1
    for i, line in enumerate(lines):
        if not regex.search(line):
            continue
        for j in range(max(i - context, shown + 1), i):
            if not out.add(rel, j + 1, lines[j], False, context):
                return False
        if not out.add(rel, i + 1, line, True, context):
            return False
        shown = i
        end = min(len(lines), i + context + 1)
        for j in range(i + 1, end):
            if regex.search(lines[j]):
                break
            if not out.add(rel, j + 1, lines[j], False, context):
                return False
            shown = j
    return True
