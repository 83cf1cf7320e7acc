"""The ``[server]`` table resolved: where the HTTP API listens and its bearer token.

Read from the user's config only (a project file never reaches the daemon's own settings).
The token is the value of the variable ``[server] token_env`` names; without that table key
a random token is generated once into ``<config_dir>/http-token`` (mode 0600) and reused.
Binding a non-loopback address needs a configured ``token_env`` (a generated token lives in
a file on this machine only; a network-facing API must have one its operator chose).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codetap.config_schema import ServerTable
from codetap.errors import ConfigError

if TYPE_CHECKING:
    from codetap.config import Config

TOKEN_FILE = "http-token"
HTTP_ENV = "CODETAP_HTTP"
"""Set by ``codetap serve --http``: overrides ``[server] http`` for the daemon it starts."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Where to listen (``host``, ``port``), the ``token`` and where it came from
    (``token_source``: ``env:NAME`` or the token file's path), and whether the file was
    created just now (``created``: say so once)."""

    host: str
    port: int
    token: str
    token_source: str
    created: bool = False


def parse_address(value: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (``[::1]:8765`` for IPv6) as ``(host, port)``; ConfigError otherwise.
    Port 0 picks a free port."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"[server] http = {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost`` counts; names do not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_table(config: Config) -> ServerTable:
    """The validated ``[server]`` table of the user's config (defaults when absent)."""
    raw = config.user_table.get("server") or {}
    return ServerTable.model_validate(raw)


def http_address(config: Config, env: dict[str, str] | None = None) -> str | None:
    """The address to serve HTTP on: ``$CODETAP_HTTP``, else ``[server] http``, else None."""
    env = dict(os.environ) if env is None else env
    return env.get(HTTP_ENV) or server_table(config).http


def resolve(config: Config, address: str, env: dict[str, str] | None = None) -> ServerSettings:
    """The settings to serve on ``address``. ConfigError when ``token_env`` names an unset
    or empty variable, or when a non-loopback address has no ``token_env``."""
    env = dict(os.environ) if env is None else env
    host, port = parse_address(address)
    table = server_table(config)
    if table.token_env is not None:
        token = env.get(table.token_env, "")
        if not token:
            raise ConfigError(f"[server] token_env = {table.token_env!r} but that variable is "
                              "unset or empty")
        return ServerSettings(host, port, token, f"env:{table.token_env}")
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to serve HTTP on {host} (not a loopback address) without a token: set "
            f"[server] token_env in {config.user_config_path} to a variable holding one")
    path = config.config_dir / TOKEN_FILE
    token, created = load_or_create_token(path)
    return ServerSettings(host, port, token, str(path), created)


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """``(token, created)``: the token in ``path``, or a new random one (32 bytes,
    URL-safe base64) written there with mode 0600 (created exclusively, so two starters
    racing agree on one). ConfigError for a file readable by others."""
    try:
        st = path.stat()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_token(path)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        return token, True
    if st.st_mode & 0o077:
        raise ConfigError(f"{path} is readable by other users (mode {st.st_mode & 0o777:o}); "
                          f"run `chmod 600 {path}`")
    token = path.read_text().strip()
    if not token:
        raise ConfigError(f"{path} is empty; delete it to have a new token generated")
    return token, False
