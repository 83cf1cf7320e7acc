"""Private files and directories: what codetap writes is readable by its user only.

ARCHITECTURE.md "Trust and safety": the data directory, the worktrees and the caches are
0700, the database files (and SQLite's ``-wal``/``-shm``/``-journal`` beside them) 0600,
whatever the umask. The journal holds source code and tool output.

SQLite creates ``-wal``/``-shm`` with the permission bits of the main database file, so a
database file created 0600 before SQLite first opens it keeps its companions 0600 too.
Existing paths (from an older codetap, or a umask of 022) are tightened with ``chmod``
when they are owned by the current user; a directory with the sticky bit (``/tmp``) is
never changed.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SUFFIXES = ("-wal", "-shm", "-journal")


def private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Make sure directory ``path`` exists; every directory created here is 0700.

    ``tighten``: also remove the group and other bits of ``path`` itself when it already
    existed (see :func:`restrict`).
    Parents that already exist are never changed. Returns ``path``. OSError if a missing
    directory cannot be created (e.g. a parent is a file or not writable).
    """
    missing: list[Path] = []
    p = path
    while not p.is_dir():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not d.is_dir():
                raise
            continue
        _chmod(d, DIR_MODE)  # mkdir's mode is masked by the umask
    if tighten and path not in missing:
        restrict(path, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if absent, else tighten it to 0600.

    An existing file loses its group and other bits (see :func:`restrict`). A symlink at
    ``path`` is not followed when creating. OSError if the file cannot be created.
    """
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except FileExistsError:
        restrict(path, FILE_MODE)
        return
    try:
        os.fchmod(fd, FILE_MODE)  # a umask such as 0o277 would have removed owner bits
    finally:
        os.close(fd)


def private_sqlite(path: Path) -> None:
    """Database file ``path`` 0600 before SQLite opens it; existing companions
    (``-wal``, ``-shm``, ``-journal``) tightened to 0600. OSError as :func:`private_file`."""
    private_file(path)
    for suffix in SQLITE_SUFFIXES:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            restrict(companion, FILE_MODE)


def restrict(path: Path, mode: int) -> None:
    """Remove the permission bits of an existing ``path`` that ``mode`` does not have, if
    the current user owns it (never a sticky-bit directory; errors are logged, not
    raised). Absent paths are ignored."""
    try:
        st = path.stat()
    except OSError:
        return
    current = stat.S_IMODE(st.st_mode)
    if current & ~mode == 0:
        return
    if st.st_uid != os.geteuid() or st.st_mode & stat.S_ISVTX:
        log.warning("not changing the mode of %s (not ours, or a shared directory)", path)
        return
    _chmod(path, current & mode)  # only ever removes bits


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except OSError as exc:
        log.warning("cannot make %s private (mode %o): %s", path, mode, exc)
