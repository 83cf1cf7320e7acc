"""``codetap doctor`` against the real PATH and an emptied one."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from codetap.cli.doctor import doctor, run_checks


def test_checks_find_basedpyright_and_git() -> None:
    checks = {c.name: c for c in run_checks()}
    assert checks["basedpyright"].path is not None
    assert checks["basedpyright"].version.startswith("1.")
    assert checks["git"].path is not None and checks["git"].version[0].isdigit()


def test_missing_programs_are_listed_with_install_hints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH; the venv still has basedpyright
    runner = CliRunner()
    relaxed = runner.invoke(doctor, [], terminal_width=200)
    assert relaxed.exit_code == 0
    assert "npm i -g typescript-language-server typescript@5" in relaxed.output
    assert "apt-get install ripgrep" in relaxed.output
    assert "missing: typescript-language-server, clangd, gopls, git, rg, node" in relaxed.output
    strict = runner.invoke(doctor, ["--strict"], terminal_width=200)
    assert strict.exit_code == 1
