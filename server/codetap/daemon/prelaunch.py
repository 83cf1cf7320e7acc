"""Start the runtime worker as early as possible in a new daemon process.

A restarted daemon's first job is to resume interrupted tasks, and that happens in the
worker. Python imports dominate start-up, so ``python -m codetap.daemon`` spawns the worker
before importing anything else: both processes import in parallel. The worker waits for a
``("go",)`` frame before it opens the Runtime, which the front sends only once it holds the
daemon lock; a front that loses the race closes the socket and the worker exits unused.
"""

from __future__ import annotations

import socket
import subprocess
import sys

_pending: tuple[subprocess.Popen[bytes], socket.socket] | None = None


def spawn_worker() -> tuple[subprocess.Popen[bytes], socket.socket]:
    """Start ``python -m codetap.daemon.worker FD``; the process and our end of the pair."""
    front, back = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-m", "codetap.daemon.worker", str(back.fileno())],
                            pass_fds=(back.fileno(),), stdin=subprocess.DEVNULL)
    back.close()
    return proc, front


def start_early() -> None:
    """Spawn the worker now and keep it for :func:`take`."""
    global _pending
    _pending = spawn_worker()


def take() -> tuple[subprocess.Popen[bytes], socket.socket] | None:
    """The early worker, once (None if there is none)."""
    global _pending
    early, _pending = _pending, None
    return early
