"""The narrow interfaces a :class:`~codetap.lsp.suggest.SuggestionBook` works through.

:class:`SuggestionClient` is the one editor connection the book shows suggestions to
(implemented by :class:`~codetap.lsp.session.Session`); :class:`ReviewState` is what all
sessions of a daemon share (implemented by :class:`~codetap.lsp.hub.Hub`). Neither module
is imported here, so the book depends on neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lsprotocol import types as lsp

    from codetap.lsp.decisions import Decisions
    from codetap.runtime import FileChange, TaskRecord
    from codetap.runtime_api import RuntimeAPI


class SuggestionClient(Protocol):
    """One editor connection, as far as its suggestions are concerned."""

    @property
    def closed(self) -> bool:
        """The connection is gone: send nothing more."""

    @property
    def initialized(self) -> bool:
        """The client finished initialize (it is attached and told about task changes)."""

    @property
    def wants_suggestions(self) -> bool:
        """The client opted in to ``codetap/suggestions`` notifications."""

    @property
    def encoding(self) -> str:
        """The negotiated position encoding (``utf-16``, ``utf-8``, ``utf-32``)."""

    def document(self, uri: str) -> tuple[str, int | None] | None:
        """Text and version of an open document, or ``None`` if it is not open."""

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """Send a notification (``params`` JSON-ready)."""

    def publish_diagnostics(self, params: lsp.PublishDiagnosticsParams) -> None:
        """``textDocument/publishDiagnostics``."""

    def show_message(self, params: lsp.ShowMessageParams) -> None:
        """``window/showMessage``."""

    async def apply_edit(
        self, params: lsp.ApplyWorkspaceEditParams
    ) -> lsp.ApplyWorkspaceEditResult:
        """``workspace/applyEdit``: the client's answer."""


class ReviewState(Protocol):
    """What every session of one daemon shares for reviewing tasks."""

    @property
    def runtime(self) -> RuntimeAPI:
        """The runtime (tasks, their changes and state transitions)."""

    @property
    def decisions(self) -> Decisions:
        """The user's accept/reject decisions, persisted."""

    async def file_changes(self, task: TaskRecord) -> list[FileChange]:
        """The task's changed files (base and tip texts)."""

    def refresh_suggestions(self, task_id: int) -> None:
        """Every session showing ``task_id`` recomputes and republishes it (in background)."""
