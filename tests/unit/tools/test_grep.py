from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from codetap.tools.base import ToolContext, run_tool
from codetap.tools.grep import GrepTool
from codetap.types import ToolResult

RG = shutil.which("rg")
ENGINES = [pytest.param("rg", marks=pytest.mark.skipif(RG is None, reason="rg not installed")),
           pytest.param(None, id="python")]


@pytest.fixture
def tree(workspace: Path) -> Path:
    files = {
        "src/app.py": "import os\n\ndef main():\n    print('Hello')\n    return os.getcwd()\n",
        "src/util.py": "def helper():\n    return 'hello world'\n",
        "src/a/b.py": "HELLO = 1\n",
        "src/a.txt": "hello from a.txt\n",
        "docs/notes.md": "one\ntwo\nhello\nthree\nfour\nfive\nsix\nhello again\n",
        ".github/ci.yml": "run: echo hello\n",
        "build/gen.py": "hello = 'generated'\n",
        ".git/HEAD": "hello ref\n",
        "crlf.txt": "hello\r\nbye\r\n",
        "ignored.log": "hello log\n",
        "sub/.gitignore": "*.tmp\n",
        "sub/x.tmp": "hello tmp\n",
        "sub/x.keep": "hello keep\n",
    }
    for rel, text in files.items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_bytes(text.encode())
    (workspace / ".gitignore").write_text("build/\n*.log\n")
    (workspace / "blob.bin").write_bytes(b"hello\x00\x01\x02")
    return workspace


async def grep(engine: str | None, ctx: ToolContext, **args: Any) -> ToolResult:
    return await run_tool(GrepTool(rg_path=engine), dict(args), ctx)


@pytest.mark.parametrize("engine", ENGINES)
async def test_basic_search_skips_git_ignored_binary(
    engine: str | None, tree: Path, ctx: ToolContext
) -> None:
    result = await grep(engine, ctx, pattern="hello")
    assert result.meta["engine"] == ("rg" if engine else "python")
    assert result.output.splitlines() == [
        ".github/ci.yml:1:run: echo hello",
        "crlf.txt:1:hello",
        "docs/notes.md:3:hello",
        "docs/notes.md:8:hello again",
        "src/a.txt:1:hello from a.txt",
        "src/util.py:2:    return 'hello world'",
        "sub/x.keep:1:hello keep",
    ]


@pytest.mark.parametrize("engine", ENGINES)
async def test_case_insensitive_glob_and_path(
    engine: str | None, tree: Path, ctx: ToolContext
) -> None:
    ci = await grep(engine, ctx, pattern="hello", case_insensitive=True, glob="*.py")
    assert ci.output.splitlines() == [
        "src/a/b.py:1:HELLO = 1",
        "src/app.py:4:    print('Hello')",
        "src/util.py:2:    return 'hello world'",
    ]
    in_dir = await grep(engine, ctx, pattern="hel+o", path="docs")
    assert in_dir.output.splitlines() == ["docs/notes.md:3:hello", "docs/notes.md:8:hello again"]
    one_file = await grep(engine, ctx, pattern="return", path="src/app.py")
    assert one_file.output == "src/app.py:5:    return os.getcwd()"
    anchored = await grep(engine, ctx, pattern="hello", glob="src/*.txt")
    assert anchored.output == "src/a.txt:1:hello from a.txt"


@pytest.mark.parametrize("engine", ENGINES)
async def test_context_lines_and_separators(
    engine: str | None, tree: Path, ctx: ToolContext
) -> None:
    result = await grep(engine, ctx, pattern="hello", path="docs", context=1)
    assert result.output.splitlines() == [
        "docs/notes.md-2-two",
        "docs/notes.md:3:hello",
        "docs/notes.md-4-three",
        "--",
        "docs/notes.md-7-six",
        "docs/notes.md:8:hello again",
    ]


@pytest.mark.parametrize("engine", ENGINES)
async def test_no_match_invalid_regex_missing_path(
    engine: str | None, tree: Path, ctx: ToolContext
) -> None:
    none = await grep(engine, ctx, pattern="zebra")
    assert not none.is_error and none.output == "No matches for 'zebra'."
    bad = await grep(engine, ctx, pattern="foo(")
    assert bad.is_error and "invalid regex 'foo('" in bad.output
    missing = await grep(engine, ctx, pattern="x", path="nope")
    assert missing.is_error and "path not found: nope" in missing.output
    escape = await grep(engine, ctx, pattern="x", path="../..")
    assert escape.is_error and "leaves the workspace" in escape.output


@pytest.mark.parametrize("engine", ENGINES)
async def test_huge_output_capped_and_long_lines_cut(
    engine: str | None, workspace: Path, ctx: ToolContext
) -> None:
    (workspace / "big.txt").write_text("".join(f"match {i}\n" for i in range(50_000)))
    (workspace / "wide.txt").write_text("match " + "y" * 1000 + "\n")
    ctx.output_cap_bytes = 4000
    result = await grep(engine, ctx, pattern="match")
    assert len(result.output.encode()) < 4400
    assert result.meta["truncated"] is True
    assert "(truncated: output capped at 4000 bytes" in result.output
    wide = await grep(engine, ctx, pattern="match", path="wide.txt")
    assert "[line cut: 706 more chars]" in wide.output


@pytest.fixture
def source_repo(workspace: Path) -> Path:
    """A git repository holding a copy of codetap's sources, models/ git-ignored."""
    src = Path(__file__).resolve().parents[3] / "server" / "codetap"
    shutil.copytree(src, workspace / "codetap", ignore=shutil.ignore_patterns("__pycache__"))
    (workspace / ".gitignore").write_text("codetap/models/\n")
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    return workspace


@pytest.mark.skipif(RG is None, reason="rg not installed")
async def test_engines_agree_on_a_real_tree(source_repo: Path) -> None:
    """Both engines over a real source tree give identical output."""
    ctx = ToolContext(workspace=source_repo)
    for args in ({"pattern": r"def \w+\(", "glob": "*.py"},
                 {"pattern": "tool", "case_insensitive": True, "context": 2},
                 {"pattern": "import", "path": "codetap/tools", "context": 1}):
        via_rg = await grep("rg", ctx, **args)
        via_py = await grep(None, ctx, **args)
        assert via_rg.output == via_py.output
        assert via_rg.meta["matches"] > 5
        assert "codetap/models/" not in via_rg.output


async def test_missing_rg_falls_back_to_python(tree: Path, ctx: ToolContext) -> None:
    result = await grep("/nonexistent/rg", ctx, pattern="hello", path="docs")
    assert result.meta["engine"] == "python" and "docs/notes.md:3:hello" in result.output


async def test_invalid_arguments_rejected(ctx: ToolContext) -> None:
    for args in ({"pattern": "x", "context": -1}, {"pattern": "x", "context": 99}, {"path": "."}):
        result = await run_tool(GrepTool(), args, ctx)
        assert result.is_error and "invalid arguments for grep" in result.output


@pytest.mark.parametrize("engine", ENGINES)
async def test_explicitly_named_ignored_paths_are_searched(
    engine: str | None, tree: Path, ctx: ToolContext
) -> None:
    in_dir = await grep(engine, ctx, pattern="hello", path="build")
    assert in_dir.output == "build/gen.py:1:hello = 'generated'"
    one_file = await grep(engine, ctx, pattern="hello", path="ignored.log")
    assert one_file.output == "ignored.log:1:hello log"
