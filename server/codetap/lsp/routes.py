"""The routing table of codetap's custom requests, and their thin handlers.

Each route: method name -> (params model, handler). A handler reads validated params,
calls one runtime or session function and builds the result model. The same table
serves the custom methods and their ``workspace/executeCommand`` twins
(``arguments = [params]``). Errors: invalid params -> ``-32602`` with the field and
reason; unknown task -> ``-32602 no task with id N``; an operation the task's state does
not allow, or another codetap error -> ``-32803 RequestFailed`` with codetap's message.
Errors raised from a codetap error carry ``data: {"type": "<class name>"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from codetap.errors import CodetapError, InvalidTransition, TaskNotFound
from codetap.lsp.convert import parse_task_id, task_info, uri_to_path
from codetap.lsp.journal import reader
from codetap.lsp.session import Session
from codetap.protocol import methods
from codetap.protocol.large import shrink
from codetap.protocol.models import (
    AnswerParams,
    ErrorData,
    GcParams,
    GcResult,
    TaskApplyParams,
    TaskEventDataParams,
    TaskEventParams,
    TaskEventsParams,
    TaskEventsResult,
    TaskIdParams,
    TaskInfo,
    TaskListParams,
    TaskListResult,
    TaskMessageParams,
    TaskPushParams,
    TaskRollbackParams,
    TaskStartParams,
    WebhookDelivery,
    WebhookRedeliverParams,
    WebhooksListParams,
    WebhooksListResult,
    dump,
)
from codetap.types import TaskState

if TYPE_CHECKING:
    from codetap.store import TaskRow as TaskRecord

REQUEST_FAILED = -32803

Handler = Callable[[Session, Any], Awaitable[BaseModel]]


def _info(s: Session, task: TaskRecord) -> TaskInfo:
    return task_info(task, s.runtime.waiting_reason(task))


async def task_start(s: Session, p: TaskStartParams) -> BaseModel:
    scope = dump(p.scope) if p.scope else None
    hook = dump(p.webhook) if p.webhook else None
    if p.repo_url is not None:  # a remote repository (codetap.tasks.mirrors)
        pr = dump(p.pull_request) if p.pull_request else None
        task = await s.runtime.start_task(
            p.intent, None, scope=scope, model=p.model, workflow=p.workflow,
            repo={"url": p.repo_url, "ref": p.ref}, push=p.push, pull_request=pr,
            branch=p.branch, webhook=hook, priority=p.priority or 0)
        return _info(s, task)
    assert p.root_uri is not None  # TaskStartParams requires one of the two
    root = uri_to_path(p.root_uri)
    task = await s.runtime.start_task(
        p.intent, root, scope=scope, model=p.model, workflow=p.workflow, overlay=s.overlay(root),
        branch=p.branch, webhook=hook, priority=p.priority or 0)
    return _info(s, task)


async def task_list(s: Session, p: TaskListParams) -> BaseModel:
    root = uri_to_path(p.root_uri) if p.root_uri else None
    try:
        states = [TaskState(x) for x in p.states] if p.states is not None else None
    except ValueError as exc:
        known = ", ".join(t.value for t in TaskState)
        raise JsonRpcInvalidParams(f"{exc}; states are: {known}") from None
    tasks = await s.runtime.list_tasks(root, states)
    if p.parent_id is not None:
        parent = parse_task_id(p.parent_id)
        tasks = [t for t in tasks if t.parent_id == parent]
    return TaskListResult(tasks=[_info(s, t) for t in tasks])


async def task_get(s: Session, p: TaskIdParams) -> BaseModel:
    return _info(s, await s.runtime.get_task(parse_task_id(p.id)))


def _simple(op: str) -> Handler:
    async def handler(s: Session, p: TaskIdParams) -> BaseModel:
        task_id = parse_task_id(p.id)
        if op == "discard":
            s.book.clear(task_id)
        return _info(s, await getattr(s.runtime, op)(task_id))

    handler.__name__ = f"task_{op}"
    handler.__doc__ = f"codetap/task/{op}: {op} the task; returns its TaskInfo."
    return handler


async def task_rollback(s: Session, p: TaskRollbackParams) -> BaseModel:
    return _info(s, await s.runtime.rollback(parse_task_id(p.id), p.step))


async def task_push(s: Session, p: TaskPushParams) -> BaseModel:
    pr = p.pull_request.model_dump(exclude_none=True) if p.pull_request else None
    return _info(s, await s.runtime.push(parse_task_id(p.id), pr))


async def task_apply(s: Session, p: TaskApplyParams) -> BaseModel:
    task_id = parse_task_id(p.id)
    task = await s.runtime.get_task(task_id)
    if task.state != TaskState.READY:
        raise InvalidTransition(f"task {task_id} is {task.state}, only ready tasks can be applied")
    return await s.book.apply(task_id, p.hunk_ids)


async def task_message(s: Session, p: TaskMessageParams) -> BaseModel:
    task_id = parse_task_id(p.id)
    s.book.clear(task_id)  # its suggestions are out of date once the task goes on
    return _info(s, await s.runtime.message(task_id, p.text))


async def gc(s: Session, p: GcParams) -> BaseModel:
    done = await s.runtime.gc(p.days, p.include_unreviewed, p.dry_run)
    return GcResult(pruned=[str(i) for i in done.pruned],
                    unreviewed=[str(i) for i in done.unreviewed])


async def answer(s: Session, p: AnswerParams) -> BaseModel:
    task_id = parse_task_id(p.id)
    await s.runtime.get_task(task_id)  # an unknown task is bad params, not "no question"
    return _info(s, await s.runtime.answer(task_id, p.answer))


async def task_events(s: Session, p: TaskEventsParams) -> BaseModel:
    task_id = parse_task_id(p.id)
    await s.runtime.get_task(task_id)
    cfg = s.runtime.config
    rows, more = await reader(cfg.db_path, cfg.store_url).after(task_id, p.after, p.limit)
    out = []
    for seq, step, ts, kind, data in rows:
        small, partial = shrink(p.id, seq, data)
        out.append(TaskEventParams(id=p.id, seq=seq, kind=kind, data=small, step=step, ts=ts,
                                   partial=partial or None))
    return TaskEventsResult(events=out, more=more)


async def task_event_data(s: Session, p: TaskEventDataParams) -> BaseModel:
    task_id = parse_task_id(p.id)
    await s.runtime.get_task(task_id)
    row = await reader(s.runtime.config.db_path, s.runtime.config.store_url).one(task_id, p.seq)
    if row is None:
        raise JsonRpcInvalidParams(f"task {task_id} has no event {p.seq}")
    seq, step, ts, kind, data = row
    return TaskEventParams(id=p.id, seq=seq, kind=kind, data=data, step=step, ts=ts)


async def webhooks_list(s: Session, p: WebhooksListParams) -> BaseModel:
    rows = await s.runtime.webhook_deliveries(p.dead, p.limit)
    return WebhooksListResult(deliveries=[WebhookDelivery.model_validate(r) for r in rows])


async def webhooks_redeliver(s: Session, p: WebhookRedeliverParams) -> BaseModel:
    return WebhookDelivery.model_validate(await s.runtime.redeliver_webhook(p.id))


ROUTES: dict[str, tuple[type[BaseModel], Handler]] = {
    methods.TASK_START: (TaskStartParams, task_start),
    methods.TASK_LIST: (TaskListParams, task_list),
    methods.TASK_GET: (TaskIdParams, task_get),
    methods.TASK_CANCEL: (TaskIdParams, _simple("cancel")),
    methods.TASK_PAUSE: (TaskIdParams, _simple("pause")),
    methods.TASK_RESUME: (TaskIdParams, _simple("resume")),
    methods.TASK_ROLLBACK: (TaskRollbackParams, task_rollback),
    methods.TASK_APPLY: (TaskApplyParams, task_apply),
    methods.TASK_DISCARD: (TaskIdParams, _simple("discard")),
    methods.TASK_MESSAGE: (TaskMessageParams, task_message),
    methods.TASK_PUSH: (TaskPushParams, task_push),
    methods.GC: (GcParams, gc),
    methods.ANSWER: (AnswerParams, answer),
    methods.TASK_EVENTS: (TaskEventsParams, task_events),
    methods.TASK_EVENT_DATA: (TaskEventDataParams, task_event_data),
    methods.WEBHOOKS_LIST: (WebhooksListParams, webhooks_list),
    methods.WEBHOOKS_REDELIVER: (WebhookRedeliverParams, webhooks_redeliver),
}


def validate(method: str, model: type[BaseModel], raw: Any) -> BaseModel:
    """Params of ``method`` as ``model``; JsonRpcInvalidParams naming each bad field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raw = getattr(raw, "__dict__", raw)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or 'params'}: {e['msg']}" for e in exc.errors()
        )
        raise JsonRpcInvalidParams(f"invalid params for {method}: {problems}") from None


async def dispatch(session: Session, method: str, raw: Any) -> dict[str, Any]:
    """Validate ``raw`` params, run the route of ``method`` and return the JSON result."""
    model, handler = ROUTES[method]
    params = validate(method, model, raw)
    try:
        result = await handler(session, params)
    except TaskNotFound as exc:
        raise _user(JsonRpcInvalidParams(str(exc), data=_error_data(exc))) from None
    except CodetapError as exc:
        raise _user(JsonRpcException(str(exc) or type(exc).__name__, REQUEST_FAILED,
                                     data=_error_data(exc))) from None
    return dump(result)


def _user(exc: JsonRpcException) -> JsonRpcException:
    """Mark an error as the user's (unknown task, illegal operation...): answered to the
    client, not logged with a traceback in the daemon log."""
    exc.user_error = True  # type: ignore[attr-defined]
    return exc


class _QuietUserErrors(logging.Filter):
    """Drops pygls' traceback records of errors marked by :func:`_user`."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not getattr(exc, "user_error", False)


logging.getLogger("pygls.protocol.json_rpc").addFilter(_QuietUserErrors())


def _error_data(exc: CodetapError) -> dict[str, Any]:
    """The error's ``data``: its codetap class name, for clients to raise the same class."""
    return dump(ErrorData(type=type(exc).__name__))


async def dispatch_command(session: Session, method: str, args: tuple[Any, ...]) -> Any:
    """executeCommand twin of :func:`dispatch`: exactly one argument, the params object."""
    if len(args) > 1:
        raise JsonRpcInvalidParams(
            f"{methods.command_name(method)} takes one argument (the params object), "
            f"got {len(args)}"
        )
    return await dispatch(session, method, args[0] if args else None)
