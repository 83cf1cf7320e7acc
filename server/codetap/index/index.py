"""The symbol index of one workspace: definitions and references of every source file.

Built from tree-sitter tags (:mod:`codetap.index.tags`), kept in memory for lookups, and
persisted per file in a SQLite cache (:mod:`codetap.index.cache`) keyed on
``(root, path, mtime_ns, size)`` and, for files clean in a git worktree, on their content
(blob id): another worktree of the same repository parses only what differs. :meth:`SymbolIndex.build` and :meth:`SymbolIndex.refresh`
are synchronous and may parse for seconds on a cold, large workspace: async callers use
:meth:`SymbolIndex.build_async` / :meth:`SymbolIndex.refresh_async` (``asyncio.to_thread``)
so the event loop never blocks. Lookups are cheap and safe from any thread.
"""

from __future__ import annotations

import asyncio
import gc
import os
import stat
import threading
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

import pygit2

from codetap.index.blobs import clean_blob_ids
from codetap.index.cache import TagCache
from codetap.index.languages import language_for_path
from codetap.index.parse import default_workers, parse_files
from codetap.index.search import rank_names
from codetap.index.tables import NameTables
from codetap.index.tags import Tag, decode_tags
from codetap.index.walk import SKIP_DIRS, list_source_files
from codetap.index.watch import TreeWatcher

MAX_FILE_BYTES = 1_000_000
FREEZE_MIN_TAGS = 20_000  # see SymbolIndex.build
_ALL: set[tuple[str, str]] = set()  # see SymbolIndex._per_file
_NameMap = dict[str, dict[str, tuple[Tag, ...]]]


class SymbolIndex:
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
        self._files: dict[str, tuple[int, int, tuple[Tag, ...]]] = {}
        self._defs: _NameMap = {}
        self._refs: _NameMap = {}
        self._calls: dict[str, dict[str, int]] = {}  # see NameTables.calls; never mutated
        self._built = False
        self._lock = threading.Lock()  # guards the maps above
        self._refresh_lock = threading.Lock()  # one build/refresh at a time
        self._snapshots: list[weakref.ref[NameTables]] = []
        self._owned: set[tuple[str, str]] = set()  # see _per_file
        self._watch = watch
        self._watcher: TreeWatcher | None = None
        self._ignore_repo = self._repo() if watch else None

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
                self._watcher = TreeWatcher.start(self.root, self._dir_ignored)
            cached = self._cache.load() if first else {}
            # Not a copy: only a refresh changes _files, and this one holds _refresh_lock
            # (readers in other threads take _lock; the changes below are made under it).
            known = self._files
            named = False
            watched = None if first or paths is not None else self._watched(known)
            if paths is None or first:
                candidates = list_source_files(self.root) if watched is None else watched
            else:
                candidates = sorted({self._normalize(p) for p in paths})
                named = True
            removed = known.keys() - set(candidates) if watched is None and not named else set()
            to_parse: dict[str, tuple[int, int]] = {}
            updates: dict[str, tuple[int, int, tuple[Tag, ...]]] = {}
            for rel in candidates:
                key = self._stat(rel)
                if key is None:
                    if rel in known:
                        removed.add(rel)
                    continue
                old = known.get(rel)
                if not named and old is not None and old[:2] == key:
                    continue
                row = cached.get(rel)
                if row is not None and (row.mtime_ns, row.size) == key:
                    try:
                        updates[rel] = (*key, tuple(decode_tags(rel, row.payload)))
                        continue
                    except ValueError:
                        pass
                to_parse[rel] = key
            fresh: dict[str, tuple[int, int, bytes]] = {}
            content = self._by_content(to_parse, updates, fresh) \
                if watched is None and not named else {}
            parsed = parse_files(self.root, list(to_parse), self.workers)
            self.parse_count += len(parsed)
            for rel, result in parsed.items():
                if result is None:
                    if rel in known:
                        removed.add(rel)
                    continue
                fresh[rel] = (*to_parse[rel], result[1])
                updates[rel] = (*to_parse[rel], tuple(result[0]))
            self._cache.store_blobs({content[rel]: fresh[rel][2] for rel in content
                                     if rel in fresh and rel in parsed})
            stale = set(cached) - set(candidates) if first else set()
            self._cache.store(fresh, removed | stale)
            with self._lock:
                alive = any(r() is not None for r in self._snapshots)
                owned = self._owned if alive else _ALL
                for rel in removed:
                    self._drop(rel, owned)
                for rel, entry in updates.items():
                    self._drop(rel, owned)
                    self._add(rel, entry, owned)
                self._built = True
            return sorted(removed | set(updates))

    def _by_content(
        self, to_parse: dict[str, tuple[int, int]],
        updates: dict[str, tuple[int, int, tuple[Tag, ...]]],
        fresh: dict[str, tuple[int, int, bytes]],
    ) -> dict[str, tuple[str, str]]:
        """Take the files of ``to_parse`` whose content (git blob id) was indexed before,
        in any worktree, out of it into ``updates`` and ``fresh``; the content keys of
        those left to parse (to store their tags under)."""
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
        for rel, key in list(keys.items()):
            payload = stored.get(key)
            if payload is None:
                continue
            try:
                tags = tuple(decode_tags(rel, payload))
            except ValueError:
                continue
            stat_key = to_parse.pop(rel)
            updates[rel] = (*stat_key, tags)
            fresh[rel] = (*stat_key, payload)
            del keys[rel]
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
        try:
            return pygit2.Repository(str(self.root))
        except pygit2.GitError:
            return None

    def _dir_ignored(self, rel_dir: str) -> bool:
        if self._ignore_repo is None:
            return False
        try:
            return bool(self._ignore_repo.path_is_ignored(rel_dir + "/"))
        except pygit2.GitError:
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

    def _normalize(self, path: str) -> str:
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.relative_to(self.root)
            except ValueError:
                raise ValueError(f"{path!r} is outside the indexed root {self.root}") from None
        rel = PurePosixPath(*p.parts)
        if ".." in rel.parts:
            raise ValueError(f"{path!r} leaves the indexed root {self.root}")
        return rel.as_posix()

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

    # Per-name mappings are copy-on-write while a snapshot (name_tables) is alive: it
    # shares them, so the first change to one replaces it with a copy; ``owned`` holds the
    # (kind, name) mappings copied since the last snapshot (none can hold those), or is
    # :data:`_ALL` when no snapshot is alive and every mapping may change in place (a
    # common name's mapping has an entry per file: copying it per edit would make a
    # refresh grow with the workspace).
    def _per_file(
        self, kind: str, name: str, owned: set[tuple[str, str]]
    ) -> dict[str, tuple[Tag, ...]]:
        table = self._defs if kind == "def" else self._refs
        per_file = table.get(name)
        if per_file is None:
            per_file = table[name] = {}
        elif owned is _ALL or (kind, name) in owned:
            return per_file
        else:
            per_file = table[name] = dict(per_file)
        if owned is not _ALL:
            owned.add((kind, name))
        return per_file

    def _drop(self, rel: str, owned: set[tuple[str, str]]) -> None:
        entry = self._files.pop(rel, None)
        if entry is None:
            return
        self._calls.pop(rel, None)
        for kind, name in {(tag.kind, tag.name) for tag in entry[2]}:
            table = self._defs if kind == "def" else self._refs
            if rel in table.get(name, ()):
                per_file = self._per_file(kind, name, owned)
                del per_file[rel]
                if not per_file:
                    del table[name]

    def _add(
        self, rel: str, entry: tuple[int, int, tuple[Tag, ...]], owned: set[tuple[str, str]]
    ) -> None:
        self._files[rel] = entry
        grouped: dict[tuple[str, str], list[Tag]] = {}
        calls: dict[str, int] = {}
        for tag in entry[2]:
            grouped.setdefault((tag.kind, tag.name), []).append(tag)
            if tag.category == "call" and tag.kind == "ref":
                calls[tag.name] = calls.get(tag.name, 0) + 1
        self._calls[rel] = calls
        for (kind, name), tags in grouped.items():
            self._per_file(kind, name, owned)[rel] = tuple(tags)

    # -- lookups --------------------------------------------------------------------

    def definitions(self, name: str) -> list[Tag]:
        """Definitions named exactly ``name``, sorted by (path, line)."""
        with self._lock:
            per_file = self._defs.get(name, {})
        return [t for rel in sorted(per_file) for t in per_file[rel]]

    def references(self, name: str) -> list[Tag]:
        """References to exactly ``name``, sorted by (path, line)."""
        with self._lock:
            per_file = self._refs.get(name, {})
        return [t for rel in sorted(per_file) for t in per_file[rel]]

    def search(self, query: str, limit: int | None = None) -> list[Tag]:
        """Definitions whose name matches ``query``, best first.

        Order: exact name, case-insensitive exact, prefix, substring, then fuzzy
        (the query's characters in order); ties by shorter name, then path and line.
        Case-insensitive. At most ``limit`` tags. Raises ValueError for a blank query.
        """
        if not query.strip():
            raise ValueError("empty symbol query")
        with self._lock:
            names = list(self._defs)
        out: list[Tag] = []
        for name in rank_names(query.strip(), names):
            out.extend(self.definitions(name))
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    def file_symbols(self, rel_path: str) -> list[Tag]:
        """All tags (definitions and references) of one file, by position; [] if unknown."""
        with self._lock:
            entry = self._files.get(self._normalize(rel_path))
        return list(entry[2]) if entry else []

    def files(self) -> dict[str, tuple[Tag, ...]]:
        """Snapshot: relative path -> its tags, for every indexed file."""
        with self._lock:
            return {rel: entry[2] for rel, entry in self._files.items()}

    def name_tables(self) -> NameTables:
        """Snapshot grouped by name (:class:`NameTables`): what the repo map ranks from.

        Shares the per-name mappings (a refresh replaces, never mutates, those), so a
        concurrent refresh leaves the snapshot unchanged. Copies three name-keyed dicts.
        """
        with self._lock:
            tables = NameTables(
                tuple(self._files), self._defs.copy(), self._refs.copy(), self._calls.copy()
            )
            self._snapshots = [r for r in self._snapshots if r() is not None]
            self._snapshots.append(weakref.ref(tables))
            self._owned = set()
            return tables

    def tag_count(self) -> int:
        """Number of tags (definitions and references) in the index."""
        with self._lock:
            return sum(len(entry[2]) for entry in self._files.values())

    def __len__(self) -> int:
        """Number of indexed files."""
        with self._lock:
            return len(self._files)
