"""The ``grep`` tool: regex search over file contents (ARCHITECTURE.md "Tool contract").

Uses ripgrep (``rg --json``) when available and a pure-Python search otherwise; both
produce the same text (see :mod:`codetap.tools.grep_output`).
"""

from __future__ import annotations

import asyncio
import shutil
from typing import ClassVar

from codetap.errors import ToolError
from codetap.tools.base import Tool, ToolContext
from codetap.tools.grep_output import Formatter, GrepQuery
from codetap.tools.grep_python import search_python
from codetap.tools.grep_rg import search_rg
from codetap.tools.paths import relpath, resolve_in_workspace
from codetap.types import JSON, ToolResult

MAX_CONTEXT = 20


class GrepTool(Tool):
    """``grep {pattern, path?, glob?, case_insensitive?, context?}``: lines matching a regex.

    ``rg_path`` is the ripgrep executable (name looked up on PATH, or a path); ``None``
    or an executable that cannot be found selects the pure-Python search. Both skip
    ``.git``, git-ignored, binary and symlinked files, search hidden files, and list
    results by path. Output lines are ``path:line:text`` for matches and ``path-line-text``
    for ``context`` lines, ``--`` between separate groups; lines are cut at 300 characters
    and the whole output at ``ctx.output_cap_bytes`` with a note. ``glob`` filters files
    by workspace-relative path (a pattern without ``/`` matches file names at any depth);
    it does not apply when ``path`` is a single file. ``meta``: ``matches``
    (shown), ``truncated``, ``engine`` ("rg" or "python").
    Errors (ToolError): invalid regex, path missing.

    Known difference: ripgrep also reads ``.gitignore`` files *above* the workspace when
    the workspace is not a git repository (a task worktree is one, so it stops there),
    and ripgrep and Python regex syntax differ in rare constructs.
    """

    name: ClassVar[str] = "grep"
    description: ClassVar[str] = (
        "Search file contents with a regular expression (ripgrep syntax). Returns "
        "'path:line:text' for matching lines ('path-line-text' for context lines). "
        "Skips .git and git-ignored files. Narrow with path and glob (e.g. '*.py')."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "minLength": 1, "description": "Regular expression."},
            "path": {
                "type": "string",
                "description": "File or directory to search, relative to the workspace.",
            },
            "glob": {
                "type": "string",
                "minLength": 1,
                "description": "Only search files matching this glob, e.g. '*.py' or 'src/**/*.ts'.",
            },
            "case_insensitive": {"type": "boolean", "description": "Ignore case. Default false."},
            "context": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_CONTEXT,
                "description": "Lines of context before and after each match. Default 0.",
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }

    def __init__(self, rg_path: str | None = "rg") -> None:
        self.rg_path = rg_path

    def engine(self) -> str | None:
        """The ripgrep executable to use, or None for the pure-Python search."""
        return shutil.which(self.rg_path) if self.rg_path else None

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        root = resolve_in_workspace(ctx.workspace, ".")
        target = resolve_in_workspace(ctx.workspace, args.get("path", "."))
        if not target.exists():
            raise ToolError(f"path not found: {relpath(root, target)}")
        query = GrepQuery(
            pattern=args["pattern"],
            glob=args.get("glob"),
            case_insensitive=args.get("case_insensitive", False),
            context=args.get("context", 0),
        )
        out = Formatter(ctx.output_cap_bytes)
        rg = self.engine()
        if rg is not None:
            await search_rg(rg, root, target, query, out)
        else:
            await asyncio.to_thread(search_python, root, target, query, out)
        return ToolResult(
            out.render(query.pattern),
            meta={"matches": out.matches, "truncated": out.truncated,
                  "engine": "rg" if rg else "python"},
        )
