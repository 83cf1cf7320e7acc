"""``[sandbox]``: whether and how ``bash`` runs under bubblewrap (issue 15, "Sandbox").

Example (user config; a project's may only tighten it, :meth:`SandboxSettings.tightened`)::

    [sandbox]
    mode = "auto"              # auto | required | off
    network = "off"            # off | on
    read_paths = ["~/.cargo", "~/.rustup"]   # visible read-only ($HOME is empty otherwise)
    write_paths = ["~/.cache/go-build"]      # visible read-write
    max_processes = 1024       # cgroup pids.max per call (see codetap.tools.proclimits)
    memory_mb = 4096           # optional: cgroup memory limit, else RLIMIT_AS

``auto`` sandboxes when :func:`probe` says bubblewrap works and otherwise runs unsandboxed,
saying so (log, tool result, :func:`describe` for ``codetap doctor`` and the journal);
``required`` makes ``bash`` refuse to run without it; ``off`` never sandboxes. What the
sandbox shows is :mod:`codetap.tools.sandbox_mounts`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from codetap.errors import ConfigError
from codetap.tools.proclimits import limit_support
from codetap.tools.sandbox_mounts import git_dirs, sandbox_argv

__all__ = ["BWRAP_ENV", "SandboxSettings", "SandboxStatus", "describe", "git_dirs",
           "network_notice", "probe", "sandbox_argv"]

Mode = Literal["auto", "required", "off"]
Network = Literal["off", "on"]
MODES: tuple[Mode, ...] = ("off", "auto", "required")  # weakest first
BWRAP_ENV = "CODETAP_BWRAP"
INSTALL_HINT = "apt-get install bubblewrap"


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """The ``[sandbox]`` table. Paths are absolute (``~`` expanded when parsed)."""

    mode: Mode = "auto"
    network: Network = "off"
    read_paths: tuple[str, ...] = ()
    write_paths: tuple[str, ...] = ()
    max_processes: int = 1024
    memory_mb: int | None = None

    @classmethod
    def from_toml(cls, table: Any, where: str) -> SandboxSettings:
        """Build from a parsed ``[sandbox]`` table (a dict).

        Raises ConfigError naming ``where`` (the file) and the key for unknown keys, wrong
        types or values, and relative paths.
        """
        return cls(**_parse(table, where))

    def tightened(self, project_table: Any, where: str) -> tuple[SandboxSettings, list[str]]:
        """Apply an untrusted project's ``[sandbox]`` table: it may only tighten.

        ``mode`` only moves towards ``required`` (off < auto < required); ``network`` only to
        ``off``; ``max_processes``/``memory_mb`` only lower; ``read_paths``/``write_paths``
        only drop entries (the result is the intersection). Returns the new settings and
        the keys that tried to loosen (``"sandbox.network"``...), in table order, for the
        caller's warning. Raises ConfigError as :meth:`from_toml` for a malformed table.
        """
        wanted = _parse(project_table, where)
        changes: dict[str, Any] = {}
        ignored: list[str] = []
        for key, value in wanted.items():
            current = getattr(self, key)
            if key == "mode":
                ok = MODES.index(value) >= MODES.index(current)
            elif key == "network":
                ok = value == "off" or current == "on"
            elif key in ("read_paths", "write_paths"):
                ok = set(value) <= set(current)
                value = tuple(p for p in current if p in value)
            else:
                ok = current is None or value <= current
            if ok:
                changes[key] = value
            else:
                ignored.append(f"sandbox.{key}")
                if key in ("read_paths", "write_paths"):
                    changes[key] = value
        return dataclasses.replace(self, **changes), ignored


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    """What :func:`probe` found: ``works``, the bwrap path and version, or why not."""

    works: bool
    reason: str
    bwrap: str | None = None
    version: str = ""
    limits: str = ""


def probe(bwrap: str | None = None) -> SandboxStatus:
    """Can bubblewrap sandbox a command here? Runs ``true`` in a real sandbox once.

    ``bwrap``: program name or path; default ``$CODETAP_BWRAP`` or ``bwrap`` on PATH.
    Cached per process and program. Never raises.
    """
    return _probe(bwrap or os.environ.get(BWRAP_ENV) or "bwrap")


def describe(status: SandboxStatus | None = None) -> str:
    """One human line on the sandbox for the start-up log, ``codetap doctor`` and the
    task journal."""
    status = probe() if status is None else status
    if status.works:
        return f"sandbox: bubblewrap {status.version} works ({status.limits})"
    return (f"sandbox: NOT available: {status.reason}. bash runs unsandboxed under "
            '[sandbox] mode = "auto" and refuses to run under mode = "required"')


_NETWORK_FAILURE = re.compile(
    r"could not resolve|temporary failure in name resolution|name or service not known|"
    r"network is unreachable|no address associated|getaddrinfo|nodename nor servname|"
    r"failed to establish a new connection|connection refused|could not connect|"
    r"name resolution|dial tcp|failed to connect|no route to host|eai_again", re.IGNORECASE)


def network_notice(settings: SandboxSettings, output: str) -> str | None:
    """The line telling the model its command failed for lack of network, or None.

    Given only when the sandbox's network is off and ``output`` shows a network failure
    (resolver errors, unreachable network, refused or failed connections).
    """
    if settings.network == "on" or not _NETWORK_FAILURE.search(output):
        return None
    return ("[sandbox: this command has no network access; commands that need the network "
            'fail here (the user can set [sandbox] network = "on" to allow it)]')


@functools.cache
def _probe(bwrap: str) -> SandboxStatus:
    found = shutil.which(bwrap)
    if found is None:
        return SandboxStatus(False, f"bubblewrap is not installed ({bwrap!r} not found; "
                                    f"{INSTALL_HINT})")
    version = _run([found, "--version"]).stdout.strip().removeprefix("bubblewrap ")
    with tempfile.TemporaryDirectory(prefix="codetap-probe-") as tmp:
        argv = sandbox_argv(SandboxSettings(), Path(tmp).resolve(), ["true"], git_dir=None,
                            bwrap=found)
        done = _run(argv)
    if done.returncode == 0:
        return SandboxStatus(True, "", found, version, limit_support().describe())
    return SandboxStatus(False, _why(done), found, version)


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def _why(done: subprocess.CompletedProcess[str]) -> str:
    err = (done.stderr or "").strip().splitlines()
    last = err[-1] if err else f"exit status {done.returncode}"
    text = " ".join(err).lower()
    if "namespace" in text or "uid map" in text or "operation not permitted" in text:
        return (f"bubblewrap cannot create namespaces ({last}): unprivileged user namespaces "
                "are disabled (sysctl kernel.unprivileged_userns_clone=1 or "
                "user.max_user_namespaces > 0; on Ubuntu 24.04+ AppArmor must allow bwrap), "
                "or a container forbids them")
    return f"bubblewrap failed: {last}"


def _parse(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [sandbox] must be a table")
    known = {f.name for f in dataclasses.fields(SandboxSettings)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown [sandbox] keys: {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "mode":
            out[key] = _choice(value, MODES, key, where)
        elif key == "network":
            out[key] = _choice(value, ("off", "on"), key, where)
        elif key in ("read_paths", "write_paths"):
            out[key] = _paths(value, key, where)
        else:
            if (isinstance(value, bool) or not isinstance(value, int) or value < 1
                    or (key == "memory_mb" and value < 16)):
                least = 16 if key == "memory_mb" else 1
                raise ConfigError(f"{where}: [sandbox] {key} = {value!r}: expected an integer "
                                  f">= {least}")
            out[key] = value
    return out


def _choice(value: Any, allowed: tuple[str, ...], key: str, where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: [sandbox] {key} = {value!r}: expected one of "
                          f"{', '.join(repr(a) for a in allowed)}")
    return str(value)


def _paths(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise ConfigError(f"{where}: [sandbox] {key} must be a list of non-empty strings")
    out = []
    for p in value:
        expanded = os.path.normpath(os.path.expanduser(p))
        if not os.path.isabs(expanded):
            raise ConfigError(f"{where}: [sandbox] {key}: {p!r} must be absolute or start "
                              "with ~")
        out.append(expanded)
    return tuple(out)
