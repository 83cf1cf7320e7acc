"""Bare mirrors of remote repositories and task worktrees made from them.

One bare repository per remote in ``<data_dir>/mirrors/`` (0700, see
:func:`codetap.tasks.remote.mirror_dir`): the first task clones it, later tasks fetch
(``git fetch --prune``) into the same directory. The remote's branches are kept under
``refs/remotes/origin/*`` (tags under ``refs/tags``), not ``refs/heads``: task branches
live in the mirror's ``refs/heads`` and a ``--mirror`` refspec would prune or overwrite
them on the next fetch (and make a plain ``git push`` push every ref). The remote URL in
the mirror's config never holds a credential (:mod:`codetap.tasks.remote`).

Clone and fetch failures are retried with exponential backoff (tenacity) and end in a
WorkspaceError naming the URL, the attempts and git's last message.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from codetap.errors import WorkspaceError
from codetap.fsmodes import DIR_MODE, private_dir, restrict
from codetap.store import Store, TaskRow
from codetap.tasks import git
from codetap.tasks.remote import GitSettings, RemoteURL, auth_env, mirror_dir, parse_remote, run_git
from codetap.types import JSON

log = logging.getLogger(__name__)
_locks: dict[Path, asyncio.Lock] = {}
_REFSPECS = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")


async def sync_mirror(settings: GitSettings, data_dir: Path, remote: RemoteURL) -> Path:
    """The mirror of ``remote``, cloned if absent, else fetched (with prune); its path.
    Concurrent calls for one remote run one after the other. WorkspaceError after
    ``settings.fetch_attempts`` failed attempts."""
    path = mirror_dir(data_dir, remote)
    lock = _locks.setdefault(path, asyncio.Lock())
    async with lock:
        fresh = not (path / "HEAD").exists()
        verb = "clone" if fresh else "fetch"
        try:
            async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(max(1, settings.fetch_attempts)),
                    wait=wait_exponential(multiplier=settings.fetch_backoff_s, max=60),
                    retry=retry_if_exception_type(WorkspaceError), reraise=True,
                    before_sleep=lambda s: log.warning(
                        "%s of %s failed (attempt %d), retrying", verb, remote.url,
                        s.attempt_number)):
                with attempt:
                    if fresh:
                        await _clone(settings, path, remote)
                    else:
                        await _fetch(settings, path, remote)
        except WorkspaceError as exc:
            raise WorkspaceError(
                f"cannot {verb} {remote.url} after {max(1, settings.fetch_attempts)} "
                f"attempts: {exc}") from None
    return path


async def _clone(settings: GitSettings, path: Path, remote: RemoteURL) -> None:
    """Create the mirror in a temporary directory beside ``path`` and rename it into place,
    so a failed clone leaves nothing behind."""
    private_dir(path.parent)
    restrict(path.parent.parent, DIR_MODE)
    tmp = path.with_name(path.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(mode=DIR_MODE)
    try:
        await _ok(tmp, "init", "-q", "--bare")
        await _ok(tmp, "remote", "add", "origin", remote.url)
        await _ok(tmp, "config", "--replace-all", "remote.origin.fetch", _REFSPECS[0])
        await _ok(tmp, "config", "--add", "remote.origin.fetch", _REFSPECS[1])
        await _fetch(settings, tmp, remote)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    restrict(path, DIR_MODE)


async def _fetch(settings: GitSettings, path: Path, remote: RemoteURL) -> None:
    env = auth_env(settings, remote)
    await _ok(path, "fetch", "--prune", "--quiet", "origin", env=env)
    # The remote's default branch (refs/remotes/origin/HEAD), for tasks without a ref.
    await run_git(path, "remote", "set-head", "origin", "--auto", env=env, timeout_s=120)


async def _ok(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    code, out, err = await run_git(cwd, *args, env=env)
    if code != 0:
        raise WorkspaceError(f"git {args[0]}: {err or f'exit code {code}'}")
    return out


async def resolve_ref(mirror: Path, ref: str | None) -> tuple[str, str | None]:
    """``(commit id, branch name or None)`` of ``ref`` in ``mirror``: a remote branch, a
    tag or a commit id; None means the remote's default branch. WorkspaceError naming the
    ref when it does not exist."""
    if ref is None:
        code, out, _ = await run_git(mirror, "symbolic-ref", "-q", "refs/remotes/origin/HEAD")
        candidates = [out.strip().removeprefix("refs/remotes/origin/")] if code == 0 else []
        candidates += ["main", "master"]
    else:
        candidates = [ref.removeprefix("refs/heads/")]
    for name in candidates:
        code, out, _ = await run_git(mirror, "rev-parse", "--verify", "-q",
                                     f"refs/remotes/origin/{name}^{{commit}}")
        if code == 0 and name:
            return out.strip(), name
    if ref is not None:
        for spec in (f"refs/tags/{ref.removeprefix('refs/tags/')}^{{commit}}", f"{ref}^{{commit}}"):
            code, out, _ = await run_git(mirror, "rev-parse", "--verify", "-q", spec)
            if code == 0:
                return out.strip(), None
    raise WorkspaceError(f"the repository has no branch, tag or commit {ref!r}" if ref else
                         "the repository has no default branch (is it empty?)")


async def prepare_remote_task(settings: GitSettings, data_dir: Path, worktrees_dir: Path,
                              store: Store, task: TaskRow) -> TaskRow:
    """Make a remote task's workspace: fetch its mirror, fix its base commit (first run),
    create its worktree on its branch at the last checkpoint (or base) and check out
    submodules recursively with the same credentials. A task whose worktree exists is
    returned as it is (a resumed run: :func:`codetap.tasks.engine.prepare_workspace`
    resets it). WorkspaceError for git failures after retries and for unknown refs."""
    if task.worktree is not None and (task.worktree / ".git").exists():
        return task
    assert task.repo_url is not None
    remote = parse_remote(task.repo_url)
    mirror = await sync_mirror(settings, data_dir, remote)
    if not task.base_commit:
        opts = dict(task.remote or {})
        ref = opts.get("ref")
        base, branch = await resolve_ref(mirror, str(ref) if ref else None)
        opts["base_branch"] = branch
        task = await store.update_task(task.id, root=mirror, base_commit=base, tip_commit=base,
                                       remote=opts)
    checkpoint = await store.latest_checkpoint(task.id)
    commit = (checkpoint.commit_id if checkpoint else None) or task.base_commit
    worktree = task.worktree or worktrees_dir / f"task-{task.id}"
    if worktree.exists():
        await git.remove_worktree(mirror, worktree)
    await git.add_worktree(mirror, worktree, task.branch, commit)
    await checkout_submodules(settings, remote, worktree)
    return await store.update_task(task.id, worktree=worktree)


async def checkout_submodules(settings: GitSettings, remote: RemoteURL, worktree: Path) -> None:
    """``git submodule update --init --recursive`` in ``worktree`` (a no-op without
    ``.gitmodules``), with the remote's credentials. Local (``file``) submodule URLs are
    allowed only when the task's repository itself is a ``file`` URL: an untrusted remote
    repository must not pull the machine's other repositories into a branch that is pushed.
    WorkspaceError if git fails."""
    if not (worktree / ".gitmodules").exists():
        return
    env = auth_env(settings, remote)
    allow = ["-c", "protocol.file.allow=always"] if remote.scheme == "file" else []
    code, _, err = await run_git(worktree, *allow, "submodule", "update", "--init",
                                 "--recursive", "--quiet", env=env)
    if code != 0:
        raise WorkspaceError(f"submodules of {remote.url}: {err}")


@dataclass(frozen=True, slots=True)
class RemoteStart:
    """What a new remote task's row holds: ``mirror`` (its ``root``, fetched when the task
    first runs), the password-free ``url`` and ``options`` ``{ref, push, pull_request}``."""

    mirror: Path
    url: str
    options: JSON


def remote_start(data_dir: Path, repo: Mapping[str, Any], push: bool | None,
                 pull_request: Mapping[str, Any] | bool | None) -> RemoteStart:
    """Check a ``start_task`` ``repo={"url", "ref"?}`` (no network: the clone or fetch runs
    when the task runs). ``pull_request``: True or ``{title?, draft?}``; it implies a push
    unless ``push`` is False. WorkspaceError for an unusable URL or ref."""
    url = repo.get("url")
    if not isinstance(url, str) or not url:
        raise WorkspaceError("repo needs a url (https, ssh, git or file)")
    ref = repo.get("ref")
    if ref is not None and (not isinstance(ref, str) or not ref or ref.startswith("-")):
        raise WorkspaceError(f"repo ref {ref!r} is not a branch, tag or commit name")
    remote = parse_remote(url)
    pr: JSON | None = None
    if pull_request is not None and pull_request is not False:
        raw = pull_request if isinstance(pull_request, Mapping) else {}
        pr = {"title": raw.get("title"), "draft": bool(raw.get("draft", False))}
    if pr is not None and push is None:
        push = True
    return RemoteStart(mirror_dir(data_dir, remote), remote.url,
                       {"ref": ref, "push": push, "pull_request": pr})
