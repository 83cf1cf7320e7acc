"""The ``ask`` tool: put a question to the user and wait for the answer.

The runtime supplies ``ctx.services.ask`` (an async callable ``(question, options) ->
answer``); while it waits the task is ``waiting`` (ARCHITECTURE.md "Tasks"). The question is
journaled as the call's intent, so it is asked again after a daemon restart.
"""

from __future__ import annotations

from typing import ClassVar

from codetap.errors import ToolError
from codetap.tools.base import Tool, ToolContext
from codetap.tools.registry import register_tool
from codetap.types import JSON, ToolResult


@register_tool
class AskTool(Tool):
    """Ask the user a question (optionally with choices) and return the answer."""

    name = "ask"
    description = (
        "Ask the user a question when the task cannot be done without their decision. "
        "The task waits until they answer. Give `options` when the answer is a choice."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "question": {"type": "string", "minLength": 1},
            "options": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
        },
        "required": ["question"],
        "additionalProperties": False,
    }
    read_only = False
    idempotent = True

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        ask = ctx.services.ask
        if ask is None:
            raise ToolError("no user is reachable to answer questions in this run; decide yourself")
        answer = await ask(args["question"], args.get("options"))
        return ToolResult(f"the user answered: {answer}")
