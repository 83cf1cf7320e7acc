"""Client side of the daemon: status, detached start, stop, and the foreground entry point."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from codetap.daemon.lock import DaemonRunning, lock_is_held, read_pid
from codetap.daemon.paths import DaemonPaths
from codetap.daemon.server import Daemon
from codetap.errors import CodetapError
from codetap.redact import install_log_filter


class DaemonStartError(CodetapError):
    """The daemon did not come up; the message includes the tail of its log."""


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    """Whether the daemon runs (lock held), its pid, and whether its socket accepts."""

    running: bool
    pid: int | None
    socket: str
    accepting: bool


def can_connect(paths: DaemonPaths) -> bool:
    """Whether something accepts connections on the daemon socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(paths.socket))
        except OSError:
            return False
    return True


def status(paths: DaemonPaths) -> DaemonStatus:
    """Current daemon status (never raises for a missing or stale daemon)."""
    running = lock_is_held(paths)
    return DaemonStatus(
        running, read_pid(paths) if running else None, str(paths.socket),
        running and can_connect(paths),
    )


def _log_tail(paths: DaemonPaths, n: int = 20) -> str:
    try:
        return "\n".join(paths.log.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def start_detached(paths: DaemonPaths, timeout_s: float = 15.0) -> int | None:
    """Start the daemon in its own session (it outlives the caller) and wait until it
    accepts connections. Returns its pid. DaemonStartError if it fails to come up.
    A daemon that is already running is left alone (its pid is returned)."""
    paths.ensure()
    if can_connect(paths):
        return read_pid(paths)
    with open(paths.log, "ab") as log_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "codetap.daemon"],
            stdin=subprocess.DEVNULL, stdout=log_fh, stderr=log_fh,
            start_new_session=True, close_fds=True,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if can_connect(paths):
            return read_pid(paths)
        if proc.poll() is not None and not lock_is_held(paths):
            raise DaemonStartError(
                f"codetap daemon exited with status {proc.returncode}:\n{_log_tail(paths)}")
        time.sleep(0.05)
    raise DaemonStartError(f"codetap daemon did not start in {timeout_s:.0f} s:\n"
                           f"{_log_tail(paths)}")


def stop(paths: DaemonPaths, timeout_s: float = 15.0) -> bool:
    """SIGTERM the daemon and wait until it released its lock (SIGKILL after timeout).
    Returns False if no daemon was running."""
    if not lock_is_held(paths):
        return False
    pid = read_pid(paths)
    if pid is None:
        raise CodetapError(f"a daemon holds {paths.lock} but {paths.pid} has no pid")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not lock_is_held(paths):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def run_foreground(paths: DaemonPaths | None = None) -> int:
    """Run the daemon in this process until stopped; exit status (1: already running)."""
    from codetap.config import Config

    paths = paths or DaemonPaths.from_env()
    logging.basicConfig(level=os.environ.get("CODETAP_LOG", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pygls logs every message body at INFO: too slow and too large for a daemon log.
    logging.getLogger("pygls").setLevel(logging.WARNING)
    install_log_filter()
    try:
        asyncio.run(Daemon(paths, Config.load()).run())
    except DaemonRunning as exc:
        print(f"codetap: {exc}", file=sys.stderr)
        return 1
    except CodetapError as exc:
        print(f"codetap daemon: {exc}", file=sys.stderr)
        return 2
    return 0


def main() -> None:
    """Entry point of ``python -m codetap.daemon``."""
    sys.exit(run_foreground())
