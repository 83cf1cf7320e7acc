"""The command policy on real tasks: denied commands do not run, ``ask`` waits for an
approval (journaled, asked again after a restart, never run twice), a project's config can
only tighten the user's."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from codetap.config import Config
from codetap.errors import ConfigError
from codetap.models.base import ModelConfig
from codetap.policy import CommandPolicy, Verdict
from codetap.runtime import Runtime
from codetap.tools.sandbox import SandboxSettings
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import session

COMMAND = "echo ran >> ../marks.txt"


def policy_session(path: Path) -> Path:
    return session(path, [
        {"tool_calls": [{"name": "bash", "arguments": {"command": COMMAND}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
    ])


async def open_runtime(tmp_path: Path, policy: CommandPolicy) -> Runtime:
    model = ModelConfig("replay", "replay", path=str(policy_session(tmp_path / "s.jsonl")))
    # The marks file sits outside the worktree, where the sandbox would not let it write.
    config = dataclasses.replace(Config.load(), models={"replay": model},
                                 default_model="replay", policy=policy,
                                 sandbox=SandboxSettings(mode="off"))
    rt = await Runtime.open(config)
    await rt.set_clients(1)  # an editor is attached to answer approvals
    return rt


def marks(rt: Runtime, task_worktree: Path | None) -> int:
    assert task_worktree is not None
    path = task_worktree.parent / "marks.txt"
    return path.read_text().count("ran") if path.exists() else 0


async def wait_for(rt: Runtime, task_id: int, state: TaskState) -> None:
    for _ in range(500):
        if (await rt.store.get_task(task_id)).state is state:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"task {task_id} never became {state.value}")


async def bash_result(rt: Runtime, task_id: int) -> dict[str, object]:
    events = await rt.store.events(task_id)
    return next(e.data for e in events if e.kind == "tool_result" and e.data["name"] == "bash")


async def test_denied_command_is_not_run(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    rt = await open_runtime(tmp_path, CommandPolicy(deny=("echo *",)))
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
        assert task.state is TaskState.READY, task.error
        result = await bash_result(rt, task.id)
        assert result["is_error"] is True
        assert "policy denies" in str(result["output"]) and "'echo *'" in str(result["output"])
        assert marks(rt, task.worktree) == 0
    finally:
        await rt.close()


@pytest.mark.parametrize(("answer", "runs"), [("yes", 1), ("no", 0)])
async def test_ask_waits_for_the_users_approval(xdg: Path, tmp_path: Path, answer: str,
                                                runs: int) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    rt = await open_runtime(tmp_path, CommandPolicy(ask=("echo *",)))
    try:
        task_id = (await rt.start_task("x", repo)).id
        await wait_for(rt, task_id, TaskState.WAITING)
        [q] = rt.pending_questions()
        assert (q.kind, q.options) == ("approval", ["yes", "no"])
        assert COMMAND in q.question
        await rt.answer(task_id, answer)
        task = await rt.wait(task_id)
        assert task.state is TaskState.READY, task.error
        assert marks(rt, task.worktree) == runs
        approvals = [e.data["answer"] for e in await rt.store.events(task_id)
                     if e.kind == "approval"]
        assert approvals == [None, answer]
        result = await bash_result(rt, task_id)
        assert result["is_error"] is (answer != "yes")
    finally:
        await rt.close()


async def test_approval_pending_at_restart_is_asked_again_and_run_once(
        xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    policy = CommandPolicy(bash="ask")
    rt = await open_runtime(tmp_path, policy)
    task_id = (await rt.start_task("x", repo)).id
    await wait_for(rt, task_id, TaskState.WAITING)
    await rt.close()  # the daemon stops while the approval is pending

    rt = await open_runtime(tmp_path, policy)
    try:
        await wait_for(rt, task_id, TaskState.WAITING)
        await rt.answer(task_id, "yes")
        task = await rt.wait(task_id)
        assert task.state is TaskState.READY, task.error
        assert marks(rt, task.worktree) == 1
        result = await bash_result(rt, task_id)
        assert result["is_error"] is False
        approvals = [e.data["answer"] for e in await rt.store.events(task_id)
                     if e.kind == "approval"]
        assert approvals == [None, "yes"]  # the request is not journaled twice
    finally:
        await rt.close()


def test_decide_order_and_default() -> None:
    policy = CommandPolicy(bash="ask", deny=("sudo *",), ask=("git push*",),
                           allow=("git *", "sudo ls"))
    assert policy.decide("  sudo ls ") == Verdict("deny", "sudo *")
    assert policy.decide("git push origin main") == Verdict("ask", "git push*")
    assert policy.decide("git status") == Verdict("allow", "git *")
    assert policy.decide("make") == Verdict("ask")
    assert CommandPolicy().decide("rm -rf build") == Verdict("allow")


def test_project_config_only_tightens(xdg: Path, tmp_path: Path) -> None:
    user = xdg / "config" / "codetap"
    user.mkdir(parents=True)
    (user / "config.toml").write_text(
        '[policy]\nbash = "ask"\nallow = ["pytest*"]\n')
    repo = tmp_path / "repo"
    (repo / ".codetap").mkdir(parents=True)
    (repo / ".codetap" / "config.toml").write_text(
        '[policy]\nbash = "allow"\nallow = ["*"]\ndeny = ["curl *"]\n')
    config = Config.load(repo)
    assert config.policy == CommandPolicy("ask", ("curl *",), (), ("pytest*",))
    assert Config.load().for_project(repo).policy == config.policy
    assert config.policy.decide("make").decision == "ask"
    assert config.policy.decide("curl x | sh").decision == "deny"


@pytest.mark.parametrize(("table", "message"), [
    ('bash = "maybe"', "bash = 'maybe'"),
    ('deny = "sudo *"', "[policy] deny must be a list"),
    ('ask = [""]', "[policy] ask must be a list"),
    ('alow = ["x"]', "unknown [policy] keys: alow"),
])
def test_invalid_policy_is_a_config_error(xdg: Path, table: str, message: str) -> None:
    user = xdg / "config" / "codetap"
    user.mkdir(parents=True)
    (user / "config.toml").write_text(f"[policy]\n{table}\n")
    with pytest.raises(ConfigError, match=None) as err:
        Config.load()
    assert message in str(err.value) and "config.toml" in str(err.value)


async def test_approval_with_nobody_attached_is_a_tool_error(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    model = ModelConfig("replay", "replay", path=str(policy_session(tmp_path / "s.jsonl")))
    config = dataclasses.replace(Config.load(), models={"replay": model},
                                 default_model="replay", policy=CommandPolicy(ask=("echo *",)),
                                 sandbox=SandboxSettings(mode="off"))
    rt = await Runtime.open(config)
    rt.attach_grace_s = 0.2
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
        assert task.state is TaskState.READY, task.error
        result = await bash_result(rt, task.id)
        assert result["is_error"] is True
        assert "no editor or other client is attached" in str(result["output"])
        assert rt.pending_questions() == []
        assert marks(rt, task.worktree) == 0
    finally:
        await rt.close()


async def test_unattended_deny_never_asks(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    policy = dataclasses.replace(CommandPolicy(ask=("echo *",)), unattended="deny")
    rt = await open_runtime(tmp_path, policy)
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
        assert task.state is TaskState.READY, task.error
        result = await bash_result(rt, task.id)
        assert 'unattended = "deny"' in str(result["output"]) and result["is_error"] is True
        assert marks(rt, task.worktree) == 0
    finally:
        await rt.close()
