"""ripgrep engine for ``grep``: runs ``rg --json`` and feeds its events to the formatter.

Reads ripgrep's JSON Lines output (message types ``begin``, ``match``, ``context``,
``end``, ``summary``; text as ``{"text": ...}`` or base64 ``{"bytes": ...}``). The
process is killed as soon as the output cap is reached or the caller is cancelled.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from pathlib import Path
from typing import Any

from codetap.errors import ToolError
from codetap.tools.grep_output import Formatter, GrepQuery

MAX_JSON_LINE = 64 * 1024 * 1024


def rg_command(rg: str, root: Path, target: Path, query: GrepQuery) -> list[str]:
    """The ripgrep argv (run with cwd ``root``) for ``query`` over ``target``."""
    cmd = [rg, "--json", "--hidden", "--no-require-git", "--sort", "path", "--max-filesize", "50M"]
    if query.case_insensitive:
        cmd.append("--ignore-case")
    if query.context:
        cmd += ["--context", str(query.context)]
    if query.glob:
        cmd += ["--glob", query.glob.lstrip("/")]
    cmd += ["--glob", "!.git", "--regexp", query.pattern, "--"]
    if target != root:
        cmd.append(target.relative_to(root).as_posix())
    return cmd


async def search_rg(rg: str, root: Path, target: Path, query: GrepQuery, out: Formatter) -> None:
    """Run ripgrep and feed ``out``. Raises ToolError with ripgrep's message on exit code 2
    and nothing found (e.g. a regex syntax error)."""
    proc = await asyncio.create_subprocess_exec(
        *rg_command(rg, root, target, query),
        cwd=root,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=MAX_JSON_LINE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr_task = asyncio.ensure_future(proc.stderr.read(64 * 1024))
    try:
        while line := await proc.stdout.readline():
            event = json.loads(line)
            kind = event.get("type")
            if kind not in ("match", "context"):
                continue
            data = event["data"]
            path = _text(data["path"]).removeprefix("./")
            lines = _text(data["lines"]).removesuffix("\n").removesuffix("\r").split("\n")
            for k, text in enumerate(lines):
                number = int(data["line_number"]) + k
                if not out.add(path, number, text.removesuffix("\r"), kind == "match",
                               query.context):
                    return
        code = await proc.wait()
        stderr = (await stderr_task).decode("utf-8", errors="replace").strip()
        if code == 2 and not out.lines:
            if "regex parse error" in stderr:
                detail = stderr.removeprefix("regex parse error:").strip()
                raise ToolError(f"invalid regex {query.pattern!r}: {detail}")
            raise ToolError(f"grep failed: {stderr or 'ripgrep exited with status 2'}")
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())
        stderr_task.cancel()


def _text(field: dict[str, Any]) -> str:
    if "text" in field:
        return str(field["text"])
    return base64.b64decode(field["bytes"]).decode("utf-8", errors="replace")
