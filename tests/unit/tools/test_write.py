from __future__ import annotations

import hashlib
import os
from pathlib import Path

from codetap.tools.base import ToolContext, run_tool
from codetap.tools.edit import EditTool
from codetap.tools.read import ReadTool
from codetap.tools.write import WriteTool


async def test_create_with_parents(workspace: Path, ctx: ToolContext) -> None:
    result = await run_tool(WriteTool(), {"path": "new/dir/f.txt", "content": "hi\n"}, ctx)
    assert not result.is_error, result.output
    assert (workspace / "new/dir/f.txt").read_text() == "hi\n"
    assert result.output.startswith("Created new/dir/f.txt (1 lines")
    assert result.meta["sha256_before"] is None
    assert result.meta["sha256_after"] == hashlib.sha256(b"hi\n").hexdigest()
    assert result.meta["changed_files"] == ["new/dir/f.txt"]
    # the model knows what it wrote: an edit right after needs no read
    edited = await run_tool(
        EditTool(), {"path": "new/dir/f.txt", "old_string": "hi", "new_string": "ho"}, ctx
    )
    assert not edited.is_error and (workspace / "new/dir/f.txt").read_text() == "ho\n"


async def test_overwrite_requires_read(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "a.txt"
    f.write_text("old\n")
    refused = await run_tool(WriteTool(), {"path": "a.txt", "content": "new\n"}, ctx)
    assert refused.is_error and "has not been read" in refused.output
    assert f.read_text() == "old\n"
    await run_tool(ReadTool(), {"path": "a.txt"}, ctx)
    ok = await run_tool(WriteTool(), {"path": "a.txt", "content": "new\n"}, ctx)
    assert not ok.is_error and ok.output.startswith("Overwrote a.txt")
    assert ok.meta["sha256_before"] == hashlib.sha256(b"old\n").hexdigest()
    assert f.read_text() == "new\n"


async def test_overwrite_stale_refused(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "a.txt"
    f.write_text("old\n")
    await run_tool(ReadTool(), {"path": "a.txt"}, ctx)
    f.write_text("other\n")
    result = await run_tool(WriteTool(), {"path": "a.txt", "content": "new\n"}, ctx)
    assert result.is_error and "changed since" in result.output
    assert f.read_text() == "other\n"


async def test_crlf_kept_on_overwrite(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "w.txt"
    f.write_bytes(b"a\r\nb\r\n")
    await run_tool(ReadTool(), {"path": "w.txt"}, ctx)
    await run_tool(WriteTool(), {"path": "w.txt", "content": "x\ny\n"}, ctx)
    assert f.read_bytes() == b"x\r\ny\r\n"


async def test_directory_escape_and_symlink_escape(
    workspace: Path, tmp_path: Path, ctx: ToolContext
) -> None:
    (workspace / "d").mkdir()
    assert (await run_tool(WriteTool(), {"path": "d", "content": "x"}, ctx)).is_error
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, workspace / "out")
    result = await run_tool(WriteTool(), {"path": "out/pwn.txt", "content": "x"}, ctx)
    assert result.is_error and "symlink" in result.output
    esc = await run_tool(WriteTool(), {"path": "../pwn.txt", "content": "x"}, ctx)
    assert esc.is_error
    assert list(outside.iterdir()) == [] and not (tmp_path / "pwn.txt").exists()


async def test_invalid_arguments_rejected(ctx: ToolContext) -> None:
    result = await run_tool(WriteTool(), {"path": "a"}, ctx)
    assert result.is_error and "invalid arguments for write" in result.output
    assert "content" in result.output
