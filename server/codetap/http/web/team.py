"""A task's team as the panel shows it: its parent and sub-tasks, and usage per role.

``GET /v1/tasks/{id}/usage``: ``{roles: [row], own: [row], tasks: [id]}`` -- the usage
table per (role, model) (:func:`codetap.tasks.usage.usage_by_role`; rows ``{role, model,
steps, input_tokens, output_tokens, cost_usd, time_s}``) of the task and its sub-tasks
summed (``roles``) and of the task alone (``own``); ``tasks`` lists the ids summed. 404 for
an unknown task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from codetap.errors import TaskNotFound
from codetap.http.app import Context, context
from codetap.tasks.usage import merge, usage_by_role

if TYPE_CHECKING:
    from codetap.store import TaskRow

router = APIRouter(tags=["panel"])
Ctx = Annotated[Context, Depends(context)]


async def family(ctx: Context, task: TaskRow) -> tuple[TaskRow | None, list[TaskRow]]:
    """``task``'s parent (None for a top-level task, or one whose parent was pruned) and
    its sub-tasks, oldest first."""
    parent = None
    if task.parent_id is not None:
        try:
            parent = await ctx.store.get_task(task.parent_id)
        except TaskNotFound:
            parent = None
    children = [t for t in await ctx.store.list_tasks() if t.parent_id == task.id]
    return parent, sorted(children, key=lambda t: t.id)


@router.get("/v1/tasks/{task_id}/usage")
async def usage(ctx: Ctx, task_id: Annotated[int, Field(ge=1)]) -> dict[str, Any]:
    """Usage per role of the task and its sub-tasks (module doc)."""
    task = await ctx.store.get_task(task_id)
    _, children = await family(ctx, task)
    own = usage_by_role(await ctx.store.events(task.id), default_model=task.model)
    tables = [own] + [usage_by_role(await ctx.store.events(c.id), default_model=c.model,
                                    default_role=c.role or "coder") for c in children]
    return {"roles": merge(tables), "own": own, "tasks": [task.id] + [c.id for c in children]}
