"""A journal entry's notification is encoded once for every session."""

from __future__ import annotations

import json

from codetap.lsp.eventframe import EventFrame
from codetap.protocol.models import LARGE_EVENT_BYTES


def body(raw: bytes) -> dict[str, object]:
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head == b"Content-Length: %d" % len(payload)
    parsed: dict[str, object] = json.loads(payload)
    return parsed


def test_encoded_once_and_shared() -> None:
    event = EventFrame(7, 3, "tool_result", {"output": "ok", "name": "read"})
    first = event.bytes()
    assert event.bytes() is first
    msg = body(first)
    assert msg["method"] == "codetap/task/event"
    assert msg["params"] == {"id": "7", "seq": 3, "kind": "tool_result",
                             "data": {"output": "ok", "name": "read"}}


def test_large_entries_go_out_partial() -> None:
    event = EventFrame(1, 9, "tool_result", {"output": "x" * (LARGE_EVENT_BYTES + 10)})
    params = body(event.bytes())["params"]
    assert isinstance(params, dict) and params["partial"] is True
    assert params["data"]["output"]["ref"] == {"id": "1", "seq": 9}
