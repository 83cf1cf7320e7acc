"""The ``todo`` and ``finish`` tools (ARCHITECTURE.md "Tool contract")."""

from __future__ import annotations

from typing import ClassVar

from codetap.errors import Submitted
from codetap.tools.base import Tool, ToolContext
from codetap.types import JSON, ToolResult

STATUSES = ("pending", "in_progress", "done")
_MARKS = {"pending": "[ ]", "in_progress": "[>]", "done": "[x]"}


def render_todo(items: list[JSON]) -> str:
    """One line per item: ``[ ]`` pending, ``[>]`` in progress, ``[x]`` done."""
    if not items:
        return "(plan is empty)"
    return "\n".join(f"{_MARKS[item['status']]} {item['text']}" for item in items)


class TodoTool(Tool):
    """``todo {items: [{text, status}]}``: replace the task's plan (``ctx.todo``).

    ``status`` is ``pending`` | ``in_progress`` | ``done``. Returns the rendered plan
    (see :func:`render_todo`); ``meta``: ``todo`` (the items), ``done``, ``total``.
    Not read-only: it changes task state shown in the editor, so calls stay ordered;
    idempotent: setting the same list twice leaves the same state.
    """

    name: ClassVar[str] = "todo"
    description: ClassVar[str] = (
        "Set the task's plan: the complete list of steps, each with a status "
        "(pending, in_progress, done). Send the whole list every time; it replaces the old one."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "minLength": 1},
                        "status": {"type": "string", "enum": list(STATUSES)},
                    },
                    "required": ["text", "status"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["items"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False
    idempotent: ClassVar[bool] = True
    mutates: ClassVar[bool] = False

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        items = [{"text": i["text"], "status": i["status"]} for i in args["items"]]
        ctx.todo = items
        done = sum(1 for i in items if i["status"] == "done")
        return ToolResult(
            f"Plan updated ({done}/{len(items)} done):\n{render_todo(items)}",
            meta={"todo": items, "done": done, "total": len(items)},
        )


class FinishTool(Tool):
    """``finish {summary}``: end the role's run by raising :class:`Submitted` (summary).

    Never returns a result; :func:`codetap.tools.base.run_tool` lets TaskStop propagate.
    """

    name: ClassVar[str] = "finish"
    description: ClassVar[str] = (
        "Call when the work is complete, with a short summary of what was changed and why "
        "(and anything left undone). This ends your run."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "minLength": 1, "description": "What was done."},
        },
        "required": ["summary"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False
    idempotent: ClassVar[bool] = True
    mutates: ClassVar[bool] = False

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        raise Submitted(args["summary"])
