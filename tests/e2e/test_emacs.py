"""Real Emacs (batch) with its stock eglot, no plugin, against `codetap lsp` and the real
daemon: start with workspace/executeCommand, a question answered through
window/showMessageRequest, the suggestion as a flymake diagnostic, Accept as a code
action whose edit eglot applies itself (no server edit prompt). The driver is
emacs_eglot.el; it answers eglot's prompts in elisp since batch Emacs has no user."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.conftest import FIXED, Env, write_config
from tests.e2e.test_code_actions import journal
from tests.e2e.test_questions import OPTIONS, QUESTION, ask_lines

SCRIPT = Path(__file__).with_name("emacs_eglot.el")


def _has_eglot() -> bool:
    if shutil.which("emacs") is None:
        return False
    probe = subprocess.run(["emacs", "--batch", "-q", "--eval", "(require 'eglot)"],
                           capture_output=True, timeout=60, check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _has_eglot(),
                                reason="emacs with eglot not installed (emacs-nox elpa-eglot)")


def test_eglot_start_question_diagnostic_accept(env: Env, tmp_path: Path, xdg: Path) -> None:
    write_config(xdg, tmp_path, {"asks": ask_lines()})
    out = tmp_path / "out.txt"
    proc = subprocess.run(
        ["emacs", "--batch", "-q", "-l", str(SCRIPT)],
        env={**env.env, "CT_ROOT": str(env.repo), "CT_OUT": str(out),
             "CT_PYTHON": sys.executable, "CT_ANSWER": OPTIONS[0]},
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
    )
    notes = out.read_text() if out.exists() else f"(no output) {proc.stderr}"
    assert proc.returncode == 0, f"{notes}\n{proc.stderr[-3000:]}"
    head, _, buffer = notes.partition("buffer:\n")
    lines = head.splitlines()
    assert lines[0] == "started: 1"
    assert any(line.startswith("asked: ") and QUESTION in line for line in lines), notes
    assert f"options: {' | '.join(OPTIONS)}" in lines
    assert any(line.startswith("diagnostic: codetap [") for line in lines), notes
    actions = next(line for line in lines if line.startswith("actions: "))
    assert "codetap: Reject suggestion of task 1" in actions
    assert "codetap: fix this" not in actions and "refactor selection" not in actions
    assert not any(line.startswith("edit prompt") for line in lines), notes
    assert "modified: yes" in lines  # the buffer changed, nothing saved
    assert buffer == FIXED
    assert "a - b" in (env.repo / "calc.py").read_text()
    entries = journal(env, "1")
    ask = next(e for e in entries if e["kind"] == "tool_result" and OPTIONS[0] in str(e["data"]))
    assert ask is not None
    states = [e["data"]["to"] for e in entries if e["kind"] == "state"]
    assert states[-1] == "applied", states
