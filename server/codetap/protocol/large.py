"""Large journal events travel as references (docs/protocol.md "Large events").

One tool result can hold megabytes of output. Sent whole, every subscribed client would
parse it whether it wants it or not, and one such event can exceed a reader's buffer. So an
event whose string fields add up to more than :data:`~codetap.protocol.models.LARGE_EVENT_BYTES`
characters is sent *partial*: its largest strings, biggest first, are replaced by a
:class:`~codetap.protocol.models.DataRef` object until the rest fits, and the client fetches
the whole event with ``codetap/task/eventData {id, seq}`` when it wants it.
"""

from __future__ import annotations

from typing import Any

from codetap.protocol.models import LARGE_EVENT_BYTES

PREVIEW_CHARS = 1024
"""How much of a replaced string its reference keeps."""


def _strings(value: Any, path: tuple[Any, ...], out: list[tuple[int, tuple[Any, ...]]]) -> int:
    if isinstance(value, str):
        out.append((len(value), path))
        return len(value)
    total = 0
    if isinstance(value, dict):
        for k, v in value.items():
            total += _strings(v, (*path, k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            total += _strings(v, (*path, i), out)
    return total


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


def shrink(task_id: str, seq: int, data: dict[str, Any],
           limit: int = LARGE_EVENT_BYTES) -> tuple[dict[str, Any], bool]:
    """``(data, partial)``: ``data`` itself when its strings total at most ``limit``
    characters, else a copy with the largest strings replaced by
    ``{"ref": {"id": task_id, "seq": seq}, "bytes": <UTF-8 length>, "preview": <first
    1024 characters>}`` until the remaining strings fit. ``data`` is never modified."""
    found: list[tuple[int, tuple[Any, ...]]] = []
    total = _strings(data, (), found)
    if total <= limit:
        return data, False
    out: Any = data
    for size, path in sorted(found, key=lambda x: x[0], reverse=True):
        if total <= limit or size <= PREVIEW_CHARS:
            break
        text = data
        for key in path:
            text = text[key]
        assert isinstance(text, str)
        ref = {"ref": {"id": task_id, "seq": seq}, "bytes": len(text.encode("utf-8", "replace")),
               "preview": text[:PREVIEW_CHARS]}
        out = _replace(out, path, ref)
        total -= size - PREVIEW_CHARS
    return out, True


def is_ref(value: Any) -> bool:
    """Whether ``value`` is a reference left by :func:`shrink` in place of a string."""
    return (isinstance(value, dict) and set(value) == {"ref", "bytes", "preview"}
            and isinstance(value["ref"], dict))
