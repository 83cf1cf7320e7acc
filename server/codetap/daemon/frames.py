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


class FrameBatcher:
    """Frames sent during one event-loop iteration, written to ``writer`` together when it
    ends: one send, and one wake-up of the reading process, per burst (an agent step makes
    several) instead of one per frame. Order is kept. Create it inside the running loop.
    """

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        import asyncio  # here: this module is imported before the fork, asyncio is not

        self.writer = writer
        self._loop = asyncio.get_running_loop()
        self._chunks: list[bytes] = []

    def send(self, frame: Any) -> None:
        """Queue one frame (pickled now: later changes to its objects are not sent)."""
        if not self._chunks:
            self._loop.call_soon(self.flush)
        self._chunks.append(frame_bytes(frame))

    def flush(self) -> None:
        """Write the queued frames now."""
        if self._chunks:
            data = b"".join(self._chunks)
            self._chunks.clear()
            self.writer.write(data)
