"""VS Code end to end: the extension in code-server (headless Chromium, Playwright).

Measures, over ``--runs`` tasks on one workbench: (a) from the palette command "codetap:
Start Task..." (intent typed, Enter) to the "Accept (task N)" CodeLens visible, with a
replay model that answers at once; (b) from clicking Accept to the buffer showing the
change. Between runs the file is reverted. Own XDG dirs in a temp dir; the daemon is
stopped at the end. Needs what the e2e test needs (clients/vscode/e2e/install-code-server.sh,
/usr/bin/chromium, playwright).

    python bench/vscode_e2e.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect, sync_playwright
from tests.conftest import make_repo
from tests.e2e.conftest import CALC, session_lines, write_config
from tests.e2e.vscode.workbench import (
    Workbench,
    base_settings,
    build_vsix,
    environ_for,
    install_code_server,
    launch_chromium,
    start_code_server,
)

from codetap.daemon.control import stop
from codetap.daemon.paths import DaemonPaths


def fmt(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.0f} ms (range {min(xs):.0f}-{max(xs):.0f} ms)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        env = dict(os.environ)
        for name in ("DATA", "CONFIG", "CACHE"):
            (tmp / "xdg" / name.lower()).mkdir(parents=True)
            env[f"XDG_{name}_HOME"] = str(tmp / "xdg" / name.lower())
        (tmp / "xdg" / "runtime").mkdir(mode=0o700)
        env["XDG_RUNTIME_DIR"] = str(tmp / "xdg" / "runtime")
        write_config(tmp / "xdg", tmp, {"fast": session_lines(0)})
        repo = make_repo(tmp / "repo", {"calc.py": CALC}).resolve()
        entry = install_code_server()
        vsix = build_vsix(tmp / "codetap.vsix")
        env = environ_for(env)
        server = start_code_server(entry, vsix, tmp / "code-server", env, base_settings())
        to_lens: list[float] = []
        to_change: list[float] = []
        try:
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.set_default_timeout(60_000)
                expect.set_options(timeout=60_000)
                wb = Workbench(page, server)
                wb.open_folder(repo, "calc.py")
                wb.open_file("calc.py")
                for n in range(1, args.runs + 1):
                    t0 = time.perf_counter()
                    wb.run_command("codetap: Start Task...")
                    wb.answer_input("make add add", "codetap: what should be done?")
                    accept = wb.lens(f"Accept (task {n})")
                    accept.wait_for()
                    t1 = time.perf_counter()
                    accept.click()
                    wb.line("return a + b").wait_for()
                    t2 = time.perf_counter()
                    to_lens.append((t1 - t0) * 1000)
                    to_change.append((t2 - t1) * 1000)
                    print(f"run {n}: lens {to_lens[-1]:.0f} ms, accept {to_change[-1]:.0f} ms")
                    wb.run_command("File: Revert File")
                    wb.line("return a - b").wait_for()
                browser.close()
        finally:
            server.stop()
            stop(DaemonPaths.from_env(env))
    print(f"palette command -> Accept CodeLens visible: {fmt(to_lens)}")
    print(f"Accept -> buffer changed: {fmt(to_change)}")


if __name__ == "__main__":
    main()
