"""Persistent per-file tag cache in SQLite (stdlib ``sqlite3``).

One database file per tags-query version and Python version
(``symbols-<fingerprint>-py<XY>.sqlite3`` in the cache directory), so editing a query
invalidates everything parsed with the old one. Rows are keyed on ``(root, path)`` and
valid only while the file's ``(mtime_ns, size)`` match: the cache is namespaced by the
workspace root and never depends on anything else. A second table keys tags by content,
``(git blob id, language)``, shared by every root: a new worktree of an indexed repository
parses only the files whose content was never indexed (:mod:`codetap.index.blobs`). A file
with a content key stores its tags once, in the content table, and its path row refers to
that row (``sha``, ``language``; ``tags`` NULL): writing the same payload under both keys
cost ~2-3 s of a cold build at 8.5k files. Tags are stored per file as the
``marshal`` blob of :func:`codetap.index.tags.encode_rows` (fast to write and read; the
file name includes the Python version because marshal's format is only promised per
version).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from codetap.fsmodes import private_dir, private_sqlite
from codetap.index.languages import queries_fingerprint

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha TEXT,
    language TEXT,
    tags BLOB,
    PRIMARY KEY (root, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (
    sha TEXT NOT NULL,
    language TEXT NOT NULL,
    tags BLOB NOT NULL,
    PRIMARY KEY (sha, language)
) WITHOUT ROWID
"""


@dataclass(frozen=True, slots=True)
class CachedFile:
    """A cache row: the file's stat key and its tags as stored (not yet decoded)."""

    mtime_ns: int
    size: int
    payload: bytes


class TagCache:
    """The SQLite tag cache of one workspace root.

    Every method opens its own short-lived connection, so an instance may be used from
    any thread. Errors from SQLite propagate as ``sqlite3.Error``; OSError if the cache
    directory cannot be created. The directory is 0700 and the files 0600.
    """

    def __init__(self, cache_dir: Path, root: Path) -> None:
        # Private like the database (it holds the workspace's symbol names).
        private_dir(cache_dir)
        version = f"py{sys.version_info[0]}{sys.version_info[1]}"
        # v2: the payload format of codetap.index.tags.PAYLOAD_VERSION; v3: path rows may
        # refer to content rows
        self.path = cache_dir / f"symbols-{queries_fingerprint()}-{version}-v3.sqlite3"
        private_sqlite(self.path)
        self.root = str(root)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def load_keys(self) -> dict[str, tuple[int, int]]:
        """Stat keys of this root's rows: path -> (mtime_ns, size)."""
        db = self._connect()
        try:
            rows = db.execute(
                "SELECT path, mtime_ns, size FROM files WHERE root = ?", (self.root,)
            ).fetchall()
        finally:
            db.close()
        return {path: (m, s) for path, m, s in rows}

    def load_payloads(self, paths: Iterable[str]) -> dict[str, CachedFile]:
        """Rows of ``paths`` (missing ones absent), read 400 at a time."""
        wanted = list(paths)
        out: dict[str, CachedFile] = {}
        if not wanted:
            return out
        db = self._connect()
        try:
            for i in range(0, len(wanted), 400):
                part = wanted[i:i + 400]
                marks = ",".join("?" * len(part))
                for path, m, s, payload in db.execute(
                        "SELECT f.path, f.mtime_ns, f.size, coalesce(f.tags, b.tags) "
                        "FROM files AS f LEFT JOIN blobs AS b "
                        "ON b.sha = f.sha AND b.language = f.language "
                        f"WHERE f.root = ? AND f.path IN ({marks})", [self.root, *part]):
                    if payload is not None:  # a row whose content row is gone: missing
                        out[path] = CachedFile(m, s, payload)
        finally:
            db.close()
        return out

    def store(
        self,
        changed: dict[str, tuple[int, int, bytes]],
        removed: Iterable[str],
        content: Mapping[str, tuple[str, str]] | None = None,
        stored_content: Iterable[str] = (),
    ) -> None:
        """Write ``changed`` (path -> (mtime_ns, size, payload of
        :func:`codetap.index.tags.encode_rows`)) and delete ``removed`` paths, in one
        transaction. A changed path with a content key in ``content`` (path -> (blob id,
        language)) gets its payload stored under that key and a path row referring to it;
        for paths in ``stored_content`` the content row already holds that payload (read
        from it) and is not written again."""
        content = content or {}
        skip = set(stored_content)
        rows: list[tuple[str, str, int, int, str | None, str | None, bytes | None]] = []
        blobs: list[tuple[str, str, bytes]] = []
        for path, (m, s, payload) in changed.items():
            key = content.get(path)
            if key is None:
                rows.append((self.root, path, m, s, None, None, payload))
                continue
            rows.append((self.root, path, m, s, key[0], key[1], None))
            if path not in skip:
                blobs.append((key[0], key[1], payload))
        gone = [(self.root, path) for path in removed]
        if not rows and not gone:
            return
        db = self._connect()
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)", blobs)
                db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                db.executemany("DELETE FROM files WHERE root = ? AND path = ?", gone)
        finally:
            db.close()

    def load_blobs(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """Payloads stored under ``(blob id, language)`` keys; missing keys are absent."""
        wanted = set(keys)
        out: dict[tuple[str, str], bytes] = {}
        if not wanted:
            return out
        db = self._connect()
        try:
            shas_all = sorted({sha for sha, _ in wanted})
            for i in range(0, len(shas_all), 400):
                shas = shas_all[i:i + 400]
                marks = ",".join("?" * len(shas))
                for sha, lang, payload in db.execute(
                        f"SELECT sha, language, tags FROM blobs WHERE sha IN ({marks})", shas):
                    out[(sha, lang)] = payload
        finally:
            db.close()
        return {k: v for k, v in out.items() if k in wanted}
