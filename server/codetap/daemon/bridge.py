"""``codetap lsp``: pipe an editor's stdio to the daemon socket, or serve in-process.

The bridge starts the daemon if it is not running, then copies bytes both ways without
parsing them. It ends when either side closes: the editor closing stdin (after ``exit``)
or the daemon closing the connection. The daemon keeps running.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import suppress

from codetap.children import watch_children_by_pidfd
from codetap.daemon.paths import DaemonPaths

CHUNK = 65536


async def _stdio() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(sys.stdout.fileno(), "wb", 0, closefd=False)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return reader, writer


async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, eof: bool) -> None:
    try:
        while data := await src.read(CHUNK):
            dst.write(data)
            await dst.drain()
    except (ConnectionError, OSError):
        pass
    if eof:
        with suppress(OSError, RuntimeError):
            if dst.can_write_eof():
                dst.write_eof()


async def bridge(paths: DaemonPaths) -> int:
    """Connect stdio to the daemon (starting it if needed); returns the exit status."""
    from codetap.daemon.control import start_detached

    await asyncio.to_thread(start_detached, paths)
    sock_r, sock_w = await asyncio.open_unix_connection(str(paths.socket), limit=2**24)
    in_r, out_w = await _stdio()
    up = asyncio.create_task(_pump(in_r, sock_w, eof=True))
    down = asyncio.create_task(_pump(sock_r, out_w, eof=False))
    await down  # the daemon closed the connection (after exit, or editor EOF)
    up.cancel()
    with suppress(asyncio.CancelledError):
        await up
    sock_w.close()
    return 0


async def serve_stdio() -> int:
    """``--no-daemon``: serve one editor in this process (own Runtime)."""
    from codetap.config import Config
    from codetap.lsp.hub import Hub
    from codetap.lsp.server import serve_stream
    from codetap.runtime import Runtime

    # Takes the daemon lock: refused (OwnerBusy) while a daemon owns the tasks.
    runtime = await Runtime.open(Config.load())
    hub = Hub(runtime)
    try:
        reader, writer = await _stdio()
        await serve_stream(hub, reader, writer)
    finally:
        hub.close()
        await runtime.close()
    return 0


def run_lsp(no_daemon: bool = False) -> int:
    """Entry point of ``codetap lsp [--no-daemon]``."""
    if no_daemon:
        watch_children_by_pidfd()  # this process runs the tasks (git, tools, servers)
        return asyncio.run(serve_stdio())
    return asyncio.run(bridge(DaemonPaths.from_env()))
