"""The ``lsp`` tool end to end: real basedpyright through the pool, compact text results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from codetap.index import SymbolIndex
from codetap.pool import LspPool, default_specs, merge_specs
from codetap.tools.base import Services, ToolContext, run_tool
from codetap.tools.lsp import MAX_RESULTS, PARTIAL_NOTE, LspTool
from codetap.tools.registry import registered_tools
from tests.unit.pool.conftest import needs_basedpyright
from tests.unit.pool.project import area_references, make_project

FILLERS = 30
pytestmark = [needs_basedpyright, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("tool").resolve(), fillers=FILLERS)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[LspPool]:
    p = LspPool(default_specs(), ready_timeout_s=30.0)
    try:
        yield p
    finally:
        await p.shutdown()


def context(root: Path, **services: Any) -> ToolContext:
    return ToolContext(workspace=root, services=Services(**services))


async def test_registered() -> None:
    assert registered_tools()["lsp"] is LspTool


async def test_definition_is_one_compact_line(root: Path, pool: LspPool) -> None:
    args = {"operation": "definition", "path": "pkg/cli.py", "line": 6, "character": 31}
    result = await run_tool(LspTool(), args, context(root, pool=pool))
    assert not result.is_error
    assert result.output == (
        "definition (1 result):\npkg/geometry.py:1: def area(width: float, height: float) -> float:"
    )
    assert result.meta == {"server": "basedpyright", "partial": False, "count": 1}


async def test_references_are_bounded(root: Path, pool: LspPool) -> None:
    args = {"operation": "references", "path": "pkg/geometry.py", "line": 1, "character": 5}
    result = await run_tool(LspTool(), args, context(root, pool=pool))
    lines = result.output.splitlines()
    total = area_references(FILLERS)
    assert lines[0] == f"references ({total} results):"
    assert "pkg/report.py:5: return area(1, 2) + area(3, 4)" in lines
    assert len(lines) == 1 + MAX_RESULTS + 1
    assert lines[-1] == f"({total - MAX_RESULTS} more)"
    assert PARTIAL_NOTE not in result.output


async def test_calls_symbols_hover_diagnostics(root: Path, pool: LspPool) -> None:
    ctx = context(root, pool=pool)
    incoming = await run_tool(
        LspTool(),
        {"operation": "incoming_calls", "path": "pkg/geometry.py", "line": 1, "character": 5},
        ctx,
    )
    assert "pkg/geometry.py:11: [size] return area(self.width, self.height)" in incoming.output
    outline = await run_tool(
        LspTool(), {"operation": "document_symbols", "path": "pkg/geometry.py"}, ctx
    )
    assert "Shape (class) pkg/geometry.py:5" in outline.output
    assert "  describe (method) pkg/geometry.py:13" in outline.output
    hover = await run_tool(
        LspTool(), {"operation": "hover", "path": "pkg/report.py", "line": 4, "character": 5}, ctx
    )
    assert "def total() -> float" in hover.output
    diags = await run_tool(LspTool(), {"operation": "diagnostics", "path": "pkg/cli.py"}, ctx)
    assert diags.output == "no diagnostics for pkg/cli.py"


async def test_partial_answers_say_so(root: Path) -> None:
    hurried = LspPool(default_specs(), ready_timeout_s=0.0)
    try:
        args = {"operation": "references", "path": "pkg/geometry.py", "line": 1, "character": 5}
        result = await run_tool(LspTool(), args, context(root, pool=hurried))
        assert result.output.splitlines()[0] == PARTIAL_NOTE
        assert result.meta["partial"] is True
    finally:
        await hurried.shutdown()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"operation": "definition", "path": "pkg/nope.py", "line": 1, "character": 1},
            "no such file",
        ),
        (
            {"operation": "definition", "path": "../x.py", "line": 1, "character": 1},
            "leaves the workspace",
        ),
        (
            {"operation": "definition", "path": "pkg/cli.py", "line": 70, "character": 1},
            "past the end",
        ),
        ({"operation": "rename", "path": "pkg/cli.py", "line": 1, "character": 1}, "operation"),
        ({"operation": "definition", "path": "pkg/cli.py", "line": 0, "character": 1}, "line"),
        (
            {"operation": "definition", "path": "pyproject.toml", "line": 1, "character": 1},
            "no language server is configured for .toml files",
        ),
    ],
)
async def test_bad_input_is_a_clear_error(
    root: Path, pool: LspPool, args: dict[str, object], message: str
) -> None:
    result = await run_tool(LspTool(), args, context(root, pool=pool))
    assert result.is_error
    assert message in result.output


async def test_missing_server_without_index(root: Path) -> None:
    specs = merge_specs(
        default_specs(), {"servers": {"basedpyright": {"command": ["codetap-none"]}}}
    )
    missing = LspPool(specs)
    args = {"operation": "definition", "path": "pkg/cli.py", "line": 6, "character": 31}
    result = await run_tool(LspTool(), args, context(root, pool=missing))
    assert result.is_error
    assert (
        "basedpyright is not installed" in result.output
        and "pip install basedpyright" in result.output
    )
    no_pool = await run_tool(LspTool(), args, context(root))
    assert no_pool.is_error and "no language server pool" in no_pool.output


async def test_missing_server_falls_back_to_the_index(root: Path, tmp_path: Path) -> None:
    index = SymbolIndex(root, tmp_path / "cache", workers=1)
    index.build()
    specs = merge_specs(
        default_specs(), {"servers": {"basedpyright": {"command": ["codetap-none"]}}}
    )
    ctx = context(root, pool=LspPool(specs), index=index)
    args = {"operation": "definition", "path": "pkg/cli.py", "line": 6, "character": 31}
    result = await run_tool(LspTool(), args, ctx)
    assert not result.is_error
    lines = result.output.splitlines()
    assert "basedpyright is not installed" in lines[0] and "syntax index" in lines[0]
    assert lines[1] == "pkg/geometry.py:1: def area(width: float, height: float) -> float:"
    refs = await run_tool(LspTool(), {**args, "operation": "references"}, ctx)
    assert "pkg/report.py:5: return area(1, 2) + area(3, 4)" in refs.output
    hover = await run_tool(LspTool(), {**args, "operation": "hover"}, ctx)
    assert hover.is_error and "cannot answer for this file" in hover.output
