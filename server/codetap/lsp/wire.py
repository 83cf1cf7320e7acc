"""One LSP base-protocol message as bytes (``Content-Length`` header, blank line, UTF-8
JSON body). Kept free of imports beyond ``json``: the CLI's fast paths (``codetap run
--detach``) frame a request without loading pygls."""

from __future__ import annotations

import json
from typing import Any


def frame(payload: dict[str, Any]) -> bytes:
    """``payload`` as one LSP base-protocol message (header + JSON body)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body
