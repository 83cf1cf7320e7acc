"""The ACP agent side of ``codetap acp``: request handlers over the codetap SDK.

Follows the Agent Client Protocol (protocol version 1, the ``agent-client-protocol``
package's schema): ``initialize`` (``loadSession`` advertised), ``session/new`` (bind a
repository), ``session/load`` (replay a task's journal), ``session/prompt`` (start the
session's task, or send it a follow-up message, or answer its pending question; stream its
journal as ``session/update`` until the turn ends), ``session/cancel`` (cancel the task).
Questions with options and approvals go to the client as ``session/request_permission``
(:mod:`codetap.acp.turns`). Every task runs in the daemon; this process only relays, so
closing the editor leaves tasks running.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from acp import PROTOCOL_VERSION, RequestError
from acp.interfaces import Client as AcpClient
from acp.schema import (
    AgentCapabilities,
    AudioContentBlock,
    ClientCapabilities,
    EmbeddedResourceContentBlock,
    ImageContentBlock,
    Implementation,
    InitializeResponse,
    LoadSessionResponse,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    ResourceContentBlock,
    SessionInfoUpdate,
    TextContentBlock,
    Usage,
)

from codetap.acp.mapping import Mapper
from codetap.acp.sessions import (
    DEFAULT_CONTEXT_WINDOW,
    AcpSession,
    SessionFile,
    load_settings,
    new_session_id,
    task_of_id,
)
from codetap.acp.turns import ACTIVE, Turn
from codetap.errors import CodetapError, InvalidTransition, TaskNotFound
from codetap.sdk.client import Client

log = logging.getLogger(__name__)
Block = (TextContentBlock | ImageContentBlock | AudioContentBlock | ResourceContentBlock
         | EmbeddedResourceContentBlock)


def prompt_text(blocks: list[Block]) -> str:
    """The text of a prompt: its text blocks, resource links as ``@uri`` and embedded text
    resources as fenced context (images and audio are not supported: capability off)."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, TextContentBlock):
            parts.append(block.text)
        elif isinstance(block, ResourceContentBlock):
            parts.append(f"@{block.uri}")
        elif isinstance(block, EmbeddedResourceContentBlock):
            text = getattr(block.resource, "text", None)
            if isinstance(text, str):
                parts.append(f"\n{block.resource.uri}:\n```\n{text}\n```\n")
    return "\n".join(parts).strip()


def _error(exc: CodetapError) -> RequestError:
    """A codetap error as a JSON-RPC error the editor shows (its class and message)."""
    code = -32002 if isinstance(exc, TaskNotFound) else -32603
    return RequestError(code, str(exc), {"codetap": type(exc).__name__})


class CodetapAgent:
    """The ACP ``Agent`` of ``codetap acp``. ``sdk``: a codetap SDK client (connected on
    ``initialize``, starting the daemon if none runs)."""

    def __init__(self, sdk: Client | None = None) -> None:
        self.sdk = sdk or Client()
        self.conn: AcpClient | None = None
        self.sessions: dict[str, AcpSession] = {}
        self._connected = False
        data_dir, self.windows = load_settings()
        self.file = SessionFile(data_dir / "acp-sessions.json")

    def on_connect(self, conn: AcpClient) -> None:
        """The ACP connection to the editor (called by the package's connection)."""
        self.conn = conn

    async def close(self) -> None:
        """Drop the daemon connection; tasks keep running there."""
        await self.sdk.close()

    # -- lifecycle -------------------------------------------------------------------
    async def initialize(self, protocol_version: int,
                         client_capabilities: ClientCapabilities | None = None,
                         client_info: Implementation | None = None,
                         **kwargs: Any) -> InitializeResponse:
        """Connect to the daemon (starting it if needed); advertise loadSession and
        embedded context in prompts."""
        if not self._connected:
            try:
                await self.sdk.connect()
            except CodetapError as exc:
                raise _error(exc) from None
            self._connected = True
        from importlib.metadata import version
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True,
                prompt_capabilities=PromptCapabilities(embedded_context=True)),
            agent_info=Implementation(name="codetap", title="codetap", version=version("codetap")),
        )

    async def authenticate(self, method_id: str, **kwargs: Any) -> None:
        """No authentication: the daemon is the user's own (model keys live in its config)."""

    def _mapper(self, cwd: Path, intent: str = "") -> Mapper:
        window = self.windows.get("", DEFAULT_CONTEXT_WINDOW)
        return Mapper(cwd, window, intent=intent)

    async def new_session(self, cwd: str, mcp_servers: list[Any] | None = None,
                          **kwargs: Any) -> NewSessionResponse:
        """A session bound to the repository at ``cwd`` (absolute; a directory). MCP
        servers are not used: codetap's tools are its own."""
        root = Path(cwd)
        if not root.is_absolute() or not root.is_dir():
            raise RequestError.invalid_params({"cwd": f"{cwd} is not an absolute directory"})
        session = AcpSession(new_session_id(), root, self._mapper(root))
        self.sessions[session.id] = session
        return NewSessionResponse(session_id=session.id)

    async def load_session(self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None,
                           **kwargs: Any) -> LoadSessionResponse:
        """Replay the journal of the session's task as updates (user messages included);
        ``session_id`` is one minted by ``session/new`` (any ``codetap acp`` process) or
        ``task-<id>``. Error -32002 if no task is known by it."""
        known = self.file.get(session_id)
        task_id = task_of_id(session_id) or (known[0] if known else None)
        if task_id is None:
            raise RequestError.resource_not_found(session_id)
        try:
            info = await self.sdk.get(task_id)
        except CodetapError as exc:
            raise _error(exc) from None
        root = Path(cwd) if cwd else Path(unquote(urlparse(info.root_uri).path))
        session = AcpSession(session_id, root, self._mapper(root, info.intent), task_id=info.id)
        session.mapper.replay = True
        async for ev in self.sdk.events(info.id, follow=False):
            session.last_seq = ev.seq
            for update in session.mapper.updates(ev.kind, ev.data):
                await self._send(session.id, update)
        session.mapper.replay = False
        self.sessions[session.id] = session
        return LoadSessionResponse()

    async def _send(self, session_id: str, update: Any) -> None:
        assert self.conn is not None
        await self.conn.session_update(session_id=session_id, update=update)

    def _session(self, session_id: str) -> AcpSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise RequestError.invalid_params({"sessionId": f"no session {session_id}"})
        return session

    # -- turns -----------------------------------------------------------------------
    async def prompt(self, prompt: list[Block], session_id: str, **kwargs: Any) -> PromptResponse:
        """One turn: start the task (first prompt), answer its pending question (it is
        waiting), follow it (it is still running) or send a follow-up message (it ended);
        then stream its journal until the turn ends."""
        session = self._session(session_id)
        text = prompt_text(prompt)
        if not text:
            raise RequestError.invalid_params({"prompt": "empty prompt"})
        async with session.turn:
            session.cancelled = False
            session.mapper.reset_turn()
            try:
                await self._begin(session, text)
            except CodetapError as exc:
                raise _error(exc) from None
            assert self.conn is not None and session.task_id is not None
            stop = await Turn(self.sdk, self.conn, session).run()
            tin, tout = session.mapper.turn_tokens
            return PromptResponse(stop_reason=stop, usage=Usage(
                input_tokens=tin, output_tokens=tout, total_tokens=tin + tout))

    async def _begin(self, session: AcpSession, text: str) -> None:
        """Hand ``text`` to the daemon; once it took it, a ``session_info_update`` (title:
        the task, updatedAt: now) is the turn's first update."""
        if session.task_id is None:
            info = await self.sdk.start(text, repo=session.cwd)
            session.task_id = info.id
            session.mapper.intent = info.intent
            await self._taken(session, info.id, info.intent)
            try:
                self.file.put(session.id, info.id, session.cwd)
            except OSError as exc:
                log.warning("session %s will not be loadable later: %s", session.id, exc)
            return
        info = await self.sdk.get(session.task_id)
        if info.state == "waiting":
            info = await self.sdk.answer(info.id, text)
        elif info.state not in ACTIVE:
            info = await self.sdk.message(info.id, text)
        await self._taken(session, info.id, info.intent)

    async def _taken(self, session: AcpSession, task_id: str, intent: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        await self._send(session.id, SessionInfoUpdate(
            session_update="session_info_update",
            title=f"codetap task {task_id}: {intent[:80]}", updated_at=stamp))

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        """``session/cancel``: cancel the session's task (the running turn then ends with
        ``cancelled``). Unknown sessions and ended tasks are ignored (a notification)."""
        session = self.sessions.get(session_id)
        if session is None or session.task_id is None:
            return
        session.cancelled = True
        try:
            await self.sdk.cancel(session.task_id)
        except (InvalidTransition, TaskNotFound) as exc:
            log.info("cancel of task %s: %s", session.task_id, exc)
