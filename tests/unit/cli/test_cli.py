"""The `codetap` command line, run as a real process against isolated XDG directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_repo
from tests.unit.agent.test_task_run import CALC, TEST, fix_session, session


def codetap(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codetap", *args], capture_output=True,
                          text=True, cwd=cwd, env=dict(os.environ), timeout=120,
                          check=False)


@pytest.fixture(autouse=True)
def daemon_stopped(xdg: Path) -> Iterator[None]:
    """`codetap run` starts the daemon (tasks run there): stop it after each test."""
    yield
    codetap("daemon", "stop")


def configure(xdg: Path, session_path: Path) -> None:
    cfg = xdg / "config" / "codetap"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text(
        f'default_model = "rec"\n[models.rec]\nprovider = "replay"\npath = "{session_path}"\n'
        "input_price_per_mtok = 1.0\n")


def test_run_without_model_says_how_to_configure(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    r = codetap("run", "fix it", "--repo", str(repo))
    assert r.returncode == 2
    assert "No model is configured" in r.stderr
    assert "[models." in r.stderr and "config.toml" in r.stderr


def test_run_show_tasks_diff_log(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TEST})
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    r = codetap("run", "make add add", "--repo", str(repo), "--json")
    assert r.returncode == 0, r.stderr
    task = json.loads(r.stdout)
    assert task["state"] == "ready" and task["steps"] == 5 and task["id"] == "1"
    assert task["branch"] == "codetap/task-1" and task["usage"]["input_tokens"] > 0

    shown = json.loads(codetap("show", "1", "--json").stdout)
    assert shown["state"] == "ready" and shown["duration_s"] >= 0
    assert shown["usage"]["cost_usd"] > 0
    listed = json.loads(codetap("tasks", "--json").stdout)["tasks"]
    assert [t["id"] for t in listed] == ["1"]
    assert "+    return a + b" in codetap("diff", "1").stdout
    lines = [json.loads(line) for line in codetap("log", "1").stdout.splitlines()]
    assert lines[0]["kind"] in ("state", "user")
    assert sum(1 for e in lines if e["kind"] == "model_turn") == 5
    text = codetap("show", "1").stdout
    assert "ready" in text and "tokens" in text


def test_failed_task_exit_code_and_unknown_ids(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    configure(xdg, session(tmp_path / "s.jsonl", [{"text": "hmm"}]))
    r = codetap("run", "x", "--repo", str(repo))
    assert r.returncode == 1
    assert "failed" in r.stdout and "replay session exhausted" in r.stdout
    r = codetap("show", "42")
    assert r.returncode == 2 and "no task with id 42" in r.stderr
    r = codetap("show", "abc")
    assert r.returncode == 2 and "not a task id" in r.stderr


def test_not_a_git_repository(xdg: Path, tmp_path: Path) -> None:
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    plain = tmp_path / "plain"
    plain.mkdir()
    r = codetap("run", "x", "--repo", str(plain))
    assert r.returncode == 2 and "is not a git repository" in r.stderr


def test_demo_runs_offline(xdg: Path) -> None:
    r = codetap("demo")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "demo passed" in r.stdout
    assert "+            cut = cut[: cut.rindex(sep)]" in r.stdout
    assert "Ran 6 tests" in r.stdout and "OK" in r.stdout


def test_run_no_wait_hands_the_task_to_the_daemon(xdg: Path, tmp_path: Path) -> None:
    import time
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TEST})
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    try:
        r = codetap("run", "make add add", "--repo", str(repo), "--detach", "--json")
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["state"] in ("queued", "running")
        for _ in range(100):
            shown = json.loads(codetap("show", info["id"], "--json").stdout)
            if shown["state"] == "ready":
                break
            time.sleep(0.1)
        assert shown["state"] == "ready"
        assert "+    return a + b" in codetap("diff", info["id"]).stdout
    finally:
        codetap("daemon", "stop")


def test_gc_prunes_old_tasks_worktree_branch_and_journal(xdg: Path, tmp_path: Path) -> None:
    from tests.conftest import git
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TEST})
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    assert codetap("run", "make add add", "--repo", str(repo)).returncode == 0
    codetap("daemon", "stop")  # gc runs its own runtime, refused while a daemon owns tasks
    task = json.loads(codetap("show", "1", "--json").stdout)
    worktree = Path(task["worktree"])
    assert worktree.is_dir() and "codetap/task-1" in git(repo, "branch", "--list")
    dry = codetap("gc", "--days", "0", "--dry-run", "--yes")  # --yes: never reviewed
    assert "would prune 1 task(s): 1" in dry.stdout and worktree.is_dir()
    kept = codetap("gc", "--days", "30")
    assert "pruned 0 task(s)" in kept.stdout and worktree.is_dir()
    done = codetap("gc", "--days", "0", "--yes")
    assert "pruned 1 task(s): 1" in done.stdout
    assert not worktree.exists()
    assert "codetap/task-1" not in git(repo, "branch", "--list")
    assert json.loads(codetap("tasks", "--json").stdout)["tasks"] == []
    assert codetap("log", "1").returncode == 2
