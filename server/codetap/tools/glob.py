"""The ``glob`` tool: find files by name pattern (ARCHITECTURE.md "Tool contract")."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import ClassVar

from codetap.errors import ToolError
from codetap.tools.base import Tool, ToolContext
from codetap.tools.ignore import walk_files
from codetap.tools.paths import relpath, resolve_in_workspace
from codetap.types import JSON, ToolResult

MAX_RESULTS = 100
def _flags() -> int:
    from wcmatch import glob as wcglob  # imported on first use: keeps runtime start-up fast

    return int(wcglob.GLOBSTAR | wcglob.BRACE | wcglob.DOTGLOB)


class GlobTool(Tool):
    """``glob {pattern, path?}``: files under ``path`` (default: workspace) matching ``pattern``.

    Pattern syntax is wcmatch glob with ``**`` (any depth), ``{a,b}`` and dotfiles matched
    by ``*``; it is matched against the path relative to ``path``, so ``*.py`` only finds
    top-level files and ``**/*.py`` finds them at any depth. Files only (no directories);
    ``.git`` and ``.gitignore``-d files are skipped. Result: workspace-relative POSIX
    paths, newest modification time first (ties alphabetical), at most 100, followed by
    ``(truncated: N more)`` when there were more. ``meta``: ``count`` (all matches).
    """

    name: ClassVar[str] = "glob"
    description: ClassVar[str] = (
        "Find files by glob pattern, e.g. '**/*.py' or 'src/**/test_*.{ts,tsx}'. Returns "
        f"workspace-relative paths, most recently modified first, at most {MAX_RESULTS}. "
        "Skips .git and git-ignored files."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "minLength": 1, "description": "Glob pattern."},
            "path": {
                "type": "string",
                "description": "Directory to search in, relative to the workspace. Default: root.",
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        pattern: str = args["pattern"]
        if pattern.startswith("/") or ".." in pattern.split("/"):
            raise ToolError(
                f"pattern {pattern!r} must be relative and must not contain '..'; "
                "use the path argument to choose the directory"
            )
        base = resolve_in_workspace(ctx.workspace, args.get("path", "."))
        if not base.is_dir():
            what = "is a file" if base.exists() else "does not exist"
            raise ToolError(f"path {relpath(ctx.workspace, base)} {what}; give a directory")
        root = Path(os.path.realpath(ctx.workspace))
        found = await asyncio.to_thread(_find, root, base, pattern)
        if not found:
            return ToolResult(f"No files match {pattern!r}.", meta={"count": 0})
        text = "\n".join(found[:MAX_RESULTS])
        if len(found) > MAX_RESULTS:
            text += f"\n(truncated: {len(found) - MAX_RESULTS} more)"
        return ToolResult(text, meta={"count": len(found)})


def _find(root: Path, base: Path, pattern: str) -> list[str]:
    try:
        from wcmatch import glob as wcglob

        matcher = wcglob.compile(pattern, flags=_flags())
    except ValueError as exc:
        raise ToolError(f"invalid glob pattern {pattern!r}: {exc}") from None
    prefix = len(base.relative_to(root).as_posix()) + 1 if base != root else 0
    hits: list[tuple[int, str]] = []
    for rel in walk_files(root, base):
        if matcher.match(rel[prefix:]):
            try:
                mtime = (root / rel).lstat().st_mtime_ns
            except OSError:
                continue
            hits.append((-mtime, rel))
    hits.sort()
    return [rel for _, rel in hits]
