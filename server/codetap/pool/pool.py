"""The pool: warm language servers, one per (server name, project root).

Servers start lazily on the first request for a file they serve, stay warm between
requests, are restarted with backoff when they crash (up to ``max_restarts`` crashes per
``crash_window_s``), are shut down after ``idle_timeout_s`` without requests, and the
least recently used ones are shut down while the servers' total resident memory
(psutil, children included) exceeds ``memory_cap_mb``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from codetap.pool.errors import ServerCrashed, ServerUnavailable
from codetap.pool.specs import ServerSpec, spec_for

if TYPE_CHECKING:
    from codetap.pool.client import LspClient, OpenDocument

log = logging.getLogger(__name__)

T = TypeVar("T")
Key = tuple[str, Path]


@dataclass(slots=True)
class Outcome(Generic[T]):
    """A request's result; ``partial`` when the server had not settled within the bound."""

    value: T
    partial: bool
    server: str


@dataclass(slots=True)
class ServerStats:
    """One pooled server: name, project root, pid, resident memory (bytes), idle seconds."""

    name: str
    root: Path
    pid: int | None
    rss_bytes: int
    idle_s: float
    crashes: int


class LspPool:
    """Language servers kept warm for many workspaces.

    ``specs`` in lookup order (first serving the file's extension wins). ``ready_timeout_s``
    bounds the wait for a freshly started server to settle before an answer is returned
    marked partial; ``request_timeout_s`` bounds each request. Servers get the scrubbed
    environment of tool processes plus ``env_passthrough`` (``[tools] env_passthrough``,
    :func:`codetap.tools.environment.scrubbed_env`) and their spec's ``env``. Use from one
    event loop.
    """

    def __init__(
        self,
        specs: Sequence[ServerSpec],
        *,
        idle_timeout_s: float = 600.0,
        memory_cap_mb: float = 2048.0,
        max_restarts: int = 3,
        crash_window_s: float = 600.0,
        ready_timeout_s: float = 10.0,
        request_timeout_s: float = 30.0,
        start_timeout_s: float = 60.0,
        env_passthrough: Sequence[str] = (),
    ) -> None:
        self.specs = list(specs)
        self.idle_timeout_s = idle_timeout_s
        self.memory_cap_bytes = int(memory_cap_mb * 1024 * 1024)
        self.max_restarts = max_restarts
        self.crash_window_s = crash_window_s
        self.ready_timeout_s = ready_timeout_s
        self.request_timeout_s = request_timeout_s
        self.start_timeout_s = start_timeout_s
        self.env_passthrough = tuple(env_passthrough)
        self._clients: dict[Key, LspClient] = {}
        self._locks: dict[Key, asyncio.Lock] = {}
        self._crashes: dict[Key, list[tuple[float, str]]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    # -- public ------------------------------------------------------------------------

    def spec_for(self, path: Path) -> ServerSpec | None:
        """The spec serving ``path`` (by extension), or None."""
        return spec_for(self.specs, path)

    def project_root(self, spec: ServerSpec, workspace: Path, path: Path) -> Path:
        """Nearest directory from ``path`` up to ``workspace`` holding one of the spec's
        root markers; ``workspace`` when none does (or ``path`` lies outside it)."""
        workspace = workspace.resolve()
        current = path.resolve().parent
        if not current.is_relative_to(workspace):
            return workspace
        while current != workspace:
            if any((current / marker).exists() for marker in spec.root_markers):
                return current
            current = current.parent
        return workspace

    async def run(
        self,
        workspace: Path,
        path: Path,
        call: Callable[[LspClient, OpenDocument], Awaitable[T]],
        *,
        wait_ready: bool = True,
    ) -> Outcome[T]:
        """Run ``call(client, document)`` on the server for ``path`` in ``workspace``.

        The file's current disk contents are synced first; with ``wait_ready`` the call
        waits (bounded) for the server to settle and the outcome says whether it did.
        A crash during the call restarts the server and retries once.
        Raises ServerUnavailable (no server for this file, or program missing),
        ServerCrashed (restart limit reached), RequestFailed, OSError (file unreadable).
        """
        spec = self.spec_for(path)
        if spec is None:
            raise ServerUnavailable(
                f"no language server is configured for {path.suffix or path.name} files"
            )
        language_id = spec.language_id(path) or spec.name
        root = self.project_root(spec, workspace, path)
        for attempt in (1, 2):
            client = await self._client(spec, root)
            try:
                doc = await client.sync_file(path, language_id)
                settled = True
                if wait_ready:
                    settled = await client.readiness.wait(self.ready_timeout_s)
                value = await call(client, doc)
                client.last_used = time.monotonic()
                return Outcome(value, not settled, spec.name)
            except ServerCrashed:
                if attempt == 2 or client.alive:
                    raise
                log.warning("%s crashed during a request; restarting", spec.name)
        raise AssertionError("unreachable")

    def stats(self) -> list[ServerStats]:
        """A snapshot of the running servers."""
        now = time.monotonic()
        return [
            ServerStats(
                key[0],
                key[1],
                c.pid,
                c.rss_bytes(),
                now - c.last_used,
                len(self._crashes.get(key, [])),
            )
            for key, c in self._clients.items()
        ]

    def client(self, name: str, root: Path) -> LspClient | None:
        """The running client for server ``name`` at ``root``, if any (for diagnostics)."""
        return self._clients.get((name, root.resolve()))

    async def shutdown(self) -> None:
        """Stop every server (LSP shutdown/exit, then kill) and the housekeeping task."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        clients = list(self._clients.values())
        self._clients.clear()
        await asyncio.gather(*(c.shutdown() for c in clients), return_exceptions=True)

    async def reap(self) -> None:
        """Shut down idle servers and enforce the memory cap now (also done periodically)."""
        now = time.monotonic()
        for key, client in list(self._clients.items()):
            idle = now - client.last_used
            if client.alive and client.readiness.inflight == 0 and idle > self.idle_timeout_s:
                log.info("%s at %s idle for %.0f s; shutting down", key[0], key[1], idle)
                await self._retire(key)
        await self._enforce_memory()

    # -- internals ---------------------------------------------------------------------

    async def _client(self, spec: ServerSpec, root: Path) -> LspClient:
        if self._closed:
            raise ServerCrashed("the language server pool is shut down")
        key = (spec.name, root)
        async with self._locks.setdefault(key, asyncio.Lock()):
            client = self._clients.get(key)
            if client is not None and client.alive and not client.process_gone():
                return client
            if client is not None:
                del self._clients[key]
                await client.kill()
                tail = " | ".join(list(client.log)[-3:])
                self._crashes.setdefault(key, []).append((time.monotonic(), tail))
            crashes = self._recent_crashes(key)
            if len(crashes) > self.max_restarts:
                raise ServerCrashed(
                    f"{spec.name} crashed {len(crashes)} times in the last "
                    f"{self.crash_window_s:g} s; not restarting it. Last output: {crashes[-1][1]}"
                )
            argv = spec.resolve_command()
            if argv is None:
                hint = f" (install: {spec.install_hint})" if spec.install_hint else ""
                raise ServerUnavailable(
                    f"language server {spec.name} is not installed: {spec.command[0]} "
                    f"not found{hint}",
                    server=spec.name,
                )
            if crashes:
                await asyncio.sleep(min(0.25 * 2 ** (len(crashes) - 1), 10.0))
            from codetap.pool.client import LspClient
            client = LspClient(spec, root, argv, env_passthrough=self.env_passthrough)
            try:
                await client.start(self.start_timeout_s)
            except (ServerCrashed, OSError) as exc:
                self._crashes.setdefault(key, []).append((time.monotonic(), str(exc)))
                raise ServerCrashed(f"{spec.name} could not be started: {exc}") from None
            self._clients[key] = client
        self._ensure_reaper()
        await self._enforce_memory(keep=key)
        return client

    def _recent_crashes(self, key: Key) -> list[tuple[float, str]]:
        horizon = time.monotonic() - self.crash_window_s
        recent = [c for c in self._crashes.get(key, []) if c[0] >= horizon]
        self._crashes[key] = recent
        return recent

    async def _retire(self, key: Key) -> None:
        client = self._clients.pop(key, None)
        if client is not None:
            await client.shutdown()

    async def _enforce_memory(self, keep: Key | None = None) -> None:
        usage = {key: c.rss_bytes() for key, c in self._clients.items()}
        total = sum(usage.values())
        by_age = sorted(self._clients.items(), key=lambda kv: kv[1].last_used)
        for key, client in by_age:
            if total <= self.memory_cap_bytes or len(self._clients) <= 1:
                break
            if key == keep or client.readiness.inflight:
                continue
            log.info("language servers use %d MB > cap; shutting down %s", total >> 20, key[0])
            total -= usage.get(key, 0)
            await self._retire(key)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        interval = max(1.0, min(30.0, self.idle_timeout_s / 4))
        while self._clients:
            await asyncio.sleep(interval)
            try:
                await self.reap()
            except Exception:  # housekeeping must never die silently mid-flight
                log.exception("language server pool housekeeping failed")
