"""The per-step checkpoint commit, staging only the paths a step changed.

A step's tools report the files they changed (``edit``/``write``: ``meta.changed_files``);
the commit's tree is the parent commit's tree with just those paths replaced, built
in-process with libgit2 (pygit2): the cost grows with the number of changed paths and their
depth, not with the repository (no stat of the worktree, no read or write of the index).
A step whose effects are unknown (``bash``, a step completed after a restart) asks git
for the changed paths with one ``git status`` that uses the untracked cache, then stages
those the same way.

The worktree's index is left behind HEAD by path-staged steps (rewriting it is linear in
the repository); the paths it lags on are remembered by :class:`Checkpointer` and written
with one ``git update-index`` before a command that may read the index runs
(:meth:`Checkpointer.sync_index`), and by every status scan (which lists them again).
After a restart, :func:`codetap.tasks.git.reset_hard` rewrites the index anyway.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from codetap.errors import WorkspaceError
from codetap.tasks import git
from codetap.tasks.git import _FILTER_DRIVER, _IDENTITY

if TYPE_CHECKING:
    import pygit2

_STATUS = ("-c", "core.untrackedCache=true", "status", "--porcelain=v1", "-z",
           "--untracked-files=all", "--no-renames", "--ignore-submodules=all")


async def changed_paths(worktree: Path) -> list[str]:
    """Repo-relative POSIX paths that differ between HEAD, the index and the worktree
    (untracked, not ignored files included), from ``git status --porcelain=v1 -z``.

    Git's untracked cache skips unchanged directories; tracked files are still
    ``lstat``-ed (git's own change detection). WorkspaceError if git fails.
    """
    out = await git.git(worktree, *_STATUS)
    paths = []
    for record in out.split("\0"):
        if len(record) > 3 and not record.endswith("/"):
            paths.append(record[3:])
    return paths


class Checkpointer:
    """Commits one task worktree's steps; remembers where its index lags HEAD.

    ``commit(message, paths)`` stages ``paths`` (None: whatever ``git status`` lists) on
    top of HEAD and returns the HEAD commit id afterwards (a new commit, or the old HEAD
    when the tree did not change). Repositories that configure a filter driver (Git LFS)
    commit with the git CLI (libgit2 does not run filters). WorkspaceError if git fails.
    """

    def __init__(self, worktree: Path) -> None:
        self.worktree = worktree
        self.index_behind: set[str] = set()

    async def commit(self, message: str, paths: Collection[str] | None) -> str:
        """See the class docstring; ``paths`` are workspace-relative POSIX paths."""
        if paths is None:
            paths = await changed_paths(self.worktree)
            scanned = True
        else:
            scanned = False
        try:
            tip, staged = await asyncio.to_thread(_commit_paths, self.worktree, message,
                                                  sorted(set(paths)))
        except _FilterDriver:
            await git.commit_all(self.worktree, message)
            self.index_behind.clear()
            return await git.head(self.worktree)
        self.index_behind |= staged
        if scanned:
            await self.sync_index()
        return tip

    async def sync_index(self) -> None:
        """Write the lagging paths' worktree state into the index (``git update-index
        --add --remove``), so ``git status``/``git diff`` in the worktree show nothing
        committed as changed. WorkspaceError if git fails."""
        if not self.index_behind:
            return
        paths, self.index_behind = sorted(self.index_behind), set()
        await git.git(self.worktree, "update-index", "--add", "--remove", "-z", "--stdin",
                      input="".join(p + "\0" for p in paths).encode(errors="surrogateescape"))


_GITLINK = 0o160000


class _FilterDriver(Exception):
    """The repository configures a filter driver, which only the git CLI runs."""


def _commit_paths(worktree: Path, message: str, paths: list[str]) -> tuple[str, set[str]]:
    """(HEAD commit id after the commit, paths whose tree entry was written)."""
    import pygit2  # here: the editor-facing process never commits (a 57 ms import)

    try:
        repo = pygit2.Repository(str(worktree))
        if any(_FILTER_DRIVER.fullmatch(entry.name) for entry in repo.config):
            raise _FilterDriver
        parent = repo.head.peel(pygit2.Commit)
        tree = _TreeEdit(repo, parent.tree)
        staged = {rel for rel in paths if _stage(repo, tree, worktree, rel)}
        tree_id = tree.write() or repo.TreeBuilder().write()
        if tree_id == parent.tree_id:
            return str(parent.id), staged
        author = pygit2.Signature(_IDENTITY["GIT_AUTHOR_NAME"], _IDENTITY["GIT_AUTHOR_EMAIL"])
        return str(repo.create_commit("HEAD", author, author, message, tree_id,
                                      [parent.id])), staged
    except pygit2.GitError as exc:
        raise WorkspaceError(f"checkpoint commit failed in {worktree}: {exc}") from exc


def _stage(repo: pygit2.Repository, tree: _TreeEdit, worktree: Path, rel: str) -> bool:
    """Put ``rel``'s worktree state into ``tree``; False when it is skipped (a ``.git``
    path, a directory, a file inside a submodule, or an untracked file git ignores, as
    ``git add -A`` would)."""
    import pygit2

    parts = rel.split("/")
    if ".git" in parts or any(p in ("", ".", "..") for p in parts) \
            or tree.inside_submodule(parts):
        return False
    try:
        st = os.lstat(worktree / rel)
    except FileNotFoundError:
        tree.set(parts, None)
        return True
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        return False
    if not tree.tracked(rel) and repo.path_is_ignored(rel):
        return False
    mode = pygit2.GIT_FILEMODE_BLOB_EXECUTABLE if st.st_mode & 0o100 else pygit2.GIT_FILEMODE_BLOB
    if stat.S_ISLNK(st.st_mode):
        blob = repo.create_blob(os.fsencode(os.readlink(worktree / rel)))
        mode = pygit2.GIT_FILEMODE_LINK
    elif _may_filter(repo, worktree, parts):
        blob = repo.create_blob_fromworkdir(rel)
    else:
        blob = repo.create_blob((worktree / rel).read_bytes())
    tree.set(parts, (blob, mode))
    return True


def _may_filter(repo: pygit2.Repository, worktree: Path, parts: list[str]) -> bool:
    """Whether git could convert the file when staging it (``core.autocrlf``, or an
    attributes file that may set ``text``/``eol``/``ident``/``filter``). libgit2 then
    stages it (and reads the whole index to look for attributes); otherwise the bytes are
    the blob, which keeps the cost independent of the repository's size."""
    config = repo.config
    if "core.attributesFile" in config or "core.autocrlf" in config and str(
            config["core.autocrlf"]).lower() not in ("false", "no", "off", "0"):
        return True
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    dirs = [worktree.joinpath(*parts[:i]) for i in range(len(parts))]
    candidates = [d / ".gitattributes" for d in dirs]
    git_dir = Path(repo.path)
    common = git_dir / (git_dir / "commondir").read_text().strip() if (
        git_dir / "commondir").exists() else git_dir
    candidates += [common / "info" / "attributes", Path(xdg) / "git" / "attributes"]
    return any(c.exists() for c in candidates)


class _TreeEdit:
    """A tree edited in memory by path; only the edited directories are rewritten."""

    def __init__(self, repo: pygit2.Repository, tree: pygit2.Tree | None) -> None:
        self.repo = repo
        self.tree = tree
        self.children: dict[str, _TreeEdit] = {}
        self.entries: dict[str, tuple[pygit2.Oid, int] | None] = {}

    def inside_submodule(self, parts: list[str]) -> bool:
        """Whether a leading directory of ``parts`` is a submodule (gitlink) entry."""
        if self.tree is None:
            return False
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix not in self.tree:
                return False
            if self.tree[prefix].filemode == _GITLINK:
                return True
        return False

    def tracked(self, rel: str) -> bool:
        """Whether the original tree has an entry at ``rel``."""
        return self.tree is not None and rel in self.tree

    def set(self, parts: list[str], entry: tuple[pygit2.Oid, int] | None) -> None:
        """Set (or, with None, remove) the blob entry at ``parts``."""
        import pygit2

        name = parts[0]
        if len(parts) == 1:
            self.entries[name] = entry
            self.children.pop(name, None)
            return
        if name not in self.children:
            sub = self.tree[name] if self.tree is not None and name in self.tree else None
            subtree = sub if isinstance(sub, pygit2.Tree) else None
            self.children[name] = _TreeEdit(self.repo, subtree)
            self.entries.pop(name, None)
        self.children[name].set(parts[1:], entry)

    def write(self) -> pygit2.Oid | None:
        """Write the edited tree; its id, or None when it ends up empty."""
        import pygit2

        if not self.children and not self.entries and self.tree is not None:
            return self.tree.id
        builder = (self.repo.TreeBuilder(self.tree) if self.tree is not None
                   else self.repo.TreeBuilder())
        for name, entry in self.entries.items():
            if builder.get(name) is not None:
                builder.remove(name)
            if entry is not None:
                builder.insert(name, entry[0], entry[1])
        for name, child in self.children.items():
            sub = child.write()
            if builder.get(name) is not None:
                builder.remove(name)
            if sub is not None:
                builder.insert(name, sub, pygit2.GIT_FILEMODE_TREE)
        return builder.write() if len(builder) else None
