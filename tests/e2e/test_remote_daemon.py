"""A remote task through the real daemon and the SDK: ``client.start(repo_url=...)`` over
``codetap/task/start``; the branch arrives in a bare repository served by ``git daemon``."""

# ruff: noqa: F811  (pytest fixtures imported from remote_fixtures are parameters here)
from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import git
from tests.e2e.conftest import CALC, FIXED, Env
from tests.e2e.remote_fixtures import git_daemon, upstream  # noqa: F401

import codetap


async def test_sdk_starts_a_remote_task_that_pushes(
        env: Env, tmp_path: Path, git_daemon: tuple[Path, int]) -> None:
    _, port = git_daemon
    bare = upstream(tmp_path, "team/app.git", {"calc.py": CALC})
    url = f"git://127.0.0.1:{port}/team/app.git"
    async with codetap.connect() as c:
        t = await c.start("fix add", repo_url=url, ref="main", push=True, branch="fix/add")
        assert t.repo_url == url and t.branch == "fix/add" and t.pull_request_url is None
        done = await c.wait(t.id)
        assert done.state == "ready", done.error
        assert done.error is None and done.base_commit == git(bare, "rev-parse", "main").strip()
        assert [x.id for x in await c.list()] == [t.id]
        # the push runs after the transition to ready: wait for its journal entry
        pushes: list[dict[str, object]] = []
        deadline = asyncio.get_running_loop().time() + 20
        while not pushes and asyncio.get_running_loop().time() < deadline:
            pushes = [e.data async for e in c.events(t.id, follow=False) if e.kind == "push"]
            await asyncio.sleep(0.05)
        assert pushes and pushes[0]["ok"] is True and pushes[0]["branch"] == "fix/add"
    assert git(bare, "show", "fix/add:calc.py") == FIXED


def cli_push(env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codetap", "push", *args], text=True,
                          capture_output=True, env=env.env, timeout=60, check=False)


async def test_push_later_from_the_cli_and_the_sdk(
        env: Env, tmp_path: Path, git_daemon: tuple[Path, int]) -> None:
    """A remote task started without push ends ready with nothing on the remote;
    ``codetap push N`` sends its branch (exit 0), the SDK's ``push`` refuses a local task
    and the CLI exits 2 for it."""
    _, port = git_daemon
    bare = upstream(tmp_path, "team/later.git", {"calc.py": CALC})
    url = f"git://127.0.0.1:{port}/team/later.git"
    async with codetap.connect() as c:
        t = await c.start("fix add", repo_url=url, ref="main", push=False)
        done = await c.wait(t.id)
        assert done.state == "ready", done.error
        assert t.branch not in git(bare, "for-each-ref", "refs/heads")
        cli = await asyncio.to_thread(cli_push, env, t.id)
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout.strip() == f"task {t.id}: pushed {t.branch}"
        assert git(bare, "show", f"{t.branch}:calc.py") == FIXED
        local = await c.start("fix add", repo=env.repo)
        assert (await c.wait(local.id)).state == "ready"
        with pytest.raises(codetap.InvalidTransition, match="local repository"):
            await c.push(local.id, True)
    cli = await asyncio.to_thread(cli_push, env, local.id, "--pr")
    assert cli.returncode == 2 and "local repository" in cli.stderr
