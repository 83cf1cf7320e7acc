"""A child forked without exec (a process pool's worker) must not keep the daemon lock:
after its owner dies, the next owner must get it (a killed embedded runtime's parse
workers once kept it, and the restart failed with OwnerBusy)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from codetap.daemon.lock import DaemonRunning, acquire_lock, release_lock
from codetap.daemon.paths import DaemonPaths


def test_forked_child_does_not_hold_the_lock(tmp_path: Path) -> None:
    paths = DaemonPaths(tmp_path / "run").ensure()
    lock = acquire_lock(paths)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: outlive the parent's hold on the lock
        os.close(read_end)
        os.write(write_end, b"x")
        signal.pause()
        os._exit(0)
    try:
        os.close(write_end)
        assert os.read(read_end, 1) == b"x"  # the child runs (and has forked state)
        with pytest.raises(DaemonRunning):
            acquire_lock(paths)
        release_lock(lock)
        again = acquire_lock(paths)  # free although the child still runs
        release_lock(again)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
