"""The web panel in a real browser: Chromium (from the system, driven by Playwright) against
the real daemon started by ``codetap serve --http`` with replay models. Login, the live task
list, answering a question, replay of the diff at a step, cancel, no console errors.
``CODETAP_UPDATE_SCREENSHOTS=1`` rewrites docs/images/web-*.png."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.conftest import Env, session_lines, write_config
from tests.e2e.test_http import Api, start_api
from tests.e2e.test_questions import QUESTION, ask_lines

from codetap.daemon.control import stop

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IMAGES = Path(__file__).parents[2] / "docs" / "images"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")

pw = pytest.importorskip("playwright.async_api")
expect = pw.expect


@pytest.fixture
def web(env: Env, tmp_path: Path, xdg: Path) -> Iterator[Api]:
    write_config(xdg, tmp_path, {"fast": session_lines(), "slow": session_lines(1500),
                                 "asks": ask_lines()})
    yield start_api(env)
    stop(env.paths)


@contextlib.asynccontextmanager
async def browse(web: Api, color_scheme: str = "light") -> AsyncIterator[Any]:
    """A signed-in page on the tasks page (through the login form, a wrong token first);
    on leaving, asserts that the console logged no error and the page threw nothing."""
    async with pw.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = await browser.new_page(viewport={"width": 1280, "height": 900},
                                    color_scheme=color_scheme)
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.set_default_timeout(20_000)
        await pg.goto(web.url + "/")
        await expect(pg).to_have_url(re.compile(r"/login\?next=%2F$"))
        await pg.fill("#token", "wrong")
        await pg.press("#token", "Enter")
        await expect(pg.get_by_role("alert")).to_have_text("That is not the token.")
        await pg.fill("#token", web.token)
        await pg.get_by_role("button", name="Log in").click()
        await expect(pg.locator("#tasks")).to_have_attribute("data-live", "1")
        yield pg
        assert errors == []
        await browser.close()


@pytest.fixture
async def page(web: Api) -> AsyncIterator[Any]:
    async with browse(web) as pg:
        yield pg


async def create(web: Api, model: str, **extra: Any) -> str:
    async with web.client() as http:
        r = await http.post("/v1/tasks", json={"intent": f"fix add ({model})", "model": model,
                                               "repo": {"path": str(web.env.repo)}, **extra})
        assert r.status_code == 201, r.text
        task_id: str = r.json()["id"]
        return task_id


async def shoot(pg: Any, name: str, full: bool = True) -> None:
    """Save docs/images/web-``name``.png (the whole page, or the viewport) when asked to."""
    if os.environ.get("CODETAP_UPDATE_SCREENSHOTS"):
        await pg.screenshot(path=str(IMAGES / f"web-{name}.png"), full_page=full)


async def test_cookie_is_httponly_strict_and_api_takes_it(web: Api, page: Any) -> None:
    [cookie] = await page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["value"] == web.token
    async with httpx.AsyncClient(base_url=web.url, cookies={"codetap_token": web.token}) as c:
        assert (await c.get("/v1/tasks")).status_code == 200
    async with httpx.AsyncClient(base_url=web.url, cookies={"codetap_token": "x"}) as c:
        assert (await c.get("/v1/tasks")).status_code == 403
        assert (await c.get("/")).status_code == 303


async def test_live_list_follows_a_running_task(web: Api, page: Any) -> None:
    rows = page.locator("#tasks tbody tr")
    await expect(rows).to_have_count(0)
    task_id = await create(web, "slow")
    row = page.locator(f'#tasks tbody tr[data-id="{task_id}"]')
    await expect(row).to_have_attribute("data-state", "running")
    await expect(page.locator("#total")).to_have_text("1")
    await expect(row).to_have_attribute("data-state", "ready")
    await expect(row.locator("td").nth(3)).to_have_text("slow")
    await expect(row.locator("td").nth(7)).to_have_text("3")
    await expect(page.locator("#count-ready")).to_have_text("1")
    await page.select_option("select[name=state]", "failed")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(0)
    await page.goto(web.url + "/")
    await expect(page.locator("#state-plot canvas")).to_have_count(1)
    await shoot(page, "tasks")


async def test_answer_from_the_page_then_replay(web: Api, page: Any) -> None:
    task_id = await create(web, "asks")
    await page.get_by_role("link", name=re.compile(f"#{task_id} ")).click()
    await expect(page.locator("#pending")).to_be_visible()
    await expect(page.locator("#question")).to_have_text(QUESTION)
    await shoot(page, "question")
    await page.get_by_role("button", name="yes, fix it").click()
    await expect(page.locator("#task")).to_have_attribute("data-settled", "1")
    await expect(page.locator("#state")).to_have_text("ready")
    await expect(page.locator("#pending")).to_be_hidden()
    assert "yes, fix it" in await page.locator("#timeline").inner_text()
    await expect(page.locator("#diff td.add")).to_have_text(["    return a + b"])
    await expect(page.locator("#report")).to_contain_text(f"# Task {task_id}")

    # Steps: 1 ask, 2 read, 3 edit, 4 finish. Keyboard: Home on the slider, then Next.
    await page.focus("#replay-step")
    await page.keyboard.press("Home")
    box = page.locator("#replay-diff")
    await expect(box).to_have_attribute("data-step", "0")
    await expect(box).to_have_text("No change.")
    next_step = page.get_by_role("button", name="Next step")
    for _ in range(2):
        await next_step.click()
    await expect(box).to_have_attribute("data-step", "2")
    await expect(box).to_have_text("No change.")
    await next_step.click()
    await expect(box).to_have_attribute("data-step", "3")
    await expect(box.locator("td.del")).to_have_text(["    return a - b"])
    await expect(box.locator("td.add")).to_have_text(["    return a + b"])
    await expect(page.locator("#usage-plot canvas")).to_have_count(1)
    await shoot(page, "task")


async def test_cancel_a_waiting_task(web: Api, page: Any) -> None:
    task_id = await create(web, "asks")
    await page.goto(f"{web.url}/tasks/{task_id}")
    await expect(page.locator("#pending")).to_be_visible()
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.locator("#state")).to_have_text("cancelled")
    await expect(page.locator("#op-status")).to_have_text("cancel: cancelled")
    async with web.client() as http:
        assert (await http.get(f"/v1/tasks/{task_id}")).json()["state"] == "cancelled"
        r = await http.get(f"/v1/tasks/{task_id}/diff", params={"step": 0})
        assert r.status_code == 200 and r.text == ""
