"""Fixtures shared by all tests: isolated XDG directories and sample git repositories."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point XDG_{DATA,CONFIG,RUNTIME,CACHE}_HOME at fresh directories under tmp_path."""
    base = tmp_path / "xdg"
    for name in ("DATA", "CONFIG", "RUNTIME", "CACHE"):
        d = base / name.lower()
        d.mkdir(parents=True)
        monkeypatch.setenv(f"XDG_{name}_HOME" if name != "RUNTIME" else "XDG_RUNTIME_DIR", str(d))
    (base / "runtime").chmod(0o700)
    return base


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; stdout."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout


def make_repo(path: Path, files: dict[str, str]) -> Path:
    """A git repository at ``path`` with ``files`` committed on ``main``."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "init")
    return path


@pytest.fixture(autouse=True)
def no_leaked_database_connections() -> Iterator[None]:
    """Fail a test that leaves an aiosqlite connection open: its thread is not a daemon
    thread, so one leak makes the whole pytest process hang at exit."""
    import aiosqlite

    def open_connections() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if isinstance(t, aiosqlite.Connection)}

    before = open_connections()
    yield
    leaked = open_connections() - before
    for _ in range(20):
        if not any(t.is_alive() for t in leaked):
            return
        time.sleep(0.05)
    for conn in leaked:
        conn._stop_running()  # private, but the only way to end the thread from here
    pytest.fail(f"test left {len(leaked)} aiosqlite connection(s) open")
