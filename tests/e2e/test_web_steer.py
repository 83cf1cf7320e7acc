"""Steering and watching from the web panel in a real browser (system Chromium, Playwright)
against the real daemon with replay models: roll back to a step then resume, a follow-up
message typed with the keyboard only, queue depth and budget use at the top of the tasks
page, the team tree and the usage per role, dark mode. Every page is checked for console
errors (``browse``). ``CODETAP_UPDATE_SCREENSHOTS=1`` rewrites docs/images/web-*.png."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import FIXED, Env, session_lines, write_config
from tests.e2e.test_http import Api, start_api
from tests.e2e.test_web import CHROMIUM, browse, create, shoot

from codetap.daemon.control import stop
from codetap.store import Store
from codetap.types import TaskState, Usage

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
pw = pytest.importorskip("playwright.async_api")
expect = pw.expect

PLAN = [{"tool_calls": [{"name": "finish", "arguments": {
    "summary": "fix add in calc.py", "subtasks": [{"intent": "make add add",
                                                   "files": ["calc.py"]}],
    "acceptance": ["add(1, 2) == 3"]}}]}, *session_lines()]
FOLLOW_UP = [*session_lines(), {"tool_calls": [{"name": "finish", "arguments": {
    "summary": "mul checked too"}}]}]


SEEDED = 0.045 + 0.01 + 0.03  # the cost of the seeded team's model turns (USD)


def turn(role: str, model: str, cost: float, text: str) -> tuple[str, dict[str, Any]]:
    """A ``model_turn`` journal entry as the agent loop writes it."""
    return ("model_turn", {"message": {"role": "assistant", "content": text},
                           "usage": {"input_tokens": 1000, "output_tokens": 200,
                                     "cost_usd": cost},
                           "model": model, "role": role, "stop_reason": "end_turn"})


async def seed_team(repo: Path) -> dict[str, int]:
    """Before the daemon starts: a ready parent (planner on ``strong``, then coder on
    ``fast``) with a ready coder sub-task and a paused reviewer sub-task."""
    db = Path(os.environ["XDG_DATA_HOME"]) / "codetap" / "codetap.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    store = await Store.open(db)
    try:
        parent = await store.create_task(intent="split the work", root=repo, scope=None,
                                         model="fast", workflow="solo")
        await store.append(parent.id, 1, [turn("planner", "strong", 0.02, "plan: two parts")])
        await store.append(parent.id, 2, [turn("planner", "strong", 0.02, "plan done"), (
            "handoff", {"from_role": "planner", "to_role": "coder", "from_stage": 0,
                        "to_stage": 1, "round": 0, "data": {"summary": "two parts"}})])
        await store.append(parent.id, 3, [turn("coder", "fast", 0.005, "merged")])
        await store.update_task(parent.id, state=TaskState.READY, steps=3,
                                usage=Usage(3000, 600, 0.045))
        ids = {"parent": parent.id}
        for name, role, model, cost, state in (
                ("tests", "coder", "fast", 0.01, TaskState.READY),
                ("review", "reviewer", "strong", 0.03, TaskState.PAUSED)):
            child = await store.create_task(intent=f"{name} of the work", root=repo,
                                            scope=None, model=model, workflow="solo",
                                            parent_id=parent.id, role=role, subtask=name)
            await store.append(child.id, 1, [turn(role, model, cost, name)])
            await store.update_task(child.id, state=state, steps=1,
                                    usage=Usage(1000, 200, cost))
            ids[name] = child.id
        return ids
    finally:
        await store.close()


@pytest.fixture
async def team(env: Env, tmp_path: Path, xdg: Path) -> Any:
    write_config(xdg, tmp_path, {"fast": session_lines(), "slow": session_lines(1500),
                                 "more": FOLLOW_UP, "plans": PLAN,
                                 "priced": session_lines(800)})
    config = xdg / "config" / "codetap" / "config.toml"
    text = config.read_text()
    assert text.rstrip().splitlines()[-3] == "[models.priced]"  # the price goes to its table
    config.write_text(text + "input_price_per_mtok = 20.0\n"
                      "[scheduler]\nmax_concurrent_tasks = 1\n"
                      "[budget]\nmax_cost_usd_per_day = 5.0\n")
    ids = await seed_team(env.repo)
    api = start_api(env)
    yield api, ids
    stop(env.paths)


@pytest.fixture
def web(team: tuple[Api, dict[str, int]]) -> Iterator[Api]:
    yield team[0]


async def settled(pg: Any, state: str) -> None:
    await expect(pg.locator("#task")).to_have_attribute("data-settled", "1")
    await expect(pg.locator("#state")).to_have_text(state)


async def tab_to(pg: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    target = pg.locator(selector)
    for _ in range(limit):
        if await target.evaluate("e => e === document.activeElement"):
            return
        await pg.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def test_rollback_to_a_step_then_resume(web: Api) -> None:
    task_id = await create(web, "fast")
    async with browse(web) as pg:
        await pg.goto(f"{web.url}/tasks/{task_id}")
        await settled(pg, "ready")
        await expect(pg.locator("#diff td.add")).to_have_text(["    return a + b"])
        await pg.fill("#rollback-step", "1")
        await pg.get_by_role("button", name="Roll back").click()
        await expect(pg.locator("#op-status")).to_have_text("rollback: paused")
        await expect(pg.locator("#state")).to_have_text("paused")
        await expect(pg.locator("#diff")).to_have_text("No change.")
        async with web.client() as http:
            assert (await http.get(f"/v1/tasks/{task_id}/diff")).text == ""
        await tab_to(pg, "button[data-op=resume]")
        await pg.keyboard.press("Enter")
        await expect(pg.locator("#state")).to_have_text("ready")
        await expect(pg.locator("#diff td.add")).to_have_text(["    return a + b"])
    assert (web.env.repo / "calc.py").read_text() != FIXED  # the user's files untouched


async def test_follow_up_message_with_the_keyboard_only(web: Api) -> None:
    task_id = await create(web, "more")
    async with browse(web) as pg:
        row = pg.locator(f'#tasks tbody tr[data-id="{task_id}"]')
        await expect(row).to_have_attribute("data-state", "ready")
        await tab_to(pg, f'#tasks a[href="/tasks/{task_id}"]')
        await pg.keyboard.press("Enter")
        await expect(pg).to_have_url(re.compile(f"/tasks/{task_id}$"))
        await settled(pg, "ready")
        await tab_to(pg, "#message")
        await pg.keyboard.type("also check mul")
        await pg.keyboard.press("Enter")
        await expect(pg.locator("#op-status")).to_have_text("messages: queued")
        await expect(pg.locator("#message")).to_have_value("")
        await expect(pg.locator("#summary")).to_have_text("mul checked too")
        await expect(pg.locator("#state")).to_have_text("ready")
        await expect(pg.locator("#timeline li.k-user").last).to_contain_text("also check mul")


async def test_approve_a_plan_from_the_page(web: Api) -> None:
    task_id = await create(web, "plans", workflow="plan")
    async with browse(web) as pg:
        await pg.goto(f"{web.url}/tasks/{task_id}")
        await expect(pg.locator("#pending")).to_be_visible()
        await expect(pg.locator("#question")).to_contain_text("The planner proposes")
        await expect(pg.locator("#question")).to_contain_text("fix add in calc.py")
        await expect(pg.locator("#waiting")).to_contain_text("approval: The planner proposes")
        await expect(pg.locator("#options button")).to_have_text(["approve", "reject"])
        await pg.get_by_role("button", name="approve", exact=True).click()
        await settled(pg, "ready")
        await expect(pg.locator("#pending")).to_be_hidden()
        timeline = pg.locator("#timeline")
        await expect(timeline).to_contain_text("approval of the planner's hand-off: approved")
        await expect(timeline).to_contain_text("hand-off: planner \u2192 coder")
        await expect(pg.locator("#diff td.add")).to_have_text(["    return a + b"])


async def test_queue_depth_and_budget_use(web: Api) -> None:
    async with browse(web) as pg:
        await expect(pg.locator("#cap")).to_have_text("1")
        await expect(pg.locator("#limit-day")).to_have_text("$5.0000")
        await expect(pg.locator("#limit-hour")).to_have_text("no limit")
        await expect(pg.locator("#spent-day")).to_have_text(f"${SEEDED:.4f}")
        first = await create(web, "priced")
        second = await create(web, "priced")
        await expect(pg.locator("#count-queued")).to_have_text("1")
        await expect(pg.locator("#count-running")).to_have_text("1")
        why = pg.locator(f'#tasks tbody tr[data-id="{second}"] .why')
        await expect(why).to_have_text("queued: next")
        for task_id in (first, second):
            row = pg.locator(f'#tasks tbody tr[data-id="{task_id}"]')
            await expect(row).to_have_attribute("data-state", "ready", timeout=30_000)
        await expect(pg.locator("#count-queued")).to_have_text("0")
        await expect(pg.locator("#total")).to_have_text("5")  # 3 seeded, 2 new
        await expect(pg.locator("#spent-day")).not_to_have_text(f"${SEEDED:.4f}")
        async with web.client() as http:
            sched = (await http.get("/v1/scheduler")).json()
            infos = [(await http.get(f"/v1/tasks/{t}")).json() for t in (first, second)]
        spent = SEEDED + sum(i["usage"]["cost_usd"] for i in infos)
        assert spent > SEEDED and sched["budget"]["day"]["spent_usd"] == pytest.approx(spent, 1e-3)
        await expect(pg.locator("#spent-day")).to_have_text(f"${spent:.4f}")
        assert await pg.locator("#meter-day").evaluate("m => m.value") == pytest.approx(
            spent, 1e-3)
        await shoot(pg, "queue")


async def test_team_tree_and_usage_per_role(team: tuple[Api, dict[str, int]]) -> None:
    web, ids = team
    async with browse(web) as pg:
        await pg.goto(f"{web.url}/tasks/{ids['parent']}")
        await settled(pg, "ready")
        tree = pg.locator(".tree")
        await expect(pg.locator("#team-count")).to_have_text("2 sub-tasks")
        child = tree.locator(f'[data-tree="{ids["review"]}"]')
        await expect(child).to_contain_text("reviewer")
        await expect(child.locator(".state")).to_have_text("paused")
        await expect(tree.locator(f'[data-tree="{ids["tests"]}"] .state')).to_have_text("ready")
        roles = pg.locator("#roles tbody tr")
        await expect(roles).to_have_count(3)
        await expect(roles.locator("td:first-child")).to_have_text(
            ["planner", "coder", "reviewer"])
        await expect(pg.locator('#roles tr[data-role="coder"] td').nth(4)).to_have_text(
            "$0.0150")
        await expect(pg.locator('#roles tr[data-role="planner"] td').nth(4)).to_have_text(
            "$0.0400")
        await expect(pg.locator("#role-plot canvas")).to_have_count(1)
        await expect(pg.locator("#timeline")).to_contain_text("hand-off: planner \u2192 coder")
        await expect(pg.locator('#timeline li[data-step="3"] .step').last).to_contain_text(
            "coder \u00b7 fast")
        async with web.client() as http:  # the tree follows the tasks' updates live
            r = await http.post(f"/v1/tasks/{ids['review']}/cancel")
            assert r.status_code == 200, r.text
        await expect(child.locator(".state")).to_have_text("cancelled")
        await child.get_by_role("link").click()
        await expect(pg.locator('.tree [data-relation="parent"] > a')).to_have_text(
            f"#{ids['parent']} split the work")
        await expect(pg.locator("#team-count")).to_have_text("0 sub-tasks")


async def test_dark_mode_is_readable(web: Api) -> None:
    task_id = await create(web, "fast")
    async with browse(web, color_scheme="dark") as pg:
        body = await pg.evaluate("getComputedStyle(document.body).backgroundColor")
        assert body == "rgb(22, 24, 28)"
        await pg.goto(f"{web.url}/tasks/{task_id}")
        await settled(pg, "ready")
        colour = await pg.locator("#timeline li").first.evaluate("e => getComputedStyle(e).color")
        assert colour == "rgb(232, 232, 232)"
        await shoot(pg, "task-dark")
    async with browse(web) as pg:
        body = await pg.evaluate("getComputedStyle(document.body).backgroundColor")
        assert body == "rgb(255, 255, 255)"
