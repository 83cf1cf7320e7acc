"""``codetap demo`` runs in a temporary directory of its own: the user's data, config and
runtime directories stay untouched, and the sample is removed unless ``--keep``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def demo(xdg: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codetap", "demo", *args], capture_output=True,
                          text=True, env={**os.environ, "TMPDIR": str(tmp)}, timeout=240,
                          check=False)


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_demo_leaves_the_user_s_dirs_alone_and_removes_its_copy(xdg: Path,
                                                                tmp_path: Path) -> None:
    user_config = xdg / "config" / "codetap" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text('[limits]\nmax_steps = "broken"\n')  # the demo must not read it
    (xdg / "data" / "codetap").mkdir()
    (xdg / "data" / "codetap" / "codetap.db").write_bytes(b"the user's database")
    before = {name: tree(xdg / name) for name in ("data", "config", "runtime")}
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    done = demo(xdg, tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo passed" in done.stdout and "removed the demo's temporary directory" in done.stdout
    assert list(tmp.iterdir()) == []
    assert {name: tree(xdg / name) for name in before} == before
    assert (xdg / "data" / "codetap" / "codetap.db").read_bytes() == b"the user's database"

    kept = demo(xdg, tmp, "--keep")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    [workdir] = list(tmp.iterdir())
    assert (workdir / "slugkit" / "slugkit" / "core.py").is_file()
    assert (workdir / "xdg" / "data" / "codetap" / "codetap.db").is_file()
    assert f"kept in {workdir}" in kept.stdout and f"XDG_DATA_HOME={workdir}/xdg/data" in kept.stdout
    assert {name: tree(xdg / name) for name in before} == before
