"""ACP sessions: one per ``session/new``, bound to a repository and (from its first prompt)
to one codetap task.

An ACP session id is minted by ``session/new`` before any task exists, so which task a
session drives is remembered in ``<data dir>/acp-sessions.json`` (``{session id: {"task":
"7", "cwd": "/repo"}}``, written atomically under an flock), so that ``session/load`` from a
later ``codetap acp`` process (the editor restarted) finds the task. ``session/load`` also
takes ``task-7`` (or ``7``) for any codetap task, e.g. one started with ``codetap run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codetap.acp.mapping import Mapper

DEFAULT_CONTEXT_WINDOW = 128_000


@dataclass
class AcpSession:
    """One ACP session. ``task_id``: the codetap task it drives (None before its first
    prompt); ``last_seq``: the last journal entry turned into updates; ``cancelled``: set by
    ``session/cancel`` for the running turn; ``turn``: held while a prompt turn runs."""

    id: str
    cwd: Path
    mapper: Mapper
    task_id: str | None = None
    last_seq: int = 0
    cancelled: bool = False
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)


def new_session_id() -> str:
    """A fresh session id (``codetap-<32 hex>``)."""
    return f"codetap-{uuid.uuid4().hex}"


def task_of_id(session_id: str) -> str | None:
    """The task a ``task-7`` / ``7`` session id names, else None."""
    text = session_id.removeprefix("task-")
    return text if text.isdigit() else None


class SessionFile:
    """The persisted session -> task map at ``path`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, session_id: str) -> tuple[str, Path] | None:
        """``(task id, cwd)`` recorded for ``session_id``, or None."""
        entry = self._read().get(session_id)
        if not isinstance(entry, dict) or not str(entry.get("task", "")).isdigit():
            return None
        return str(entry["task"]), Path(str(entry.get("cwd", "")))

    def put(self, session_id: str, task_id: str, cwd: Path) -> None:
        """Record that ``session_id`` drives ``task_id`` in repository ``cwd``. OSError if
        the data directory cannot be written."""
        with self._locked():
            data = self._read()
            data[session_id] = {"task": task_id, "cwd": str(cwd)}
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=0), encoding="utf-8")
            os.replace(tmp, self.path)


def load_settings() -> tuple[Path, dict[str, int]]:
    """The data directory and every configured model's context window (tokens), from the
    user's config; the XDG default and no windows if it cannot be read (the daemon reports
    a bad config itself when a task starts)."""
    from codetap.config import Config
    from codetap.errors import ConfigError
    try:
        config = Config.load()
    except ConfigError:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "codetap", {}
    windows = {name: m.context_window for name, m in config.models.items()}
    if config.default_model in windows:
        windows[""] = windows[config.default_model]
    return config.data_dir, windows
