from __future__ import annotations

import os
from pathlib import Path

from codetap.tools.base import ToolContext, run_tool
from codetap.tools.glob import GlobTool


def touch(path: Path, mtime: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    if mtime is not None:
        os.utime(path, (mtime, mtime))


async def test_globstar_brace_newest_first(workspace: Path, ctx: ToolContext) -> None:
    touch(workspace / "a.py", 1000)
    touch(workspace / "src/b.py", 3000)
    touch(workspace / "src/deep/c.ts", 2000)
    touch(workspace / "src/readme.md", 4000)
    result = await run_tool(GlobTool(), {"pattern": "**/*.{py,ts}"}, ctx)
    assert result.output.splitlines() == ["src/b.py", "src/deep/c.ts", "a.py"]
    top = await run_tool(GlobTool(), {"pattern": "*.py"}, ctx)
    assert top.output.splitlines() == ["a.py"]


async def test_path_argument_and_relative_output(workspace: Path, ctx: ToolContext) -> None:
    touch(workspace / "a.py")
    touch(workspace / "src/b.py")
    result = await run_tool(GlobTool(), {"pattern": "*.py", "path": "src"}, ctx)
    assert result.output.splitlines() == ["src/b.py"]


async def test_skips_git_and_gitignored_includes_dotfiles(workspace: Path, ctx: ToolContext) -> None:
    touch(workspace / ".git/config.py")
    touch(workspace / ".github/ci.py")
    touch(workspace / "build/out.py")
    touch(workspace / "keep.py")
    (workspace / ".gitignore").write_text("build/\n")
    result = await run_tool(GlobTool(), {"pattern": "**/*.py"}, ctx)
    assert sorted(result.output.splitlines()) == [".github/ci.py", "keep.py"]


async def test_truncated_at_100(workspace: Path, ctx: ToolContext) -> None:
    for i in range(130):
        touch(workspace / f"f{i:03}.txt")
    result = await run_tool(GlobTool(), {"pattern": "*.txt"}, ctx)
    lines = result.output.splitlines()
    assert len(lines) == 101
    assert lines[-1] == "(truncated: 30 more)"
    assert result.meta["count"] == 130


async def test_no_match_and_errors(workspace: Path, ctx: ToolContext) -> None:
    touch(workspace / "a.txt")
    none = await run_tool(GlobTool(), {"pattern": "*.rs"}, ctx)
    assert not none.is_error and "No files match" in none.output
    for args in ({"pattern": "../*"}, {"pattern": "/etc/*"}, {"pattern": "*", "path": ".."}):
        result = await run_tool(GlobTool(), args, ctx)
        assert result.is_error, args
    not_dir = await run_tool(GlobTool(), {"pattern": "*", "path": "a.txt"}, ctx)
    assert not_dir.is_error and "is a file" in not_dir.output
    missing = await run_tool(GlobTool(), {"pattern": "*", "path": "nope"}, ctx)
    assert missing.is_error and "does not exist" in missing.output


async def test_invalid_arguments_rejected(ctx: ToolContext) -> None:
    for args in ({}, {"pattern": ""}, {"pattern": "*", "extra": True}):
        result = await run_tool(GlobTool(), args, ctx)
        assert result.is_error and "invalid arguments for glob" in result.output


async def test_explicit_ignored_directory_is_listed(workspace: Path, ctx: ToolContext) -> None:
    touch(workspace / "build/out.py")
    (workspace / ".gitignore").write_text("build/\n")
    result = await run_tool(GlobTool(), {"pattern": "*", "path": "build"}, ctx)
    assert result.output == "build/out.py"
