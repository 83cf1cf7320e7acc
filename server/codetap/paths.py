"""Where codetap keeps per-user runtime files, decided from the environment alone.

A low-level module (it imports nothing of codetap) so that both the configuration
(:mod:`codetap.config`) and the daemon (:mod:`codetap.daemon.paths`) can use it without
one importing the other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def runtime_dir_from_env(env: Mapping[str, str]) -> Path:
    """``$XDG_RUNTIME_DIR/codetap`` (XDG Base Directory spec), else ``/tmp/codetap-<uid>``.

    Only computes the path; creating it privately is
    :meth:`codetap.daemon.paths.DaemonPaths.ensure`.
    """
    base = env.get("XDG_RUNTIME_DIR")
    return Path(base) / "codetap" if base else Path("/tmp") / f"codetap-{os.getuid()}"
