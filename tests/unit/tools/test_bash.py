"""The bash tool's process handling, sandboxed (the default) and with ``mode = "off"``.

In the sandbox ``$!`` and ``$$`` are pids of its own pid namespace, so the tests find the
processes a command started from outside by a unique ``sleep`` argument.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from pathlib import Path

import psutil
import pytest

from codetap.tools.base import ToolContext, run_tool
from codetap.tools.bash import BashTool
from codetap.tools.sandbox import SandboxSettings, probe
from codetap.types import ToolResult

_tokens = itertools.count(1)
MODES = [
    pytest.param("off", id="unsandboxed"),
    pytest.param("auto", id="sandboxed", marks=pytest.mark.skipif(
        not probe().works, reason=f"bubblewrap cannot run here: {probe().reason}")),
]


async def bash(ctx: ToolContext, command: str, **extra: float) -> ToolResult:
    return await run_tool(BashTool(), {"command": command, **extra}, ctx)


@pytest.fixture(params=MODES)
def mode_ctx(request: pytest.FixtureRequest, ctx: ToolContext) -> ToolContext:
    ctx.sandbox = SandboxSettings(mode=request.param)
    return ctx


def sleep_token() -> str:
    """A ``sleep`` duration no other process on the machine uses."""
    return f"{300 + next(_tokens)}.{os.getpid()}"


def sleepers(token: str) -> list[int]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        if p.info["cmdline"] == ["sleep", token] and alive(p.pid):
            found.append(p.pid)
    return found


async def started(token: str, within_s: float = 5.0) -> int:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if pids := sleepers(token):
            return pids[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"sleep {token} never started")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def wait_gone(pid: int, within_s: float = 2.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_exit_code_merged_output_cwd_env(workspace: Path, mode_ctx: ToolContext) -> None:
    mode_ctx.env = {"CODETAP_TEST_VAR": "from-ctx"}
    result = await bash(mode_ctx, "echo out; echo err >&2; pwd; echo $CODETAP_TEST_VAR; exit 3")
    assert not result.is_error
    assert result.output.splitlines() == ["out", "err", str(workspace), "from-ctx", "[exit code 3]"]
    assert result.meta["exit_code"] == 3 and result.meta["timed_out"] is False
    assert result.meta["sandboxed"] is (mode_ctx.sandbox.mode != "off")


async def test_stdin_is_devnull_and_no_output(mode_ctx: ToolContext) -> None:
    result = await bash(mode_ctx, "cat; true", timeout_s=5)
    assert result.output == "(no output)\n[exit code 0]"


async def test_killed_by_signal_reported(mode_ctx: ToolContext) -> None:
    result = await bash(mode_ctx, "kill -KILL $$")
    assert "killed by signal SIGKILL]" in result.output
    # bwrap, like a shell, turns "killed by signal 9" into exit status 128 + 9
    assert result.meta["exit_code"] == (-9 if mode_ctx.sandbox.mode == "off" else 137)


async def test_huge_output_keeps_head_and_tail(mode_ctx: ToolContext) -> None:
    mode_ctx.output_cap_bytes = 10_000
    result = await bash(mode_ctx, "seq 1 300000")
    total = len("".join(f"{i}\n" for i in range(1, 300001)))
    assert result.output.startswith("1\n2\n3\n")
    assert result.output.endswith("299999\n300000\n[exit code 0]")
    assert f"bytes of output cut (total {total} bytes)" in result.output
    assert len(result.output) < 10_300
    assert result.meta["output_bytes"] == total


async def test_timeout_kills_process_group(mode_ctx: ToolContext) -> None:
    token = sleep_token()
    started_at = time.monotonic()
    # the child does not hold the output pipe: only killing the group can stop it
    command = f"sleep {token} >/dev/null 2>&1 & echo started; wait"
    task = asyncio.ensure_future(bash(mode_ctx, command, timeout_s=1.5))
    pid = await started(token)
    result = await task
    assert time.monotonic() - started_at < 6
    assert result.is_error and result.meta["timed_out"] is True
    assert "started" in result.output and "timed out after 1.5 s" in result.output
    assert await wait_gone(pid)


async def test_timeout_sigkills_children_ignoring_sigterm(mode_ctx: ToolContext) -> None:
    token = sleep_token()
    command = f"trap '' TERM; sleep {token} >/dev/null 2>&1 & wait"
    task = asyncio.ensure_future(bash(mode_ctx, command, timeout_s=1.0))
    pid = await started(token)
    result = await task
    assert result.meta["timed_out"] is True
    assert await wait_gone(pid)


async def test_cancellation_kills_process_group(mode_ctx: ToolContext) -> None:
    token = sleep_token()
    task = asyncio.ensure_future(bash(mode_ctx, f"sleep {token} >/dev/null 2>&1 & wait"))
    pid = await started(token)
    assert alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_gone(pid)


async def test_background_process_holding_pipe_is_killed(ctx: ToolContext) -> None:
    ctx.sandbox = SandboxSettings(mode="off")
    token = sleep_token()
    task = asyncio.ensure_future(bash(ctx, f"sleep {token} & echo done"))
    pid = await started(token)
    result = await task
    assert "done" in result.output and "[exit code 0]" in result.output
    assert "background processes still holding the output were killed" in result.output
    assert await wait_gone(pid)


@pytest.mark.skipif(not probe().works, reason=f"bubblewrap cannot run here: {probe().reason}")
async def test_sandboxed_background_processes_end_with_the_command(
        workspace: Path, ctx: ToolContext) -> None:
    """In the sandbox even a process that left the group (setsid) ends with the call: the
    pid namespace dies with the shell, and the call's cgroup is emptied."""
    held, detached = sleep_token(), sleep_token()
    command = (f"sleep {held} & setsid sleep {detached} >/dev/null 2>&1 < /dev/null & "
               "until [ -e go ]; do sleep 0.02; done; echo done")
    task = asyncio.ensure_future(bash(ctx, command, timeout_s=20))
    pids = [await started(held), await started(detached)]
    (workspace / "go").touch()
    result = await task
    assert result.output.startswith("done") and result.meta["sandboxed"] is True
    for pid in pids:
        assert await wait_gone(pid)


async def test_invalid_arguments_rejected(ctx: ToolContext) -> None:
    bad: list[dict[str, object]] = [
        {}, {"command": ""}, {"command": "true", "timeout_s": 0},
        {"command": "true", "timeout_s": "5"}, {"command": "true", "cwd": "/"},
    ]
    for args in bad:
        result = await run_tool(BashTool(), args, ctx)
        assert result.is_error and "invalid arguments for bash" in result.output, args


def test_flags() -> None:
    assert (BashTool.read_only, BashTool.idempotent, BashTool.mutates) == (False, False, True)
