"""Push and pull request from the web panel in a real browser (system Chromium, Playwright):
a remote task on a ``git daemon`` repository, run by the real daemon with a replay model,
ends ready unpushed; the page's "Push and open pull request" sends the branch and opens the
pull request on a scripted GitHub API on loopback, and the page shows its link."""

# ruff: noqa: F811  (pytest fixtures imported from remote_fixtures are parameters here)
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import git
from tests.e2e.conftest import Env, write_config
from tests.e2e.remote_fixtures import (
    FIXED,
    TOKEN,
    Recorded,
    fix_turns,
    git_daemon,  # noqa: F401
    scripted,  # noqa: F401
    upstream,
)
from tests.e2e.test_http import start_api
from tests.e2e.test_web import CHROMIUM, browse

from codetap.daemon.control import stop

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
pw = pytest.importorskip("playwright.async_api")
expect = pw.expect


async def test_push_and_open_the_pull_request_from_the_task_page(
        env: Env, tmp_path: Path, xdg: Path, monkeypatch: pytest.MonkeyPatch,
        git_daemon: tuple[Path, int],
        scripted: tuple[Recorded, int, dict[str, object]]) -> None:
    _, port = git_daemon
    rec, api_port, routes = scripted
    bare = upstream(tmp_path, "group/repo.git")
    web_url = "https://example.test/group/repo/pull/4"
    routes[("POST", "/repos/group/repo/pulls")] = (201, {"number": 4, "html_url": web_url})
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    write_config(xdg, tmp_path, {"fast": fix_turns()})
    config = xdg / "config" / "codetap" / "config.toml"
    config.write_text(config.read_text() + '[git.hosts."127.0.0.1"]\n'
                      'token_env = "GITHUB_TOKEN"\nkind = "github"\n'
                      f'api_url = "http://127.0.0.1:{api_port}"\n')
    web = start_api(env)
    try:
        async with web.client() as http:
            r = await http.post("/v1/tasks", json={
                "intent": "make add add", "push": False,
                "repo": {"url": f"git://127.0.0.1:{port}/group/repo.git"}})
            assert r.status_code == 201, r.text
            task_id = r.json()["id"]
        async with browse(web) as pg:
            await pg.goto(f"{web.url}/tasks/{task_id}")
            await expect(pg.locator("#state")).to_have_text("ready", timeout=60_000)
            assert "codetap/task-1" not in git(bare, "for-each-ref", "refs/heads")
            await pg.fill("#pr-title", "Fix add from the panel")
            await pg.get_by_role("button", name="Push and open pull request").click()
            await expect(pg.locator("#op-status")).to_have_text("push: ready")
            await expect(pg.locator("#pull-request")).to_have_text(web_url)
        assert git(bare, "show", "codetap/task-1:calc.py") == FIXED
        posts = [r for r in rec.requests if r[0] == "POST"]
        assert len(posts) == 1
        sent = json.loads(posts[0][3])
        assert sent["title"] == "Fix add from the panel" and sent["head"] == "codetap/task-1"
        assert sent["draft"] is False
    finally:
        stop(env.paths)
