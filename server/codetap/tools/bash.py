"""The ``bash`` tool: run a shell command in the workspace (ARCHITECTURE.md "Tool contract").

The command runs as ``bash -c`` in its own session (so its own process group), with stdin
from /dev/null and stdout+stderr merged into one pipe, a scrubbed environment and, unless
``[sandbox] mode = "off"``, under bubblewrap in its own cgroup (:mod:`codetap.tools.
bash_launch`). Timeouts and cancellation kill the whole group, and at the end whatever is
left in the call's cgroup, so children such as ``sleep`` or test servers do not outlive the
call (in the sandbox they also die with it: it has its own pid namespace).
Policy checks (which commands need approval) are the agent's job, before ``run``.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import ClassVar

from codetap.tools.base import Tool, ToolContext
from codetap.tools.bash_launch import Launch, launch_for
from codetap.tools.sandbox import network_notice
from codetap.types import JSON, ToolResult

KILL_GRACE_S = 2.0
DRAIN_S = 1.0
EXIT_POLL_S = 0.02
FAST_POLL_S = 0.002
FAST_POLL_FOR_S = 0.25
MAX_TIMEOUT_S = 3600


class OutputBuffer:
    """Keeps the first and last ``cap // 2`` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap // 2
        self.tail_cap = cap - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        """Append ``chunk`` (bytes), trimming the middle."""
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > self.tail_cap:
            del self.tail[: len(self.tail) - self.tail_cap]

    def text(self) -> str:
        """Decoded output (UTF-8, undecodable bytes replaced) with a note on bytes cut."""
        cut = self.total - len(self.head) - len(self.tail)
        head = self.head.decode("utf-8", errors="replace")
        if cut <= 0:
            return head + self.tail.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        return f"{head}\n[... {cut} bytes of output cut (total {self.total} bytes) ...]\n{tail}"


class BashTool(Tool):
    """``bash {command, timeout_s?}``: run ``command`` with ``bash -c`` in the workspace.

    Environment: :func:`~codetap.tools.environment.scrubbed_env` with
    ``ctx.env_passthrough``, then pager-disabling defaults, then ``ctx.env``. Sandboxed per
    ``ctx.sandbox``; ``mode = "required"`` without a working sandbox is an error result and
    nothing runs. With the network off, a result whose output shows a network failure ends
    with a line saying the sandbox has no network.
    Output (stdout+stderr merged) is capped at ``ctx.output_cap_bytes``, keeping head and
    tail and saying how many bytes were cut. The result ends with ``[exit code N]``; a
    non-zero exit is *not* an error result (the command ran). After ``timeout_s``
    (default ``ctx.bash_timeout_s``, seconds) the process group gets SIGTERM, then SIGKILL
    after 2 s, and the result is an error saying so. If the awaiting coroutine is
    cancelled, the group is killed (SIGKILL) before CancelledError propagates. Background
    processes still holding the output pipe 1 s after the shell exits are killed too.
    ``meta``: ``exit_code`` (int or None), ``timed_out``, ``output_bytes``, ``sandboxed``.
    """

    name: ClassVar[str] = "bash"
    description: ClassVar[str] = (
        "Run a bash command in the workspace root. stdout and stderr are merged; long "
        "output keeps its beginning and end. The exit code is reported. No stdin: avoid "
        "interactive commands. Use timeout_s (seconds) for long commands. Commands usually "
        "run in a sandbox: only the workspace is writable (.git is read-only: do not "
        "commit), $HOME is empty, there may be no network, and background processes end "
        "with the command."
    )
    parameters: ClassVar[JSON] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "minLength": 1, "description": "The command line."},
            "timeout_s": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": MAX_TIMEOUT_S,
                "description": "Kill the command after this many seconds.",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False
    idempotent: ClassVar[bool] = False
    mutates: ClassVar[bool] = True

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        timeout = float(args.get("timeout_s", ctx.bash_timeout_s))
        launch = launch_for(args["command"], ctx)
        try:
            result = await _run(launch, ctx, timeout)
        finally:
            if launch.limits is not None:
                await asyncio.to_thread(launch.limits.close)
        notice = network_notice(ctx.sandbox, result.output) if launch.sandboxed else None
        extra = [*launch.notes, *([notice] if notice else [])]
        if extra:
            result = ToolResult("\n".join([result.output, *extra]), result.is_error, result.meta)
        result.meta["sandboxed"] = launch.sandboxed
        return result


async def _run(launch: Launch, ctx: ToolContext, timeout: float) -> ToolResult:
    """Start ``launch``, wait up to ``timeout`` s, kill its process group as needed."""
    proc = await asyncio.create_subprocess_exec(
        *launch.argv,
        cwd=ctx.workspace,
        env=launch.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    groups = ctx.services.process_groups
    if groups is not None:
        groups.add(proc.pid)
    buf = OutputBuffer(ctx.output_cap_bytes)
    reader = asyncio.ensure_future(_pump(proc, buf))
    timed_out = orphans_killed = False
    try:
        try:
            await asyncio.wait_for(_exited(proc), timeout)
        except TimeoutError:
            timed_out = True
            await _terminate_group(proc)
        try:
            await asyncio.wait_for(asyncio.shield(reader), DRAIN_S)
        except TimeoutError:
            orphans_killed = _killpg(proc.pid, signal.SIGKILL)
            try:
                await asyncio.wait_for(reader, DRAIN_S)
            except TimeoutError:
                pass  # a process outside the group holds the pipe; stop reading
    except BaseException:
        _killpg(proc.pid, signal.SIGKILL)
        reader.cancel()
        raise
    finally:
        if groups is not None:
            groups.discard(proc.pid)
    code = proc.returncode
    return _result(buf, code, timed_out, orphans_killed, timeout, launch.sandboxed)


async def _exited(proc: asyncio.subprocess.Process) -> int:
    """Wait until the shell itself has exited; its exit status.

    Polls ``returncode`` because on Python 3.11 ``Process.wait()`` also waits for the
    output pipe to close, which a background child can keep open indefinitely.
    Polls every 2 ms for the first 250 ms (most commands are short), then every
    ``EXIT_POLL_S``.
    """
    loop = asyncio.get_running_loop()
    fast_until = loop.time() + FAST_POLL_FOR_S
    while proc.returncode is None:
        await asyncio.sleep(FAST_POLL_S if loop.time() < fast_until else EXIT_POLL_S)
    return proc.returncode


async def _pump(proc: asyncio.subprocess.Process, buf: OutputBuffer) -> None:
    assert proc.stdout is not None
    while chunk := await proc.stdout.read(65536):
        buf.feed(chunk)


def _killpg(pgid: int, sig: signal.Signals) -> bool:
    """Signal process group ``pgid``; False if no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def _terminate_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the group, wait up to 2 s for the shell, then SIGKILL whatever is left."""
    _killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(_exited(proc), KILL_GRACE_S)
    except TimeoutError:
        pass
    _killpg(proc.pid, signal.SIGKILL)
    await _exited(proc)


def _result(
    buf: OutputBuffer, code: int | None, timed_out: bool, orphans: bool, timeout: float,
    sandboxed: bool,
) -> ToolResult:
    text = buf.text() if buf.total else "(no output)"
    if timed_out:
        status = f"[timed out after {timeout:g} s: the command and its children were killed]"
    elif code is not None and code < 0:
        status = f"[killed by signal {_signal_name(-code)}]"
    elif sandboxed and code is not None and 128 < code <= 128 + 64:
        # bwrap reports a command killed by signal N as exit status 128 + N
        status = f"[exit code {code}: killed by signal {_signal_name(code - 128)}]"
    else:
        status = f"[exit code {code}]"
    if orphans:
        status += "\n[background processes still holding the output were killed]"
    return ToolResult(
        f"{text.rstrip(chr(10))}\n{status}",
        is_error=timed_out,
        meta={"exit_code": code, "timed_out": timed_out, "output_bytes": buf.total},
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
