from __future__ import annotations

import pytest

from codetap.errors import Submitted
from codetap.tools.base import ToolContext, run_tool
from codetap.tools.plan import FinishTool, TodoTool


async def test_todo_sets_ctx_and_renders(ctx: ToolContext) -> None:
    items = [
        {"text": "read the parser", "status": "done"},
        {"text": "allow trailing commas", "status": "in_progress"},
        {"text": "add tests", "status": "pending"},
    ]
    result = await run_tool(TodoTool(), {"items": items}, ctx)
    assert not result.is_error
    assert ctx.todo == items
    assert result.output == (
        "Plan updated (1/3 done):\n"
        "[x] read the parser\n[>] allow trailing commas\n[ ] add tests"
    )
    replaced = await run_tool(TodoTool(), {"items": []}, ctx)
    assert ctx.todo == [] and "(plan is empty)" in replaced.output


async def test_todo_rejects_bad_items(ctx: ToolContext) -> None:
    ctx.todo = [{"text": "keep", "status": "pending"}]
    for items in (
        [{"text": "x", "status": "started"}],
        [{"text": "x"}],
        [{"text": "x", "status": "done", "owner": "me"}],
        "not a list",
    ):
        result = await run_tool(TodoTool(), {"items": items}, ctx)
        assert result.is_error and "invalid arguments for todo" in result.output
    assert ctx.todo == [{"text": "keep", "status": "pending"}]


async def test_finish_raises_submitted(ctx: ToolContext) -> None:
    with pytest.raises(Submitted) as info:
        await run_tool(FinishTool(), {"summary": "made commas optional"}, ctx)
    assert info.value.summary == "made commas optional"
    empty = await run_tool(FinishTool(), {"summary": ""}, ctx)
    assert empty.is_error and "invalid arguments for finish" in empty.output
