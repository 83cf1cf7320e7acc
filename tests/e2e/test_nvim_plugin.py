"""The Neovim plugin (clients/nvim) in real headless Neovim 0.11 against the real daemon.

Each test runs ``nvim_plugin/driver.lua`` with one scenario; the driver uses only the
plugin's user-facing surface (``vim.lsp.enable('codetap')``, ``:Codetap ...``) and
writes what it observed (buffer lines, extmarks, list buffer, messages) as JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import CALC, FIXED, Env, session_lines, write_config

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "clients" / "nvim"
DRIVER = Path(__file__).with_name("nvim_plugin") / "driver.lua"
NVIM = Path(sys.executable).parent / "nvim"

pytestmark = pytest.mark.skipif(not NVIM.exists() and not shutil.which("nvim"),
                                reason="nvim not installed")


def run(env: Env, tmp_path: Path, scenario: str) -> dict[str, Any]:
    out = tmp_path / f"{scenario}.json"
    nvim = str(NVIM) if NVIM.exists() else "nvim"
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}",
         "-c", f"luafile {DRIVER}"],
        env={**env.env, "CT_ROOT": str(env.repo), "CT_OUT": str(out), "CT_SCENARIO": scenario,
             "CT_PYTHON": sys.executable},
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL, check=False,
    )
    assert out.exists(), f"no output; rc={proc.returncode} stderr={proc.stderr}"
    obs: dict[str, Any] = json.loads(out.read_text())
    assert proc.returncode == 0, obs.get("error", obs)
    return obs


def norm(marks: list[dict[str, Any]]) -> list[tuple[int, str | None, list[list[str]]]]:
    """Extmarks as (row, line highlight, virtual lines), in a stable order."""
    rows = [(m["row"], m.get("hl"), m["virt_lines"]) for m in marks]
    return sorted(rows, key=lambda r: (r[0], r[1] or ""))


def test_task_list_inline_diff_and_accept(env: Env, tmp_path: Path) -> None:
    obs = run(env, tmp_path, "accept")
    assert obs["lazy_before"] is True and obs["command_defined"] is True
    assert obs["list_empty"][1].startswith("(no tasks")
    # The list buffer followed the task live, from queued/running to ready.
    assert obs["list_states"][-1] == "ready"
    assert "running" in obs["list_states"]
    assert obs["list_ready"][1].startswith("#1    ready")
    assert obs["list_ready"][1].endswith("make add add")
    # Line 2 (row 1) is highlighted as removed, the new line is a virtual line below it.
    assert norm(obs["marks"]) == [
        (1, None, [["+     return a + b", "CodetapAdded"]]),
        (1, "CodetapRemoved", []),
    ]
    assert not any(m["above"] for m in obs["marks"])
    assert "-    return a - b" in obs["diff"] and "+    return a + b" in obs["diff"]
    assert obs["text"] == FIXED.splitlines()
    assert obs["list_applied"][1].startswith("#1    applied")
    # Nothing was saved: the change went into the buffer only.
    assert (env.repo / "calc.py").read_text() == CALC


def test_conflict_when_buffer_changed_under_hunk(env: Env, tmp_path: Path) -> None:
    obs = run(env, tmp_path, "conflict")
    assert [m["row"] for m in obs["marks"]] == [1, 1]
    assert norm(obs["conflict_marks"]) == [
        (1, None, [["+     return a + b", "CodetapConflict"]]),
        (1, "CodetapConflict", []),
    ]
    # The user's text is kept; the apply reports the conflict instead of clobbering.
    assert obs["text"][1] == "    return a - b  # mine"
    msgs = [n["msg"] for n in obs["notes"]]
    assert any("applied 0 change(s), 1 conflict(s) not applied" in m for m in msgs), msgs
    assert 'codetap: task ids are numbers, got "99x"' in msgs


def test_ask_answered_with_ui_select(env: Env, tmp_path: Path, xdg: Path) -> None:
    ask = {"tool_calls": [{"name": "ask", "arguments": {
        "question": "Which operator?", "options": ["plus", "minus"]}}]}
    write_config(xdg, tmp_path, {"fast": session_lines(0), "asker": [ask, *session_lines(0)]})
    obs = run(env, tmp_path, "ask")
    assert obs["asked"] == [{"items": ["plus", "minus"],
                             "prompt": "codetap task 1 asks: Which operator?"}]
    assert [m["row"] for m in obs["marks"]] == [1, 1]
