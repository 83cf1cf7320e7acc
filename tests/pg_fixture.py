"""A real PostgreSQL server for tests: ``pg_server`` (one per test session) and ``pg_url``
(a fresh, empty database per test).

The server is initdb'd into a temporary directory and listens on 127.0.0.1 on a free port
(and on a unix socket in that directory). PostgreSQL refuses to run as root, so under root
(as in CI) initdb and postgres run as the unprivileged user ``codetap-pg`` (created with
useradd if absent) and the directory is handed to it. ``fsync=off``: the tests restart the
server cleanly (``pg_ctl -m fast``), which writes everything out anyway.

Use it from a test module with ``from tests.pg_fixture import pg_server, pg_url  # noqa``
or from a conftest with ``pytest_plugins = ["tests.pg_fixture"]``. Tests are skipped, with
the reason shown, only when the PostgreSQL server binaries are not installed (Debian:
``apt-get install postgresql``).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "codetap-pg"
_counter = itertools.count(1)


def find_bindir() -> Path | None:
    """The directory of ``initdb``/``pg_ctl``: ``$CODETAP_PG_BINDIR``, the newest
    /usr/lib/postgresql/*/bin, or one on PATH; None when there is none."""
    env = os.environ.get("CODETAP_PG_BINDIR")
    candidates = [env] if env else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                         else 0, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running PostgreSQL: ``url(dbname)`` connects as the superuser ``postgres``.
    ``durable`` False (tests) turns fsync off; True (benchmarks) keeps the defaults."""

    bindir: Path
    datadir: Path
    port: int
    run_as: str | None
    durable: bool = False

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} "
                "-c max_connections=200")
        if not self.durable:
            opts += " -c fsync=off -c full_page_writes=off"
        self._ctl("-w", "-t", "60", "-l", str(self.datadir / "server.log"), "-o", opts, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``mode``: smart, fast or immediate) and wait for it to exit."""
        self._ctl("-w", "-t", "60", "-m", mode, "stop")

    def restart(self) -> None:
        """Stop (fast: connections are cut, committed work is kept) and start again."""
        self.stop("fast")
        self.start()

    def admin(self, sql: str) -> None:
        """Run ``sql`` as the superuser on database ``postgres`` (autocommit)."""
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def new_database(self) -> str:
        """A fresh empty database; its name."""
        name = f"t{os.getpid()}_{next(_counter)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _unprivileged_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        import pwd
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        PG_USER], check=True, capture_output=True)
    return PG_USER


def start_server(bindir: Path, *, durable: bool = False) -> tuple[PgServer, Path]:
    """initdb a new cluster in a new temporary directory and start it; the server and the
    directory (remove it after :meth:`PgServer.stop`)."""
    base = Path(tempfile.mkdtemp(prefix="codetap-pg-"))
    datadir = base / "data"
    user = _unprivileged_user()
    if user is not None:
        shutil.chown(base, user)
    base.chmod(0o700)
    initdb = [str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
              "-E", "UTF8", "--locale=C", "--no-sync"]
    if user:
        initdb = ["runuser", "-u", user, "--", *initdb]
    subprocess.run(initdb, check=True, capture_output=True, timeout=120)
    server = PgServer(bindir, datadir, _free_port(), user, durable)
    server.start()
    return server, base


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole session (skipped when the binaries are absent)."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (initdb, pg_ctl): "
                    "apt-get install postgresql, or set CODETAP_PG_BINDIR")
    server, base = start_server(bindir)
    try:
        yield server
    finally:
        server._ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh empty database on :func:`pg_server`, dropped after the test."""
    name = pg_server.new_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)
