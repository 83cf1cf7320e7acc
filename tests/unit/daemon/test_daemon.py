"""Daemon lifecycle: private dirs, lock, stale socket/pid, start/stop/status, bridge."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from codetap.config import Config
from codetap.daemon import control
from codetap.daemon.lock import DaemonRunning
from codetap.daemon.paths import DaemonPaths, RuntimeDirError
from codetap.daemon.server import Daemon


def test_paths_follow_xdg_and_fallback(tmp_path: Path) -> None:
    assert DaemonPaths.from_env({"XDG_RUNTIME_DIR": str(tmp_path)}).socket == \
        tmp_path / "codetap" / "daemon.sock"
    fallback = DaemonPaths.from_env({})
    assert fallback.runtime_dir == Path(f"/tmp/codetap-{os.getuid()}")
    fallback.ensure()
    assert stat.S_IMODE(fallback.runtime_dir.stat().st_mode) == 0o700


def test_open_runtime_dir_is_made_private_and_files_refused(tmp_path: Path) -> None:
    d = tmp_path / "rt"
    d.mkdir(mode=0o777)
    d.chmod(0o777)
    DaemonPaths(d).ensure()
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(RuntimeDirError, match="cannot create .*file"):
        DaemonPaths(f).ensure()


async def test_lock_refuses_second_daemon_and_socket_is_private(xdg: Path) -> None:
    paths = DaemonPaths.from_env()
    first = Daemon(paths, Config.load())
    run = asyncio.create_task(first.run())
    for _ in range(200):
        if paths.socket.exists():
            break
        await asyncio.sleep(0.02)
    assert stat.S_IMODE(paths.socket.stat().st_mode) == 0o600
    assert paths.pid.read_text().strip() == str(os.getpid())
    with pytest.raises(DaemonRunning, match=f"pid {os.getpid()}"):
        await Daemon(paths, Config.load()).run()
    assert paths.socket.exists(), "the refused daemon must not remove the live socket"
    st = control.status(paths)
    assert st.running and st.accepting
    first.stop()
    await run
    assert not paths.socket.exists() and not paths.pid.exists()


def test_stale_socket_and_pid_are_replaced(xdg: Path) -> None:
    paths = DaemonPaths.from_env().ensure()
    import socket

    s = socket.socket(socket.AF_UNIX)
    s.bind(str(paths.socket))
    s.close()  # a socket file nobody listens on
    paths.pid.write_text("999999\n")
    assert not control.status(paths).running
    pid = control.start_detached(paths)
    try:
        assert pid is not None and pid != 999999
        assert control.status(paths).accepting
        assert control.start_detached(paths) == pid  # second start: same daemon
    finally:
        assert control.stop(paths)
    assert not control.status(paths).running
    assert control.stop(paths) is False


def test_cli_start_status_stop(xdg: Path) -> None:
    cmd = [sys.executable, "-m", "codetap", "daemon"]
    status = subprocess.run([*cmd, "status"], capture_output=True, text=True, check=False)
    assert status.returncode == 3 and "not running" in status.stdout
    started = subprocess.run([*cmd, "start"], capture_output=True, text=True, timeout=30, check=False)
    assert started.returncode == 0, started.stderr
    try:
        status = subprocess.run([*cmd, "status"], capture_output=True, text=True, check=False)
        assert status.returncode == 0 and "accepting connections" in status.stdout
    finally:
        stopped = subprocess.run([*cmd, "stop"], capture_output=True, text=True, timeout=30, check=False)
    assert "stopped" in stopped.stdout


def test_bad_config_makes_start_fail_clearly(xdg: Path) -> None:
    (xdg / "config" / "codetap").mkdir(parents=True)
    (xdg / "config" / "codetap" / "config.toml").write_text("default_model = [")
    with pytest.raises(control.DaemonStartError, match="invalid TOML"):
        control.start_detached(DaemonPaths.from_env(), timeout_s=10)
