from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psutil
import pytest

from codetap.tools.base import ToolContext, run_tool
from codetap.tools.bash import BashTool
from codetap.types import ToolResult


async def bash(ctx: ToolContext, command: str, **extra: float) -> ToolResult:
    return await run_tool(BashTool(), {"command": command, **extra}, ctx)


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


async def test_exit_code_merged_output_cwd_env(workspace: Path, ctx: ToolContext) -> None:
    ctx.env = {"CODETAP_TEST_VAR": "from-ctx"}
    result = await bash(ctx, "echo out; echo err >&2; pwd; echo $CODETAP_TEST_VAR; exit 3")
    assert not result.is_error
    assert result.output.splitlines() == ["out", "err", str(workspace), "from-ctx", "[exit code 3]"]
    assert result.meta["exit_code"] == 3 and result.meta["timed_out"] is False


async def test_stdin_is_devnull_and_no_output(ctx: ToolContext) -> None:
    result = await bash(ctx, "cat; true", timeout_s=5)
    assert result.output == "(no output)\n[exit code 0]"


async def test_killed_by_signal_reported(ctx: ToolContext) -> None:
    result = await bash(ctx, "kill -KILL $$")
    assert "[killed by signal SIGKILL]" in result.output and result.meta["exit_code"] == -9


async def test_huge_output_keeps_head_and_tail(ctx: ToolContext) -> None:
    ctx.output_cap_bytes = 10_000
    result = await bash(ctx, "seq 1 300000")
    total = len("".join(f"{i}\n" for i in range(1, 300001)))
    assert result.output.startswith("1\n2\n3\n")
    assert result.output.endswith("299999\n300000\n[exit code 0]")
    assert f"bytes of output cut (total {total} bytes)" in result.output
    assert len(result.output) < 10_300
    assert result.meta["output_bytes"] == total


async def test_timeout_kills_process_group(workspace: Path, ctx: ToolContext) -> None:
    started = time.monotonic()
    # the child does not hold the output pipe: only killing the group can stop it
    command = "sleep 300 >/dev/null 2>&1 & echo $! > child.pid; echo started; wait"
    result = await bash(ctx, command, timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert result.is_error and result.meta["timed_out"] is True
    assert "started" in result.output and "timed out after 0.5 s" in result.output
    assert await wait_gone(int((workspace / "child.pid").read_text()))


async def test_timeout_sigkills_children_ignoring_sigterm(workspace: Path, ctx: ToolContext) -> None:
    result = await bash(
        ctx, "trap '' TERM; sleep 300 >/dev/null 2>&1 & echo $! > child.pid; wait", timeout_s=0.3
    )
    assert result.meta["timed_out"] is True
    assert await wait_gone(int((workspace / "child.pid").read_text()))


async def test_cancellation_kills_process_group(workspace: Path, ctx: ToolContext) -> None:
    command = "sleep 300 >/dev/null 2>&1 & echo $! > child.pid; wait"
    task = asyncio.ensure_future(bash(ctx, command))
    pid_file = workspace / "child.pid"
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.02)
    pid = int(pid_file.read_text())
    assert alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_gone(pid)


async def test_background_process_holding_pipe_is_killed(workspace: Path, ctx: ToolContext) -> None:
    result = await bash(ctx, "sleep 300 & echo $! > child.pid; echo done")
    assert "done" in result.output and "[exit code 0]" in result.output
    assert "background processes still holding the output were killed" in result.output
    assert await wait_gone(int((workspace / "child.pid").read_text()))


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
