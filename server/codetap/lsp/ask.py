"""Putting a task's question to one client: ``codetap/ask`` or ``window/showMessageRequest``.

ARCHITECTURE.md "Editor protocol": a client that declared ``{"codetap": {"ask": true}}``
in ``initializationOptions`` gets ``codetap/ask`` (``{id, kind, question, options?}`` ->
``{answer}``); any other client gets LSP's ``window/showMessageRequest`` with the options
as actions (an approval without options offers "yes" / "no"). A dismissed prompt (VS Code
answers a cancelled input with ``null``; showMessageRequest returns ``null``) or an
invalid answer means "not answered": the question stays pending.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types as lsp
from pydantic import ValidationError

from codetap.protocol import methods
from codetap.protocol.models import AskParams, AskResult, dump

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from codetap.runtime import Question

log = logging.getLogger(__name__)
APPROVAL_OPTIONS = ["yes", "no"]


def choices(q: Question) -> list[str]:
    """The answers offered for ``q`` (its options; yes/no for an approval without any)."""
    return list(q.options or (APPROVAL_OPTIONS if q.kind == "approval" else []))


def parse_answer(q: Question, raw: Any) -> str | None:
    """The answer in a ``codetap/ask`` result, or ``None`` if it is no valid answer.

    ``raw``: the decoded JSON result (``{"answer": str}``; ``null`` = dismissed). A blank
    answer is none; an approval's answer must be one of its choices.
    """
    data = raw if isinstance(raw, dict) else getattr(raw, "__dict__", None)
    if not isinstance(data, dict):
        return None
    try:
        answer = AskResult.model_validate(data).answer
    except ValidationError:
        log.warning("ignoring invalid codetap/ask result for task %s: %r", q.task_id, raw)
        return None
    if not answer.strip():
        return None
    if q.kind == "approval" and answer not in choices(q):
        log.warning("ignoring approval answer %r of task %s: not one of %s",
                    answer, q.task_id, choices(q))
        return None
    return answer


def ask_params(q: Question) -> dict[str, Any]:
    """The ``codetap/ask`` params of ``q``."""
    kind: Literal["question", "approval"] = "approval" if q.kind == "approval" else "question"
    return dump(AskParams(id=str(q.task_id), kind=kind, question=q.question, options=q.options))


def message_params(q: Question) -> lsp.ShowMessageRequestParams:
    """The ``window/showMessageRequest`` params of ``q`` (choices as actions)."""
    options = choices(q)
    text = f"codetap task {q.task_id} asks: {q.question}"
    if not options:
        text += (f' (answer with the codetap.answer command: [{{"id": "{q.task_id}", '
                 f'"answer": "..."}}])')
    return lsp.ShowMessageRequestParams(
        type=lsp.MessageType.Info, message=text,
        actions=[lsp.MessageActionItem(title=o) for o in options] or None,
    )


async def prompt(server: LanguageServer, q: Question, use_ask: bool, msg_id: str) -> str | None:
    """Ask the client of ``server`` (request id ``msg_id``); the answer or ``None``.

    Raises what the request raises (JsonRpcException if the client answers with an error).
    """
    if use_ask:
        raw = await server.protocol.send_request_async(methods.ASK, ask_params(q), msg_id=msg_id)
        return parse_answer(q, raw)
    item = await server.protocol.send_request_async(
        lsp.WINDOW_SHOW_MESSAGE_REQUEST, message_params(q), msg_id=msg_id)
    title = getattr(item, "title", None)
    if title is None and isinstance(item, dict):
        title = item.get("title")
    return title if isinstance(title, str) and title else None
