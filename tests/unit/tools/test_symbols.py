"""The ``symbols`` tool on real files: query, path, repo map, errors, index reuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from codetap.index import SymbolIndex
from codetap.tools.base import ToolContext, run_tool
from codetap.tools.registry import make_tools, registered_tools
from codetap.tools.symbols import MAX_RESULTS, SymbolsTool

FILES = {
    "shapes/circle.py": "class Circle:\n    def area(self):\n        return compute_area(self)\n",
    "shapes/util.py": "def compute_area(shape):\n    return 0\n\ndef compute_perimeter(s):\n"
    "    return 0\n",
    "web/view.ts": "export function computeLayout(): number { return 1; }\n",
    "notes.txt": "compute\n",
}


@pytest.fixture
def ws(workspace: Path, ctx: ToolContext, tmp_path: Path) -> Path:
    for rel, text in FILES.items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_text(text)
    ctx.services.index_cache_dir = tmp_path / "index-cache"
    return workspace


async def call(ctx: ToolContext, **args: str) -> str:
    result = await run_tool(SymbolsTool(), dict(args), ctx)
    assert not result.is_error, result.output
    return result.output


async def error(ctx: ToolContext, **args: str) -> str:
    result = await run_tool(SymbolsTool(), dict(args), ctx)
    assert result.is_error
    return result.output


def test_registered() -> None:
    assert registered_tools()["symbols"] is SymbolsTool
    (tool,) = make_tools(["symbols"])
    assert tool.read_only and tool.idempotent and not tool.mutates


async def test_query_lists_matching_definitions(ws: Path, ctx: ToolContext) -> None:
    out = await call(ctx, query="compute_area")
    assert out.splitlines()[0] == (
        "shapes/util.py:1: function compute_area: def compute_area(shape):"
    )
    out = await call(ctx, query="compute")
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "shapes/util.py", "web/view.ts", "shapes/util.py"
    ]
    assert "web/view.ts:1: function computeLayout: export function computeLayout()" in out
    out = await call(ctx, query="compute", path="shapes")
    assert "web/view.ts" not in out and out.count("\n") == 1
    assert await call(ctx, query="nothing_like_this") == "no definitions matching 'nothing_like_this'"


async def test_query_output_is_bounded(ws: Path, ctx: ToolContext) -> None:
    many = "".join(f"def handler_{i}():\n    pass\n" for i in range(MAX_RESULTS + 7))
    (ws / "many.py").write_text(many)
    result = await run_tool(SymbolsTool(), {"query": "handler"}, ctx)
    lines = result.output.splitlines()
    assert len(lines) == MAX_RESULTS + 1
    assert lines[-1] == "(7 more matches not shown; refine the query)"
    assert result.meta == {"count": MAX_RESULTS + 7}


async def test_path_lists_a_files_definitions(ws: Path, ctx: ToolContext) -> None:
    out = await call(ctx, path="shapes/circle.py")
    assert out.splitlines() == [
        "shapes/circle.py:",
        "     1: class Circle: class Circle:",
        "     2: method area: def area(self):",
    ]
    out = await call(ctx, path="shapes")
    assert "shapes/util.py:" in out and "function compute_perimeter" in out


async def test_no_arguments_gives_the_repo_map(ws: Path, ctx: ToolContext) -> None:
    out = await call(ctx)
    assert "shapes/util.py:\n    1: def compute_area(shape):" in out


async def test_errors_are_results(ws: Path, ctx: ToolContext) -> None:
    assert "no such file" in await error(ctx, path="missing.py")
    assert "no symbols for this file type" in await error(ctx, path="notes.txt")
    assert "workspace" in await error(ctx, path="../outside.py")
    assert "blank" in await error(ctx, query="   ")
    assert "invalid arguments" in await error(ctx, other="x")


async def test_index_is_built_once_and_kept_fresh(ws: Path, ctx: ToolContext) -> None:
    await call(ctx, query="Circle")
    index = ctx.services.index
    assert isinstance(index, SymbolIndex) and index.parse_count == 3
    (ws / "shapes/util.py").write_text("def compute_volume(s):\n    return 0\n")
    out = await call(ctx, query="compute")
    assert "compute_volume" in out and "compute_area" not in out
    assert ctx.services.index is index and index.parse_count == 4


async def test_uses_the_runtime_index(ws: Path, ctx: ToolContext, tmp_path: Path) -> None:
    provided = SymbolIndex(ws, tmp_path / "runtime-cache")
    provided.build()
    ctx.services.index = provided
    await call(ctx, query="Circle")
    assert ctx.services.index is provided and provided.parse_count == 3
    # An index of another root is not used (and not replaced).
    other = tmp_path / "other"
    other.mkdir()
    foreign = SymbolIndex(other, tmp_path / "runtime-cache")
    ctx.services.index = foreign
    assert "class Circle" in await call(ctx, query="Circle")
    assert ctx.services.index is foreign
