"""Reading a task's journal straight from the database and checking it is consistent.

The checks follow ARCHITECTURE.md "Durability": ``seq`` runs 1..N without gaps; on the
final line of history (rolled-back entries cut off at each ``rollback``) every tool intent
has exactly one result and there is one model turn per step; the task's usage equals the
sum of the usage of every journaled model turn (rolled-back turns included: they were paid
for), so a turn is never counted twice.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codetap.store.store import decode_data


@dataclass(frozen=True)
class Entry:
    seq: int
    step: int
    kind: str
    data: dict[str, Any]


def read_journal(db: Path, task_id: int) -> list[Entry]:
    """All journal entries of ``task_id`` in ``seq`` order (read-only connection)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT seq, step, kind, data FROM events WHERE task_id = ? "
                            "ORDER BY seq", (task_id,)).fetchall()
    return [Entry(r[0], r[1], r[2], decode_data(r[3])) for r in rows]


def task_row(db: Path, task_id: int) -> dict[str, Any]:
    """The ``tasks`` row as a dict (read-only connection)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    assert row is not None, f"no task {task_id}"
    return dict(row)


def checkpoint_steps(db: Path, task_id: int) -> list[tuple[int, int, str | None]]:
    """``(seq, step, commit_id)`` of every checkpoint, oldest first."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT seq, step, commit_id FROM checkpoints WHERE task_id = ? "
                            "ORDER BY seq", (task_id,)).fetchall()


def final_line(entries: list[Entry]) -> list[Entry]:
    """The entries still in effect: a ``rollback`` {to_seq} drops what came after to_seq."""
    line: list[Entry] = []
    for e in entries:
        if e.kind == "rollback":
            line = [x for x in line if x.seq <= e.data["to_seq"]]
        line.append(e)
    return line


def check_consistent(db: Path, task_id: int) -> list[Entry]:
    """Assert the journal invariants above; return the final line of history."""
    entries = read_journal(db, task_id)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1)), "seq not contiguous"
    line = final_line(entries)
    intents = [e.data["call_id"] for e in line if e.kind == "tool_intent"]
    results = Counter(e.data["call_id"] for e in line if e.kind == "tool_result")
    for call_id in set(intents):
        assert results[call_id] == 1, f"call {call_id} has {results[call_id]} results"
    assert set(results) <= set(intents), "a result without an intent"
    steps = [e.step for e in line if e.kind == "model_turn"]
    assert steps == list(range(1, len(steps) + 1)), f"model turns per step: {steps}"
    row = task_row(db, task_id)
    turns = [e.data["usage"] for e in entries if e.kind == "model_turn"]
    assert row["input_tokens"] == sum(u["input_tokens"] for u in turns)
    assert row["output_tokens"] == sum(u["output_tokens"] for u in turns)
    return line
