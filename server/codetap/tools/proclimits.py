"""Process and memory limits for one sandboxed ``bash`` call, enforced by a cgroup.

``RLIMIT_NPROC`` does not stop a fork bomb run by root: the kernel exempts uid 0, and a
user namespace made by root maps the sandbox back to uid 0. A cgroup's ``pids.max`` holds
for every uid, so each call gets its own cgroup, ``<our cgroup>/codetap-<pid>-<n>``, when
one can be created:

* cgroup v1 (hybrid hosts, many containers): the ``pids`` and ``memory`` hierarchies, each
  writable by us (root, or a delegated subtree);
* cgroup v2: our own cgroup must already enable ``pids`` (and ``memory``) for its children
  in ``cgroup.subtree_control`` (a delegated cgroup, e.g. a systemd unit with
  ``Delegate=yes``); codetap does not move itself between cgroups to enable them.

The command is started through ``/bin/sh``, which writes its pid to the cgroups'
``cgroup.procs`` and then ``exec``s the real command, so nothing forks before the limit
holds. At the end :meth:`CallLimits.close` kills whatever is left in the cgroup and
removes it (once empty). Without a cgroup, the wrapper sets ``ulimit -u``
(``RLIMIT_NPROC``: counts all of the user's processes, and is not enforced for root) and,
for memory, ``ulimit -v`` (``RLIMIT_AS``: per process, virtual size).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

_counter = itertools.count(1)
_pending: list[Path] = []  # cgroups of finished calls, removed once empty
_JOIN = 'while [ "$1" != -- ]; do echo $$ >"$1" || exit 125; shift; done; shift; '


@dataclass(frozen=True, slots=True)
class Controller:
    """A cgroup directory under which per-call cgroups are made, and its limit file."""

    parent: Path
    limit_file: str
    version: int


@dataclass(frozen=True, slots=True)
class LimitSupport:
    """Which cgroup controllers can limit a call here (None: use rlimits)."""

    pids: Controller | None
    memory: Controller | None

    def describe(self) -> str:
        """One line for logs and ``codetap doctor``."""
        if self.pids is not None:
            procs = f"cgroup v{self.pids.version} pids.max"
        elif os.geteuid() == 0:
            procs = "NOT enforced (root without a writable cgroup: RLIMIT_NPROC exempts root)"
        else:
            procs = "RLIMIT_NPROC (counts all of this user's processes)"
        memory = (f"cgroup v{self.memory.version} {self.memory.limit_file}"
                  if self.memory is not None else "RLIMIT_AS (per process)")
        return f"process limit: {procs}; memory limit: {memory}"


@functools.cache
def limit_support() -> LimitSupport:
    """Find writable pids/memory cgroups for this process (cached; sweeps stale ones)."""
    found: dict[str, Controller] = {}
    for name, controller in _candidates():
        if name not in found and _usable(controller):
            found[name] = controller
    return LimitSupport(found.get("pids"), found.get("memory"))


class CallLimits:
    """The cgroups of one call: create, :meth:`wrap` the argv, :meth:`close` at the end."""

    def __init__(self, max_processes: int, memory_mb: int | None,
                 support: LimitSupport | None = None) -> None:
        """Make the call's cgroups and write ``max_processes`` and ``memory_mb`` (MiB).

        Raises OSError if a cgroup cannot be made or written.
        """
        self.support = limit_support() if support is None else support
        self.max_processes = max_processes
        self.memory_mb = memory_mb
        self.dirs: list[Path] = []
        _retry_pending()
        name = f"codetap-{os.getpid()}-{next(_counter)}"
        try:
            if self.support.pids is not None:
                self._make(self.support.pids, name, str(max_processes))
            if self.support.memory is not None and memory_mb is not None:
                self._make(self.support.memory, name, str(memory_mb * 1024 * 1024))
        except OSError:
            self.close()
            raise

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run by ``/bin/sh`` after joining the cgroups and setting rlimits."""
        ulimits = ""
        if self.support.pids is None:
            ulimits += f"ulimit -u {self.max_processes} 2>/dev/null; "
        if self.memory_mb is not None and self.support.memory is None:
            ulimits += f"ulimit -v {self.memory_mb * 1024} 2>/dev/null; "
        procs = [str(d / "cgroup.procs") for d in self.dirs]
        return ["/bin/sh", "-c", _JOIN + ulimits + 'exec "$@"', "codetap-limits",
                *procs, "--", *argv]

    def kill_all(self) -> int:
        """SIGKILL every process left in the call's cgroups; how many were signalled."""
        return sum(_kill_members(d) for d in self.dirs)

    def close(self) -> None:
        """Kill what is left and remove the cgroups.

        A cgroup whose killed members are still exiting (a pid namespace is torn down
        after its init has exited) cannot be removed yet: it is retried when the next
        call's cgroups are made, and at exit.
        """
        for d in reversed(self.dirs):
            for _ in range(20):  # members forked while we read the list: kill those too
                if not _kill_members(d):
                    break
            _pending.append(d)
        self.dirs.clear()
        _retry_pending()

    def _make(self, controller: Controller, name: str, limit: str) -> None:
        path = controller.parent / name
        path.mkdir()
        self.dirs.append(path)
        (path / controller.limit_file).write_text(limit)


def _retry_pending() -> None:
    """Remove the cgroups of finished calls that have emptied since."""
    for d in list(_pending):
        _kill_members(d)
        try:
            d.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            continue
        with contextlib.suppress(ValueError):  # calls closing at once (threads) race here
            _pending.remove(d)


@atexit.register
def _remove_pending() -> None:
    for d in _pending:
        _remove(d)
    _pending.clear()


def _candidates() -> list[tuple[str, Controller]]:
    mounts = _cgroup_mounts()
    out: list[tuple[str, Controller]] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            mount = mounts.get("cgroup2")
            if mount is None:
                continue
            here = _join(mount, path)
            enabled = _read(here / "cgroup.subtree_control").split()
            if "pids" in enabled:
                out.append(("pids", Controller(here, "pids.max", 2)))
            if "memory" in enabled:
                out.append(("memory", Controller(here, "memory.max", 2)))
            continue
        for name, limit_file in (("pids", "pids.max"), ("memory", "memory.limit_in_bytes")):
            if name in controllers.split(",") and name in mounts:
                out.append((name, Controller(_join(mounts[name], path), limit_file, 1)))
    return out


def _cgroup_mounts() -> dict[str, tuple[Path, str]]:
    """Mount point and mounted root of the v1 ``pids``/``memory`` and the v2 hierarchy."""
    found: dict[str, tuple[Path, str]] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        root, point = fields[3], Path(fields[4])
        if rfields[0] == "cgroup2":
            found.setdefault("cgroup2", (point, root))
        elif rfields[0] == "cgroup":
            for name in ("pids", "memory"):
                if name in rfields[2].split(","):
                    found.setdefault(name, (point, root))
    return found


def _join(mount: tuple[Path, str], path: str) -> Path:
    point, root = mount
    rel = os.path.relpath(path, root) if path.startswith(root) else path.lstrip("/")
    return point if rel == "." else point / rel.lstrip("/")


def _usable(controller: Controller) -> bool:
    """Can we make a child cgroup there, limit it and move a process into it?"""
    if not controller.parent.is_dir() or not os.access(controller.parent, os.W_OK):
        return False
    _sweep(controller.parent)
    probe = controller.parent / f"codetap-{os.getpid()}-probe"
    try:
        probe.mkdir(exist_ok=True)
        unlimited = "-1" if controller.limit_file == "memory.limit_in_bytes" else "max"
        (probe / controller.limit_file).write_text(unlimited)
        done = subprocess.run(
            ["/bin/sh", "-c", _JOIN + "exec true", "probe", str(probe / "cgroup.procs"), "--"],
            capture_output=True, timeout=10, check=False)
        return done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        _remove(probe)


def _sweep(parent: Path) -> None:
    """Remove per-call cgroups left by codetap processes that are gone."""
    for entry in parent.glob("codetap-*-*"):
        pid = entry.name.split("-")[1]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            _remove(entry)


def _kill_members(path: Path) -> int:
    if (path / "cgroup.kill").exists():  # cgroup v2 (Linux 5.14+): the kernel kills all
        with contextlib.suppress(OSError):
            (path / "cgroup.kill").write_text("1")
    pids = [int(p) for p in _read(path / "cgroup.procs").split()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def _remove(path: Path) -> None:
    deadline = time.monotonic() + 2.0
    while True:
        _kill_members(path)
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)  # killed members are still exiting: no event to wait on


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
