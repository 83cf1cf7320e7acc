"""A real team run watched from the web panel (system Chromium, Playwright): the daemon runs
the ``team`` workflow of tests/e2e/test_team.py (planner -> 3 coders as sub-tasks in
parallel -> merge with one conflict -> tester -> reviewer ...) against scripted
OpenAI-compatible model servers on loopback, one per role. The task page, opened before the
fan-out, shows the sub-tasks appear in its team tree and end ready, the hand-offs and the
fan-out in the journal, and the usage of every role summed with the sub-tasks'."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.conftest import make_repo
from tests.e2e.conftest import Env
from tests.e2e.test_http import Api, start_api
from tests.e2e.test_team import FILES, ROLES, SUBTASKS, scripts
from tests.e2e.test_web import CHROMIUM, browse, shoot
from tests.unit.tasks.team_server import ScriptedModel

from codetap.daemon.control import stop

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
pw = pytest.importorskip("playwright.async_api")
expect = pw.expect


@pytest.fixture
async def team(env: Env, tmp_path: Path, xdg: Path) -> AsyncIterator[tuple[Api, Path]]:
    servers = {r: ScriptedModel(s, delay_s=0.3) for r, s in scripts().items()}
    servers["planner"].delay_s = 3.0  # the page is open before the fan-out
    for s in servers.values():
        await s.__aenter__()
    lines = ['default_model = "coder"']
    for role, server in servers.items():
        lines += [f"[models.{role}]", 'provider = "openai"', f'model = "{role}"',
                  f'base_url = "{server.base_url}"', "max_retries = 0",
                  "input_price_per_mtok = 100.0", "output_price_per_mtok = 100.0"]
    lines += [f'[roles.{r}]\nmodel = "{r}"' for r in ROLES if r != "coder"]
    lines += ["[scheduler]", "max_concurrent_tasks = 4"]
    (xdg / "config" / "codetap" / "config.toml").write_text("\n".join(lines) + "\n")
    repo = make_repo(tmp_path / "team-repo", FILES)
    try:
        yield start_api(env), repo
    finally:
        stop(env.paths)
        for s in servers.values():
            await s.__aexit__()


async def test_team_tree_fills_in_live(team: tuple[Api, Path]) -> None:
    web, repo = team
    async with browse(web) as pg:
        async with web.client() as http:
            r = await http.post("/v1/tasks", json={"intent": "make the team change",
                                                   "workflow": "team",
                                                   "repo": {"path": str(repo)}})
            assert r.status_code == 201, r.text
            parent = r.json()["id"]
        await pg.goto(f"{web.url}/tasks/{parent}")
        await expect(pg.locator("#team-count")).to_have_text("0 sub-tasks")
        subtasks = pg.locator("#subtasks > li")
        await expect(subtasks).to_have_count(3, timeout=30_000)  # added from /v1/events
        await expect(pg.locator("#team-count")).to_have_text("3 sub-tasks")
        await expect(subtasks.locator(".role")).to_have_text(["coder"] * 3)
        await expect(subtasks.locator("a")).to_have_text(
            [re.compile(re.escape(s["intent"])) for s in SUBTASKS])
        await expect(subtasks.locator(".state")).to_have_text(["ready"] * 3, timeout=60_000)
        await expect(pg.locator("#task")).to_have_attribute("data-settled", "1",
                                                            timeout=90_000)
        await expect(pg.locator("#state")).to_have_text("ready")
        timeline = pg.locator("#timeline")
        await expect(timeline).to_contain_text("hand-off: planner \u2192 coder")
        await expect(timeline).to_contain_text("fan-out: 3 sub-tasks")
        await expect(timeline).to_contain_text("merge conflict in shared.py")
        await expect(timeline).to_contain_text("hand-off: reviewer \u2192 coder")
        roles = pg.locator("#roles tbody tr td:first-child")
        await expect(roles).to_have_text(["planner", "coder", "tester", "reviewer"])
        async with web.client() as http:
            usage = (await http.get(f"/v1/tasks/{parent}/usage")).json()
            children = (await http.get("/v1/tasks", params={"parent_id": parent})).json()
        coder = next(x for x in usage["roles"] if x["role"] == "coder")
        own = next(x for x in usage["own"] if x["role"] == "coder")
        assert coder["steps"] > own["steps"] and coder["cost_usd"] > own["cost_usd"] > 0
        assert sorted(usage["tasks"][1:]) == sorted(int(t["id"]) for t in children["tasks"])
        await expect(pg.locator('#roles tr[data-role="coder"] td').nth(4)).to_have_text(
            f"${coder['cost_usd']:.4f}")
        await expect(pg.locator("#role-plot canvas")).to_have_count(1)
        await pg.locator("#team-h").scroll_into_view_if_needed()
        await pg.evaluate("document.getElementById('team-h').scrollIntoView()")
        await shoot(pg, "team", full=False)
        await subtasks.first.get_by_role("link").click()
        await expect(pg.locator('.tree [data-relation="parent"] > a')).to_have_text(
            f"#{parent} make the team change")
        await expect(pg.locator("#timeline .step").first).to_be_visible()
        step = pg.locator("#timeline li.k-model_turn .step").first
        await expect(step).to_contain_text("coder \u00b7 coder")
