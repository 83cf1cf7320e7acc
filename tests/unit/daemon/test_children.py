"""codetap.children: subprocess exits reach the event loop by pidfd, with no thread per child.

Each case runs in a fresh interpreter, since choosing a child watcher is process-wide.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import asyncio, sys, threading
from codetap.children import watch_children_by_pidfd

in_use = watch_children_by_pidfd() if sys.argv[1] == "pidfd" else False

async def main():
    proc = await asyncio.create_subprocess_exec("sleep", "0.3")
    await asyncio.sleep(0.1)
    waiters = [t.name for t in threading.enumerate() if "waitpid" in t.name]
    code = await proc.wait()
    bad = await asyncio.create_subprocess_exec(sys.executable, "-c", "raise SystemExit(7)")
    print(in_use, len(waiters), code, await bad.wait())

asyncio.run(main())
"""


def probe(mode: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, timeout=30)
    return out.stdout.split()


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfd_open(2)")
def test_children_are_watched_by_pidfd_without_a_thread_each() -> None:
    in_use, waiter_threads, code, bad = probe("pidfd")
    assert in_use == "True"
    assert waiter_threads == "0"
    assert (code, bad) == ("0", "7")  # exit statuses still arrive


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ uses pidfds by default")
def test_the_default_watcher_uses_a_thread_per_child() -> None:
    # The cost the module exists to remove: without it, Python 3.11 waits in a thread.
    _, waiter_threads, code, bad = probe("default")
    assert waiter_threads == "1"
    assert (code, bad) == ("0", "7")
