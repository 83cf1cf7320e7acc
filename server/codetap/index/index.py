"""The symbol index of one workspace: definitions and references of every source file.

Built from tree-sitter tags (:mod:`codetap.index.tags`) and persisted per file in a SQLite
cache (:mod:`codetap.index.cache`) keyed on ``(root, path, mtime_ns, size)`` and, for files
clean in a git worktree, on their content (blob id): another worktree of the same
repository parses only what differs. In memory only compact tables are kept
(:mod:`codetap.index.memtables`: definitions, and reference counts); reference positions
and a file's full tag list are read back from the cache when asked for.
:meth:`SymbolIndex.build` and :meth:`SymbolIndex.refresh` are synchronous and may parse for
seconds on a cold, large workspace: async callers use :meth:`SymbolIndex.build_async` /
:meth:`SymbolIndex.refresh_async` (``asyncio.to_thread``) so the event loop never blocks.
Lookups are safe from any thread; definitions are in memory, references and file tags
cost a cache read.
"""

from __future__ import annotations

import asyncio
import gc
import os
import stat
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from codetap.index.blobs import clean_blob_ids
from codetap.index.cache import TagCache
from codetap.index.languages import language_for_path
from codetap.index.lookups import IndexLookups
from codetap.index.memory import release_free_memory
from codetap.index.memtables import MemTables
from codetap.index.parse import default_workers, parse_files
from codetap.index.tags import decode_summary
from codetap.index.walk import SKIP_DIRS, list_source_files
from codetap.index.watch import TreeWatcher

if TYPE_CHECKING:
    import pygit2

MAX_FILE_BYTES = 1_000_000
FREEZE_MIN_TAGS = 20_000  # see SymbolIndex.build


class SymbolIndex(IndexLookups):
    """Tags of every indexable file under ``root``, with a persistent cache in ``cache_dir``.

    Files are those of :func:`codetap.index.walk.list_source_files` that are regular files
    of at most ``max_file_bytes`` bytes. ``parse_count`` counts files parsed by this
    instance (cache hits are not parsed). ``workers`` bounds the parsing processes of a
    large build (default: the usable CPUs). The index is empty until :meth:`build`.
    ``watch``: watch the workspace's directories with inotify from the first build on,
    so that :meth:`refresh` without paths costs O(changes) (:meth:`close` stops it).
    """

    def __init__(
        self,
        root: Path,
        cache_dir: Path,
        *,
        max_file_bytes: int = MAX_FILE_BYTES,
        workers: int | None = None,
        watch: bool = True,
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.max_file_bytes = max_file_bytes
        self.workers = default_workers() if workers is None else workers
        self.parse_count = 0
        self._cache = TagCache(cache_dir, self.root)
        self._tables = MemTables()
        self._built = False
        self._lock = threading.Lock()  # guards the maps above
        self._refresh_lock = threading.Lock()  # one build/refresh at a time
        self._watch = watch
        self._watcher: TreeWatcher | None = None
        self._ignore_repo: pygit2.Repository | None = None  # set when watching starts

    # -- building -------------------------------------------------------------------

    def build(self) -> list[str]:
        """Index the whole workspace, reusing cached tags of unchanged files.

        Returns the relative paths whose tags changed (all of them on the first build).
        Raises ``sqlite3.Error`` if the cache database is unusable.

        The cyclic garbage collector is paused meanwhile: a build allocates ~100k tag
        objects and no reference cycles, and each full collection over them costs 0.1-0.25 s
        on the stdlib. The pause ends with the build (it is restored even on error). After a
        build that leaves at least :data:`FREEZE_MIN_TAGS` tags, every object then alive is
        moved to the collector's permanent generation (``gc.freeze``, Python docs "gc"):
        the index lives as long as the process and has no cycles, so later collections
        need not walk it again (each of the next gen-0, gen-1 and gen-2 passes would
        otherwise cost 30-150 ms on the stdlib). Objects frozen there are still freed by
        reference counting; only a reference cycle among them would never be collected.
        """
        paused = gc.isenabled()
        gc.disable()
        try:
            changed = self.refresh(None)
            if self.tag_count() >= FREEZE_MIN_TAGS:
                gc.freeze()
            release_free_memory()  # the payloads read or parsed meanwhile
            return changed
        finally:
            if paused:
                gc.enable()

    def refresh(self, paths: Iterable[str] | None = None) -> list[str]:
        """Bring the index up to date; returns the relative paths added, changed or removed.

        ``paths=None`` re-parses files whose ``(mtime_ns, size)`` changed (or that
        appeared), and drops vanished ones: with a watcher (``watch=True`` on Linux,
        :mod:`codetap.index.watch`) only the paths it saw change are looked at, else the
        workspace is re-listed and every file stat'ed. Named ``paths`` (relative to
        ``root``, or absolute inside it) are re-parsed unconditionally, or dropped if they
        no longer exist; nothing else is looked at. Before the first build any call is a
        full build. Raises ValueError for a path outside ``root``.
        """
        with self._refresh_lock:
            first = not self._built
            if first and self._watch:
                self._ignore_repo = self._repo()
                self._watcher = TreeWatcher.start(self.root, self._dir_ignored)
            cached = self._cache.load_keys() if first else {}
            # Not a copy: only a refresh changes the files, and this one holds
            # _refresh_lock (readers take _lock; the changes below are made under it).
            known = self._tables.files
            named = False
            watched = None if first or paths is not None else self._watched(known)
            if paths is None or first:
                candidates = list_source_files(self.root) if watched is None else watched
            else:
                candidates = sorted({self._normalize(p) for p in paths})
                named = True
            removed = known.keys() - set(candidates) if watched is None and not named else set()
            to_parse: dict[str, tuple[int, int]] = {}
            from_cache: dict[str, tuple[int, int]] = {}
            for rel in candidates:
                key = self._stat(rel)
                if key is None:
                    if rel in known:
                        removed.add(rel)
                    continue
                old = known.get(rel)
                if not named and old is not None and old[:2] == key:
                    continue
                if cached.get(rel) == key:
                    from_cache[rel] = key
                else:
                    to_parse[rel] = key
            updates: dict[str, tuple[int, int, bytes]] = {}
            content = self._by_content(to_parse, updates) \
                if watched is None and not named else {}
            reused = list(updates)  # payloads read from content rows, not written again
            with self._lock:
                for rel in removed:
                    self._tables.drop(rel)
            late = self._apply_cached(from_cache)
            to_parse.update(late)
            parsed = parse_files(self.root, list(to_parse), self.workers)
            self.parse_count += len(parsed)
            fresh: dict[str, tuple[int, int, bytes]] = {}
            for rel, payload in parsed.items():
                if payload is None:
                    if rel in known:
                        removed.add(rel)
                        with self._lock:
                            self._tables.drop(rel)
                    continue
                fresh[rel] = updates[rel] = (*to_parse[rel], payload)
            with self._lock:
                for rel, (mtime_ns, size, payload) in updates.items():
                    self._tables.drop(rel)
                    try:
                        self._tables.add(rel, mtime_ns, size, payload)
                    except ValueError:
                        continue
                self._built = True
            stale = cached.keys() - set(candidates) if first else set()
            self._cache.store(updates, removed | stale, content, reused)
            return sorted(removed | set(updates) | (from_cache.keys() - late.keys()))

    def _apply_cached(self, from_cache: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """Index the files whose cache rows match their stat keys, a chunk of rows at a
        time (never all payloads in memory at once); returns those whose row turned out
        missing or corrupt (to parse)."""
        late: dict[str, tuple[int, int]] = {}
        rels = list(from_cache)
        for i in range(0, len(rels), 512):
            part = rels[i:i + 512]
            rows = self._cache.load_payloads(part)
            with self._lock:
                for rel in part:
                    row, key = rows.get(rel), from_cache[rel]
                    self._tables.drop(rel)
                    try:
                        if row is None or (row.mtime_ns, row.size) != key:
                            raise ValueError(rel)
                        self._tables.add(rel, *key, row.payload)
                    except ValueError:
                        late[rel] = key
        return late

    def _by_content(
        self, to_parse: dict[str, tuple[int, int]],
        updates: dict[str, tuple[int, int, bytes]],
    ) -> dict[str, tuple[str, str]]:
        """Move the files of ``to_parse`` whose content (git blob id) was indexed before,
        in any worktree, into ``updates`` with their stored payload; returns the content
        keys of all of them (to store freshly parsed tags under)."""
        if not to_parse:
            return {}
        ids = clean_blob_ids(self.root)
        keys: dict[str, tuple[str, str]] = {}
        for rel in to_parse:
            lang = language_for_path(rel)
            if rel in ids and lang is not None:
                keys[rel] = (ids[rel], lang)
        if not keys:
            return {}
        stored = self._cache.load_blobs(keys.values())
        for rel, key in keys.items():
            payload = stored.get(key)
            if payload is None:
                continue
            try:
                decode_summary(rel, payload)
            except ValueError:
                continue
            updates[rel] = (*to_parse.pop(rel), payload)
        return keys

    def _watched(self, known: Mapping[str, object]) -> list[str] | None:
        """Candidates of a refresh from the watcher's changes (known paths that changed,
        and new files git does not ignore), or None when everything must be listed (no
        watcher, events lost, or a new file in a workspace that is not a git worktree)."""
        if self._watcher is None:
            return None
        changes = self._watcher.drain()
        if changes is None:  # events lost: watch afresh, then list everything
            self._watcher.close()
            self._watcher = TreeWatcher.start(self.root, self._dir_ignored)
            return None
        paths = {rel for rel in changes.files if language_for_path(rel) is not None}
        for gone in changes.gone_dirs:
            paths.update(rel for rel in known if rel.startswith(gone + "/"))
        new = [rel for rel in paths if rel not in known]
        if new:
            repo = self._repo()
            if repo is None:
                return None
            paths.difference_update(rel for rel in new if repo.path_is_ignored(rel))
        return sorted(paths)

    def _repo(self) -> pygit2.Repository | None:
        if not (self.root / ".git").exists():
            return None
        import pygit2  # here: a workspace outside git never needs it (~70 ms to import)
        try:
            return pygit2.Repository(str(self.root))
        except pygit2.GitError:
            return None

    def _dir_ignored(self, rel_dir: str) -> bool:
        if self._ignore_repo is None:
            return False
        import pygit2  # loaded by _repo already
        try:
            return bool(self._ignore_repo.path_is_ignored(rel_dir + "/"))
        except pygit2.GitError:  # a directory git cannot judge is watched
            return False

    def close(self) -> None:
        """Stop watching the workspace (refreshes then re-list it); idempotent."""
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None

    async def build_async(self) -> list[str]:
        """:meth:`build` in a worker thread."""
        return await asyncio.to_thread(self.build)

    async def refresh_async(self, paths: Iterable[str] | None = None) -> list[str]:
        """:meth:`refresh` in a worker thread."""
        paths = None if paths is None else list(paths)
        return await asyncio.to_thread(self.refresh, paths)

    def _stat(self, rel: str) -> tuple[int, int] | None:
        if language_for_path(rel) is None or any(
            part in SKIP_DIRS for part in rel.split("/")[:-1]
        ):
            return None
        try:
            st = os.lstat(self.root / rel)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_size > self.max_file_bytes:
            return None
        return st.st_mtime_ns, st.st_size
