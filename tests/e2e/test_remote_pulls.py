"""Pull requests on scripted GitHub and GitLab servers on loopback (their wire formats),
for tasks on a real ``git daemon`` remote; the host token reaches git and the APIs but
never the database file, the logs or the tool sandbox."""

# ruff: noqa: F811  (pytest fixtures imported from remote_fixtures are parameters here)
from __future__ import annotations

import base64
import json
import logging
import re
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import git
from tests.e2e.remote_fixtures import (
    FIXED,
    TOKEN,
    Recorded,
    git_daemon,  # noqa: F401
    open_runtime,
    scripted,  # noqa: F401
    upstream,
)

from codetap import redact
from codetap.lsp.convert import task_info
from codetap.tasks import report
from codetap.tasks.remote import GitHost, GitSettings
from codetap.types import TaskState


@pytest.fixture(autouse=True)
def token_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    redact.reset_for_tests()
    yield
    redact.reset_for_tests()


def stable(report_text: str) -> str:
    """The report without its durations (built again later, they differ)."""
    return re.sub(r"\d+\.\d+", "N", report_text)


def database_bytes(db: Path) -> bytes:
    raw = db.read_bytes()
    for suffix in ("-wal",):
        side = db.with_name(db.name + suffix)
        raw += side.read_bytes() if side.exists() else b""
    with sqlite3.connect(db) as conn:
        for table in ("events", "checkpoints", "tasks"):
            for row in conn.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, bytes):
                        raw += zlib.decompress(value)
                    elif isinstance(value, str):
                        raw += value.encode()
    return raw


@pytest.mark.parametrize("kind", ["github", "gitlab"])
async def test_pull_request_opened_with_the_report_as_body(
        kind: str, xdg: Path, tmp_path: Path, git_daemon: tuple[Path, int],
        scripted: tuple[Recorded, int, dict[str, object]],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, port = git_daemon
    rec, api_port, routes = scripted
    bare = upstream(tmp_path, "group/repo.git")
    api = f"http://127.0.0.1:{api_port}" + ("/api/v4" if kind == "gitlab" else "")
    if kind == "github":
        path, web = "/repos/group/repo/pulls", "https://example.test/group/repo/pull/7"
        routes[("POST", path)] = (201, {"number": 7, "html_url": web})
    else:
        path, web = "/api/v4/projects/group%2Frepo/merge_requests", "https://gl.test/mr/3"
        routes[("POST", path)] = (201, {"iid": 3, "web_url": web})
    settings = GitSettings(hosts={"127.0.0.1": GitHost(token_env="GITHUB_TOKEN", api_url=api,
                                                       kind=kind)})
    rt = await open_runtime(tmp_path, settings)
    try:
        task = await rt.start_task("make add add", None, pull_request={"title": "Fix add"},
                                   repo={"url": f"git://127.0.0.1:{port}/group/repo.git"})
        task = await rt.wait(task.id)
        assert task.state is TaskState.READY, task.error
        assert task.error is None and task.pull_request_url == web
        info = task_info(task)
        assert info.pull_request_url == web and info.repo_url == task.repo_url
        assert git(bare, "show", "codetap/task-1:calc.py") == FIXED  # pushed first
        expected_body = (await report.build(rt.store, task.id)).to_markdown()
        events = await rt.store.events(task.id)
        env_out = next(str(e.data["output"]) for e in events
                       if e.kind == "tool_result" and e.data["name"] == "bash")
    finally:
        await rt.close()
    posts = [r for r in rec.requests if r[0] == "POST"]
    assert len(posts) == 1
    _, raw_path, headers, body = posts[0]
    assert raw_path == path and headers["Authorization"] == f"Bearer {TOKEN}"
    sent = json.loads(body)
    if kind == "github":
        assert sent["head"] == "codetap/task-1" and sent["base"] == "main"
        assert sent["title"] == "Fix add" and stable(sent["body"]) == stable(expected_body)
    else:
        assert sent["source_branch"] == "codetap/task-1" and sent["target_branch"] == "main"
        assert sent["title"] == "Fix add" and stable(sent["description"]) == stable(expected_body)
    assert "## Outcome" in expected_body
    # the token went to the API only: not to the sandbox, the database or the logs
    assert "PWD=" in env_out and "GITHUB_TOKEN" not in env_out and "GIT_CONFIG" not in env_out
    assert TOKEN.encode() not in database_bytes(rt.config.db_path)
    assert TOKEN not in caplog.text


async def test_https_clone_sends_the_host_token_in_a_header_and_is_retried(
        xdg: Path, tmp_path: Path, scripted: tuple[Recorded, int, dict[str, object]],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rec, port, _ = scripted  # answers 404 to git's smart-HTTP discovery
    url = f"http://127.0.0.1:{port}/group/repo.git"
    settings = GitSettings(fetch_attempts=3, fetch_backoff_s=0.05,
                           hosts={f"127.0.0.1:{port}": GitHost(token_env="GITHUB_TOKEN")})
    rt = await open_runtime(tmp_path, settings)
    try:
        task = await rt.wait((await rt.start_task("x", None, repo={"url": url})).id)
        assert task.state is TaskState.FAILED and task.error is not None
        assert task.error.startswith(f"cannot clone {url} after 3 attempts")
    finally:
        await rt.close()
    discovery = [r for r in rec.requests if r[1].startswith("/group/repo.git/info/refs")]
    assert len(discovery) == 3
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert {r[2].get("Authorization") for r in discovery} == {f"Basic {basic}"}
    mirror_cfgs = list((rt.config.data_dir / "mirrors").rglob("config"))
    assert all(TOKEN not in p.read_text() for p in mirror_cfgs)
    raw = database_bytes(rt.config.db_path)
    assert TOKEN.encode() not in raw and basic.encode() not in raw
    assert TOKEN not in caplog.text and basic not in caplog.text


async def test_token_in_the_url_is_not_stored(
        xdg: Path, tmp_path: Path, scripted: tuple[Recorded, int, dict[str, object]]) -> None:
    _, port, _ = scripted
    secret = "glpat-urlSecret0123456789"
    rt = await open_runtime(tmp_path, GitSettings(fetch_attempts=1))
    try:
        task = await rt.start_task(
            "x", None, repo={"url": f"https://oauth2:{secret}@127.0.0.1:{port}/g/r.git"})
        assert task.repo_url == f"https://oauth2@127.0.0.1:{port}/g/r.git"
        task = await rt.wait(task.id)
        assert task.state is TaskState.FAILED  # https to a plain-http server
    finally:
        await rt.close()
    assert secret.encode() not in database_bytes(rt.config.db_path)


async def test_push_on_demand_pushes_then_opens_the_pull_request_once(
        xdg: Path, tmp_path: Path, git_daemon: tuple[Path, int],
        scripted: tuple[Recorded, int, dict[str, object]]) -> None:
    """A task started without push ends ready with nothing on the remote; the user's push
    sends the branch, a second push with a pull request opens it, and a local task
    refuses to be pushed."""
    _, port = git_daemon
    rec, api_port, routes = scripted
    bare = upstream(tmp_path, "group/repo.git")
    web = "https://example.test/group/repo/pull/9"
    routes[("POST", "/repos/group/repo/pulls")] = (201, {"number": 9, "html_url": web})
    settings = GitSettings(hosts={"127.0.0.1": GitHost(
        token_env="GITHUB_TOKEN", api_url=f"http://127.0.0.1:{api_port}", kind="github")})
    rt = await open_runtime(tmp_path, settings)
    try:
        task = await rt.start_task("make add add", None, push=False,
                                   repo={"url": f"git://127.0.0.1:{port}/group/repo.git"})
        task = await rt.wait(task.id)
        assert task.state is TaskState.READY, task.error
        heads = git(bare, "for-each-ref", "--format=%(refname)", "refs/heads")
        assert "codetap/task-1" not in heads
        task = await rt.push(task.id)
        assert task.error is None and task.pull_request_url is None
        assert git(bare, "show", "codetap/task-1:calc.py") == FIXED
        assert not [r for r in rec.requests if r[0] == "POST"]
        task = await rt.push(task.id, {"title": "Fix add", "draft": True})
        assert task.pull_request_url == web and task.state is TaskState.READY
        task = await rt.push(task.id, True)  # already open: pushed again, not reopened
        kinds = [e.kind for e in await rt.store.events(task.id)]
        assert kinds.count("push") == 3 and kinds.count("pull_request") == 1
        sent = json.loads(next(r[3] for r in rec.requests if r[0] == "POST"))
        assert sent["title"] == "Fix add" and sent["draft"] is True
        assert len([r for r in rec.requests if r[0] == "POST"]) == 1
    finally:
        await rt.close()
