"""The VS Code extension in a real VS Code: code-server in headless Chromium, the .vsix
built from this checkout, the real daemon (via ``codetap lsp``) and a replay model.

One test walks the whole review loop, since the workbench takes seconds to load: start a
task from the command palette, answer its ``codetap/ask`` quick pick, follow it in the
status bar and the Tasks view, see the suggestion (decorations and the Accept | Reject
CodeLens), move it with an edit above, reject it, start again and accept (the buffer
changes and is left unsaved). Screenshots of each stage go to the test's tmp dir, or to
docs/images/vscode-*.png with CODETAP_UPDATE_SCREENSHOTS=1 (how the docs' pictures are made).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from tests.conftest import make_repo
from tests.e2e.conftest import CALC, session_lines, write_config
from tests.e2e.vscode.workbench import (
    IMAGES,
    CodeServer,
    Unavailable,
    Workbench,
    base_settings,
    environ_for,
    launch_chromium,
    start_code_server,
)

from codetap.daemon.control import stop
from codetap.daemon.paths import DaemonPaths

QUESTION = "Should add return a + b?"
OPTIONS = ["yes, fix it", "no, leave it"]
INTENT = "make add add"
START = "codetap: Start Task..."
INPUT_TITLE = "codetap: what should be done?"


def asking_session() -> list[dict[str, object]]:
    """Ask (with options), then read, fix add (after a pause, so the running state can be
    seen) and finish."""
    ask = {"tool_calls": [{"name": "ask", "arguments": {"question": QUESTION,
                                                       "options": OPTIONS}}]}
    return [ask, *session_lines(delay_ms=800)]


@pytest.fixture
def code_server(code_server_entry: Path, vsix: Path, tmp_path: Path,
                xdg: Path) -> Iterator[tuple[CodeServer, Path]]:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC}).resolve()
    write_config(xdg, tmp_path, {"asks": asking_session()})
    env = environ_for(dict(os.environ))
    server = start_code_server(code_server_entry, vsix, tmp_path / "code-server", env,
                               base_settings())
    try:
        yield server, repo
    finally:
        server.stop()
        stop(DaemonPaths.from_env(env))


@pytest.mark.timeout(300)  # a first install of code-server takes ~80 s of it
def test_review_loop_in_vscode(code_server: tuple[CodeServer, Path], tmp_path: Path) -> None:
    server, repo = code_server
    shots = IMAGES if os.environ.get("CODETAP_UPDATE_SCREENSHOTS") == "1" else tmp_path / "shots"
    with sync_playwright() as pw:
        try:
            browser = launch_chromium(pw)
        except Unavailable as e:
            pytest.skip(str(e))
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)
        wb = Workbench(page, server, shots)
        wb.open_folder(repo, "calc.py")
        wb.open_file("calc.py")
        wb.tasks_view()

        # start from the palette; the model asks first (codetap/ask -> quick pick)
        wb.run_command(START)
        wb.answer_input(INTENT, INPUT_TITLE)
        expect(wb.status("waiting for you")).to_be_visible()
        expect(wb.quick_input().locator(".quick-input-title")).to_contain_text(QUESTION)
        expect(wb.task_row("1", INTENT)).to_contain_text("waiting")
        wb.screenshot("ask")
        wb.pick(OPTIONS[0])

        # live state while the model works, then the suggestion
        expect(wb.status(re.compile(r"codetap: 1 running, \d+ steps?$"))).to_be_visible()
        expect(wb.task_row("1", INTENT)).to_contain_text("running")
        wb.screenshot("running")
        accept, reject = wb.lens("Accept (task 1)"), wb.lens("Reject")
        expect(accept).to_be_visible()
        expect(reject).to_be_visible()
        expect(wb.status("1 ready for review")).to_be_visible()
        expect(wb.task_row("1", INTENT)).to_contain_text("ready")
        hunk = wb.line("return a - b")
        # the removed line is struck through, the proposed text follows it
        expect(hunk.locator("span[class*='ced-']").first).to_be_attached()
        assert wb.top(accept) < wb.top(hunk) < wb.top(accept) + 2 * hunk_height(wb)
        wb.screenshot("suggestion")

        # an edit above the hunk moves it down by one line
        before = wb.top(accept)
        wb.editor.locator(".view-line").first.click()
        page.keyboard.press("Home")
        page.keyboard.type("# calculator\n")
        expect(wb.tab("calc.py")).to_have_class(re.compile(r"\bdirty\b"))
        expect(accept).to_be_visible()
        page.wait_for_function(
            "([el, y]) => el.getBoundingClientRect().top > y", arg=[accept.element_handle(), before])
        assert abs(wb.top(accept) - before - hunk_height(wb)) < 2
        assert wb.top(accept) < wb.top(wb.line("return a - b"))
        wb.screenshot("moved")

        # Reject: the lens goes, the buffer keeps the old code
        reject.click()
        expect(accept).to_have_count(0)
        assert wb.text().splitlines()[:3] == ["# calculator", "def add(a, b):", "    return a - b"]

        # a fresh, unmodified buffer; a second task; Accept changes it, unsaved
        wb.run_command("File: Revert File")
        expect(wb.tab("calc.py")).not_to_have_class(re.compile(r"\bdirty\b"))
        wb.run_command(START)
        wb.answer_input(INTENT, INPUT_TITLE)
        wb.pick(OPTIONS[0])
        accept2 = wb.lens("Accept (task 2)")
        expect(accept2).to_be_visible()
        accept2.click()
        expect(wb.line("return a + b")).to_be_visible()
        expect(wb.lens("Accept")).to_have_count(0)
        expect(wb.tab("calc.py")).to_have_class(re.compile(r"\bdirty\b"))
        assert (repo / "calc.py").read_text() == CALC  # not saved
        wb.screenshot("accepted")
        # Read the logs while the workbench is still connected: closing the browser drops
        # the extension host's connection, and a provider call in flight then fails with
        # "...has been closed" (teardown, not the session under test).
        assert "language server running" in server.codetap_output()
        assert server.exthost_errors() == []
        browser.close()
    assert sorted(p.name for p in shots.glob("vscode-*.png")) == [
        f"vscode-{n}.png" for n in ("accepted", "ask", "moved", "running", "suggestion")]


def hunk_height(wb: Workbench) -> float:
    box = wb.editor.locator(".view-line").first.bounding_box()
    assert box is not None
    return box["height"]
