"""Sandbox overhead per bash call (issue 15 target: p50 overhead <= 15 ms).

Times whole calls of the real bash tool (``run_tool(BashTool(), ...)``: scrubbed
environment, process group, output pipe) in a real git worktree, unsandboxed
(``[sandbox] mode = "off"``) and sandboxed (bubblewrap plus the call's cgroup), alternating
in blocks in the same run so both see the same machine load. Commands: ``true`` and
``/usr/bin/python3 -c pass``. The overhead is the median over rounds of (sandboxed round
median - unsandboxed round median).

Usage: .venv/bin/python bench/sandbox_overhead.py [--rounds 5] [--calls 40]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from codetap.tools.base import ToolContext, run_tool
from codetap.tools.bash import BashTool
from codetap.tools.sandbox import SandboxSettings, describe, probe

# An absolute interpreter: a python3 found on PATH under $HOME (pyenv shims) is hidden in
# the sandbox, which would compare two different interpreters.
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "python3"
COMMANDS = ("true", f"{PYTHON} -c pass")


def make_worktree(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "i"],
                 ["worktree", "add", "-q", str(root / "wt"), "-b", "task-1"]):
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", *args],
                       cwd=repo, check=True)
    return (root / "wt").resolve()


async def time_calls(ctx: ToolContext, command: str, calls: int) -> list[float]:
    tool = BashTool()
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        result = await run_tool(tool, {"command": command}, ctx)
        out.append((time.perf_counter() - start) * 1000)
        assert result.meta.get("exit_code") == 0, result.output
    return out


def summary(ms: list[float]) -> str:
    return f"p50 {statistics.median(ms):6.2f} ms  range {min(ms):6.2f}-{max(ms):6.2f}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    status = probe()
    print(describe(status))
    if not status.works:
        raise SystemExit("bubblewrap cannot run here: nothing to compare")
    with tempfile.TemporaryDirectory(prefix="codetap-bench-") as tmp:
        workspace = make_worktree(Path(tmp))
        contexts = {"off": ToolContext(workspace, sandbox=SandboxSettings(mode="off")),
                    "sandboxed": ToolContext(workspace, sandbox=SandboxSettings())}
        for command in COMMANDS:
            samples: dict[str, list[float]] = {name: [] for name in contexts}
            medians: dict[str, list[float]] = {name: [] for name in contexts}
            for name, ctx in contexts.items():
                await time_calls(ctx, command, 3)  # warm caches, the probe
            for _ in range(args.rounds):
                for name, ctx in contexts.items():
                    ms = await time_calls(ctx, command, args.calls)
                    samples[name] += ms
                    medians[name].append(statistics.median(ms))
            print(f"\n{command!r}: {args.rounds} rounds x {args.calls} calls per mode")
            for name in contexts:
                print(f"  {name:10} {summary(samples[name])}")
            per_round = [s - o for s, o in zip(medians["sandboxed"], medians["off"],
                                               strict=True)]
            print(f"  overhead   p50 {statistics.median(per_round):6.2f} ms  round medians "
                  f"{min(per_round):.2f}-{max(per_round):.2f} (target p50 <= 15 ms)")


if __name__ == "__main__":
    asyncio.run(main())
