"""Errors of the SDK, and daemon errors rebuilt as codetap's own classes.

A JSON-RPC error from the daemon carries ``data: {"type": "<class name>"}`` when it came
from a :class:`~codetap.errors.CodetapError` (docs/protocol.md "Errors"); the SDK raises
an instance of that same class (``TaskNotFound``, ``InvalidTransition``, ``ConfigError``
...) with the daemon's message. Errors without a known class become :class:`RequestError`.
"""

from __future__ import annotations

from typing import Any

from codetap import errors
from codetap.errors import CodetapError


class DaemonUnreachable(CodetapError):
    """No daemon answers on the socket (and starting one failed or was not allowed)."""


class ConnectionLost(DaemonUnreachable):
    """The connection to the daemon closed while a request was in flight."""


class RequestError(CodetapError):
    """The daemon refused a request with a JSON-RPC error that names no codetap class
    (``code`` is the JSON-RPC error code, e.g. -32601 for a method this daemon lacks)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


METHOD_NOT_FOUND = -32601


def _classes() -> dict[str, type[CodetapError]]:
    out: dict[str, type[CodetapError]] = {}
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, CodetapError):
            out[name] = value
    return out


def from_wire(error: dict[str, Any]) -> CodetapError:
    """The exception for a JSON-RPC ``error`` object (``{code, message, data?}``)."""
    message = str(error.get("message") or "daemon error")
    code = int(error.get("code") or 0)
    data = error.get("data")
    name = data.get("type") if isinstance(data, dict) else None
    cls = _classes().get(name) if isinstance(name, str) else None
    if cls is None:
        if code == METHOD_NOT_FOUND:
            message = f"{message} (this daemon is older than the client; restart it)"
        return RequestError(message, code)
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    if cls is errors.TaskNotFound:
        digits = "".join(c for c in message if c.isdigit())
        exc.task_id = int(digits) if digits else 0  # type: ignore[attr-defined]
    exc.code = code  # type: ignore[attr-defined]
    return exc
