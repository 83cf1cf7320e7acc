"""Process groups of running ``bash`` calls, recorded on disk so a crash cannot orphan them.

A ``bash`` call runs in its own process group. If the runtime dies with ``kill -9``, the
group (a test runner, a server the model started) would outlive it and keep writing to the
task's worktree while the resumed task runs. Each running group is recorded as a file
``<dir>/<pgid>`` holding its leader's start time and the owning runtime process (pid and
start time); at start-up a runtime kills the groups whose owner is dead (ARCHITECTURE.md
"Durability": bash calls in flight are reported as interrupted). Groups of another live
runtime (say ``codetap lsp --no-daemon`` next to another one) are left alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import psutil


class ProcessGroups:
    """The registry in directory ``root`` (created on first use, mode 0700)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, pgid: int) -> None:
        """Record a running group whose leader is process ``pgid``."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(psutil.Error):
            me = psutil.Process()
            record = f"{psutil.Process(pgid).create_time()!r} {me.pid} {me.create_time()!r}"
            (self.root / str(pgid)).write_text(record)

    def discard(self, pgid: int) -> None:
        """Forget a group that ended normally."""
        (self.root / str(pgid)).unlink(missing_ok=True)

    def kill_leftovers(self) -> list[int]:
        """SIGKILL the recorded groups (left by a runtime that died); their ids.

        A group is skipped when a process now has its id but started at another time than
        the recorded leader (the id was reused). A group whose leader is gone but members
        remain is still ours: a process group id is not reused while the group exists.
        """
        killed = []
        for entry in self.root.glob("*") if self.root.is_dir() else []:
            if not entry.name.isdigit():
                continue
            pgid = int(entry.name)
            try:
                leader_s, owner_s, owner_start_s = entry.read_text().split()
                started: float | None = float(leader_s)
                owner, owner_start = int(owner_s), float(owner_start_s)
            except (OSError, ValueError):
                started, owner, owner_start = None, 0, 0.0
            if _alive_since(owner, owner_start):
                continue  # another runtime still running owns it
            entry.unlink(missing_ok=True)
            if not _is_ours(pgid, started):
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
                killed.append(pgid)
        return killed


def _alive_since(pid: int, started: float) -> bool:
    try:
        proc = psutil.Process(pid) if pid > 0 else None
        return (proc is not None and abs(proc.create_time() - started) < 0.01
                and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _is_ours(pgid: int, started: float | None) -> bool:
    try:
        leader = psutil.Process(pgid)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
    return started is not None and abs(leader.create_time() - started) < 0.01
