"""HTML of the task page's body (escaped strings, as :mod:`.html`); task.js fills the live
parts (timeline, replay, diff, report, plots) from the API."""

from __future__ import annotations

from typing import Any

from codetap.http.web.html import esc, first_line


def _state(state: str, attrs: str = "") -> str:
    return f'<span class="state s-{esc(state)}"{attrs}>{esc(state)}</span>'


def _member(r: dict[str, Any], relation: str) -> str:
    """One task of the team tree: link, role, sub-task, state (tasks' ids in data-tree)."""
    role = f'<span class="role">{esc(r["role"])}</span> ' if r["role"] else ""
    sub = f' <span class="muted">{esc(r["subtask"])}</span>' if r["subtask"] else ""
    return (f'<li data-tree="{r["id"]}" data-relation="{relation}">{role}'
            f'<a href="/tasks/{r["id"]}">#{r["id"]} {esc(first_line(r["intent"]))}</a>{sub} '
            f'{_state(r["state"])}</li>')


def tree(r: dict[str, Any], parent: dict[str, Any] | None,
         children: list[dict[str, Any]]) -> str:
    """The team tree: the parent (if any), this task, its sub-tasks (task.js adds new ones
    and keeps states current)."""
    role = f'<span class="role">{esc(r["role"])}</span> ' if r["role"] else ""
    me = (f'<li data-tree="{r["id"]}" data-relation="self" aria-current="page">{role}'
          f'<strong>#{r["id"]} this task</strong> {_state(r["state"])}'
          f'<ul id="subtasks">{"".join(_member(c, "child") for c in children)}</ul></li>')
    if parent is not None:  # the parent's <li> holds this task's list
        top = f'<ul class="tree">{_member(parent, "parent")[:-5]}<ul>{me}</ul></li></ul>'
    else:
        top = f'<ul class="tree">{me}</ul>'
    count = f'{len(children)} sub-task{"" if len(children) == 1 else "s"}'
    return (f'<section aria-labelledby="team-h"><h2 id="team-h">Team</h2>'
            f'<p class="muted" id="team-count">{count}</p>{top}</section>')


def _verification(verification: dict[str, Any] | None) -> str:
    if not verification:
        return "none"
    ok = "passed" if verification.get("passed") else "failed"
    return (f'{_state(ok)} <code>{esc(verification.get("command", ""))}</code> '
            f'{esc(verification.get("summary", ""))}')


def _publish(r: dict[str, Any]) -> str:
    """Push and pull-request controls, for a task on a repository URL only (a local task's
    change is applied, not pushed)."""
    if not r.get("remote"):
        return ""
    return ('<form id="push-form" class="row"><button type="button" id="push">Push branch'
            '</button><label for="pr-title">Pull request title</label>'
            '<input id="pr-title" placeholder="from the request">'
            '<label><input type="checkbox" id="pr-draft"> draft</label>'
            '<button type="submit">Push and open pull request</button></form>')


def task(r: dict[str, Any], verification: dict[str, Any] | None, error: str | None,
         summary: str | None, team: str) -> str:
    """The task page body: facts, controls, team tree (``team``: :func:`tree`), replay,
    plots, the timeline, diff and report."""
    whole = r["intent"].strip()
    intent = (f'<details class="intent"><summary>Whole request</summary><pre>{esc(whole)}'
              '</pre></details>' if "\n" in whole or len(whole) > 200 else "")
    pr = r["pull_request_url"]
    pr_link = (f'<a id="pull-request" href="{esc(pr)}" rel="noreferrer">{esc(pr)}</a>'
               if pr else "none")
    facts = "".join(f"<dt>{k}</dt><dd{a}>{v}</dd>" for k, v, a in (
        ("State", _state(r["state"], ' id="state"'), ""),
        ("Waiting for", esc(r["waiting"] or ""), ' id="waiting"'),
        ("Role", esc(r["role"] or "none"), ""),
        ("Model", esc(r["model"]), ""), ("Repository", esc(r["repo"]), ""),
        ("Branch", esc(r["branch"]), ""), ("Steps", str(r["steps"]), ' id="steps"'),
        ("Tokens", f'{r["tokens"]:,}', ' id="tokens"'),
        ("Cost", f'${r["cost_usd"]:.4f}', ' id="cost"'),
        ("Verification", _verification(verification), ' id="verification"'),
        ("Pull request", pr_link, ' id="pr"'),
        ("Summary", esc(summary or ""), ' id="summary"'),
        ("Error", esc(error or ""), ' id="error"')))
    return (
        f'<article id="task" data-id="{r["id"]}" data-state="{esc(r["state"])}">'
        f'<h1>#{r["id"]} {esc(first_line(r["intent"], 200))}</h1>{intent}'
        f'<dl class="facts">{facts}</dl>'
        '<section class="controls" aria-label="controls">'
        '<div id="pending" class="pending" hidden><h2>Waiting for you</h2>'
        '<p id="question"></p><div id="options" class="row"></div>'
        '<form id="answer-form" class="row"><label for="answer">Answer</label>'
        '<input id="answer" name="answer" required><button type="submit">Send answer'
        '</button></form></div>'
        '<div class="row"><button type="button" data-op="pause">Pause</button>'
        '<button type="button" data-op="resume">Resume</button>'
        '<button type="button" data-op="cancel" class="danger">Cancel</button></div>'
        '<form id="rollback-form" class="row"><label for="rollback-step">Roll back to step'
        '</label><input id="rollback-step" type="number" min="0" required>'
        '<button type="submit">Roll back</button></form>'
        '<form id="message-form" class="row"><label for="message">Follow-up</label>'
        '<input id="message" required><button type="submit">Send message</button></form>'
        f'{_publish(r)}<p id="op-status" role="status"></p></section>'
        f'{team}'
        '<section aria-labelledby="replay-h"><h2 id="replay-h">Replay</h2>'
        '<div class="row"><button type="button" id="replay-prev">Previous step</button>'
        '<label for="replay-step">Step <output id="replay-label">0</output></label>'
        '<input id="replay-step" type="range" min="0" max="0" value="0">'
        '<button type="button" id="replay-next">Next step</button></div>'
        '<div id="replay-diff" class="diff" aria-live="polite"></div></section>'
        '<section aria-labelledby="plots-h"><h2 id="plots-h">Cost and tokens</h2>'
        '<h3>This task over time</h3><div id="usage-plot" class="plot"></div>'
        "<h3>Per role over time, this task's own model turns (cost, USD)</h3>"
        '<div id="role-plot" class="plot"></div>'
        '<table id="roles" class="roles"><caption>Per role and model, with sub-tasks'
        '</caption><thead><tr><th scope="col">Role</th><th scope="col">Model</th>'
        '<th scope="col">Steps</th><th scope="col">Tokens</th><th scope="col">Cost</th>'
        '<th scope="col">Share of cost</th><th scope="col">Time</th></tr></thead>'
        '<tbody></tbody></table></section>'
        '<section aria-labelledby="timeline-h"><h2 id="timeline-h">Journal</h2>'
        '<ol id="timeline" class="timeline"></ol></section>'
        '<section aria-labelledby="diff-h"><h2 id="diff-h">Change</h2>'
        '<div id="diff" class="diff"></div></section>'
        '<section aria-labelledby="report-h"><h2 id="report-h">Report</h2>'
        '<pre id="report" class="report"></pre></section></article>')
