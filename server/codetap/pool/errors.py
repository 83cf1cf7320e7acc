"""Errors of the language server pool (all are :class:`~codetap.errors.CodetapError`)."""

from __future__ import annotations

from codetap.errors import CodetapError


class LspError(CodetapError):
    """A language server could not answer."""


class ServerUnavailable(LspError):
    """No language server serves this file: unsupported language or program not installed.

    ``server`` is the spec name when a server is configured but its program is missing.
    """

    def __init__(self, message: str, server: str | None = None) -> None:
        super().__init__(message)
        self.server = server


class ServerCrashed(LspError):
    """The server process died, or crashed more often than the restart limit allows."""


class RequestFailed(LspError):
    """The server answered a request with an error, or did not answer in time."""
