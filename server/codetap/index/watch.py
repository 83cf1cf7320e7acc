"""Which files of a workspace changed since the last look, from Linux inotify (inotify(7)),
so a refresh without named paths reads O(changes) instead of stat-ing every file
(issue 23 item 4).

Every directory of the workspace (minus :data:`codetap.index.walk.SKIP_DIRS`, virtualenvs
and what ``ignored`` rejects) is watched; directories created or moved in later are
watched when their event is read. The kernel queues an event when the write happens, so
a change that returned before :meth:`TreeWatcher.drain` is in what it returns. Queue
overflow, a failed watch or a non-Linux system make :meth:`TreeWatcher.drain` return None:
the caller then scans the whole workspace, as without a watcher.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codetap.index.walk import SKIP_DIRS

IN_MODIFY = 0x2
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x1000000
IN_DONT_FOLLOW = 0x2000000
IN_EXCL_UNLINK = 0x4000000
IN_ISDIR = 0x40000000
_MASK = (IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
         | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
_EVENT = struct.Struct("iIII")


@dataclass(slots=True)
class Changes:
    """What changed: ``files`` (workspace-relative POSIX paths created, written, deleted
    or moved), ``new_dirs`` (directories created or moved in: every file under them is
    new) and ``gone_dirs`` (directories deleted or moved out: every file under them is
    gone)."""

    files: set[str] = field(default_factory=set)
    new_dirs: set[str] = field(default_factory=set)
    gone_dirs: set[str] = field(default_factory=set)


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


class TreeWatcher:
    """An inotify instance watching the directories under ``root``.

    ``ignored(rel_dir)`` says whether a directory (relative POSIX path) is excluded (e.g.
    by ``.gitignore``). Use :meth:`start`; the descriptor is closed by :meth:`close` or
    when the watcher is garbage-collected.
    """

    def __init__(self, root: Path, fd: int, libc: ctypes.CDLL,
                 ignored: Callable[[str], bool]) -> None:
        self.root = root
        self._fd = fd
        self._libc = libc
        self._ignored = ignored
        self._dirs: dict[int, str] = {}  # watch descriptor -> relative dir ("" = root)
        self._broken = False
        self._finalizer = weakref.finalize(self, os.close, fd)

    @classmethod
    def start(cls, root: Path, ignored: Callable[[str], bool]) -> TreeWatcher | None:
        """Watch every directory under ``root``; None where inotify is unavailable or the
        watches cannot all be added (limits: ``fs.inotify.max_user_watches`` and
        ``max_user_instances``)."""
        libc = _libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return None
        watcher = cls(root, fd, libc, ignored)
        watcher._watch_tree("")
        if watcher._broken:
            watcher.close()
            return None
        return watcher

    def close(self) -> None:
        """Release the inotify descriptor (idempotent)."""
        self._finalizer()

    def _watch_tree(self, rel_dir: str) -> list[str]:
        """Watch ``rel_dir`` and the directories under it; the files found under it."""
        files: list[str] = []
        stack = [rel_dir]
        while stack:
            rel = stack.pop()
            path = self.root / rel if rel else self.root
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), _MASK)
            if wd < 0:
                if ctypes.get_errno() not in (2, 20):  # ENOENT, ENOTDIR: gone meanwhile
                    self._broken = True
                continue
            self._dirs[wd] = rel
            try:
                entries = list(os.scandir(path))
            except OSError:
                continue
            if rel and any(e.name == "pyvenv.cfg" for e in entries):
                continue
            for entry in entries:
                sub = f"{rel}/{entry.name}" if rel else entry.name
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    if entry.name not in SKIP_DIRS and not self._ignored(sub):
                        stack.append(sub)
                else:
                    files.append(sub)
        return files

    def _unwatch_under(self, rel_dir: str) -> None:
        prefix = rel_dir + "/"
        for wd, rel in list(self._dirs.items()):
            if rel == rel_dir or rel.startswith(prefix):
                self._libc.inotify_rm_watch(self._fd, wd)
                del self._dirs[wd]

    def drain(self) -> Changes | None:
        """The changes queued since the last call; None if some may have been lost (the
        caller must rescan everything). Non-blocking."""
        if self._broken or not self._finalizer.alive:
            return None
        changes = Changes()
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                break
            except OSError:
                self._broken = True
                return None
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, size = _EVENT.unpack_from(data, offset)
                raw = data[offset + _EVENT.size:offset + _EVENT.size + size].rstrip(b"\0")
                offset += _EVENT.size + size
                if mask & IN_Q_OVERFLOW:
                    self._broken = True
                    return None
                self._event(wd, mask, os.fsdecode(raw), changes)
        if self._broken:
            return None
        return changes

    def _event(self, wd: int, mask: int, name: str, changes: Changes) -> None:
        if mask & IN_IGNORED:
            self._dirs.pop(wd, None)
            return
        parent = self._dirs.get(wd)
        if parent is None or not name:
            return
        rel = f"{parent}/{name}" if parent else name
        if not mask & IN_ISDIR:
            changes.files.add(rel)
        elif mask & (IN_DELETE | IN_MOVED_FROM):
            self._unwatch_under(rel)
            changes.gone_dirs.add(rel)
        elif mask & (IN_CREATE | IN_MOVED_TO) and name not in SKIP_DIRS \
                and not self._ignored(rel):
            changes.new_dirs.add(rel)
            changes.files.update(self._watch_tree(rel))
