"""Per-role ``finish`` tools: the structured hand-off a role ends with (ARCHITECTURE.md
"Teams and scheduler").

Each is offered to the model as ``finish`` with the role's own arguments and raises
:class:`Submitted` with the summary and the rest of the arguments as ``handoff``:
  ``plan``     {summary, subtasks: [{intent, files: [path]}], acceptance: [str]}
  ``verdict``  {summary, verdict: approve | changes_requested,
                comments: [{path, line?, comment}]}
  ``tests``    {summary, passed: bool, output?}
  ``summary``  {summary}   (the plain :class:`codetap.tools.plan.FinishTool`)
"""

from __future__ import annotations

from typing import ClassVar

from codetap.errors import Submitted
from codetap.tools.base import Tool, ToolContext
from codetap.tools.plan import FinishTool
from codetap.types import JSON, ToolResult

_SUMMARY: JSON = {"type": "string", "minLength": 1, "description": "What you did and found."}


class _HandoffFinish(FinishTool):
    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        rest = {k: v for k, v in args.items() if k != "summary"}
        raise Submitted(args["summary"], rest)


class PlanFinish(_HandoffFinish):
    """The planner's ``finish {summary, subtasks, acceptance}``."""

    description: ClassVar[str] = (
        "Call when the plan is ready. This ends your run and hands the plan to the coder.")
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "summary": {**_SUMMARY, "description": "The approach in a few sentences."},
            "subtasks": {"type": "array", "minItems": 1, "items": {
                "type": "object",
                "properties": {"intent": {"type": "string", "minLength": 1},
                               "files": {"type": "array", "items": {"type": "string"}}},
                "required": ["intent"], "additionalProperties": False}},
            "acceptance": {"type": "array", "items": {"type": "string"},
                           "description": "Checks that tell the task is done."},
        },
        "required": ["summary", "subtasks"],
        "additionalProperties": False,
    }


class VerdictFinish(_HandoffFinish):
    """The reviewer's ``finish {summary, verdict, comments}``."""

    description: ClassVar[str] = (
        "Call when the review is done, with your verdict and located comments. This ends "
        "your run; with changes_requested the comments go back to the coder.")
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "summary": _SUMMARY,
            "verdict": {"enum": ["approve", "changes_requested"]},
            "comments": {"type": "array", "items": {
                "type": "object",
                "properties": {"path": {"type": "string"},
                               "line": {"type": "integer", "minimum": 1},
                               "comment": {"type": "string", "minLength": 1}},
                "required": ["comment"], "additionalProperties": False}},
        },
        "required": ["summary", "verdict"],
        "additionalProperties": False,
    }


class TestsFinish(_HandoffFinish):
    """The tester's ``finish {summary, passed, output}``."""

    description: ClassVar[str] = "Call when the checks have run, with their result."
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {"summary": _SUMMARY, "passed": {"type": "boolean"},
                       "output": {"type": "string"}},
        "required": ["summary", "passed"],
        "additionalProperties": False,
    }


FINISH_TOOLS: dict[str, type[FinishTool]] = {
    "summary": FinishTool, "plan": PlanFinish, "verdict": VerdictFinish, "tests": TestsFinish}


def finish_for(handoff: str) -> Tool:
    """The ``finish`` tool of a role whose hand-off is ``handoff``; KeyError if unknown."""
    return FINISH_TOOLS[handoff]()
