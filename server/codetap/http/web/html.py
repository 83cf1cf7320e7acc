"""HTML of the panel's pages, built from escaped strings (no template engine needed for
three pages). Every dynamic value goes through :func:`esc`."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

STATES = ("queued", "running", "waiting", "paused", "ready", "applied", "discarded",
          "cancelled", "failed", "interrupted")
COLUMNS = ("Task", "State", "Role", "Model", "Repository", "Branch", "Age", "Steps",
           "Tokens", "Cost")


def esc(value: object) -> str:
    """``value`` as HTML text or attribute value (quotes escaped)."""
    return escape(str(value), quote=True)


def page(title: str, body: str, scripts: tuple[str, ...] = (), nav: bool = True) -> str:
    """A whole document: ``title``, the navigation bar (with log-out) when ``nav``, then
    ``body`` (HTML) and the ``scripts`` (paths under ``/static``) at the end."""
    bar = ('<header class="bar"><a class="brand" href="/">codetap</a>'
           '<nav aria-label="main"><a href="/">Tasks</a></nav>'
           '<form method="post" action="/logout"><button type="submit">Log out</button>'
           '</form></header>') if nav else ""
    tags = "".join(f'<script src="/static/{esc(s)}" defer></script>' for s in scripts)
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="light dark">'
            f'<title>{esc(title)} - codetap</title>'
            '<link rel="icon" href="data:,">'
            '<link rel="stylesheet" href="/static/vendor/uPlot.min.css">'
            '<link rel="stylesheet" href="/static/panel.css">'
            f'{tags}</head><body>{bar}<main id="main">{body}</main></body></html>')


def login(error: str | None = None, next_url: str = "/") -> str:
    """The login page: one password field for the API token."""
    err = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
    return page("Log in", (
        '<section class="login"><h1>codetap</h1>'
        '<form method="post" action="/login">'
        f'<input type="hidden" name="next" value="{esc(next_url)}">'
        '<label for="token">API token</label>'
        '<input id="token" name="token" type="password" autocomplete="current-password" '
        'required autofocus>'
        '<p class="hint">The value of <code>[server] token_env</code>, or the contents of '
        '<code>&lt;config dir&gt;/http-token</code>.</p>'
        f'{err}<button type="submit">Log in</button></form></section>'), nav=False)


def first_line(text: str, limit: int = 80) -> str:
    """The first line of ``text``, cut to ``limit`` characters (a sub-task's intent holds
    its plan item, files and the parent's message on the next lines)."""
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= limit else line[:limit - 1] + "\u2026"


def age(stamp: str, now: datetime | None = None) -> str:
    """``"45s"``, ``"12m"``, ``"3h"`` or ``"5d"`` since the RFC 3339 ``stamp``."""
    then = datetime.fromisoformat(stamp)
    secs = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def task_row(r: dict[str, Any]) -> str:
    """One ``<tr>`` of the tasks table for a :func:`feed.row` (tasks.js builds the same)."""
    repo = r["repo"].rstrip("/").rsplit("/", 1)[-1]
    why = f' <small class="why">{esc(r["waiting"])}</small>' if r["waiting"] else ""
    return (f'<tr data-id="{r["id"]}" data-state="{esc(r["state"])}">'
            f'<td><a href="/tasks/{r["id"]}">#{r["id"]} {esc(first_line(r["intent"]))}'
            '</a></td>'
            f'<td><span class="state s-{esc(r["state"])}">{esc(r["state"])}</span>{why}</td>'
            f'<td>{esc(r["role"] or "")}</td><td>{esc(r["model"])}</td>'
            f'<td title="{esc(r["repo"])}">{esc(repo)}</td>'
            f'<td>{esc(r["branch"])}</td>'
            f'<td><time datetime="{esc(r["created_at"])}">{age(r["created_at"])}</time></td>'
            f'<td class="n">{r["steps"]}</td><td class="n">{r["tokens"]:,}</td>'
            f'<td class="n">${r["cost_usd"]:.4f}</td></tr>')


def usd(value: float | None) -> str:
    """``"$1.2345"`` (4 places), or ``"no limit"`` for None."""
    return "no limit" if value is None else f"${value:.4f}"


def budget_stat(name: str, label: str, use: dict[str, Any]) -> str:
    """One budget window's stat: spent, limit, and a meter when there is a limit
    (tasks.js keeps the same ids current)."""
    limit = use["limit_usd"]
    meter = (f'<meter id="meter-{name}" min="0" max="{limit}" value="{use["spent_usd"]}" '
             f'high="{0.8 * limit}" optimum="0" aria-label="{label}"></meter>'
             if limit else "")
    return (f'<div class="stat"><span class="k">{label}</span><span class="v">'
            f'<span id="spent-{name}">{usd(use["spent_usd"])}</span> <span class="of">of '
            f'<span id="limit-{name}">{usd(limit)}</span></span></span>{meter}</div>')


def summary(counts: dict[str, int], sched: dict[str, Any]) -> str:
    """The queue summary: queue depth, running of the cap, waiting, ready, failed, budget
    use per window (``sched``: :meth:`.queue.QueueView.snapshot`)."""
    stats = "".join(
        f'<div class="stat"><span class="k">{label}</span>'
        f'<span class="v" id="count-{key}">{counts.get(key, 0)}</span>{extra}</div>'
        for key, label, extra in (
            ("queued", "Queue depth", ""),
            ("running", "Running", (f'<span class="of">slots: <span id="cap">{sched["cap"]}'
             '</span></span>')),
            ("waiting", "Waiting", ""), ("ready", "Ready", ""), ("failed", "Failed", "")))
    blocked = sched["blocked"]
    text = f"Budget reached ({blocked}): model calls wait." if blocked else ""
    note = f'<p id="blocked" class="error" role="status">{esc(text)}</p>'
    return (f'<section class="summary" aria-label="queue">{stats}'
            f'{budget_stat("hour", "Budget, last hour", sched["budget"]["hour"])}'
            f'{budget_stat("day", "Budget, last day", sched["budget"]["day"])}</section>'
            f'{note}')


def tasks(rows: list[dict[str, Any]], counts: dict[str, int], sched: dict[str, Any],
          repos: list[str], state: str, repo: str, page_no: int, pages: int,
          total: int, newest: int) -> str:
    """The tasks page body: queue summary, filters, the table of one page, page links
    and the tasks-per-state plot (``newest``: the highest task id now; tasks.js counts the
    tasks above it as new)."""
    opts = "".join(f'<option value="{s}"{" selected" if s == state else ""}>{s}</option>'
                   for s in STATES)
    ropts = "".join(f'<option value="{esc(r)}"{" selected" if r == repo else ""}>{esc(r)}'
                    '</option>' for r in repos)
    head = "".join(f"<th scope=\"col\">{c}</th>" for c in COLUMNS)
    body = "".join(task_row(r) for r in rows)
    links = []
    for label, target in (("Newer", page_no - 1), ("Older", page_no + 1)):
        if 1 <= target <= pages:
            query = urlencode({k: v for k, v in (("state", state), ("repo", repo),
                                                 ("page", target)) if v})
            links.append(f'<a href="/?{esc(query)}" rel="{"prev" if target < page_no else "next"}"'
                         f'>{label}</a>')
    return (
        f'{summary(counts, sched)}'
        '<form class="filters" method="get" action="/">'
        f'<label>State <select name="state"><option value="">any</option>{opts}</select>'
        '</label>'
        f'<label>Repository <select name="repo"><option value="">any</option>{ropts}'
        '</select></label><button type="submit">Filter</button></form>'
        f'<table id="tasks" data-page="{page_no}" data-state="{esc(state)}" '
        f'data-repo="{esc(repo)}" data-newest="{newest}"><caption>Tasks '
        f'(<span id="total">{total}</span>), newest first</caption>'
        f'<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        f'<nav class="pages" aria-label="pages">{" ".join(links)}'
        f'<span>page {page_no} of {pages}</span></nav>'
        '<section aria-labelledby="plot-h"><h2 id="plot-h">Tasks per state, last 24 hours'
        ' (by hour created)</h2><div id="state-plot" class="plot"></div></section>'
        '<p id="live" class="live" aria-live="polite"></p>')
