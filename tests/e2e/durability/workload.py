"""The multi-step task the fault-injection suite crashes: a repository and a replay model.

Six model turns (each ``delay_ms`` long, so random-time kills land in model calls too)
read files, append lines with ``edit`` (an edit applied twice would show the line twice),
create a file with ``write``, run ``bash`` (which appends its name to a marks file outside
the worktree, so each run of a command can be counted) and end with ``finish``. Turn 3
edits the same file twice in one turn. Every turn has fixed usage so token totals are
exact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import make_repo

FILES = {
    "app/__init__.py": "",
    "app/a.py": "def a():\n    return 1\n# end of a\n",
    "app/b.py": "def b():\n    return 2\n# end of b\n",
    "notes.md": "# Notes\n",
}
MARKS_ENV = "CODETAP_TEST_MARKS"
TURN_DELAY_MS = 60
USAGE = {"input_tokens": 1000, "output_tokens": 50}
APPENDED = ["A1 = 1\n", "B1 = 1\n", "- checked\n", "A2 = 2\n", "A3 = 3\n"]


def _append(path: str, end: str, line: str) -> dict[str, Any]:
    return {"name": "edit", "arguments": {"path": path, "old_string": end,
                                          "new_string": line + end}}


def _bash(name: str, extra: str = "") -> dict[str, Any]:
    return {"name": "bash", "arguments": {
        "command": f'echo {name} >> "${MARKS_ENV}"; {extra}sleep 0.1'}}


TURNS: list[dict[str, Any]] = [
    {"text": "Looking around.", "tool_calls": [
        {"name": "read", "arguments": {"path": "app/a.py"}},
        {"name": "read", "arguments": {"path": "app/b.py"}},
        {"name": "glob", "arguments": {"pattern": "**/*.py"}}]},
    {"tool_calls": [_append("app/a.py", "# end of a\n", APPENDED[0]), _bash("bash1")]},
    {"tool_calls": [_append("app/b.py", "# end of b\n", APPENDED[1]),
                    {"name": "write", "arguments": {"path": "new.txt", "content": "created\n"}}]},
    {"tool_calls": [{"name": "read", "arguments": {"path": "notes.md"}},
                    {"name": "edit", "arguments": {"path": "notes.md", "old_string": "# Notes\n",
                                                   "new_string": "# Notes\n" + APPENDED[2]}},
                    _append("app/a.py", "# end of a\n", APPENDED[3]),
                    _append("app/a.py", "# end of a\n", APPENDED[4])]},
    {"tool_calls": [_bash("bash2", "python3 -c 'import app.a' && "),
                    {"name": "todo", "arguments": {"items": [
                        {"text": "append lines", "status": "done"}]}}]},
    {"text": "Done.", "tool_calls": [{"name": "finish", "arguments": {"summary": "appended"}}]},
]
BASH_NAMES = ("bash1", "bash2")


def write_session(path: Path, turns: list[dict[str, Any]] | None = None,
                  delay_ms: int = TURN_DELAY_MS) -> Path:
    """Write the replay session file (turns get ``delay_ms`` and fixed usage)."""
    lines = [json.dumps({**t, "delay_ms": delay_ms, "usage": USAGE}) for t in turns or TURNS]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_config(config_dir: Path, session: Path, extra: str = "") -> None:
    """``config.toml`` with the replay model as default (``extra`` TOML appended)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    # These tests watch bash's process groups and a marks file from outside the worktree:
    # unsandboxed, with the marks variable passed through (issue 15 scrubs the rest).
    unsandboxed = f'[sandbox]\nmode = "off"\n[tools]\nenv_passthrough = ["{MARKS_ENV}"]\n'
    (config_dir / "config.toml").write_text(
        f'default_model = "replay"\n{unsandboxed}[models.replay]\nprovider = "replay"\n'
        f'path = "{session}"\n' + extra)


def make_workload_repo(path: Path) -> Path:
    """A git repository with :data:`FILES` committed."""
    return make_repo(path, FILES).resolve()
