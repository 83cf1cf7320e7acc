from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from codetap.tools.base import ToolContext, run_tool
from codetap.tools.edit import EditTool
from codetap.tools.read import ReadTool
from codetap.types import ToolResult


async def edit(ctx: ToolContext, **args: Any) -> ToolResult:
    return await run_tool(EditTool(), dict(args), ctx)


async def read(ctx: ToolContext, path: str) -> ToolResult:
    return await run_tool(ReadTool(), {"path": path}, ctx)


async def test_edit_after_read(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "m.py"
    f.write_text("def f():\n    return 1\n")
    before = hashlib.sha256(f.read_bytes()).hexdigest()
    await read(ctx, "m.py")
    result = await edit(ctx, path="m.py", old_string="return 1", new_string="return 2")
    assert not result.is_error, result.output
    assert f.read_text() == "def f():\n    return 2\n"
    assert "     2\t    return 2" in result.output
    assert result.meta["changed_files"] == ["m.py"]
    assert result.meta["sha256_before"] == before
    assert result.meta["sha256_after"] == hashlib.sha256(f.read_bytes()).hexdigest()


async def test_consecutive_edits_without_reread(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "c.txt").write_text("a\nb\nc\n")
    await read(ctx, "c.txt")
    assert not (await edit(ctx, path="c.txt", old_string="a", new_string="A")).is_error
    assert not (await edit(ctx, path="c.txt", old_string="b", new_string="B")).is_error
    assert (workspace / "c.txt").read_text() == "A\nB\nc\n"
    again = await read(ctx, "c.txt")
    assert "A" in again.output and "unchanged" not in again.output


async def test_edit_without_read_refused(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "u.txt").write_text("x\n")
    result = await edit(ctx, path="u.txt", old_string="x", new_string="y")
    assert result.is_error and "has not been read yet" in result.output
    assert (workspace / "u.txt").read_text() == "x\n"


async def test_stale_edit_refused(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "s.txt"
    f.write_text("one\n")
    await read(ctx, "s.txt")
    st = f.stat()
    f.write_text("two\n")  # same size; mtime restored below: only the content differs
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    result = await edit(ctx, path="s.txt", old_string="two", new_string="three")
    assert result.is_error and "changed since it was last read" in result.output
    assert "read it again" in result.output
    assert f.read_text() == "two\n"


async def test_non_unique_and_replace_all(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "d.txt"
    f.write_text("x = 1\ny = 1\nz = 1\n")
    await read(ctx, "d.txt")
    result = await edit(ctx, path="d.txt", old_string="= 1", new_string="= 2")
    assert result.is_error
    assert "matches 3 times" in result.output and "replace_all" in result.output
    assert f.read_text() == "x = 1\ny = 1\nz = 1\n"
    ok = await edit(ctx, path="d.txt", old_string="= 1", new_string="= 2", replace_all=True)
    assert not ok.is_error and "3 replacements" in ok.output
    assert f.read_text() == "x = 2\ny = 2\nz = 2\n"


async def test_not_found_same_and_empty(workspace: Path, ctx: ToolContext) -> None:
    (workspace / "e.txt").write_text("    indented\n")
    await read(ctx, "e.txt")
    nf = await edit(ctx, path="e.txt", old_string="missing", new_string="x")
    assert nf.is_error and "not found" in nf.output
    ws = await edit(ctx, path="e.txt", old_string="indented \n", new_string="x")
    assert ws.is_error and "whitespace" in ws.output
    same = await edit(ctx, path="e.txt", old_string="indented", new_string="indented")
    assert same.is_error and "identical" in same.output
    empty = await edit(ctx, path="e.txt", old_string="", new_string="x")
    assert empty.is_error and "empty" in empty.output
    missing = await edit(ctx, path="gone.txt", old_string="a", new_string="b")
    assert missing.is_error and "file not found" in missing.output


async def test_crlf_and_bom_preserved(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "w.txt"
    f.write_bytes(b"\xef\xbb\xbfone\r\ntwo\r\nthree\r\n")
    await read(ctx, "w.txt")
    result = await edit(ctx, path="w.txt", old_string="one\ntwo", new_string="1\n2\n2.5")
    assert not result.is_error, result.output
    assert f.read_bytes() == b"\xef\xbb\xbf1\r\n2\r\n2.5\r\nthree\r\n"


async def test_non_utf8_refused(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "l.txt"
    f.write_bytes("café\n".encode("latin-1"))
    await read(ctx, "l.txt")
    result = await edit(ctx, path="l.txt", old_string="caf", new_string="kaf")
    assert result.is_error and "not valid UTF-8" in result.output
    assert f.read_bytes() == "café\n".encode("latin-1")


async def test_mode_kept(workspace: Path, ctx: ToolContext) -> None:
    f = workspace / "run.sh"
    f.write_text("echo a\n")
    f.chmod(0o755)
    await read(ctx, "run.sh")
    await edit(ctx, path="run.sh", old_string="a", new_string="b")
    assert f.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in workspace.iterdir()] == ["run.sh"]


async def test_invalid_arguments_rejected(ctx: ToolContext) -> None:
    bad: list[dict[str, Any]] = [{"path": "a", "old_string": "x"}, {"path": "a", "old_string": "x", "new_string": 1},
           {"path": "a", "old_string": "x", "new_string": "y", "replace_all": "yes"}]
    for args in bad:
        result = await run_tool(EditTool(), args, ctx)
        assert result.is_error and "invalid arguments for edit" in result.output
