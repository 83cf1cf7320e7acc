"""The daemon lock and pid file: one daemon per user, no race between two starting.

An exclusive ``fcntl.flock`` on ``daemon.lock`` is held for the daemon's whole life; the
kernel drops it when the process dies, even by ``kill -9``, so a stale lock cannot exist.
Kept free of heavy imports: a starting daemon takes the lock before anything else.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

from codetap.daemon.paths import DaemonPaths
from codetap.errors import CodetapError


class DaemonRunning(CodetapError):
    """Another daemon holds the lock; ``pid`` is its process id when known."""

    def __init__(self, paths: DaemonPaths, pid: int | None) -> None:
        super().__init__(f"a codetap daemon is already running (pid {pid or '?'}, "
                         f"socket {paths.socket})")
        self.pid = pid


def read_pid(paths: DaemonPaths) -> int | None:
    """The pid recorded in ``daemon.pid``, or ``None`` if absent or unreadable."""
    try:
        return int(paths.pid.read_text().strip())
    except (OSError, ValueError):
        return None


def acquire_lock(paths: DaemonPaths) -> IO[bytes]:
    """Hold the daemon lock for as long as the returned file stays open; DaemonRunning if
    taken. No child process keeps the lock alive: the file is close-on-exec, and a child
    forked without exec (a process pool's worker) closes its copy at once, so a killed
    owner's helpers never block the next owner."""
    fh = open(paths.lock, "a+b")  # noqa: SIM115 - the open file *is* the lock
    os.chmod(paths.lock, 0o600)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise DaemonRunning(paths, read_pid(paths)) from None
    _held.add(fh.fileno())
    return fh


_held: set[int] = set()


def _close_in_child() -> None:
    """After a fork, drop the child's references to held locks (flock belongs to the open
    file description, which a forked child shares: it would keep the lock after we die)."""
    for fd in _held:
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


def release_lock(fh: IO[bytes]) -> None:
    """Release a lock from :func:`acquire_lock` (closing its file)."""
    _held.discard(fh.fileno())
    fh.close()


os.register_at_fork(after_in_child=_close_in_child)


def lock_is_held(paths: DaemonPaths) -> bool:
    """Whether some process holds the daemon lock (a daemon is alive)."""
    try:
        fh = open(paths.lock, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return False
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False
