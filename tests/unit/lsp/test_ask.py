"""Answers to codetap/ask and the showMessageRequest fallback (lsp/ask.py)."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types as lsp

from codetap.lsp.ask import ask_params, choices, message_params, parse_answer
from codetap.runtime import Question


def question(kind: str = "question", options: list[str] | None = None) -> Question:
    return Question(7, "7-1", kind, "Go on?", options)


@pytest.mark.parametrize("raw", [None, {}, [], "yes", {"answer": 5}, {"answer": None},
                                 {"answer": ""}, {"answer": "   "}, {"other": "yes"}])
async def test_dismissed_or_invalid_results_are_no_answer(raw: Any) -> None:
    assert parse_answer(question(), raw) is None


async def test_valid_answers() -> None:
    assert parse_answer(question(), {"answer": "free text"}) == "free text"
    assert parse_answer(question(options=["a", "b"]), {"answer": "c"}) == "c"
    approval = question("approval", ["run it", "skip"])
    assert parse_answer(approval, {"answer": "skip"}) == "skip"
    assert parse_answer(approval, {"answer": "maybe"}) is None
    assert parse_answer(question("approval"), {"answer": "yes"}) == "yes"


async def test_wire_params() -> None:
    assert ask_params(question(options=["a"])) == {
        "id": "7", "kind": "question", "question": "Go on?", "options": ["a"]}
    assert ask_params(question("policy")) == {"id": "7", "kind": "question", "question": "Go on?"}
    assert choices(question("approval")) == ["yes", "no"]
    m = message_params(question("approval"))
    assert m.type == lsp.MessageType.Info and m.message == "codetap task 7 asks: Go on?"
    assert [a.title for a in m.actions or []] == ["yes", "no"]
    free = message_params(question())
    assert free.actions is None and '"id": "7"' in free.message
