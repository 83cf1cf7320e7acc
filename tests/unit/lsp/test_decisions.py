"""Suggestion decisions persist through the Runtime (real SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp

from codetap.config import Config
from codetap.delivery.suggestions import Suggestion
from codetap.errors import TaskNotFound
from codetap.lsp.decisions import ACCEPTED, REJECTED, Decisions
from codetap.lsp.hub import Hub
from codetap.runtime import Runtime


def hunk(task_id: int, hunk_id: str) -> Suggestion:
    r = lsp.Range(start=lsp.Position(1, 0), end=lsp.Position(2, 0))
    return Suggestion(hunk_id, task_id, "file:///r/a.py", "a.py", None, r, "old\n", "new\n")


async def test_decisions_survive_a_new_runtime(xdg: Path, tmp_path: Path) -> None:
    rt = await Runtime.open(Config.load())
    try:
        task = await rt.store.create_task(intent="i", root=tmp_path, scope=None, model="m",
                                          workflow="default")
        hub = Hub(rt)
        decisions = hub.decisions
        assert await decisions.rejected(task.id) == set()
        assert not await decisions.any_accepted(task.id)
        await decisions.decide(task.id, [hunk(task.id, "h1"), hunk(task.id, "h2")], REJECTED)
        assert not await decisions.any_accepted(task.id)
        await decisions.decide(task.id, [hunk(task.id, "h2")], ACCEPTED)  # the later one wins
        assert await decisions.rejected(task.id) == {"h1"}
        assert await decisions.any_accepted(task.id)
        with pytest.raises(TaskNotFound):
            await decisions.decide(999, [hunk(999, "x")], REJECTED)
        hub.close()
    finally:
        await rt.close()
    rt = await Runtime.open(Config.load())
    try:
        assert await rt.suggestion_statuses(task.id) == {"h1": REJECTED, "h2": ACCEPTED}
        fresh = Decisions(rt)
        assert await fresh.rejected(task.id) == {"h1"}
        assert await fresh.any_accepted(task.id)
        rows = await rt.store.suggestions(task.id)
        assert rows[0] == ("h1", "a.py", REJECTED, {"uri": "file:///r/a.py", "new_text": "new\n"})
    finally:
        await rt.close()
