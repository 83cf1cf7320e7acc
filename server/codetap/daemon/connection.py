"""The daemon's LSP connections are served by :mod:`codetap.lsp.framing` (base-protocol
framing and the per-connection read loop); this module keeps the names the daemon's
clients (``codetap`` CLI, benches) import from here."""

from __future__ import annotations

from codetap.lsp.framing import (
    FrameError,
    FrameReader,
    handle_body,
    read_message,
    serve,
)
from codetap.lsp.wire import frame

__all__ = ["FrameError", "FrameReader", "frame", "handle_body", "read_message", "serve"]
