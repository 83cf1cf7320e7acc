"""``GET /v1/tasks/{id}/question``: the question a waiting task asks, for the panel's
answer box: ``{kind: "question" | "approval", question, options: [str] | null}``, all three null
when the task asks nothing now (200: a browser logs every 4xx answer as an error); 404 for
an unknown task.

The ``ask`` tool's questions are in the journal as tool calls too, but a workflow's
approval of a hand-off is not journaled before it is answered (:mod:`codetap.waits`), so
the page reads both from the runtime's pending questions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from codetap.http.app import Context, context

router = APIRouter(tags=["panel"])
Ctx = Annotated[Context, Depends(context)]


@router.get("/v1/tasks/{task_id}/question")
async def question(ctx: Ctx, task_id: Annotated[int, Field(ge=1)]) -> dict[str, Any]:
    """The task's pending question (module doc)."""
    await ctx.runtime.get_task(task_id)
    for q in ctx.runtime.pending_questions():
        if q.task_id == task_id:
            return {"kind": q.kind, "question": q.question,
                    "options": list(q.options) if q.options else None}
    return {"kind": None, "question": None, "options": None}
