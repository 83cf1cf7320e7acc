"""Frames between the daemon's front process and its runtime worker: a 4-byte big-endian
length, then a pickle (both ends are codetap processes started together on a socketpair)."""

from __future__ import annotations

import pickle
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

_HEADER = struct.Struct("!I")


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next unpickled frame, or None at end of stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
        return pickle.loads(await reader.readexactly(_HEADER.unpack(header)[0]))
    except EOFError:  # asyncio.IncompleteReadError: the stream ended mid-frame or before it
        return None


def write_frame(writer: asyncio.StreamWriter, frame: Any) -> None:
    """Queue one pickled frame on ``writer``."""
    writer.write(frame_bytes(frame))


def frame_bytes(frame: Any) -> bytes:
    """One frame as bytes (header + pickle)."""
    body = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body
