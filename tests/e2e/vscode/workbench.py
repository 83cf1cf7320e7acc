"""VS Code for the web (code-server) in headless Chromium, driven with Playwright.

Used by the end-to-end test of the VS Code extension and by ``bench/vscode_e2e.py``.
code-server comes from ``clients/vscode/e2e/install-code-server.sh`` (cached outside the
clone), Chromium from the system (``/usr/bin/chromium``); Playwright never downloads a
browser. Every wait is a Playwright locator wait.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, Playwright, expect

ROOT = Path(__file__).resolve().parents[3]
EXTENSION = ROOT / "clients" / "vscode"
INSTALL_SCRIPT = EXTENSION / "e2e" / "install-code-server.sh"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
IMAGES = ROOT / "docs" / "images"


class Unavailable(Exception):
    """code-server, Chromium or the extension build cannot be had on this machine."""


def install_code_server() -> Path:
    """Run the install script (a no-op once cached); returns code-server's entry.js.
    Raises :class:`Unavailable` with the script's last output lines when it fails."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Unavailable("node and npm are not installed")
    done = subprocess.run([str(INSTALL_SCRIPT)], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise Unavailable(f"install-code-server.sh failed: {tail}")
    return Path(done.stdout.strip().splitlines()[-1])


def build_vsix(out: Path) -> Path:
    """Compile and package the extension to ``out`` (npm ci first if node_modules is
    missing). Raises :class:`Unavailable` when npm fails."""
    steps = [["npm", "run", "compile"],
             ["npx", "--no-install", "vsce", "package", "--allow-missing-repository",
              "-o", str(out)]]
    if not (EXTENSION / "node_modules").is_dir():
        steps.insert(0, ["npm", "ci", "--no-audit", "--no-fund"])
    for cmd in steps:
        done = subprocess.run(cmd, check=False, cwd=EXTENSION, capture_output=True, text=True)
        if done.returncode != 0:
            raise Unavailable(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")
    return out


def codetap_executable() -> Path:
    """The codetap script of the running interpreter's environment."""
    return Path(sys.executable).parent / "codetap"


@dataclass
class CodeServer:
    """A running code-server: its process, URL and directories."""

    proc: subprocess.Popen[str]
    url: str
    user_data: Path
    log: Path

    def stop(self) -> None:
        """Terminate code-server and wait for it (kill after 10 s)."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def exthost_errors(self) -> list[str]:
        """``[error]`` lines of every extension host log and of the codetap output."""
        lines: list[str] = []
        for log in sorted(self.user_data.glob("logs/*/exthost*/**/*.log")):
            if log.name in ("remoteexthost.log", "exthost.log") or "codetap" in log.name:
                lines += [f"{log.name}: {line}" for line in log.read_text().splitlines()
                          if "[error]" in line.lower() or "[Error" in line]
        return lines

    def codetap_output(self) -> str:
        """Everything the extension wrote to its "codetap" output channel."""
        return "".join(p.read_text() for p in
                       sorted(self.user_data.glob("logs/*/exthost*/output_logging_*/*codetap*")))


def start_code_server(entry: Path, vsix: Path, base: Path, env: dict[str, str],
                      settings: dict[str, Any]) -> CodeServer:
    """Install ``vsix`` into a fresh extensions dir and start code-server on 127.0.0.1 (a
    free port chosen by the OS), no auth, workspace trust off, with a fresh user-data-dir
    holding ``settings``. Returns once it listens."""
    user_data, extensions = base / "user-data", base / "extensions"
    (user_data / "User").mkdir(parents=True)
    extensions.mkdir()
    (user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=1))
    config = base / "code-server.yaml"
    config.write_text("auth: none\ncert: false\n")
    common = ["node", str(entry), "--config", str(config), "--user-data-dir", str(user_data),
              "--extensions-dir", str(extensions)]
    subprocess.run([*common, "--install-extension", str(vsix)], env=env, check=True,
                   capture_output=True, text=True)
    log = base / "code-server.log"
    out = log.open("w")
    proc = subprocess.Popen(
        [*common, "--bind-addr", "127.0.0.1:0", "--auth", "none", "--disable-workspace-trust",
         "--disable-telemetry", "--disable-update-check", "--disable-getting-started-override"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        out.write(line)
        found = re.search(r"HTTP server listening on (http://127\.0\.0\.1:\d+/)", line)
        if found:
            # keep draining its output so code-server never blocks on a full pipe
            _drain(proc, out)
            return CodeServer(proc, found.group(1), user_data, log)
    out.close()
    raise RuntimeError(f"code-server exited before listening:\n{log.read_text()}")


def _drain(proc: subprocess.Popen[str], out: Any) -> None:
    import threading

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            out.flush()
        out.close()

    threading.Thread(target=pump, daemon=True).start()


def launch_chromium(pw: Playwright) -> Browser:
    """The system Chromium, headless, with the flags that keep it off the network."""
    if not CHROMIUM.exists():
        raise Unavailable(f"{CHROMIUM} is missing (apt: chromium)")
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)


def base_settings() -> dict[str, Any]:
    """User settings for a quiet, deterministic workbench with the extension pointed at
    this environment's codetap."""
    return {
        "files.autoSave": "off",
        "codetap.path": str(codetap_executable()),
        "workbench.startupEditor": "none",
        "security.workspace.trust.enabled": False,
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "extensions.ignoreRecommendations": True,
        "update.mode": "none",
        "telemetry.telemetryLevel": "off",
        "workbench.tips.enabled": False,
        "git.enabled": False,
        "editor.minimap.enabled": False,
        "workbench.enableExperiments": False,
    }


class Workbench:
    """A page showing the workbench, with the few gestures the tests need."""

    def __init__(self, page: Page, server: CodeServer, shots: Path | None = None) -> None:
        self.page = page
        self.server = server
        self.shots = shots or IMAGES

    def open_folder(self, folder: Path, first_file: str) -> None:
        """Load the workbench on ``folder`` and wait until the Explorer lists a file."""
        self.page.goto(f"{self.server.url}?folder={folder}")
        self.page.get_by_role("treeitem", name=first_file).wait_for(timeout=60_000)

    def open_file(self, name: str) -> None:
        """Open ``name`` from the Explorer and wait for its editor."""
        self.page.get_by_role("treeitem", name=name).click()
        self.tab(name).wait_for()
        self.editor.locator(".view-lines").wait_for()

    @property
    def editor(self) -> Locator:
        return self.page.locator(".editor-instance .monaco-editor").first

    def tab(self, name: str) -> Locator:
        return self.page.locator(".tabs-container .tab", has_text=name)

    def quick_input(self) -> Locator:
        return self.page.locator(".quick-input-widget")

    def run_command(self, title: str) -> None:
        """Run a palette command by its full title ("codetap: Start Task...")."""
        self.page.keyboard.press("F1")
        box = self.quick_input().locator("input")
        box.wait_for()
        box.fill(f">{title}")
        row = self.quick_input().locator(".monaco-list-row", has_text=title).first
        row.wait_for()
        box.press("Enter")

    def answer_input(self, text: str, title: str) -> None:
        """Type ``text`` into the input box titled ``title`` and confirm."""
        expect(self.quick_input().locator(".quick-input-title")).to_have_text(title)
        box = self.quick_input().locator("input")
        box.fill(text)
        box.press("Enter")
        expect(self.quick_input()).to_be_hidden()

    def pick(self, label: str) -> None:
        """Choose ``label`` in the open quick pick."""
        row = self.quick_input().locator(".monaco-list-row", has_text=label).first
        row.click()
        expect(self.quick_input()).to_be_hidden()

    def lens(self, text: str) -> Locator:
        return self.editor.locator(".codelens-decoration a", has_text=text)

    def status(self, text: str | re.Pattern[str]) -> Locator:
        return self.page.locator(".part.statusbar .statusbar-item", has_text=text)

    def tasks_view(self) -> Locator:
        """The codetap Tasks tree (in the Explorer; its section expanded if collapsed)."""
        header = self.page.get_by_role("button", name="codetap Tasks Section")
        header.wait_for()
        if header.get_attribute("aria-expanded") == "false":
            header.click()
        return self.page.get_by_role("tree", name="codetap Tasks")

    def task_row(self, task_id: str, intent: str) -> Locator:
        """The Tasks view row of a task (its accessible name is the row's tooltip)."""
        return self.tasks_view().get_by_role(
            "treeitem", name=re.compile(rf"^Task {task_id}: {re.escape(intent)}"))

    def text(self) -> str:
        """The editor's visible text (spaces normalised)."""
        lines = self.editor.locator(".view-lines .view-line")
        tops = [(int(re.search(r"top:\s*(\d+)px", el.get_attribute("style") or "").group(1)),
                 el.inner_text()) for el in lines.element_handles()]  # type: ignore[union-attr]
        return "\n".join(t for _, t in sorted(tops)).replace("\u00a0", " ")

    def top(self, locator: Locator) -> float:
        """Pixel top of an element on the page."""
        box = locator.bounding_box()
        assert box is not None
        return box["y"]

    def line(self, text: str) -> Locator:
        """The editor line containing ``text``."""
        return self.editor.locator(".view-lines .view-line", has_text=text)

    def screenshot(self, name: str) -> None:
        """Save the page as <shots>/vscode-<name>.png (default: docs/images)."""
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"vscode-{name}.png"))


def environ_for(xdg_env: dict[str, str]) -> dict[str, str]:
    """code-server's environment: the test's (isolated XDG dirs), no inherited VS Code IPC."""
    env = dict(xdg_env)
    for key in list(env):
        if key.startswith("VSCODE_"):
            del env[key]
    env.setdefault("HOME", os.environ.get("HOME", "/root"))
    return env
