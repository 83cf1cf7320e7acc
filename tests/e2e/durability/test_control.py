"""pause, resume, cancel and rollback of tasks in a real daemon, from the CLI and the protocol.

Cancel must kill the whole process group of a running bash call within 2 s; rollback must
put the worktree at the step's commit and the agent at the step's state, keep the journal
(history as a branch) and let the task finish again with the same change.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
from tests.e2e.durability.journal import check_consistent, read_journal, task_row

from codetap.daemon.paths import DaemonPaths


@dataclass
class Env:
    base: Path
    repo: Path
    db: Path
    paths: DaemonPaths
    config_dir: Path

    def session(self, turns: list[dict[str, object]], delay_ms: int = 0,
                extra: str = "") -> None:
        session = workload.write_session(self.base / "session.jsonl", turns, delay_ms)
        workload.write_config(self.config_dir, session, extra)

    def start(self, turns: list[dict[str, object]] | None = None) -> int:
        info = request("codetap/task/start", {"intent": "work", "root_uri": self.repo.as_uri()})
        return int(info["id"])


@pytest.fixture
def env(tmp_path: Path, xdg: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv(workload.MARKS_ENV, str(tmp_path / "marks.log"))
    monkeypatch.delenv("CODETAP_FAULT_POINT", raising=False)
    e = Env(tmp_path, workload.make_workload_repo(tmp_path / "repo"),
            xdg / "data" / "codetap" / "codetap.db", DaemonPaths.from_env(),
            xdg / "config" / "codetap")
    yield e
    stop_daemon(e.paths)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``codetap`` CLI (it routes control commands to the daemon)."""
    return subprocess.run([sys.executable, "-m", "codetap", *args], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ), check=False)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _group(pgid: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().split(")")[-1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(d.name))
    return pids


def test_cancel_kills_bash_process_group_within_2s(env: Env) -> None:
    pidfile = env.base / "bash.pid"
    env.session([{"tool_calls": [{"name": "bash", "arguments": {
        "command": f"sleep 60 & echo $$ > {pidfile}; sleep 60", "timeout_s": 300}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "never"}}]}])
    start_daemon(env.paths)
    tid = env.start()
    wait_file(pidfile)
    time.sleep(0.2)
    pgid = int(pidfile.read_text())
    assert len(_group(pgid)) >= 2, "bash and its sleeps should be running"
    t0 = time.monotonic()
    done = cli("cancel", str(tid))
    assert done.returncode == 0, done.stderr
    while _group(pgid):
        assert time.monotonic() - t0 < 2.0, f"process group {pgid} alive: {_group(pgid)}"
        time.sleep(0.02)
    assert task_row(env.db, tid)["state"] == "cancelled"
    assert "cancelled" in done.stdout


def test_pause_then_resume_via_protocol(env: Env) -> None:
    env.session(workload.TURNS, delay_ms=250)
    start_daemon(env.paths)
    tid = env.start()
    deadline = time.monotonic() + 20
    while task_row(env.db, tid)["steps"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    info = request("codetap/task/pause", {"id": str(tid)})
    assert info["state"] == "paused"
    n = len(read_journal(env.db, tid))
    time.sleep(0.8)
    assert len(read_journal(env.db, tid)) == n, "a paused task kept running"
    with pytest.raises(Exception, match="cannot pause"):
        request("codetap/task/pause", {"id": str(tid)})
    assert request("codetap/task/resume", {"id": str(tid)})["state"] in ("queued", "running")
    row = wait_state(env.db, tid, {"ready", "failed"}, alive=env.paths)
    assert row["state"] == "ready", row["error"]
    text = (Path(row["worktree"]) / "app/a.py").read_text()
    assert all(text.count(x) == 1 for x in ("A1 = 1", "A2 = 2", "A3 = 3"))
    check_consistent(env.db, tid)


def _files(worktree: Path) -> dict[str, str]:
    return {p: (worktree / p).read_text() if (worktree / p).exists() else ""
            for p in ("app/a.py", "app/b.py", "notes.md", "new.txt")}


def test_rollback_from_cli_then_finish_again(env: Env) -> None:
    env.session(workload.TURNS)
    start_daemon(env.paths)
    tid = env.start()
    first = wait_state(env.db, tid, {"ready", "failed"})
    assert first["state"] == "ready", first["error"]
    worktree = Path(first["worktree"])
    final = _files(worktree)
    before = read_journal(env.db, tid)
    done = cli("rollback", str(tid), "--to", "2")
    assert done.returncode == 0, done.stderr
    row = task_row(env.db, tid)
    assert (row["state"], row["steps"]) == ("paused", 2)
    files = _files(worktree)
    assert "A1 = 1" in files["app/a.py"] and "A2" not in files["app/a.py"]
    assert "B1" not in files["app/b.py"] and files["new.txt"] == ""
    after = read_journal(env.db, tid)
    assert after[: len(before)] == before, "rollback must not delete or rewrite history"
    assert after[len(before)].kind == "rollback"
    bad = cli("rollback", str(tid), "--to", "17")
    assert bad.returncode != 0 and "no checkpoint for step 17" in bad.stderr + bad.stdout
    assert cli("resume", str(tid)).returncode == 0
    again = wait_state(env.db, tid, {"ready", "failed"}, alive=env.paths)
    assert again["state"] == "ready", again["error"]
    assert _files(worktree) == final
    line = check_consistent(env.db, tid)
    assert sum(1 for e in line if e.kind == "model_turn") == len(workload.TURNS)
    # the four replayed turns were paid for again: usage counts all journaled turns
    assert again["input_tokens"] == first["input_tokens"] + 4 * workload.USAGE["input_tokens"]


def test_manual_resume_leaves_interrupted_tasks_until_asked(env: Env) -> None:
    env.session(workload.TURNS, delay_ms=200, extra='[daemon]\nresume_interrupted = "manual"\n')
    pid = start_daemon(env.paths)
    tid = env.start()
    while task_row(env.db, tid)["steps"] < 1:
        time.sleep(0.02)
    kill9(env.paths, pid)
    start_daemon(env.paths)
    time.sleep(0.5)
    assert task_row(env.db, tid)["state"] == "interrupted"
    assert request("codetap/task/resume", {"id": str(tid)})["state"] in ("queued", "running")
    row = wait_state(env.db, tid, {"ready", "failed"}, alive=env.paths)
    assert row["state"] == "ready", row["error"]
    check_consistent(env.db, tid)


def test_bash_group_orphaned_by_kill9_is_killed_at_restart(env: Env) -> None:
    pidfile = env.base / "bash.pid"
    env.session([{"tool_calls": [{"name": "bash", "arguments": {
        "command": f"sleep 60 & echo $$ > {pidfile}; sleep 60", "timeout_s": 300}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "resumed"}}]}])
    pid = start_daemon(env.paths)
    tid = env.start()
    wait_file(pidfile)
    time.sleep(0.2)
    pgid = int(pidfile.read_text())
    assert len(_group(pgid)) >= 2, "bash and its sleeps should be running"
    kill9(env.paths, pid)
    assert len(_group(pgid)) >= 2, "the crash left the bash group running (as it would)"
    start_daemon(env.paths)
    deadline = time.monotonic() + 10
    while _group(pgid):
        assert time.monotonic() < deadline, f"orphaned group {pgid} still alive: {_group(pgid)}"
        time.sleep(0.05)
    row = wait_state(env.db, tid, {"ready", "failed"}, alive=env.paths)
    assert row["state"] == "ready", row["error"]
    results = [e for e in read_journal(env.db, tid) if e.kind == "tool_result"]
    assert "interrupted by a daemon restart" in results[0].data["output"]
