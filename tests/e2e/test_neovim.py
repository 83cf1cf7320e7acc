"""Real headless Neovim 0.11, stock vim.lsp, no plugin, against `codetap lsp`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.conftest import FIXED, Env

NVIM = Path(sys.executable).parent / "nvim"
SCRIPT = Path(__file__).with_name("nvim_accept.lua")


@pytest.mark.skipif(not NVIM.exists() and not shutil.which("nvim"), reason="nvim not installed")
def test_neovim_accepts_suggestion(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    nvim = str(NVIM) if NVIM.exists() else "nvim"
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-c", f"luafile {SCRIPT}"],
        env={**env.env, "CT_ROOT": str(env.repo), "CT_OUT": str(out),
             "CT_PYTHON": sys.executable},
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL, check=False,
    )
    result = out.read_text() if out.exists() else f"(no output) {proc.stderr}"
    assert proc.returncode == 0, result
    assert result == FIXED
    # Nothing was saved: the suggestion went to the buffer, the file is untouched.
    assert "a - b" in (env.repo / "calc.py").read_text()
