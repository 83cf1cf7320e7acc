"""Fault injection: kill -9 the real daemon mid-task, restart it, and check exactly-once.

Each trial runs the workload of :mod:`tests.e2e.durability.workload` (real tools, real
git, real daemon process, replay model) and kills the daemon either at a named fault point
(``CODETAP_FAULT_POINT``, see :mod:`codetap.store.faults`) or at a seeded random time
(in model calls thanks to ``delay_ms``, in bash calls thanks to ``sleep``). After a restart
(``resume_interrupted = "auto"``) the task must end ``ready`` with exactly the diff of an
uninterrupted run, every appended line present once, each bash command run at most once
(and exactly once when its result was journaled), and a consistent journal
(:func:`check_consistent`).
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.e2e.durability import workload
from tests.e2e.durability.daemon import (
    kill9,
    request,
    start_daemon,
    stop_daemon,
    wait_file,
    wait_state,
)
from tests.e2e.durability.journal import check_consistent, task_row

from codetap.daemon.paths import DaemonPaths

SEED = 20261120
RANDOM_TRIALS = 8
FAULT_POINTS = [
    "after_intent:edit#1", "after_tool:edit#1", "after_result:edit#1",
    "after_intent:edit#3", "after_tool:edit#4", "after_tool:edit#5", "after_result:edit#4",
    "after_intent:write#1", "after_tool:write#1",
    "after_intent:bash#1", "after_tool:bash#1", "after_tool:bash#2", "after_result:bash#2",
    "before_commit#1", "before_commit#3", "after_commit#2", "after_commit#4",
    "after_checkpoint#3", "after_tool:todo#1", "after_tool:finish#1",
    "after_checkpoint#6",
]


@dataclass
class Suite:
    repo: Path
    db: Path
    paths: DaemonPaths
    marks: Path
    baseline_diff: str
    baseline_usage: tuple[int, int]
    baseline_steps: int


def _diff(repo: Path, row: dict[str, object]) -> str:
    return subprocess.run(["git", "diff", "--no-renames", str(row["base_commit"]),
                           str(row["tip_commit"])], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


def _start_task(suite_repo: Path) -> int:
    info = request("codetap/task/start", {"intent": "append the lines",
                                          "root_uri": suite_repo.as_uri()})
    return int(info["id"])


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    base = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("DATA", "CONFIG", "RUNTIME", "CACHE"):
            d = base / "xdg" / name.lower()
            d.mkdir(parents=True, mode=0o700)
            mp.setenv("XDG_RUNTIME_DIR" if name == "RUNTIME" else f"XDG_{name}_HOME", str(d))
        marks = base / "marks.log"
        mp.setenv(workload.MARKS_ENV, str(marks))
        mp.delenv("CODETAP_FAULT_POINT", raising=False)
        session = workload.write_session(base / "session.jsonl")
        workload.write_config(base / "xdg" / "config" / "codetap", session)
        repo = workload.make_workload_repo(base / "repo")
        paths = DaemonPaths.from_env()
        db = base / "xdg" / "data" / "codetap" / "codetap.db"
        start_daemon(paths)
        try:
            tid = _start_task(repo)
            row = wait_state(db, tid, {"ready", "failed"})
            assert row["state"] == "ready", row["error"]
            line = check_consistent(db, tid)
            steps = sum(1 for e in line if e.kind == "model_turn")
            stop_daemon(paths)
            yield Suite(repo, db, paths, marks, _diff(repo, row),
                        (row["input_tokens"], row["output_tokens"]), steps)
        finally:
            stop_daemon(paths)


def _marks(suite: Suite) -> list[str]:
    try:
        return suite.marks.read_text().split()
    except FileNotFoundError:
        return []


def _check_outcome(suite: Suite, tid: int, marks_before: list[str]) -> None:
    row = wait_state(suite.db, tid, {"ready", "failed", "cancelled"})
    assert row["state"] == "ready", row["error"]
    assert _diff(suite.repo, row) == suite.baseline_diff
    worktree = Path(str(row["worktree"]))
    text = "".join((worktree / p).read_text() for p in ("app/a.py", "app/b.py", "notes.md"))
    for line in workload.APPENDED:
        assert text.count(line) == 1, f"{line!r} applied {text.count(line)} times"
    assert (row["input_tokens"], row["output_tokens"]) == suite.baseline_usage
    line = check_consistent(suite.db, tid)
    assert sum(1 for e in line if e.kind == "model_turn") == suite.baseline_steps
    runs = _marks(suite)[len(marks_before):]
    results = {e.data["call_id"]: e.data for e in line if e.kind == "tool_result"}
    for call_id, intent in ((e.data["call_id"], e.data) for e in line if e.kind == "tool_intent"):
        if intent["name"] != "bash":
            continue
        name = intent["arguments"]["command"].split()[1]
        assert runs.count(name) <= 1, f"{name} ran {runs.count(name)} times"
        if "interrupted by a daemon restart" not in results[call_id]["output"]:
            assert runs.count(name) == 1


def test_uninterrupted_baseline(suite: Suite) -> None:
    assert suite.baseline_steps == len(workload.TURNS)
    for line in workload.APPENDED:
        assert line.strip() in suite.baseline_diff
    assert "+created" in suite.baseline_diff
    assert _marks(suite).count("bash1") == 1


@pytest.mark.parametrize("fault", FAULT_POINTS)
def test_kill_at_fault_point_then_resume(suite: Suite, fault: str,
                                         tmp_path: Path) -> None:
    """The runtime worker SIGKILLs itself at ``fault``. For even-numbered points the test
    then kill -9s the daemon and starts a new one; for odd ones the daemon restarts its
    worker. Either way the task resumes and ends as if never interrupted."""
    marks = _marks(suite)
    fired = tmp_path / "fired"
    pid = start_daemon(suite.paths, fault, once=fired)
    try:
        tid = _start_task(suite.repo)
        wait_file(fired)
        if FAULT_POINTS.index(fault) % 2 == 0:
            kill9(suite.paths, pid)
            assert task_row(suite.db, tid)["state"] in ("running", "queued")
            start_daemon(suite.paths)
        _check_outcome(suite, tid, marks)
    finally:
        stop_daemon(suite.paths)


def test_random_time_kills(suite: Suite) -> None:
    """Seeded random kill -9 times across the whole run, twice in some trials."""
    rng = random.Random(SEED)
    pid = start_daemon(suite.paths)
    try:
        for trial in range(RANDOM_TRIALS):
            marks = _marks(suite)
            tid = _start_task(suite.repo)
            for _ in range(1 + trial % 2):
                time.sleep(rng.uniform(0.02, 0.6))
                if task_row(suite.db, tid)["state"] == "ready":
                    break
                kill9(suite.paths, pid)
                pid = start_daemon(suite.paths)
            _check_outcome(suite, tid, marks)
    finally:
        stop_daemon(suite.paths)
