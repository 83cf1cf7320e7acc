"""Driving a real ``python -m codetap.daemon`` process: start, kill -9, wait, talk to it.

Requests go over the daemon's unix socket with :func:`codetap.cli.remote.daemon_request`
(one LSP connection per request); task progress is read from the database (read-only),
which works whether or not the daemon is alive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.e2e.durability.journal import task_row

from codetap.cli.remote import daemon_request
from codetap.daemon.control import start_detached, stop
from codetap.daemon.lock import lock_is_held, read_pid
from codetap.daemon.paths import DaemonPaths
from codetap.store.faults import ENV as FAULT_ENV
from codetap.store.faults import ONCE_ENV


def start_daemon(paths: DaemonPaths, fault: str | None = None,
                 once: Path | None = None) -> int:
    """Start a detached daemon; its pid. ``fault`` sets CODETAP_FAULT_POINT for it (and its
    runtime worker), ``once`` CODETAP_FAULT_ONCE (the file created when the fault fires)."""
    if fault:
        os.environ[FAULT_ENV] = fault
    if once:
        os.environ[ONCE_ENV] = str(once)
    try:
        pid = start_detached(paths, timeout_s=30)
    finally:
        os.environ.pop(FAULT_ENV, None)
        os.environ.pop(ONCE_ENV, None)
    assert pid is not None
    return pid


def wait_dead(paths: DaemonPaths, pid: int, timeout: float = 30.0) -> None:
    """Wait until daemon ``pid`` is gone (its lock released) and reap it."""
    deadline = time.monotonic() + timeout
    while lock_is_held(paths):
        assert time.monotonic() < deadline, f"daemon {pid} still alive"
        time.sleep(0.01)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def wait_file(path: Path, timeout: float = 30.0) -> None:
    """Wait until ``path`` exists."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)


def kill9(paths: DaemonPaths, pid: int) -> None:
    """SIGKILL the daemon and wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_dead(paths, pid)


def stop_daemon(paths: DaemonPaths) -> None:
    """Stop the daemon if one runs (SIGTERM, then reap)."""
    pid = read_pid(paths)
    stop(paths)
    if pid is not None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def request(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One request to the running daemon; its result."""
    result = daemon_request(method, params, timeout=30)
    assert result is not None, "no daemon running"
    return result


def wait_state(db: Path, task_id: int, states: set[str], timeout: float = 60.0,
               alive: DaemonPaths | None = None) -> dict[str, Any]:
    """Poll the database until the task is in one of ``states``; the task row."""
    deadline = time.monotonic() + timeout
    while True:
        row = task_row(db, task_id)
        if row["state"] in states:
            return row
        if alive is not None:
            assert lock_is_held(alive), f"daemon died; task {task_id} is {row['state']}"
        assert time.monotonic() < deadline, f"task {task_id} is {row['state']}: {row['error']}"
        time.sleep(0.02)
