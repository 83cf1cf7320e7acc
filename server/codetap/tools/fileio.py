"""File helpers shared by read, edit and write: decoding, hashing, staleness, atomic writes.

Text files are UTF-8 (an optional BOM is kept). Line endings are preserved: a file whose
lines all end in CRLF keeps CRLF when edited or rewritten.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from codetap.errors import ToolError
from codetap.tools.base import FileRead, ToolContext

BOM = b"\xef\xbb\xbf"
BINARY_SNIFF_BYTES = 8192


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def looks_binary(data: bytes) -> bool:
    """True if the first 8 KiB contain a NUL byte (the heuristic git and ripgrep use)."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


@dataclass(frozen=True, slots=True)
class TextFile:
    """A decoded text file: ``text`` with LF line endings if ``crlf``, plus how to re-encode."""

    text: str
    bom: bool
    crlf: bool

    def encode(self, text: str) -> bytes:
        """Encode ``text`` (LF endings) back with this file's BOM and line-ending style."""
        if self.crlf:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return (BOM if self.bom else b"") + text.encode("utf-8")


def decode_text(data: bytes, rel: str) -> TextFile:
    """Decode UTF-8 bytes; CRLF is normalised to LF only if *every* line ends in CRLF.

    Raises ToolError for binary data or bytes that are not UTF-8.
    """
    if looks_binary(data):
        raise ToolError(f"{rel} is a binary file ({len(data)} bytes); it cannot be edited as text")
    bom = data.startswith(BOM)
    body = data[len(BOM):] if bom else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"{rel} is not valid UTF-8 (byte {exc.start}); only UTF-8 text files can be edited"
        ) from None
    lf = text.count("\n")
    crlf = lf > 0 and text.count("\r\n") == lf
    return TextFile(text.replace("\r\n", "\n") if crlf else text, bom, crlf)


def record(
    ctx: ToolContext, rel: str, st: os.stat_result, data: bytes, offset: int, limit: int
) -> None:
    """Remember in ``ctx.reads`` that ``data`` is ``rel``'s content as of stat ``st``.

    ``offset``/``limit`` are the line range shown; edit and write pass 0/0 (content known
    but not shown), so a following read shows the new text instead of the dedup stub.
    """
    ctx.reads[rel] = FileRead(st.st_mtime_ns, st.st_size, offset, limit, sha256(data))


def check_fresh(ctx: ToolContext, rel: str, data: bytes) -> None:
    """Raise ToolError unless ``rel`` was read before and its content is unchanged since.

    Content (SHA-256) decides: a file merely touched is still fresh, a file rewritten with
    the same size and mtime is not.
    """
    seen = ctx.reads.get(rel)
    if seen is None:
        raise ToolError(f"{rel} has not been read yet; read it first, then edit it")
    if seen.sha256 != sha256(data):
        raise ToolError(
            f"{rel} has changed since it was last read (by another process or command); "
            "read it again before editing"
        )


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temp file + rename, mode kept).

    Creates missing parent directories. A crash leaves either the old or the new content,
    which is what reconciliation by content hash relies on.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.codetap-tmp")
    # os.open with 0o666 lets the umask apply to new files, as a plain open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
