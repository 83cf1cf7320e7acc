"""Pushing a remote task's branch when it ends, and opening its pull request.

Runs in the runtime (outside the tool sandbox, as codetap) when a run has ended ``ready``
(or ``failed`` with ``[git] push_on_failure``), before that end state is written: a client
that sees ``ready`` sees the push's outcome and the pull request's URL with it, and so
does the ``task.ready`` webhook. A push is never forced: when the
remote branch moved (non-fast-forward, or "fetch first") the push is rejected, which is
journaled as a ``push`` entry ``{ok: false, rejected: true, reason}`` and put in the task's
``error`` (the task stays ``ready``; its commits stay on the mirror's branch). Push and pull
request outcomes are journaled (``push``, ``pull_request``) and the pull request's URL goes
into ``pull_request_url``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from codetap.errors import InvalidTransition, WorkspaceError
from codetap.store import Store, TaskRow
from codetap.tasks import report
from codetap.tasks.pulls import PullRequest, PullRequestError, open_pull_request
from codetap.tasks.remote import GitSettings, RemoteURL, auth_env, parse_remote, run_git
from codetap.types import JSON, TaskState

log = logging.getLogger(__name__)
Notify = Callable[[int, int, str, JSON], None]
Updated = Callable[[TaskRow], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PushResult:
    """``ok``: the remote branch is now the task's tip; ``rejected``: the remote refused
    a non-fast-forward update (never retried, never forced); ``reason``: git's message."""

    ok: bool
    rejected: bool = False
    reason: str = ""


class _Transient(WorkspaceError):
    """A push that failed for another reason than a rejection (network, server)."""


async def push_branch(settings: GitSettings, remote: RemoteURL, mirror: Path, branch: str
                      ) -> PushResult:
    """Push ``refs/heads/<branch>`` of the mirror to the same branch of ``remote`` without
    force; failures other than a rejection are retried like fetches."""
    env = auth_env(settings, remote)
    spec = f"refs/heads/{branch}:refs/heads/{branch}"

    async def once() -> PushResult:
        code, out, err = await run_git(mirror, "push", "--porcelain", "origin", spec,
                                       env=env)
        if code == 0:
            return PushResult(True)
        rejected = [line for line in out.splitlines() if line.startswith("!")]
        if rejected:
            return PushResult(False, True, rejected[0].split("\t")[-1].strip() or err)
        raise _Transient(err or f"exit code {code}")

    try:
        async for attempt in AsyncRetrying(
                stop=stop_after_attempt(max(1, settings.fetch_attempts)),
                wait=wait_exponential(multiplier=settings.fetch_backoff_s, max=60),
                retry=retry_if_exception_type(_Transient), reraise=True):
            with attempt:
                return await once()
    except _Transient as exc:
        return PushResult(False, False, str(exc))
    raise AssertionError("unreachable")  # pragma: no cover


def wants_push(settings: GitSettings, task: TaskRow) -> bool:
    """Whether ``task`` (a remote task whose run just ended in ``task.state``) is to be
    pushed now."""
    if not task.repo_url or not task.base_commit:
        return False
    opts = task.remote or {}
    push = opts.get("push")
    push = settings.push if push is None else bool(push)
    if task.state is TaskState.READY:
        return push
    return task.state is TaskState.FAILED and push and settings.push_on_failure


async def publish(settings: GitSettings, store: Store, task: TaskRow, notify: Notify,
                  updated: Updated) -> TaskRow:
    """Push ``task``'s branch and, when asked and the push succeeded on a ready task, open
    its pull request. ``task`` is the row with the run's end state and fields applied but
    not yet written (see the module docstring); the row returned carries the outcome
    (``error``, ``pull_request_url``), also written to the store. Never raises for git or
    host failures: they are journaled and put in the task's ``error``."""
    if not wants_push(settings, task):
        return task
    assert task.repo_url is not None
    remote = parse_remote(task.repo_url)
    commit = task.tip_commit or task.base_commit
    result = await push_branch(settings, remote, task.root, task.branch)
    data: JSON = {"remote": remote.url, "branch": task.branch, "commit": commit,
                  "ok": result.ok}
    if not result.ok:
        data["rejected"] = result.rejected
        data["reason"] = result.reason
    await _journal(store, task, notify, "push", data)
    if not result.ok:
        why = ("the remote branch moved (not a fast-forward); it was not forced"
               if result.rejected else result.reason)
        task = await store.update_task(task.id, error=f"push of {task.branch} to {remote.url} "
                                       f"failed: {why}")
        await updated(task)
        return task
    pr_opts = (task.remote or {}).get("pull_request")
    if task.state is not TaskState.READY or not pr_opts or task.pull_request_url:
        return task
    return await _open_pull_request(settings, store, task, remote, pr_opts, notify, updated)


async def _open_pull_request(settings: GitSettings, store: Store, task: TaskRow,
                             remote: RemoteURL, opts: object, notify: Notify,
                             updated: Updated) -> TaskRow:
    o = opts if isinstance(opts, dict) else {}
    base = (task.remote or {}).get("base_branch")
    first = task.intent.strip().splitlines()[0] if task.intent.strip() else f"task {task.id}"
    title = str(o.get("title") or f"codetap: {first[:72]}")
    try:
        if not base:
            raise PullRequestError("the task's base is not a branch: no pull request target")
        body = (await report.build(store, task.id, task=task)).to_markdown()
        pr = PullRequest(head=task.branch, base=str(base), title=title, body=body,
                         draft=bool(o.get("draft", False)))
        url = await open_pull_request(settings.host(remote), remote, settings.token(remote), pr)
    except PullRequestError as exc:
        log.warning("task %s: pull request not opened: %s", task.id, exc)
        await _journal(store, task, notify, "pull_request", {"ok": False, "reason": str(exc)})
        task = await store.update_task(task.id, error=f"pull request not opened: {exc}")
        await updated(task)
        return task
    await _journal(store, task, notify, "pull_request", {"ok": True, "url": url})
    task = await store.update_task(task.id, pull_request_url=url)
    await updated(task)
    return task


async def _journal(store: Store, task: TaskRow, notify: Notify, kind: str, data: JSON) -> None:
    for ev in await store.append(task.id, task.steps, [(kind, data)]):
        notify(ev.task_id, ev.seq, ev.kind, ev.data)


async def push_now(settings: GitSettings, store: Store, task: TaskRow,
                   pull_request: Mapping[str, Any] | bool | None, notify: Notify,
                   updated: Updated) -> TaskRow:
    """The user's "push" on a ready remote task that was not pushed when it ended (or whose
    push was rejected, or that needs its pull request now): its options become push on,
    plus ``pull_request`` (True or ``{title?, draft?}``) when given, then :func:`publish`
    runs as at the end of a run. InvalidTransition for a task without a repository URL
    (a local task's change is applied, not pushed). Git and host failures are journaled and
    put in the task's ``error``, as in :func:`publish`."""
    if not task.repo_url:
        raise InvalidTransition(f"cannot push task {task.id}: it works on a local repository; "
                                "apply its change (`codetap apply`) instead")
    opts: dict[str, Any] = dict(task.remote or {})
    opts["push"] = True
    if pull_request:
        opts["pull_request"] = pull_request if isinstance(pull_request, Mapping) else {}
    task = await store.update_task(task.id, remote=opts, error=None)
    await updated(task)
    return await publish(settings, store, task, notify, updated)
