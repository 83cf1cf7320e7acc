"""The CLI as a daemon client: real `codetap` processes against a real daemon.

Signals and a closed pipe leave the task running in the daemon; questions are answered
with `codetap answer`; the exit-code table; user text is never markup; the race of
issue 16 (a daemon started while `codetap run` works) ends with one owner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import Env, session_lines, write_config

from codetap.daemon.lock import read_pid

CODETAP = [sys.executable, "-m", "codetap"]
QUESTION = "Should add return a + b?"


def codetap(env: Env, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CODETAP, *args], capture_output=True, text=True, env=env.env,
                          cwd=env.repo, input=stdin if stdin is not None else "",
                          timeout=45, check=False)


def spawn(env: Env, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*CODETAP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, env=env.env, cwd=env.repo)


def state(env: Env, task_id: str) -> str:
    return str(json.loads(codetap(env, "show", task_id, "--json").stdout)["state"])


def wait_ready(env: Env, task_id: str) -> str:
    """Follow the task with the CLI until it ends; its final state."""
    r = codetap(env, "follow", task_id)
    assert "Traceback" not in r.stderr, r.stderr
    return state(env, task_id)


@pytest.fixture
def cenv(env: Env, tmp_path: Path, xdg: Path) -> Env:
    ask = [{"text": "Looking at [bold]calc[/bold]", "tool_calls": [
        {"name": "ask", "arguments": {"question": QUESTION, "options": ["yes", "no"]}}]},
        *session_lines()]
    write_config(xdg, tmp_path, {"fast": session_lines(0), "slow": session_lines(1500),
                                 "asks": ask, "broken": [{"text": "hmm"}]})
    return env


def test_run_follows_to_ready_and_markup_stays_literal(cenv: Env) -> None:
    r = codetap(cenv, "run", "fix [bold]add[/bold]")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "task 1: ready" in r.stdout and "Traceback" not in r.stderr
    info = json.loads(codetap(cenv, "show", "1", "--json").stdout)
    assert info["intent"] == "fix [bold]add[/bold]"


def test_intent_from_stdin_and_detach(cenv: Env) -> None:
    r = codetap(cenv, "run", "--detach", stdin="fix it from stdin\n")
    assert r.returncode == 0, r.stderr
    task_id = r.stdout.strip()
    assert task_id.isdigit()
    assert json.loads(codetap(cenv, "show", task_id, "--json").stdout)["intent"] == \
        "fix it from stdin"
    r = codetap(cenv, "run", "-", "--detach", stdin="second\n")
    assert r.returncode == 0 and r.stdout.strip().isdigit()
    assert wait_ready(cenv, task_id) == "ready"


def test_question_printed_and_answered_with_codetap_answer(cenv: Env) -> None:
    proc = spawn(cenv, "run", "--model", "asks", "fix add")
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "answer with: codetap answer 1 yes" in line:
            break
    assert any("[bold]calc[/bold]" in x for x in lines), lines
    assert any(QUESTION in x for x in lines), lines
    r = codetap(cenv, "answer", "1", "yes")
    assert r.returncode == 0, r.stderr
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest + err
    assert "task 1: ready" in rest and "Traceback" not in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_leaves_the_task_running_in_the_daemon(cenv: Env, sig: int) -> None:
    proc = spawn(cenv, "run", "--model", "slow", "fix add")
    assert proc.stdout is not None
    for line in proc.stdout:
        if "read" in line:  # the task is working
            break
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 4, out + err
    assert "keeps running in the daemon" in err and "codetap follow 1" in err
    assert "codetap cancel 1" in err and "Traceback" not in err
    assert wait_ready(cenv, "1") == "ready"


def test_stop_on_interrupt_pauses(cenv: Env) -> None:
    proc = spawn(cenv, "run", "--model", "slow", "--stop-on-interrupt", "fix add")
    assert proc.stdout is not None
    for line in proc.stdout:
        if "read" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 4 and "codetap resume 1" in err, out + err
    assert state(cenv, "1") == "paused"


def test_closed_pipe_leaves_the_task_running(cenv: Env) -> None:
    r = subprocess.run(f"{sys.executable} -m codetap run --model slow 'fix add' | head -1",
                       shell=True, capture_output=True, text=True, env=cenv.env, cwd=cenv.repo,
                       timeout=60, check=False)
    assert r.stdout.startswith("task 1 on branch"), r.stdout
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
    assert wait_ready(cenv, "1") == "ready"


def test_exit_code_table(cenv: Env, tmp_path: Path) -> None:
    assert codetap(cenv, "run", "fix add").returncode == 0
    failed = codetap(cenv, "run", "--model", "broken", "x")
    assert failed.returncode == 1 and "failed" in failed.stdout
    usage = codetap(cenv, "cancel", "42")
    assert usage.returncode == 2 and usage.stderr.startswith("error: no task with id 42")
    illegal = codetap(cenv, "pause", "1")
    assert illegal.returncode == 2 and illegal.stderr.startswith("error: cannot pause")
    assert codetap(cenv, "run").returncode == 2  # no intent
    started = codetap(cenv, "run", "--model", "slow", "--detach", "x").stdout.strip()
    assert codetap(cenv, "cancel", started).returncode == 0
    assert codetap(cenv, "follow", started).returncode == 3
    paused = codetap(cenv, "run", "--model", "slow", "--detach", "x").stdout.strip()
    assert codetap(cenv, "pause", paused).returncode == 0
    assert codetap(cenv, "follow", paused).returncode == 4
    assert codetap(cenv, "discard", "1").returncode == 0
    assert codetap(cenv, "follow", "1").returncode == 3
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    env = {**cenv.env, "XDG_RUNTIME_DIR": str(blocked)}
    r = subprocess.run([*CODETAP, "cancel", "1"], capture_output=True, text=True, env=env,
                       timeout=30, check=False)
    assert r.returncode == 5 and r.stderr.startswith("error:"), r.stderr
    log = cenv.paths.log.read_text()
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.parametrize("how", ["daemon start", "lsp"])
def test_daemon_started_while_run_works_one_owner(cenv: Env, how: str) -> None:
    """Issue 16's race: the daemon (re)started while `codetap run` works. `run` is a
    client of the daemon it started itself; a second start finds it and leaves it be."""
    proc = spawn(cenv, "run", "--model", "slow", "fix add")
    assert proc.stdout is not None
    for line in proc.stdout:
        if "read" in line:
            break
    pid = read_pid(cenv.paths)
    if how == "lsp":
        lsp = subprocess.Popen([*CODETAP, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=cenv.env)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": cenv.root_uri, "capabilities": {}}}).encode()
        assert lsp.stdin is not None and lsp.stdout is not None
        lsp.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        lsp.stdin.flush()
        assert lsp.stdout.readline().startswith(b"Content-Length")
    else:
        assert codetap(cenv, "daemon", "start").returncode == 0
    out, err = proc.communicate(timeout=60)
    if how == "lsp":
        lsp.kill()
        lsp.wait()
    assert proc.returncode == 0, out + err
    assert read_pid(cenv.paths) == pid
    assert state(cenv, "1") == "ready"
    log: Any = cenv.paths.log.read_text()
    assert "IntegrityError" not in log and "Traceback" not in log
    assert os.path.exists(cenv.paths.socket)


def test_continue_goes_on_with_the_same_conversation_and_branch(
        env: Env, tmp_path: Path, xdg: Path) -> None:
    first = session_lines()
    again = [{"tool_calls": [{"name": "edit", "arguments": {
        "path": "calc.py", "old_string": "return a * b", "new_string": "return b * a"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "mul commutes"}}]}]
    write_config(xdg, tmp_path, {"twice": first + again})
    r = codetap(env, "run", "fix add")
    assert r.returncode == 0, r.stdout + r.stderr
    before = json.loads(codetap(env, "show", "1", "--json").stdout)
    r = codetap(env, "continue", "1", "now swap mul's operands")
    assert r.returncode == 0, r.stdout + r.stderr
    after = json.loads(codetap(env, "show", "1", "--json").stdout)
    assert after["state"] == "ready" and after["summary"] == "mul commutes"
    assert after["branch"] == before["branch"] and after["steps"] > before["steps"]
    diff = codetap(env, "diff", "1").stdout
    assert "+    return a + b" in diff and "+    return b * a" in diff
    log = [json.loads(line) for line in codetap(env, "log", "1").stdout.splitlines()]
    assert any(e.get("kind") == "user" and e.get("data", {}).get("follow_up") for e in log)
