"""The verified finish: real tasks through Runtime with replay models, real git, real tests
run in the sandbox machinery."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from codetap.config import Config
from codetap.errors import ConfigError
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.store import Event, TaskRow
from codetap.tasks import verify
from codetap.tasks.verify import VerifySettings
from codetap.trust import TrustStore
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import CALC, TEST, fix_session, session

FINISH = {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}
READ = {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]}
FIX = {"tool_calls": [{"name": "edit", "arguments": {
    "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}}]}


async def run_task(tmp_path: Path, turns: Path | list[dict[str, object]],
                   files: dict[str, str] | None = None,
                   settings: VerifySettings | None = None) -> tuple[TaskRow, list[Event], Runtime]:
    repo = make_repo(tmp_path / "repo", files if files is not None
                     else {"calc.py": CALC, "test_calc.py": TEST})
    path = turns if isinstance(turns, Path) else session(tmp_path / "s.jsonl", turns)
    config = dataclasses.replace(Config.load(), default_model="replay",
                                 models={"replay": ModelConfig("replay", "replay",
                                                               path=str(path))})
    if settings is not None:
        config = dataclasses.replace(config, verify=settings)
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("make add add", repo)).id)
        events = await rt.store.events(task.id)
    finally:
        await rt.close()
    return task, events, rt


def kinds(events: list[Event], kind: str) -> list[dict[str, object]]:
    return [e.data for e in events if e.kind == kind]


async def test_detected_unittest_passes_after_a_fix(xdg: Path, tmp_path: Path) -> None:
    task, events, _ = await run_task(tmp_path, fix_session(tmp_path / "s.jsonl"))
    assert task.state is TaskState.READY, task.error
    [run] = kinds(events, "verification")
    assert run["passed"] is True and run["exit_code"] == 0 and run["round"] == 1
    assert run["command"] == "python3 -m unittest discover -q"
    assert run["detected_from"] == "test_calc.py"
    assert task.verification == {"command": run["command"], "passed": True,
                                 "summary": "passed: `python3 -m unittest discover -q` (round 1)"}
    [prompt] = kinds(events, "system_prompt")
    assert ("- Test command: `python3 -m unittest discover -q` (from test_calc.py); codetap "
            "runs it after you call finish") in str(prompt["content"])


async def test_fail_then_fixed(xdg: Path, tmp_path: Path) -> None:
    task, events, _ = await run_task(tmp_path, [READ, FINISH, FIX, FINISH])
    assert task.state is TaskState.READY, task.error
    runs = kinds(events, "verification")
    assert [(r["passed"], r["round"]) for r in runs] == [(False, 1), (True, 2)]
    assert "AssertionError" in str(runs[0]["output"]) and runs[0]["exit_code"] == 1
    [feedback] = [u for u in kinds(events, "user") if u.get("verify_feedback")]
    assert "python3 -m unittest discover -q" in str(feedback["content"])
    assert "AssertionError: -1 != 5" in str(feedback["content"])
    # the feedback came between the two finishes, and the model acted on it
    order = [e.kind for e in events if e.kind in ("verification", "user", "model_turn")]
    assert order[-5:] == ["verification", "user", "model_turn", "model_turn", "verification"]
    assert task.verification is not None and task.verification["passed"] is True


async def test_fail_twice_ends_ready_but_not_verified(xdg: Path, tmp_path: Path) -> None:
    from codetap.store import Store
    from codetap.tasks.report import build

    task, events, _ = await run_task(tmp_path, [READ, FINISH, FINISH])
    assert task.state is TaskState.READY, task.error
    runs = kinds(events, "verification")
    assert [(r["passed"], r["round"]) for r in runs] == [(False, 1), (False, 2)]
    assert task.verification is not None and task.verification["passed"] is False
    assert str(task.verification["summary"]).endswith("(exit code 1, round 2): "
                                                      "FAILED (failures=1)")
    store = await Store.open(Config.load().db_path)
    try:
        report = await build(store, task.id)
    finally:
        await store.close()
    data = report.to_json()
    assert data["verification"]["passed"] is False and data["verification"]["rounds"] == 2
    md = report.to_markdown()
    assert "verified: false" in md and "Failing output:" in md
    assert "AssertionError: -1 != 5" in md


async def test_max_rounds_one_gives_no_second_chance(xdg: Path, tmp_path: Path) -> None:
    task, events, _ = await run_task(tmp_path, [READ, FINISH],
                                     settings=VerifySettings(max_rounds=1))
    assert task.state is TaskState.READY, task.error
    assert len(kinds(events, "verification")) == 1
    assert not [u for u in kinds(events, "user") if u.get("verify_feedback")]


async def test_strategy_none_and_no_test_command(xdg: Path, tmp_path: Path) -> None:
    task, events, _ = await run_task(tmp_path, [READ, FINISH],
                                     settings=VerifySettings(strategy="none"))
    assert task.state is TaskState.READY and task.verification is None
    assert kinds(events, "verification") == []
    [prompt] = kinds(events, "system_prompt")
    assert "codetap does not run it for you" in str(prompt["content"])


def write_project(repo: Path, text: str) -> None:
    (repo / ".codetap").mkdir(exist_ok=True)
    (repo / ".codetap" / "config.toml").write_text(text)


async def _project_task(xdg: Path, tmp_path: Path, trust: bool) -> tuple[TaskRow, list[Event]]:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    write_project(repo, '[verify]\ncommand = "touch ran-by-project; exit 3"\nmax_rounds = 1\n')
    if trust:
        TrustStore(xdg / "config" / "codetap").trust(repo)
    turns = session(tmp_path / "s.jsonl", [READ, FINISH])
    config = dataclasses.replace(Config.load(), default_model="replay",
                                 models={"replay": ModelConfig("replay", "replay",
                                                               path=str(turns))})
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
        events = await rt.store.events(task.id)
    finally:
        await rt.close()
    return task, events


async def test_untrusted_project_verify_command_is_ignored(xdg: Path, tmp_path: Path) -> None:
    task, events = await _project_task(xdg, tmp_path, trust=False)
    assert task.state is TaskState.READY, task.error
    assert kinds(events, "verification") == []
    assert task.worktree is not None
    assert not (task.worktree / "ran-by-project").exists()
    [warning] = kinds(events, "warning")
    assert "verify.command" in str(warning["message"])
    assert "verify.max_rounds" not in str(warning["message"])  # lowering is allowed


async def test_trusted_project_verify_command_runs(xdg: Path, tmp_path: Path) -> None:
    task, events = await _project_task(xdg, tmp_path, trust=True)
    [run] = kinds(events, "verification")
    assert run["passed"] is False and run["exit_code"] == 3 and run["detected_from"] == "config"
    assert task.verification is not None and task.verification["passed"] is False


def test_user_config_verify_table(xdg: Path) -> None:
    path = xdg / "config" / "codetap" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[verify]\ncommand = "make check"\nmax_rounds = 3\nstrategy = "changed"\n')
    assert Config.load().verify == VerifySettings("make check", 3, "changed")
    path.write_text('[verify]\nstrategy = "some"\n')
    with pytest.raises(ConfigError, match="verify.strategy"):
        Config.load()
    path.write_text('[verify]\nmax_rounds = 0\n')
    with pytest.raises(ConfigError, match="verify.max_rounds"):
        Config.load()


def test_untrusted_overlay_may_only_lower(tmp_path: Path) -> None:
    base = VerifySettings("make check", 2, "full", 900.0)
    lowered, ignored = base.tightened({"max_rounds": 1, "strategy": "none"}, "p")
    assert lowered == VerifySettings("make check", 1, "none", 900.0) and ignored == []
    same, ignored = base.tightened({"max_rounds": 5, "timeout_s": 10, "command": "x"}, "p")
    assert same == VerifySettings("make check", 2, "full", 10.0)
    assert ignored == ["verify.max_rounds", "verify.command"]


@pytest.mark.parametrize(("files", "command", "source"), [
    ({"Makefile": "all:\n\ttrue\ntest:\n\ttrue\n"}, "make test", "Makefile (test target)"),
    ({"package.json": json.dumps({"scripts": {"test": "jest"}})}, "npm test",
     "package.json (scripts.test)"),
    ({"Cargo.toml": "[package]\n"}, "cargo test", "Cargo.toml"),
    ({"go.mod": "module x\n"}, "go test ./...", "go.mod"),
    ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, "python3 -m pytest -q",
     "pyproject.toml ([tool.pytest.ini_options])"),
    ({"conftest.py": ""}, "python3 -m pytest -q", "conftest.py"),
    ({"tests/test_a.py": ""}, "python3 -m unittest discover -q -s tests", "tests/"),
])
def test_detection(tmp_path: Path, files: dict[str, str], command: str, source: str) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = verify.detect(tmp_path)
    assert found is not None and (found.command, found.detected_from) == (command, source)


def test_nothing_detected(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {
        "test": 'echo "Error: no test specified" && exit 1'}}))
    (tmp_path / "Makefile").write_text("all:\n\ttrue\n")
    (tmp_path / "main.py").write_text("")
    assert verify.detect(tmp_path) is None
    assert verify.plan(VerifySettings(), tmp_path, ["main.py"]) is None


def test_changed_strategy_picks_tests_touching_changed_modules(tmp_path: Path) -> None:
    files = {
        "pytest.ini": "[pytest]\n",
        "pkg/parser.py": "", "pkg/lexer.py": "",
        "tests/test_parser.py": "def test(): pass\n",  # by name
        "tests/test_api.py": "from pkg.parser import parse\n",  # by import
        "tests/test_misc.py": "from pkg import lexer\n",  # lexer is not changed
        "tests/test_edited.py": "",  # changed itself
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    changed = ["pkg/parser.py", "tests/test_edited.py"]
    assert verify.related_tests(tmp_path, changed) == [
        "tests/test_api.py", "tests/test_edited.py", "tests/test_parser.py"]
    p = verify.plan(VerifySettings(strategy="changed"), tmp_path, changed)
    assert p is not None and p.command == ("python3 -m pytest -q tests/test_api.py "
                                           "tests/test_edited.py tests/test_parser.py")
    assert "3 test file(s)" in p.note
    full = verify.plan(VerifySettings(strategy="changed"), tmp_path, ["README.md"])
    assert full is not None and full.command == "python3 -m pytest -q"
    assert "full run" in full.note
    make = verify.plan(VerifySettings(command="make check", strategy="changed"), tmp_path,
                       changed)
    assert make is not None and make.command == "make check" and "not supported" in make.note


async def test_changed_strategy_on_a_real_task(xdg: Path, tmp_path: Path) -> None:
    other = "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_x(self):\n" \
            "        self.fail('unrelated and broken')\n"
    task, events, _ = await run_task(
        tmp_path, fix_session(tmp_path / "s.jsonl"),
        files={"calc.py": CALC, "test_calc.py": TEST, "test_other.py": other},
        settings=VerifySettings(strategy="changed"))
    [run] = kinds(events, "verification")
    assert run["command"] == "python3 -m unittest -q test_calc" and run["passed"] is True
    assert task.state is TaskState.READY
