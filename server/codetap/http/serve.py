"""Running the HTTP API inside the daemon's front process (on its event loop).

:func:`start` resolves the settings (:mod:`codetap.http.settings`), builds the application
around the front's runtime proxy and serves it with uvicorn as an asyncio task; the
returned :class:`HttpServer` is stopped with the daemon. The daemon writes the bound
address to ``<runtime_dir>/http.addr`` so ``codetap serve`` (and tests) can find a port
chosen by the system (``:0``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codetap.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn

    from codetap.config import Config
    from codetap.http.idempotency import IdempotencyKeys
    from codetap.runtime_api import RuntimeAPI
    from codetap.store import Store

log = logging.getLogger(__name__)
ADDR_FILE = "http.addr"


@dataclass(slots=True)
class HttpServer:
    """A running HTTP API; ``url`` is where it listens (``http://HOST:PORT``)."""

    url: str
    server: uvicorn.Server
    task: asyncio.Task[None]
    store: Store
    keys: IdempotencyKeys
    unsubscribe: object
    addr_file: Path

    async def stop(self) -> None:
        """Stop accepting, close open streams (up to 5 s), release the stores."""
        self.server.should_exit = True
        self.server.force_exit = True
        with suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self.task, 5.0)
        if callable(self.unsubscribe):
            self.unsubscribe()
        self.keys.close()
        await self.store.close()
        with suppress(FileNotFoundError):
            self.addr_file.unlink()


def _server_class() -> type[uvicorn.Server]:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn without its signal handlers: the daemon handles SIGTERM/SIGINT and
        stops this server itself."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server


async def start(config: Config, runtime: RuntimeAPI, address: str) -> HttpServer:
    """Serve the HTTP API on ``address`` (``HOST:PORT``); returns once it listens.
    ConfigError for a bad address or token setup (see :func:`settings.resolve`) or a port
    that cannot be bound."""
    import uvicorn

    from codetap import metrics
    from codetap.http.app import Context, create_app
    from codetap.http.events import EventHub
    from codetap.http.idempotency import IdempotencyKeys
    from codetap.http.settings import resolve
    from codetap.lsp.journal import reader
    from codetap.store import Store

    settings = resolve(config, address)
    server_class = _server_class()
    try:
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        sock = socket.create_server((settings.host, settings.port), family=family)
        # Accepted connections inherit it; without it uvicorn's separate header and body
        # writes on a kept-alive connection meet delayed ACKs (~40 ms per request).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:
        raise ConfigError(f"cannot serve HTTP on {address}: {exc.strerror or exc}") from None
    store = await Store.open_readonly(config.db_path, url=config.store_url)
    keys = IdempotencyKeys(config.data_dir / "http.db")
    journal = reader(config.db_path, config.store_url)
    hub = EventHub(journal)
    unsubscribe = runtime.subscribe(hub)
    metrics.install(config.db_path, config.store_url)
    app = create_app(Context(runtime, store, journal, hub, keys,
                             settings.token))
    server = server_class(uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off",
        timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.005)
    name = sock.getsockname()
    host = f"[{name[0]}]" if ":" in name[0] else name[0]
    url = f"http://{host}:{name[1]}"
    addr_file = config.runtime_dir / ADDR_FILE
    tmp = addr_file.with_suffix(".tmp")
    tmp.write_text(url + "\n")
    tmp.replace(addr_file)
    log.info("HTTP API on %s (token from %s)", url, settings.token_source)
    if settings.created:
        log.warning("generated an HTTP API token in %s (mode 0600)", settings.token_source)
    return HttpServer(url, server, task, store, keys, unsubscribe, addr_file)
