"""Where the per-user daemon keeps its socket, lock, pid and log files.

``$XDG_RUNTIME_DIR/codetap/`` when XDG_RUNTIME_DIR is set (XDG Base Directory spec), else
``/tmp/codetap-<uid>/``, created with mode 0700 and refused if another user owns it or
others can enter it (someone could otherwise squat the socket path). Same rule as
:attr:`codetap.config.Config.runtime_dir`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codetap.errors import CodetapError
from codetap.paths import runtime_dir_from_env


class RuntimeDirError(CodetapError):
    """The runtime directory cannot be created or is not private to this user."""


@dataclass(frozen=True, slots=True)
class DaemonPaths:
    """Files of one user's daemon, all inside ``runtime_dir``."""

    runtime_dir: Path

    @property
    def socket(self) -> Path:
        return self.runtime_dir / "daemon.sock"

    @property
    def lock(self) -> Path:
        return self.runtime_dir / "daemon.lock"

    @property
    def pid(self) -> Path:
        return self.runtime_dir / "daemon.pid"

    @property
    def log(self) -> Path:
        return self.runtime_dir / "daemon.log"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DaemonPaths:
        """Paths for the current user, from ``env`` (default ``os.environ``)."""
        return cls(runtime_dir_from_env(os.environ if env is None else env))

    def ensure(self) -> DaemonPaths:
        """Create ``runtime_dir`` (mode 0700) and check it is ours; RuntimeDirError if not."""
        try:
            self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self.runtime_dir.lstat()
        except OSError as exc:
            raise RuntimeDirError(f"cannot create {self.runtime_dir}: {exc.strerror}") from None
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise RuntimeDirError(f"{self.runtime_dir} is not a directory owned by you")
        if info.st_mode & 0o077:
            try:
                os.chmod(self.runtime_dir, 0o700)
            except OSError as exc:
                raise RuntimeDirError(
                    f"{self.runtime_dir} is accessible to others and cannot be fixed: "
                    f"{exc.strerror}"
                ) from None
        return self
