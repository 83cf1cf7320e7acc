"""The ``/v1/tasks`` routes (ARCHITECTURE.md "Service mode"; docs/http.md).

Bodies are :class:`~codetap.protocol.models.TaskInfo` (the editors' shape). A task is
created on a local repository (``repo: {path}``) or, when this daemon's runtime supports
it, a remote one (``repo: {url, ref?}``); ``branch``, ``push``, ``pull_request`` and
``webhook`` are passed to :meth:`Runtime.start_task` when it takes them and refused (422)
when it does not.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sse_starlette import EventSourceResponse

from codetap.http.app import Context, context
from codetap.protocol.models import TaskInfo
from codetap.types import TaskState

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])
Ctx = Annotated[Context, Depends(context)]
TaskId = Annotated[int, Field(ge=1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RepoSpec(_Body):
    """A local repository (``path``, absolute) or a remote one (``url``, ``ref?``)."""

    path: str | None = None
    url: str | None = Field(default=None, min_length=1)
    ref: str | None = None

    @field_validator("path")
    @classmethod
    def _local(cls, value: str | None) -> str | None:
        if value is not None and not (Path(value).is_absolute() and Path(value).is_dir()):
            raise ValueError("must be the absolute path of a directory on the daemon's host")
        return value

    @model_validator(mode="after")
    def _one(self) -> RepoSpec:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of path and url")
        if self.ref is not None and self.url is None:
            raise ValueError("ref is only for a url")
        return self


class PullRequestSpec(_Body):
    """Open a pull request once the branch is pushed."""

    title: str | None = None
    draft: bool = False


class WebhookSpec(_Body):
    """Where the task's webhook messages go (Standard Webhooks, signed with ``secret``)."""

    url: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    interval_s: float | None = Field(default=None, gt=0)
    events: list[str] | None = None


class TaskCreate(_Body):
    """``POST /v1/tasks`` body."""

    intent: str = Field(min_length=1)
    repo: RepoSpec
    workflow: str | None = None
    model: str | None = None
    branch: str | None = Field(default=None, min_length=1)
    push: bool | None = None
    pull_request: PullRequestSpec | None = None
    webhook: WebhookSpec | None = None
    priority: int = Field(default=0, ge=-1000, le=1000,
                          description="The scheduler admits higher first (FIFO within one).")


class TaskList(BaseModel):
    """``GET /v1/tasks`` result, newest first."""

    tasks: list[TaskInfo]


class AnswerBody(_Body):
    answer: str = Field(min_length=1)


class MessageBody(_Body):
    text: str = Field(min_length=1)


def _info(task: Any, ctx: Context) -> dict[str, Any]:
    from codetap.lsp.convert import task_info
    info: dict[str, Any] = task_info(task, ctx.runtime.waiting_reason(task)).model_dump(
        mode="json", exclude_none=True)
    return info


def _invalid(loc: tuple[str, ...], msg: str) -> HTTPException:
    return HTTPException(422, [{"loc": list(loc), "msg": msg, "type": "value_error"}])


def _start_kwargs(ctx: Context, body: TaskCreate) -> tuple[Path | None, dict[str, Any]]:
    accepts = inspect.signature(ctx.runtime.start_task).parameters
    kwargs: dict[str, Any] = {"model": body.model, "workflow": body.workflow}
    extra: dict[str, Any] = {
        "branch": body.branch, "push": body.push,
        "pull_request": body.pull_request.model_dump() if body.pull_request else None,
        "webhook": body.webhook.model_dump(exclude_none=True) if body.webhook else None,
        "repo": {"url": body.repo.url, "ref": body.repo.ref} if body.repo.url else None,
        "priority": body.priority or None,
    }
    for name, value in extra.items():
        if value is None:
            continue
        if name not in accepts:
            loc = ("body", "repo", "url") if name == "repo" else ("body", name)
            raise _invalid(loc, f"not supported by this daemon ({name})")
        kwargs[name] = value
    return (Path(body.repo.path) if body.repo.path else None), kwargs


@router.post("", status_code=201, response_model=TaskInfo, response_model_exclude_none=True)
async def create(ctx: Ctx, body: TaskCreate, idempotency_key: Annotated[
        str | None, Header(max_length=255, description="Same key and body: the same task "
                           "(kept 24 h); same key, other body: 422.")] = None) -> Response:
    """Create a task; 201 with its TaskInfo (``queued``). A replay of an earlier
    ``Idempotency-Key`` answers 201 with that task and ``Idempotent-Replayed: true``."""
    from codetap.http.idempotency import KeyReused

    root, kwargs = _start_kwargs(ctx, body)

    async def start() -> int:
        task = await ctx.runtime.start_task(body.intent, root, **kwargs)
        return task.id

    replayed = False
    if idempotency_key is None:
        task_id = await start()
    else:
        try:
            task_id, replayed = await ctx.keys.run_once(
                idempotency_key, body.model_dump(mode="json"), start)
        except KeyReused:
            raise _invalid(("header", "idempotency-key"), "this key was used with another "
                           "request body") from None
    headers = {"Location": f"/v1/tasks/{task_id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    task = await ctx.runtime.get_task(task_id)
    return JSONResponse(_info(task, ctx), status_code=201, headers=headers)


@router.get("", response_model=TaskList, response_model_exclude_none=True)
async def list_tasks(ctx: Ctx, state: Annotated[list[str] | None, Query(
        description="Only these states (repeat, or comma-separated).")] = None,
        repo: Annotated[str | None, Query(description="Only tasks of this repository (its "
                                          "absolute path, or its URL).")] = None,
        parent_id: Annotated[int | None, Query(ge=1, description="Only the sub-tasks of "
                                               "this task.")] = None,
        ) -> dict[str, Any]:
    """Tasks, newest first."""
    states: list[TaskState] = []
    for value in ",".join(state or []).split(","):
        if value:
            try:
                states.append(TaskState(value))
            except ValueError:
                allowed = ", ".join(s.value for s in TaskState)
                raise _invalid(("query", "state"), f"unknown state {value!r} (one of "
                               f"{allowed})") from None
    root = Path(repo) if repo and repo.startswith("/") else None
    tasks = await ctx.runtime.list_tasks(root, states or None)
    if repo and root is None:
        tasks = [t for t in tasks if getattr(t, "repo_url", None) == repo]
    if parent_id is not None:
        tasks = [t for t in tasks if t.parent_id == parent_id]
    return {"tasks": [_info(t, ctx) for t in tasks]}


@router.get("/{task_id}", response_model=TaskInfo, response_model_exclude_none=True)
async def get(ctx: Ctx, task_id: TaskId) -> dict[str, Any]:
    """The task (404 unknown)."""
    return _info(await ctx.runtime.get_task(task_id), ctx)


@router.get("/{task_id}/diff", response_class=PlainTextResponse,
            responses={200: {"content": {"text/x-diff": {}}}})
async def diff(ctx: Ctx, task_id: TaskId, step: Annotated[int | None, Query(
        ge=0, description="The worktree as checkpointed after this step instead of the "
        "tip (the newest checkpoint at or before it; base before any).")] = None
               ) -> Response:
    """The task's change (base -> tip, or base -> the checkpoint of ``step``) as a unified
    diff; empty when there is none."""
    await ctx.runtime.get_task(task_id)
    if step is None:
        return Response(await ctx.runtime.diff(task_id), media_type="text/x-diff")
    from codetap.tasks import git
    task = await ctx.store.get_task(task_id)
    commit = None
    for cp in await ctx.store.checkpoints(task_id):  # oldest first; a rolled-back step's
        if cp.step <= step and cp.commit_id:        # later re-run supersedes it
            commit = cp.commit_id
    text = await git.diff(task.root, task.base_commit, commit) if commit else ""
    return Response(text, media_type="text/x-diff")


@router.get("/{task_id}/report", responses={200: {"content": {"text/markdown": {}}}})
async def report(ctx: Ctx, task_id: TaskId,
                 format: Literal["markdown", "json"] = "markdown") -> Response:
    """The task's report (``codetap report``): Markdown, or JSON with ``?format=json``."""
    from codetap.tasks.report import build
    rep = await build(ctx.store, task_id)
    if format == "json":
        return JSONResponse(rep.to_json())
    return Response(rep.to_markdown(), media_type="text/markdown; charset=utf-8")


@router.get("/{task_id}/events", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def events(ctx: Ctx, request: Request, task_id: TaskId,
                 after: Annotated[int | None, Query(ge=0)] = None,
                 last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    """The journal as Server-Sent Events (``id:`` = seq), from ``Last-Event-ID`` or
    ``?after`` on; ends with ``event: end`` once the task is settled."""
    from codetap.http.events import stream
    await ctx.runtime.get_task(task_id)
    start = after or 0
    if last_event_id is not None:
        if not last_event_id.strip().isdigit():
            raise _invalid(("header", "last-event-id"), "expected a journal seq (an integer)")
        start = int(last_event_id)
    return EventSourceResponse(stream(task_id, start, ctx.runtime, ctx.hub),
                               ping=15)


async def _op(ctx: Context, name: str, task_id: int, *args: Any) -> dict[str, Any]:
    return _info(await getattr(ctx.runtime, name)(task_id, *args), ctx)


@router.post("/{task_id}/cancel", response_model=TaskInfo, response_model_exclude_none=True)
async def cancel(ctx: Ctx, task_id: TaskId) -> dict[str, Any]:
    """Cancel the task (409 when its state does not allow it)."""
    return await _op(ctx, "cancel", task_id)


@router.post("/{task_id}/pause", response_model=TaskInfo, response_model_exclude_none=True)
async def pause(ctx: Ctx, task_id: TaskId) -> dict[str, Any]:
    """Pause the task; it resumes from its last checkpoint."""
    return await _op(ctx, "pause", task_id)


@router.post("/{task_id}/resume", response_model=TaskInfo, response_model_exclude_none=True)
async def resume(ctx: Ctx, task_id: TaskId) -> dict[str, Any]:
    """Run a paused, interrupted or failed task again."""
    return await _op(ctx, "resume", task_id)


@router.post("/{task_id}/answer", response_model=TaskInfo, response_model_exclude_none=True)
async def answer(ctx: Ctx, task_id: TaskId, body: AnswerBody) -> dict[str, Any]:
    """Answer the task's pending question or approval."""
    return await _op(ctx, "answer", task_id, body.answer)


@router.post("/{task_id}/messages", response_model=TaskInfo,
             response_model_exclude_none=True)
async def messages(ctx: Ctx, task_id: TaskId, body: MessageBody) -> dict[str, Any]:
    """A follow-up message: the task runs again with it."""
    return await _op(ctx, "message", task_id, body.text)


class RollbackBody(_Body):
    step: int = Field(ge=0)


@router.post("/{task_id}/rollback", response_model=TaskInfo,
             response_model_exclude_none=True)
async def rollback(ctx: Ctx, task_id: TaskId, body: RollbackBody) -> dict[str, Any]:
    """Put the task back to its checkpoint after ``step`` (worktree and conversation; the
    journal keeps the later entries). 409 when its state does not allow it."""
    return await _op(ctx, "rollback", task_id, body.step)


@router.post("/{task_id}/apply", response_model=TaskInfo, response_model_exclude_none=True)
async def apply(ctx: Ctx, task_id: TaskId) -> dict[str, Any]:
    """Write a ready task's change onto its repository's working tree (all or nothing:
    409 naming the files when any hunk conflicts with edits made there since)."""
    from codetap.http.apply import apply_to_worktree
    return _info(await apply_to_worktree(ctx.runtime, task_id), ctx)


class PushBody(_Body):
    pull_request: PullRequestSpec | bool | None = None


@router.post("/{task_id}/push", response_model=TaskInfo, response_model_exclude_none=True)
async def push(ctx: Ctx, task_id: TaskId, body: PushBody) -> dict[str, Any]:
    """Push a ready remote task's branch now and, with ``pull_request``, open its pull
    request (409 for a task that is not ready or works on a local repository). A rejected
    push or a host error is in the returned task's ``error``."""
    pr = body.pull_request
    return await _op(ctx, "push", task_id, pr.model_dump() if isinstance(pr, BaseModel) else pr)
