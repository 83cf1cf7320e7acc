from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from codetap.tools.base import ToolContext, run_tool
from codetap.tools.read import ReadTool
from codetap.types import ToolResult


async def read(ctx: ToolContext, **args: Any) -> ToolResult:
    return await run_tool(ReadTool(), dict(args), ctx)


async def test_numbered_lines_and_read_recorded(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "a.py").write_text("first\nsecond\n")
    result = await read(ctx, path="a.py")
    assert not result.is_error
    assert result.output == "     1\tfirst\n     2\tsecond"
    seen = ctx.reads["a.py"]
    assert (seen.offset, seen.limit, seen.size) == (1, 2000, 13)


async def test_offset_limit_and_truncation_hint(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    result = await read(ctx, path="n.txt", offset=3, limit=4)
    lines = result.output.splitlines()
    assert lines[:4] == ["     3\tline 3", "     4\tline 4", "     5\tline 5", "     6\tline 6"]
    assert "showing lines 3-6 of 10" in result.output
    assert "offset=7" in result.output
    tail = await read(ctx, path="n.txt", offset=9)
    assert tail.output == "     9\tline 9\n    10\tline 10"


async def test_offset_past_end_is_error(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "s.txt").write_text("one\n")
    result = await read(ctx, path="s.txt", offset=5)
    assert result.is_error and "past the end" in result.output and "1 lines" in result.output


async def test_long_line_cut(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "long.txt").write_text("x" * 5000 + "\n")
    result = await read(ctx, path="long.txt")
    assert "line cut: 3000 more chars" in result.output
    assert len(result.output) < 2100


async def test_unchanged_reread_gives_stub(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "a.txt"
    f.write_text("hello\n")
    first = await read(ctx, path="a.txt")
    again = await read(ctx, path="a.txt")
    assert "hello" in first.output
    assert "unchanged since last read" in again.output and "hello" not in again.output
    other_range = await read(ctx, path="a.txt", limit=1)
    assert "hello" in other_range.output
    f.write_text("hello world\n")
    changed = await read(ctx, path="a.txt", limit=1)
    assert "hello world" in changed.output


async def test_touch_with_same_size_rereads(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "a.txt"
    f.write_text("aaaa\n")
    await read(ctx, path="a.txt")
    f.write_text("bbbb\n")
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert "bbbb" in (await read(ctx, path="a.txt")).output


async def test_binary_file_refused_without_dump(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "img.bin").write_bytes(b"\x89PNG\r\n\x00\x00\xffsecret-bytes")
    result = await read(ctx, path="img.bin")
    assert result.is_error and "binary file" in result.output
    assert "secret-bytes" not in result.output
    assert "img.bin" not in ctx.reads


async def test_directory_and_missing_file(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "src").mkdir()
    d = await read(ctx, path="src")
    assert d.is_error and "is a directory" in d.output and "glob" in d.output
    m = await read(ctx, path="nope.txt")
    assert m.is_error and "file not found: nope.txt" in m.output


async def test_empty_and_non_utf8(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "e.txt").write_bytes(b"")
    assert "(empty file)" in (await read(ctx, path="e.txt")).output
    (workspace / "l1.txt").write_bytes("café\n".encode("latin-1"))
    result = await read(ctx, path="l1.txt")
    assert not result.is_error and "not valid UTF-8" in result.output


async def test_crlf_shown_without_carriage_returns(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "w.txt").write_bytes(b"a\r\nb\r\n")
    assert (await read(ctx, path="w.txt")).output == "     1\ta\n     2\tb"


async def test_escape_refused(workspace: Path, ctx: ToolContext) -> None:
    result = await read(ctx, path="../../etc/passwd")
    assert result.is_error and "leaves the workspace" in result.output


async def test_invalid_arguments_rejected(ctx: ToolContext) -> None:
    for args in ({}, {"path": "a", "offset": 0}, {"path": "a", "bogus": 1}, {"path": 3}):
        result = await run_tool(ReadTool(), args, ctx)
        assert result.is_error and "invalid arguments for read" in result.output
