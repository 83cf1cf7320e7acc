"""The panel's pages: ``/login`` (GET form, POST sets the cookie), ``/logout``, ``/``
(tasks) and ``/tasks/{id}`` (one task). A page without a valid cookie redirects to
``/login``; the cookie is the token itself, HttpOnly and SameSite=Strict (no other site's
page can send it, so the API's POST routes need no separate CSRF token)."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from codetap.errors import TaskNotFound
from codetap.http.app import COOKIE, Context, context
from codetap.http.web import html
from codetap.http.web.feed import row
from codetap.http.web.queue import queue_view
from codetap.http.web.taskpage import task as task_body
from codetap.http.web.taskpage import tree
from codetap.http.web.team import family

router = APIRouter(include_in_schema=False)
Ctx = Annotated[Context, Depends(context)]
PAGE = 50
WEEK = 7 * 86400


def _signed_in(ctx: Context, request: Request) -> bool:
    given = request.cookies.get(COOKIE, "")
    return secrets.compare_digest(given.encode(), ctx.token.encode())


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _local(next_url: str) -> str:
    """``next_url`` when it is a path on this server, else ``/`` (no open redirect)."""
    return next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"


@router.get("/login")
async def login_form(next: str = "/") -> HTMLResponse:
    return HTMLResponse(html.login(next_url=_local(next)))


@router.post("/login")
async def login(ctx: Ctx, request: Request) -> Response:
    form = parse_qs((await request.body()).decode(), keep_blank_values=True)
    token = form.get("token", [""])[0].strip()
    next_url = _local(form.get("next", ["/"])[0])
    if not secrets.compare_digest(token.encode(), ctx.token.encode()):
        # 200, not 403: the form is shown again (a browser logs a 4xx page as an error).
        return HTMLResponse(html.login("That is not the token.", next_url))
    resp = RedirectResponse(next_url, status_code=303)
    resp.set_cookie(COOKIE, token, max_age=WEEK, httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", path="/")
    return resp


@router.post("/logout")
async def logout() -> Response:
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/")
async def tasks_page(ctx: Ctx, request: Request, state: str = "", repo: str = "",
                     page: Annotated[int, Query(ge=1)] = 1) -> Response:
    """The tasks list, ``PAGE`` rows per page, newest first."""
    if not _signed_in(ctx, request):
        return _to_login(request)
    every = [row(t, ctx.runtime.waiting_reason(t)) for t in await ctx.store.list_tasks()]
    counts: dict[str, int] = {}
    for r in every:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    repos = sorted({r["repo"] for r in every})
    shown = [r for r in every if (not state or r["state"] == state)
             and (not repo or r["repo"] == repo)]
    pages = max(1, -(-len(shown) // PAGE))
    page = min(page, pages)
    sched = await queue_view(ctx, request.app.state).snapshot(counts)
    body = html.tasks(shown[(page - 1) * PAGE:page * PAGE], counts, sched, repos, state,
                      repo, page, pages, len(shown), max((r["id"] for r in every), default=0))
    return HTMLResponse(html.page("Tasks", body, ("vendor/uPlot.iife.min.js", "common.js",
                                                  "tasks.js")))


@router.get("/tasks/{task_id}")
async def task_page(ctx: Ctx, request: Request, task_id: int) -> Response:
    """One task (its live parts come from task.js)."""
    if not _signed_in(ctx, request):
        return _to_login(request)
    try:
        task = await ctx.store.get_task(task_id)
    except TaskNotFound:
        return HTMLResponse(html.page("Not found", f"<h1>No task {task_id}</h1>"),
                            status_code=404)
    parent, children = await family(ctx, task)
    me = row(task, ctx.runtime.waiting_reason(task))
    team = tree(me, row(parent) if parent else None, [row(c) for c in children])
    body = task_body(me, task.verification, task.error, task.summary, team)
    return HTMLResponse(html.page(f"Task {task_id}", body, (
        "vendor/uPlot.iife.min.js", "common.js", "diff.js", "task.js")))
