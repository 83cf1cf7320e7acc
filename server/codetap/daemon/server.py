"""The per-user daemon: one unix socket, one Runtime, one LanguageServer per connection.

Startup: create the private runtime dir, take an exclusive ``fcntl.flock`` on
``daemon.lock`` (a second daemon fails with :class:`DaemonRunning` instead of racing),
remove a stale socket (we hold the lock, so nobody serves it), write ``daemon.pid``,
open the Runtime, listen (socket mode 0600). Each accepted connection gets a fresh
pygls server from :func:`codetap.lsp.server.create_server`. SIGTERM/SIGINT stop it: running
tasks become ``interrupted`` and resume at the next start.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from contextlib import suppress
from typing import Any

from codetap.config import Config
from codetap.daemon.lock import acquire_lock, read_pid, release_lock
from codetap.daemon.paths import DaemonPaths

log = logging.getLogger(__name__)


class Daemon:
    """A running daemon; use :meth:`run` (blocks until stopped)."""

    def __init__(self, paths: DaemonPaths, config: Config) -> None:
        self.paths = paths
        self.config = config
        self._stop = asyncio.Event()
        self._connections: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def stop(self) -> None:
        """Ask :meth:`run` to shut down."""
        self._stop.set()

    async def _on_connection(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        self._writers.add(writer)
        from codetap.lsp.server import serve_stream
        try:
            await serve_stream(self.hub, reader, writer)
        except Exception:
            log.exception("connection failed")
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._connections.discard(task)

    async def _start_http(self, runtime: Any) -> Any:
        """The HTTP API (:mod:`codetap.http`) when ``$CODETAP_HTTP`` or ``[server] http``
        asks for it, else None."""
        from codetap.http.settings import http_address
        address = http_address(self.config)
        if address is None:
            return None
        from codetap.http.serve import start
        return await start(self.config, runtime, address)

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT or :meth:`stop`; DaemonRunning if one already runs."""
        from codetap.daemon import prelaunch
        from codetap.daemon.runtime_proxy import RemoteRuntime

        self.paths.ensure()
        lock = prelaunch.take_lock(self.paths) or acquire_lock(self.paths)
        try:
            with suppress(FileNotFoundError):
                self.paths.socket.unlink()
            self.paths.pid.write_text(f"{os.getpid()}\n")
            runtime = RemoteRuntime(self.config)
            await runtime.launch()
            # The LSP stack takes ~1 s to import: do it while the worker opens the Runtime
            # and resumes interrupted tasks.
            from codetap.lsp.hub import Hub
            from codetap.lsp.server import serve_stream  # noqa: F401 - warm the import
            await runtime.ready()
            self.hub = Hub(runtime)
            # What is alive now (modules, the LSP type tables) lives as long as the daemon:
            # move it out of the collector's reach, so no later full collection walks it
            # (40-80 ms each, a pause every open editor would feel).
            gc.collect()
            gc.freeze()
            old_umask = os.umask(0o177)
            try:
                server = await asyncio.start_unix_server(self._on_connection,
                                                         path=str(self.paths.socket))
            finally:
                os.umask(old_umask)
            os.chmod(self.paths.socket, 0o600)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stop.set)
            log.info("codetap daemon %s listening on %s", os.getpid(), self.paths.socket)
            http = None
            try:
                http = await self._start_http(runtime)
                await self._stop.wait()
            finally:
                if http is not None:
                    await http.stop()
                server.close()
                for w in list(self._writers):
                    w.close()
                for t in list(self._connections):
                    t.cancel()
                await asyncio.gather(*self._connections, return_exceptions=True)
                self.hub.close()
                await runtime.close()
        finally:
            with suppress(FileNotFoundError):
                self.paths.socket.unlink()
            with suppress(FileNotFoundError):
                if read_pid(self.paths) == os.getpid():
                    self.paths.pid.unlink()
            release_lock(lock)
