"""Remote repositories: their URLs, the ``[git]`` settings, and how codetap's own git
processes authenticate (ARCHITECTURE.md "Service mode").

A task's repository may be a URL (``https``, ``http``, ``ssh``, ``git``, ``file``, or the
scp form ``user@host:path``). Credentials come from git's own credential helpers and ssh
agent, or from a per-host token (``[git.hosts."HOST"] token_env``), or from a password in
the URL the caller gave. A token is passed to one git process at a time through
``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` (an ``http.<url>.
extraHeader`` scoped to the remote's origin), so it is never written into a URL, a git
config file, the journal or the tool sandbox's environment; every token is registered with
:mod:`codetap.redact` before it is used.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from codetap import redact
from codetap.errors import WorkspaceError

SCHEMES = ("https", "http", "ssh", "git", "file")
_SCP = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_IDENTITY = {
    "GIT_AUTHOR_NAME": "codetap", "GIT_AUTHOR_EMAIL": "codetap@localhost",
    "GIT_COMMITTER_NAME": "codetap", "GIT_COMMITTER_EMAIL": "codetap@localhost",
}
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false")
# Passwords given inside URLs, by stored (password-free) URL: kept in memory only, so after
# a restart git's credential helpers or a configured token must supply them.
_url_passwords: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class GitHost:
    """``[git.hosts."HOST"]``: ``token_env`` names the variable holding the host's token,
    ``api_url`` the REST base (GitHub: ``https://api.github.com``, GitHub Enterprise:
    ``https://HOST/api/v3``; GitLab: ``https://HOST/api/v4``), ``kind`` github | gitlab
    (default: gitlab when the host name contains "gitlab", else github), ``username`` the
    user name sent with the token over https (Basic auth)."""

    token_env: str | None = None
    api_url: str | None = None
    kind: str | None = None
    username: str = "x-access-token"


@dataclass(frozen=True, slots=True)
class GitSettings:
    """``[git]``: branch name template (``{id}`` is the task id), whether to push on ready
    (and on failure), clone/fetch attempts and the first backoff (seconds, doubling, at most
    60 s), and per-host settings keyed ``host`` or ``host:port``."""

    branch_template: str = "codetap/task-{id}"
    push: bool = False
    push_on_failure: bool = False
    fetch_attempts: int = 4
    fetch_backoff_s: float = 2.0
    hosts: Mapping[str, GitHost] = field(default_factory=dict)

    def host(self, remote: RemoteURL) -> GitHost:
        """The settings of ``remote``'s host (``host:port`` first, then ``host``)."""
        if remote.port is not None and f"{remote.host}:{remote.port}" in self.hosts:
            return self.hosts[f"{remote.host}:{remote.port}"]
        return self.hosts.get(remote.host, GitHost())

    def token(self, remote: RemoteURL) -> str | None:
        """The token for ``remote`` (URL password first, then the host's ``token_env``),
        registered for redaction; None if there is none."""
        host = self.host(remote)
        token = _url_passwords.get(remote.url)
        if token is None and host.token_env:
            token = os.environ.get(host.token_env) or None
            if token:
                redact.register({host.token_env: token})
        return token


@dataclass(frozen=True, slots=True)
class RemoteURL:
    """A parsed repository URL. ``url`` is the form stored and given to git (no password);
    ``path`` is the repository path without leading ``/`` or trailing ``.git``
    (``owner/repo``); ``host`` is empty for ``file`` URLs."""

    url: str
    scheme: str
    host: str
    port: int | None
    path: str

    @property
    def origin(self) -> str:
        """``scheme://host[:port]/``, the prefix a credential header is scoped to."""
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{self.host}{port}/"


def parse_remote(url: str) -> RemoteURL:
    """Parse a repository URL; a password in it is removed from the stored form, kept in
    memory for this process and registered for redaction. WorkspaceError for other schemes,
    a missing host or path, or a relative ``file`` path."""
    url = url.strip()
    scp = _SCP.match(url) if "://" not in url else None
    if scp:
        user = f"{scp['user']}@" if scp["user"] else ""
        return RemoteURL(f"{user}{scp['host']}:{scp['path']}", "ssh", scp["host"], None,
                         _repo_path(scp["path"]))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise WorkspaceError(f"unsupported repository URL {_without_password(url)!r}: use "
                             "https, ssh, git or file URLs (or user@host:path)")
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise WorkspaceError(f"file URL {url!r} must be absolute (file:///path/repo)")
        return RemoteURL(f"file://{parts.path}", "file", "", None, _repo_path(parts.path))
    if not parts.hostname or not parts.path.strip("/"):
        raise WorkspaceError(f"repository URL {_without_password(url)!r} needs a host and a path")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{quote(unquote(parts.username), safe='')}@{netloc}"
    stored = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    if parts.password:
        password = unquote(parts.password)
        redact.register({"git URL password": password})
        _url_passwords[stored] = password
    return RemoteURL(stored, scheme, parts.hostname, parts.port, _repo_path(parts.path))


def _without_password(url: str) -> str:
    return re.sub(r"//([^/@:]*):[^/@]*@", r"//\1:***@", url)


def _repo_path(path: str) -> str:
    path = path.strip("/")
    return path.removesuffix(".git")


def mirror_dir(data_dir: Path, remote: RemoteURL) -> Path:
    """``<data_dir>/mirrors/<host>/<path>.git`` (``host_port`` with a port, ``local`` for
    file URLs); every part made safe (no ``..``, no separators)."""
    host = remote.host or "local"
    if remote.port is not None:
        host += f"_{remote.port}"
    parts = [_SAFE.sub("_", p) for p in remote.path.split("/") if p not in ("", ".", "..")]
    parts = [p for p in parts if p.strip(".")] or ["repo"]
    return data_dir / "mirrors" / _SAFE.sub("_", host) / Path(*parts[:-1]) / f"{parts[-1]}.git"


def auth_env(settings: GitSettings, remote: RemoteURL) -> dict[str, str]:
    """Environment for one git process talking to ``remote``: an https token as an
    ``extraHeader`` scoped to the remote's origin (config from the environment, never in
    a file or URL); ssh without prompts. git's credential helpers still apply."""
    env: dict[str, str] = {"GIT_TERMINAL_PROMPT": "0"}
    if remote.scheme == "ssh" and "GIT_SSH_COMMAND" not in os.environ:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    token = settings.token(remote) if remote.scheme in ("https", "http") else None
    if token:
        user = settings.host(remote).username
        basic = base64.b64encode(f"{user}:{token}".encode()).decode()
        redact.register({"git token (Basic)": basic})
        env.update({"GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": f"http.{remote.origin}.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"})
    return env


async def run_git(cwd: Path, *args: str, env: Mapping[str, str] | None = None,
                  timeout_s: float = 600.0) -> tuple[int, str, str]:
    """Run ``git args`` in ``cwd`` with codetap's identity, hooks off; (exit code, stdout,
    stderr), stderr redacted. A run longer than ``timeout_s`` seconds is killed and
    reported as exit code -9."""
    full = {**os.environ, **_IDENTITY, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    proc = await asyncio.create_subprocess_exec(
        "git", *_NO_HOOKS, *args, cwd=cwd, env=full, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -9, "", f"git {args[0]} timed out after {timeout_s:g} s"
    return (proc.returncode or 0, out.decode(errors="replace"),
            redact.redact_text(err.decode(errors="replace")).strip())


def branch_name(template: str, task_id: int, override: str | None = None) -> str:
    """The task's branch: ``override`` or ``template`` with ``{id}``. WorkspaceError for a
    name git refuses (``git check-ref-format --branch`` rules, checked here without git:
    no ``..``, ``@{``, control or special characters, leading ``-`` or trailing ``.lock``)."""
    try:
        name = override or template.format(id=task_id)
    except (KeyError, IndexError, ValueError) as exc:
        raise WorkspaceError(f"[git] branch_template {template!r}: {exc}") from None
    bad = (not name or name.startswith(("-", "/")) or name.endswith(("/", ".", ".lock"))
           or ".." in name or "@{" in name or "//" in name or name == "@"
           or any(c in name for c in " ~^:?*[\\\x7f") or any(ord(c) < 32 for c in name)
           or any(p.startswith(".") for p in name.split("/")))
    if bad:
        raise WorkspaceError(f"{name!r} is not a valid branch name")
    return name
