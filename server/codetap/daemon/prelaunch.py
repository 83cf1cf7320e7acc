"""Start the runtime worker as early as possible in a new daemon process.

A restarted daemon's first job is to resume interrupted tasks, and that happens in the
worker. Python imports dominate start-up, so ``python -m codetap.daemon`` forks the worker
before it imports anything else (no second interpreter start-up, and no thread exists yet
to make the fork unsafe), then takes the daemon lock and sends the worker ``("go",)``:
both processes import in parallel and the worker opens the Runtime as soon as its own
imports are done. A daemon that finds the lock taken closes its end of the pair and the
worker exits unused, so two workers never share the database.

A worker that dies later is replaced by :func:`spawn_worker` (``python -m
codetap.daemon.worker FD``): by then the front runs an event loop and threads, and a fork
would copy them.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import IO, Protocol

from codetap.daemon.frames import frame_bytes
from codetap.daemon.paths import DaemonPaths


class WorkerProcess(Protocol):
    """What the front needs of its worker's process (``subprocess.Popen`` fits)."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


class ForkedWorker:
    """A worker forked from this process: ``Popen``'s ``poll``/``wait``/``kill`` on a pid."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit status if the worker has exited (negative: killed by that signal)."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Block until the worker exits; ``subprocess.TimeoutExpired`` after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess
                raise subprocess.TimeoutExpired(f"runtime worker {self.pid}", timeout or 0)
            time.sleep(0.01)
        return code

    def kill(self) -> None:
        """SIGKILL the worker (no error if it is already gone)."""
        if self.poll() is None:
            os.kill(self.pid, 9)


_pending: tuple[WorkerProcess, socket.socket] | None = None
_lock: tuple[DaemonPaths, IO[bytes]] | None = None


def spawn_worker() -> tuple[WorkerProcess, socket.socket]:
    """Start ``python -m codetap.daemon.worker FD``; the process and our end of the pair.
    The caller sends ``("go",)`` when it holds the daemon lock."""
    import subprocess

    front, back = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-m", "codetap.daemon.worker", str(back.fileno())],
                            pass_fds=(back.fileno(),), stdin=subprocess.DEVNULL)
    back.close()
    return proc, front


def fork_worker() -> tuple[WorkerProcess, socket.socket]:
    """Fork the worker from this still single-threaded process; the child never returns."""
    front, back = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            front.close()
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.close(devnull)
            import gc

            # Imports allocate many long-lived objects: collecting during them is wasted
            # time, and freezing them keeps later collections small.
            gc.disable()
            from codetap.daemon import worker
            gc.freeze()
            gc.enable()
            code = worker.run(back.detach())
        except BaseException:  # noqa: BLE001 - the forked child must never return: report, exit
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    back.close()
    return ForkedWorker(pid), front


def start_early() -> None:
    """Fork the worker, take the daemon lock and, if we got it, let the worker start.

    On a taken lock nothing is raised here: the daemon's own start reports it (with the
    other daemon's pid) when it tries the lock again.
    """
    global _pending, _lock
    from codetap.daemon.lock import acquire_lock
    from codetap.errors import CodetapError

    proc, sock = fork_worker()
    try:
        paths = DaemonPaths.from_env().ensure()
        _lock = (paths, acquire_lock(paths))
    except (CodetapError, OSError):  # DaemonRunning among them
        sock.close()
        proc.wait()
        return
    sock.sendall(frame_bytes(("go",)))
    _pending = (proc, sock)


def take() -> tuple[WorkerProcess, socket.socket] | None:
    """The early worker, already told to go, once (None if there is none)."""
    global _pending
    early, _pending = _pending, None
    return early


def take_lock(paths: DaemonPaths) -> IO[bytes] | None:
    """The lock on ``paths`` taken by :func:`start_early`, once (None if it was not taken)."""
    global _lock
    held, _lock = _lock, None
    if held is None:
        return None
    if held[0] != paths:
        held[1].close()
        return None
    return held[1]
