"""``codetap daemon start|stop|status|run`` and ``codetap lsp [--no-daemon]``."""

from __future__ import annotations

import sys

import click

from codetap.daemon.paths import DaemonPaths
from codetap.errors import CodetapError


@click.group()
def daemon() -> None:
    """The per-user background daemon that editors and the CLI talk to."""


@daemon.command()
def start() -> None:
    """Start the daemon in the background (no-op if it already runs)."""
    from codetap.daemon.control import start_detached

    try:
        pid = start_detached(DaemonPaths.from_env())
    except CodetapError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"codetap daemon running (pid {pid}, socket {DaemonPaths.from_env().socket})")


@daemon.command()
def stop() -> None:
    """Stop the daemon; running tasks are interrupted and resume at the next start."""
    from codetap.daemon.control import stop as stop_daemon

    try:
        stopped = stop_daemon(DaemonPaths.from_env())
    except CodetapError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("codetap daemon stopped" if stopped else "codetap daemon is not running")


@daemon.command()
def status() -> None:
    """Say whether the daemon runs; exit status 0 if it does, 3 if not."""
    from codetap.daemon.control import status as daemon_status

    st = daemon_status(DaemonPaths.from_env())
    if st.running:
        state = "accepting connections" if st.accepting else "not accepting connections"
        click.echo(f"codetap daemon running (pid {st.pid}, socket {st.socket}, {state})")
    else:
        click.echo(f"codetap daemon not running (socket {st.socket})")
        sys.exit(3)


@daemon.command()
def run() -> None:
    """Run the daemon in the foreground (for service managers and debugging)."""
    from codetap.daemon.control import run_foreground

    sys.exit(run_foreground())


@click.command()
@click.option("--no-daemon", is_flag=True, help="Serve in this process, for one editor.")
@click.option("--stdio", is_flag=True,
              help="Accepted for clients that name the transport (stdio is the only one).")
def lsp(no_daemon: bool, stdio: bool) -> None:
    """Speak LSP on stdio (what an editor launches); connects to or starts the daemon.

    ``--stdio`` is what vscode-languageclient appends for ``TransportKind.stdio``; it
    changes nothing."""
    from codetap.daemon.bridge import run_lsp

    try:
        sys.exit(run_lsp(no_daemon))
    except CodetapError as exc:
        click.echo(f"codetap lsp: {exc}", err=True)
        sys.exit(1)
