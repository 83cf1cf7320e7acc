"""``codetap serve [--http HOST:PORT] [--detach]``: the daemon with its HTTP API on.

The HTTP API is part of the daemon (docs/http.md), so ``serve`` (re)starts the daemon with
it: a daemon already running without it is stopped first (its running tasks are
interrupted and resume in the new one). In the foreground by default (for service
managers and containers; Ctrl-C stops it); ``--detach`` leaves it in the background and
prints the URL. ``--http`` wins over ``[server] http``; to have the daemon serve HTTP
whenever it starts (editors start it too), set ``[server] http`` in the user config.
A generated token is printed once, when it is created.
"""

from __future__ import annotations

import os
import sys
import time

import click

from codetap.errors import CodetapError


@click.command()
@click.option("--http", "address", metavar="HOST:PORT",
              help="Where to listen (default: [server] http), e.g. 127.0.0.1:8765.")
@click.option("--detach", is_flag=True, help="Run the daemon in the background.")
def serve(address: str | None, detach: bool) -> None:
    """Run the daemon with the HTTP API (REST + Server-Sent Events, /metrics)."""
    from codetap.config import Config
    from codetap.daemon.control import can_connect, run_foreground, start_detached, stop
    from codetap.daemon.paths import DaemonPaths
    from codetap.http.serve import ADDR_FILE
    from codetap.http.settings import HTTP_ENV, resolve, server_table

    try:
        config = Config.load()
        address = address or server_table(config).http
        if address is None:
            raise click.UsageError("give --http HOST:PORT or set [server] http in "
                                   f"{config.user_config_path}")
        settings = resolve(config, address)
    except CodetapError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.created:
        click.echo(f"HTTP API token (saved in {settings.token_source}, shown once):\n"
                   f"  {settings.token}")
    paths = DaemonPaths.from_env()
    addr_file = config.runtime_dir / ADDR_FILE
    if stop(paths):
        click.echo("stopped the running daemon (its tasks resume in the new one)", err=True)
    addr_file.unlink(missing_ok=True)
    os.environ[HTTP_ENV] = address
    if not detach:
        sys.exit(run_foreground(paths))
    try:
        start_detached(paths)
    except CodetapError as exc:
        raise click.ClickException(str(exc)) from None
    deadline = time.monotonic() + 15.0
    while not addr_file.exists():
        if time.monotonic() > deadline or not can_connect(paths):
            raise click.ClickException(f"the daemon did not start its HTTP API; see {paths.log}")
        time.sleep(0.02)
    click.echo(f"codetap HTTP API on {addr_file.read_text().strip()}")
