"""One owner: an embedded runtime takes the daemon lock and is refused while another
owner (a daemon, or another embedded runtime) holds it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codetap.config import Config
from codetap.daemon.control import start_detached, stop
from codetap.daemon.paths import DaemonPaths
from codetap.runtime import OwnerBusy, Runtime


async def test_second_embedded_runtime_is_refused_until_the_first_closes(xdg: Path) -> None:
    config = Config.load()
    first = await Runtime.open(config)
    try:
        with pytest.raises(OwnerBusy, match="codetap daemon stop"):
            await Runtime.open(config)
    finally:
        await first.close()
    second = await Runtime.open(config)
    await second.close()


async def test_embedded_runtime_and_no_daemon_lsp_refused_while_a_daemon_runs(xdg: Path) -> None:
    paths = DaemonPaths.from_env()
    start_detached(paths)
    try:
        with pytest.raises(OwnerBusy, match=r"pid \d+"):
            await Runtime.open(Config.load())
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "codetap", "lsp", "--no-daemon"],
            input="", capture_output=True, text=True, timeout=60, env=dict(os.environ),
            check=False)
        assert done.returncode != 0
        assert "owns codetap's tasks" in done.stderr and "Traceback" not in done.stderr
    finally:
        stop(paths)
