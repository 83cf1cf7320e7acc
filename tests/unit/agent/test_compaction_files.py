"""The "files changed so far" re-injected after a compaction: what the worktree differs in
from the task's base, so files changed by ``bash`` are listed too, and a rollback's reset
worktree drops the files of the rolled-back steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codetap.runtime import Runtime
from codetap.types import TaskState
from tests.unit.agent.test_compaction import repo_for, runtime_config
from tests.unit.models.context_server import WRITE_EVERY, ContextModel
from tests.unit.models.scripted_server import Reply, ScriptedServer

TURNS = 40


class BashToo(ContextModel):
    """The long task, where each turn that writes ``out/fN.txt`` also runs
    ``bash`` creating ``sh/bN.txt``."""

    def _reply(self, tokens: int, text: str = "",
               calls: list[dict[str, Any]] | None = None) -> Reply:
        calls = list(calls or [])
        for call in list(calls):
            if call["name"] == "write":
                n = call["id"].split("_")[1]
                calls.append({"id": f"call_{n}_2", "name": "bash", "arguments": {
                    "command": f"mkdir -p sh && echo {n} > sh/b{n}.txt"}})
        return super()._reply(tokens, text, calls)


def listed(note: str) -> list[str]:
    """The paths under "## Files changed so far" in a compaction note."""
    section = note.split("## Files changed so far\n", 1)[1].split("\n\n", 1)[0]
    return [] if section == "(none yet)" else [ln.removeprefix("- ") for ln in
                                               section.splitlines()]


def files_by(turn: int) -> list[str]:
    """What the note lists once turns ``0..turn`` ran: writes in order, then bash's."""
    done = range(0, turn + 1, WRITE_EVERY)
    return [f"out/f{n}.txt" for n in done] + sorted(f"sh/b{n}.txt" for n in done)


async def test_files_changed_by_bash_are_listed_and_a_rollback_drops_files(
        xdg: Path, tmp_path: Path) -> None:
    model = BashToo(8192, TURNS)
    async with ScriptedServer([], handler=model) as server:
        rt = await Runtime.open(runtime_config(server.url))
        try:
            task = await rt.wait((await rt.start_task("read it all", repo_for(
                tmp_path / "repo", TURNS))).id)
            assert task.state is TaskState.READY, task.error
            bash = [e.data for e in await rt.store.events(task.id)
                    if e.kind == "tool_result" and e.data["name"] == "bash"]
            assert bash and not any(b["is_error"] for b in bash), bash
            # Back to the end of step 5 (turn 4: only f0 and b0 written), then go on.
            await rt.rollback(task.id, 5)
            await rt.message(task.id, "go on")
            task = await rt.wait(task.id)
            assert task.state is TaskState.READY, task.error
            events = await rt.store.events(task.id)
            diff = await rt.diff(task.id)
        finally:
            await rt.close()
    assert "+++ b/sh/b30.txt" in diff and "+++ b/out/f30.txt" in diff
    rolled = next(e.seq for e in events if e.kind == "rollback")
    turn = -1
    checked = {"before": 0, "after": 0}
    for e in events:
        if e.kind == "model_turn":
            turn = max((int(c["id"].split("_")[1]) for c in e.data["message"].get(
                "tool_calls") or []), default=turn)
        elif e.kind == "rollback":
            turn = e.data["to_step"] - 1  # step N ran turn N-1
        elif e.kind == "compaction" and e.data.get("note"):
            # The note is written before this step's request: turns up to `turn` ran.
            assert listed(e.data["note"]) == files_by(turn), (e.seq, turn)
            checked["after" if e.seq > rolled else "before"] += 1
    assert checked["before"] >= 2 and checked["after"] >= 2, checked
    first_after = next(e.data["note"] for e in events if e.seq > rolled
                       and e.kind == "compaction" and e.data.get("note"))
    assert "sh/b15.txt" not in first_after  # rolled back, not written again yet
