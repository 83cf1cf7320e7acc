"""One ``session/prompt`` turn: stream the task's journal until the turn ends.

The turn follows the task's journal from the session's last ``seq`` (the SDK's
``events``, which survives a daemon restart) and sends each entry's updates. It ends when
the task reaches an end state (ready, failed, cancelled, applied, discarded) or is paused
(:func:`codetap.acp.mapping.stop_reason` gives the ``stopReason``), or when the task waits
for an answer the user must type:

- a question with options, or an approval, goes to the client as
  ``session/request_permission`` (one option per answer; approvals offer ``allow_once`` /
  ``reject_once``), and the chosen answer to the daemon (``codetap/answer``); the turn
  goes on. If the client dismisses it (outcome ``cancelled``, not during a
  ``session/cancel``), the turn ends (``end_turn``) saying so;
- a free-text question ends the turn (``end_turn``) with the question as the agent's
  message: the next prompt is the answer.

If the task stops waiting meanwhile (answered with ``codetap answer`` or from an editor),
the permission request is abandoned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Literal

from acp.schema import AllowedOutcome, PermissionOption, ToolCallUpdate

from codetap.acp.mapping import Pending, StopReason, agent_text, stop_reason
from codetap.errors import CodetapError

if TYPE_CHECKING:
    from acp.interfaces import Client as AcpClient

    from codetap.acp.mapping import Update
    from codetap.acp.sessions import AcpSession
    from codetap.sdk.client import Client

log = logging.getLogger(__name__)
ACTIVE = ("queued", "running", "waiting")
TURN_END = ("ready", "failed", "cancelled", "applied", "discarded", "paused")
Kind = Literal["allow_once", "reject_once"]


def permission_options(q: Pending) -> list[PermissionOption]:
    """The options of ``q`` as ACP permission options (ids are the answers' indexes)."""
    def kind(answer: str) -> Kind:
        return "reject_once" if q.kind == "approval" and answer == "no" else "allow_once"
    return [PermissionOption(option_id=str(i), name=o, kind=kind(o))
            for i, o in enumerate(q.options)]


class Turn:
    """One prompt turn of ``session`` (its task set). :meth:`run` returns the stopReason."""

    def __init__(self, sdk: Client, conn: AcpClient, session: AcpSession) -> None:
        self.sdk = sdk
        self.conn = conn
        self.session = session
        assert session.task_id is not None
        self.task_id = session.task_id
        self._ended: asyncio.Future[Pending | None] = asyncio.get_running_loop().create_future()
        self._asking: asyncio.Task[None] | None = None

    async def send(self, update: Update) -> None:
        """Send one ``session/update`` of this session."""
        await self.conn.session_update(session_id=self.session.id, update=update)

    async def run(self) -> StopReason:
        """Stream until the turn ends; its stopReason."""
        stream = asyncio.ensure_future(self._stream())
        waiters: list[asyncio.Future[Pending | None]] = [stream, self._ended]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._stop_asking()
            if not stream.done():
                stream.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stream
        waiting = stream.result() if stream.done() and not stream.cancelled() else None
        if waiting is None and self._ended.done():
            waiting = self._ended.result()
        if waiting is not None and not self.session.cancelled:
            choices = f" ({' / '.join(waiting.options)})" if waiting.options else ""
            await self.send(agent_text(f"codetap task {self.task_id} asks: {waiting.text}"
                                       f"{choices}. Reply to answer."))
            return "end_turn"
        info = await self.sdk.get(self.task_id)
        reason, note = stop_reason(info.state, info.error)
        if self.session.cancelled or reason == "cancelled":
            for update in self.session.mapper.abandon():
                await self.send(update)
            return "cancelled"
        if note:
            await self.send(agent_text(note))
        return reason

    async def _stream(self) -> Pending | None:
        """Send the journal's updates until an end state; the free-text question the turn
        stopped at, if any."""
        mapper = self.session.mapper
        async for ev in self.sdk.events(self.task_id, after=self.session.last_seq,
                                        until=TURN_END):
            if ev.partial and ev.kind == "tool_intent":
                ev = await ev.full()  # diffs need the whole arguments
            self.session.last_seq = ev.seq
            for update in mapper.updates(ev.kind, ev.data):
                await self.send(update)
            if ev.kind != "state":
                continue
            if ev.data.get("to") == "waiting":
                q = mapper.pending()
                if q is None or not q.options:
                    return q or Pending("", "question", "(a question; see codetap show)")
                self._asking = asyncio.ensure_future(self._ask(q))
            else:
                self._stop_asking()
        return None

    def _stop_asking(self) -> None:
        if self._asking is not None and not self._asking.done():
            self._asking.cancel()
        self._asking = None

    async def _ask(self, q: Pending) -> None:
        """Put ``q`` to the client; send the chosen answer to the daemon."""
        tool_call = ToolCallUpdate(tool_call_id=q.call_id, title=q.text, status="pending")
        try:
            resp = await self.conn.request_permission(
                session_id=self.session.id, tool_call=tool_call,
                options=permission_options(q))
        except (ConnectionError, OSError) as exc:
            log.info("permission request of task %s not answered: %s", self.task_id, exc)
            return
        except Exception as exc:  # noqa: BLE001 - the client answered with an error
            log.warning("permission request of task %s failed: %s", self.task_id, exc)
            resp = None
        outcome = resp.outcome if resp is not None else None
        if isinstance(outcome, AllowedOutcome) and outcome.option_id.isdigit() \
                and int(outcome.option_id) < len(q.options):
            try:
                await self.sdk.answer(self.task_id, q.options[int(outcome.option_id)])
            except CodetapError as exc:  # answered meanwhile by someone else
                log.info("answer to task %s not taken: %s", self.task_id, exc)
            return
        if not self.session.cancelled and not self._ended.done():
            self._ended.set_result(q)
