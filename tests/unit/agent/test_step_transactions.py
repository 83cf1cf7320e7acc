"""How many SQLite transactions the agent loop writes per step (real Runtime, SQLite, git,
replay model). Transactions are counted from the writer connection's statement trace:
a BEGIN..COMMIT block, or one write statement outside such a block (autocommit)."""

from __future__ import annotations

from pathlib import Path

from codetap.models.base import ModelConfig
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import open_runtime, session

READ = {"tool_calls": [{"name": "read", "arguments": {"path": "a.py"}},
                       {"name": "grep", "arguments": {"pattern": "x"}}]}
EDIT = {"tool_calls": [{"name": "edit", "arguments": {
    "path": "a.py", "old_string": "x = 1", "new_string": "x = 2"}}]}
FINISH = {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}


class Transactions:
    """Counts the transactions a sqlite3 connection runs (its trace callback)."""

    def __init__(self) -> None:
        self.count = 0
        self.open = False

    def __call__(self, sql: str) -> None:
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if verb == "BEGIN":
            self.open = True
        elif verb in ("COMMIT", "ROLLBACK"):
            self.open = False
            self.count += verb == "COMMIT"
        elif verb in ("INSERT", "UPDATE", "DELETE", "REPLACE") and not self.open:
            self.count += 1


async def transactions_of_task(xdg: Path, tmp_path: Path, turns: list[dict[str, object]]) -> int:
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    model = ModelConfig("replay", "replay", path=str(session(tmp_path / "s.jsonl", turns)))
    rt = await open_runtime(xdg, model)
    counter = Transactions()
    try:
        rt.store._w.set_trace_callback(counter)
        task = await rt.wait((await rt.start_task("look", repo)).id)
        assert task.state is TaskState.READY, task.error
    finally:
        rt.store._w.set_trace_callback(None)
        await rt.close()
    return counter.count


async def test_a_read_only_step_is_one_transaction(xdg: Path, tmp_path: Path) -> None:
    """Three more read-only steps cost exactly three more transactions (the model turn,
    the intents, the results, the checkpoint and the task row of a step together)."""
    few = await transactions_of_task(xdg, tmp_path / "few", [READ, FINISH])
    many = await transactions_of_task(xdg, tmp_path / "many", [READ] * 4 + [FINISH])
    assert many - few == 3


async def test_an_edit_step_writes_its_intent_ahead(xdg: Path, tmp_path: Path) -> None:
    """A step with a call that changes files writes its intent before the call runs and
    its result as soon as it returns (crash recovery needs both), then the checkpoint:
    three transactions."""
    few = await transactions_of_task(xdg, tmp_path / "few", [READ, FINISH])
    edit = await transactions_of_task(xdg, tmp_path / "edit", [READ, EDIT, FINISH])
    assert edit - few == 3
