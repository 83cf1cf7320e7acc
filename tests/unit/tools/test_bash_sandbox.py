"""The sandbox on real files, a real network and real processes, through the bash tool.

Skipped, with the probe's reason, only where bubblewrap cannot run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest

from codetap.tools.base import ToolContext, run_tool
from codetap.tools.bash import BashTool
from codetap.tools.proclimits import limit_support
from codetap.tools.sandbox import SandboxSettings, probe
from codetap.types import ToolResult

pytestmark = pytest.mark.skipif(
    not probe().works, reason=f"bubblewrap cannot run here: {probe().reason}")


async def bash(ctx: ToolContext, command: str, timeout_s: float = 60) -> ToolResult:
    return await run_tool(BashTool(), {"command": command, "timeout_s": timeout_s}, ctx)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("FAKE-PRIVATE-KEY-0123\n")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def var_tmp_target() -> Iterator[Path]:
    """A path outside /tmp and $HOME that the user could write (cleaned up)."""
    path = Path("/var/tmp") / f"codetap-sandbox-test-{uuid.uuid4().hex}"
    yield path
    path.unlink(missing_ok=True)


async def test_writes_outside_the_worktree_fail(
        workspace: Path, ctx: ToolContext, home: Path, var_tmp_target: Path) -> None:
    outside = workspace.parent / "outside"
    outside.mkdir()
    result = await bash(ctx, f"echo in > inside.txt; echo x > {outside}/a; "
                             f"echo x > {var_tmp_target}; echo x > ~/planted; "
                             "echo x > /usr/planted-by-codetap-test; echo done")
    assert result.meta["sandboxed"] is True and "done" in result.output
    assert (workspace / "inside.txt").read_text() == "in\n"
    assert list(outside.iterdir()) == []
    assert not var_tmp_target.exists()
    assert not (home / "planted").exists()
    assert not Path("/usr/planted-by-codetap-test").exists()
    # ~/planted was written, into the sandbox's own empty $HOME, gone with it
    assert result.output.count("No such file or directory") + result.output.count(
        "Read-only file system") == 3


async def test_home_is_empty_but_for_listed_paths(
        workspace: Path, ctx: ToolContext, home: Path) -> None:
    (home / "docs").mkdir()
    (home / "docs" / "readme").write_text("listed\n")
    (home / "out").mkdir()
    ctx.sandbox = SandboxSettings(read_paths=(str(home / "docs"),),
                                  write_paths=(str(home / "out"),))
    result = await bash(ctx, "cat ~/.ssh/id_rsa; ls -A ~; cat ~/docs/readme; "
                             "echo no > ~/docs/readme; echo yes > ~/out/made; echo done")
    assert "FAKE-PRIVATE-KEY" not in result.output
    assert "id_rsa: No such file or directory" in result.output
    assert "listed\n" in result.output and "done" in result.output
    assert (home / "docs" / "readme").read_text() == "listed\n"
    assert (home / "out" / "made").read_text() == "yes\n"


async def test_codetap_dirs_stay_hidden_under_a_listed_path(
        workspace: Path, ctx: ToolContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    (shared / "data" / "codetap").mkdir(parents=True)
    (shared / "data" / "codetap" / "codetap.db").write_text("journal rows")
    (shared / "notes.txt").write_text("visible\n")
    monkeypatch.setenv("XDG_DATA_HOME", str(shared / "data"))
    ctx.sandbox = SandboxSettings(read_paths=(str(shared),))
    result = await bash(ctx, f"cat {shared}/notes.txt; ls -A {shared}/data/codetap; "
                             f"cat {shared}/data/codetap/codetap.db")
    assert "visible" in result.output and "journal rows" not in result.output
    assert "codetap.db: No such file or directory" in result.output


async def test_other_processes_environment_is_invisible(ctx: ToolContext) -> None:
    """The sandbox has its own /proc: a host process's environment cannot be read."""
    secret = f"sk-proc-{uuid.uuid4().hex}"
    holder = await asyncio.create_subprocess_exec("sleep", "60",
                                                  env={"LEAKY_API_KEY": secret})
    try:
        result = await bash(ctx, "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; "
                                 "ls /proc | grep -c '^[0-9]'")
    finally:
        holder.kill()
        await holder.wait()
    assert secret not in result.output
    assert int(result.output.splitlines()[-2]) < 10  # only the sandbox's own processes


@contextlib.asynccontextmanager
async def loopback_server() -> AsyncIterator[int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nhello-from-the-host\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


GET = ("exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && "
       "cat <&3")


async def test_network_off_blocks_a_loopback_server_and_says_so(ctx: ToolContext) -> None:
    async with loopback_server() as port:
        result = await bash(ctx, GET.format(port=port))
    assert "hello-from-the-host" not in result.output
    assert "Connection refused" in result.output and result.meta["exit_code"] != 0
    assert result.output.endswith("[sandbox: this command has no network access; commands "
                                  "that need the network fail here (the user can set "
                                  '[sandbox] network = "on" to allow it)]')
    plain = await bash(ctx, "echo fine")
    assert plain.output == "fine\n[exit code 0]"


async def test_network_on_reaches_a_loopback_server(ctx: ToolContext) -> None:
    ctx.sandbox = SandboxSettings(network="on")
    async with loopback_server() as port:
        result = await bash(ctx, GET.format(port=port))
    assert "hello-from-the-host" in result.output and "[exit code 0]" in result.output
    assert "no network access" not in result.output


def bomb_processes(marker: str) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(
        p.info["cmdline"] or [])]


@pytest.mark.skipif(os.geteuid() == 0 and limit_support().pids is None,
                    reason="no writable pids cgroup: as root a fork bomb would be unbounded")
async def test_fork_bomb_is_stopped_by_the_process_limit(ctx: ToolContext) -> None:
    ctx.sandbox = SandboxSettings(max_processes=50)
    marker = f"bomb{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    try:
        # Each copy lives 2 s after spawning two more, so the bomb reaches the limit while
        # the shell still runs (a bomb whose copies exit at once may not, before teardown).
        result = await bash(ctx, f"timeout 5 bash -c ':(){{ :|:& sleep 2; }};: # {marker}'; "
                                 "echo survived", timeout_s=30)
    finally:
        for p in bomb_processes(marker):
            with contextlib.suppress(psutil.Error):
                p.kill()
    assert "Resource temporarily unavailable" in result.output
    assert "survived" in result.output and not result.meta["timed_out"]
    assert time.monotonic() - started < 30
    assert bomb_processes(marker) == []


async def test_memory_limit(ctx: ToolContext) -> None:
    ctx.sandbox = SandboxSettings(memory_mb=64)
    result = await bash(ctx, "python3 -c 'b = bytearray(300 * 1024 * 1024); print(\"got it\")'")
    assert "got it" not in result.output and result.meta["exit_code"] != 0
    ok = await bash(ctx, "python3 -c 'b = bytearray(8 * 1024 * 1024); print(\"small ok\")'")
    assert "small ok" in ok.output


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    main = tmp_path / "repo"
    main.mkdir()
    git(main, "init", "-q", "-b", "main")
    git(main, "config", "user.email", "t@example.invalid")
    git(main, "config", "user.name", "t")
    (main / "a.txt").write_text("one\n")
    git(main, "add", "a.txt")
    git(main, "commit", "-qm", "init")
    return main.resolve()


async def test_git_is_readable_not_writable_in_a_task_worktree(
        repo: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(worktree), "-b", "task-1")
    head = git(repo, "rev-parse", "task-1")
    ctx = ToolContext(workspace=worktree.resolve())
    result = await bash(ctx, "echo two >> a.txt; git status --short; git diff --stat; "
                             "git log --oneline; git add a.txt; echo add=$?; "
                             "git commit -qam sneaky; echo commit=$?; "
                             f"echo evil > {repo}/.git/hooks/post-commit; "
                             f"echo edit > {repo}/a.txt")
    lines = result.output.splitlines()
    assert " M a.txt" in lines and "init" in result.output
    assert "1 file changed, 1 insertion(+)" in result.output
    assert "add=128" in lines and "commit=128" in lines
    assert git(repo, "rev-parse", "task-1") == head
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
    assert (repo / "a.txt").read_text() == "one\n"
    assert (worktree / "a.txt").read_text() == "one\ntwo\n"


async def test_git_dir_inside_the_workspace_is_read_only(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    ctx = ToolContext(workspace=repo)
    result = await bash(ctx, "echo more >> a.txt; git diff --stat; git commit -qam x; "
                             "echo commit=$?; touch .git/planted; echo touch=$?")
    assert "1 file changed" in result.output
    assert "commit=128" in result.output and "touch=1" in result.output
    assert git(repo, "rev-parse", "HEAD") == head and not (repo / ".git" / "planted").exists()
