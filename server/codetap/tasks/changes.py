"""A task's change (base -> tip) file by file, with what must never be delivered as text.

Read from ``git diff --raw`` (modes and blob ids of both sides) and one
``git cat-file --batch`` for every blob, so the cost is two git processes whatever the
number of files. A path whose either side is not a regular UTF-8 text file (a symlink,
mode 120000; a submodule, mode 160000; any other non-regular mode; a binary or non-UTF-8
blob) is *special* (ARCHITECTURE.md "Trust and safety"): it carries a one-line description
(``"symlink -> /etc/passwd"``) and no texts, so editors are told about it and never get a
text edit for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from codetap.errors import WorkspaceError
from codetap.tasks.git import FileChange, git

ABSENT = "000000"
REGULAR = ("100644", "100755")
SYMLINK = "120000"
GITLINK = "160000"
MAX_TARGET = 200


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One line of ``git diff --raw``: modes and blob ids of both sides, and the path."""

    old_mode: str
    new_mode: str
    old_blob: str
    new_blob: str
    path: str


def parse_raw(out: str) -> list[RawEntry]:
    """Entries of ``git diff --raw -z --no-renames --no-abbrev`` output.

    WorkspaceError on output that is not in that format.
    """
    fields = out.split("\0")
    entries = []
    for i in range(0, len(fields) - 1, 2):
        meta, path = fields[i], fields[i + 1]
        parts = meta.lstrip(":").split(" ")
        if not meta.startswith(":") or len(parts) != 5:
            raise WorkspaceError(f"unexpected `git diff --raw` line: {meta!r}")
        entries.append(RawEntry(parts[0], parts[1], parts[2], parts[3], path))
    return entries


async def read_blobs(repo: Path, ids: list[str]) -> dict[str, bytes]:
    """Contents of blobs ``ids`` (hex object ids) through one ``git cat-file --batch``.

    Ids git does not have are left out. WorkspaceError if git fails.
    """
    if not ids:
        return {}
    proc = await asyncio.create_subprocess_exec(
        "git", "cat-file", "--batch", cwd=repo, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate("".join(f"{i}\n" for i in ids).encode())
    if proc.returncode != 0:
        raise WorkspaceError(f"git cat-file failed in {repo}: {err.decode(errors='replace')}")
    blobs: dict[str, bytes] = {}
    pos = 0
    for oid in ids:
        eol = out.index(b"\n", pos)
        header = out[pos:eol].split(b" ")
        pos = eol + 1
        if len(header) != 3:  # "<id> missing"
            continue
        size = int(header[2])
        blobs[oid] = out[pos:pos + size]
        pos += size + 1
    return blobs


def printable(raw: bytes) -> str:
    """``raw`` (a symlink target) as one line of text: control and non-UTF-8 bytes escaped,
    at most ``MAX_TARGET`` characters."""
    text = raw.decode("utf-8", errors="backslashreplace")
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return text if len(text) <= MAX_TARGET else text[:MAX_TARGET] + "..."


def _decode(blob: bytes | None) -> str | None:
    """The text of ``blob``; ``None`` if absent or binary (git's test: a NUL byte in the
    first 8000 bytes; or not UTF-8)."""
    if blob is None or b"\0" in blob[:8000]:
        return None
    try:
        return blob.decode()
    except UnicodeDecodeError:
        return None


def _side(mode: str, oid: str, blobs: dict[str, bytes]) -> tuple[str, bool]:
    """A side's description and whether it is a plain text file."""
    if mode == SYMLINK:
        return f"symlink -> {printable(blobs.get(oid, b'?'))}", False
    if mode == GITLINK:
        return f"submodule at {oid[:12]}", False
    if mode in REGULAR:
        if _decode(blobs.get(oid)) is None:
            return "binary file", False
        return "regular file", True
    return f"mode {mode}", False


def special(entry: RawEntry, blobs: dict[str, bytes]) -> str | None:
    """Why ``entry`` must not be delivered as text (``None``: both sides are text files).

    Shapes: ``"symlink -> /etc/passwd"`` (added), ``"deletes symlink -> x"``,
    ``"symlink -> b (was symlink -> a)"``, ``"symlink -> x (was regular file)"``,
    ``"submodule at 0123456789ab"``, ``"binary file"``, ``"binary file, changed"``.
    """
    old = _side(entry.old_mode, entry.old_blob, blobs) if entry.old_mode != ABSENT else None
    new = _side(entry.new_mode, entry.new_blob, blobs) if entry.new_mode != ABSENT else None
    if all(side is None or side[1] for side in (old, new)):
        return None
    if old is None:
        assert new is not None
        return new[0]
    if new is None:
        return f"deletes {old[0]}"
    if old[0] == new[0]:
        return f"{new[0]}, changed"
    return f"{new[0]} (was {old[0]})"


async def read_changes(repo: Path, base: str, tip: str) -> list[FileChange]:
    """Files changed ``base -> tip`` (renames off), in git's path order, with both texts;
    special files (see the module doc) have ``special`` set and no texts.

    WorkspaceError if git fails (e.g. an unknown commit).
    """
    out = await git(repo, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", base, tip)
    entries = parse_raw(out)
    wanted = {oid for e in entries for mode, oid in ((e.old_mode, e.old_blob),
              (e.new_mode, e.new_blob)) if mode in (*REGULAR, SYMLINK)}
    blobs = await read_blobs(repo, sorted(wanted))
    changes = []
    for e in entries:
        why = special(e, blobs)
        if why is not None:
            changes.append(FileChange(e.path, None, None, why))
            continue
        base_text = _decode(blobs.get(e.old_blob)) if e.old_mode != ABSENT else None
        tip_text = _decode(blobs.get(e.new_blob)) if e.new_mode != ABSENT else None
        changes.append(FileChange(e.path, base_text, tip_text))
    return changes
