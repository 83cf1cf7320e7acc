"""How codetap's event loops learn that a child process exited.

Python 3.11's asyncio waits for each subprocess (``asyncio.create_subprocess_exec``) in a
thread of its own (``ThreadedChildWatcher``): every ``git`` command, tool run or language
server a task starts also creates and ends a thread. When steps ran three ``git``
commands each (before checkpoints were committed in-process), 4 tasks with a fast model
made hundreds of thread starts and exits per second, kernel work next to the editor. A pidfd (pidfd_open(2), Linux 5.3+) makes the exit an ordinary
readable file descriptor in the loop instead. Python 3.12 and later pick pidfds by
themselves when the kernel has them, and deprecate choosing a watcher.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading


def watch_children_by_pidfd() -> bool:
    """Make event loops created after this call (``asyncio.run``) in the main thread wait
    for subprocesses with pidfds. True when pidfds are in use after the call (always the
    case on Python 3.12+ with a kernel that has them); False leaves asyncio's default.
    Call it before ``asyncio.run``, from the main thread of a process whose event loops
    all run in that thread (a 3.11 pidfd watcher serves only the main thread's loop)."""
    if not hasattr(os, "pidfd_open") or threading.current_thread() is not threading.main_thread():
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:  # pidfd_open(2) is missing (kernel < 5.3) or refused (seccomp)
        return False
    if sys.version_info >= (3, 12):
        return True
    asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
    return True
