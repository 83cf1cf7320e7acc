"""ACP: `session/prompt` to the first `session/update`, with the daemon running.

Usage: .venv/bin/python bench/acp_latency.py [--runs 5] [--prompts 20]

Sets up isolated XDG dirs, a git repo and a replay model that answers at once, starts the
daemon, then per run launches one `codetap acp` (a real subprocess, driven by the ACP
Python SDK's client side) and times, for --prompts prompts each:
1. a first prompt in a new session (starts a task: `codetap/task/start`), and
2. a follow-up prompt on that session's ready task (`codetap/task/message`),
from sending `session/prompt` to receiving its first `session/update`, and the whole turn
(to the `stopReason`); also to the first `agent_message_chunk` (the model's text, through
the journal). The first update is the `session_info_update` sent once the daemon took the
prompt. Prints p50 per run, then the median and range of the runs' p50s.
Target: p50 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(prompts: int) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="codetap-acp-bench-"))
    for name, var in (("d", "XDG_DATA_HOME"), ("c", "XDG_CONFIG_HOME"), ("k", "XDG_CACHE_HOME"),
                      ("r", "XDG_RUNTIME_DIR")):
        (tmp / name).mkdir(mode=0o700)
        os.environ[var] = str(tmp / name)
    from tests.conftest import make_repo
    from tests.e2e.conftest import CALC
    repo = make_repo(tmp / "repo", {"calc.py": CALC})
    turn = {"text": "Done.", "tool_calls": [{"name": "finish", "arguments": {"summary": "ok"}}]}
    (tmp / "s.jsonl").write_text((json.dumps(turn) + "\n") * (prompts + 4))
    cfg = tmp / "c" / "codetap"
    cfg.mkdir()
    (cfg / "config.toml").write_text(
        f'default_model = "r"\n[models.r]\nprovider = "replay"\npath = "{tmp}/s.jsonl"\n')
    return repo


class Timer:
    """ACP client: notes when the first update after :meth:`arm` arrives."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.text: float | None = None

    def arm(self) -> None:
        self.first = self.text = None

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        if self.text is None and getattr(update, "session_update", "") == "agent_message_chunk":
            self.text = now

    async def request_permission(self, **kwargs: Any) -> Any:
        raise AssertionError("the bench model asks nothing")


async def one_run(repo: Path, prompts: int) -> dict[str, list[float]]:
    from acp import PROTOCOL_VERSION, spawn_agent_process, text_block
    timer = Timer()
    out: dict[str, list[float]] = {k: [] for k in (
        "new", "follow", "new text", "follow text", "new turn", "follow turn")}
    async with spawn_agent_process(timer, sys.executable, "-m", "codetap", "acp",
                                   env=dict(os.environ)) as (conn, _):
        await conn.initialize(protocol_version=PROTOCOL_VERSION)
        for i in range(prompts):
            sid = (await conn.new_session(cwd=str(repo), mcp_servers=[])).session_id
            for kind in ("new", "follow"):
                timer.arm()
                t0 = time.perf_counter()
                resp = await conn.prompt(session_id=sid, prompt=[text_block(f"{kind} {i}")])
                t1 = time.perf_counter()
                assert resp.stop_reason == "end_turn"
                assert timer.first is not None and timer.text is not None
                out[kind].append((timer.first - t0) * 1000)
                out[f"{kind} text"].append((timer.text - t0) * 1000)
                out[f"{kind} turn"].append((t1 - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prompts", type=int, default=20)
    args = parser.parse_args()
    repo = setup(args.prompts)
    from codetap.daemon.control import start_detached, stop
    from codetap.daemon.paths import DaemonPaths
    paths = DaemonPaths.from_env()
    start_detached(paths)
    try:
        per_run: dict[str, list[float]] = {}
        for run in range(args.runs):
            got = asyncio.run(one_run(repo, args.prompts))
            line = []
            for kind, values in got.items():
                p50 = statistics.median(values)
                per_run.setdefault(kind, []).append(p50)
                line.append(f"{kind} p50 {p50:.1f} ms")
            print(f"run {run + 1}: " + ", ".join(line))
        print(f"\nover {args.runs} runs x {args.prompts} prompts (median of p50s [range]):")
        for kind, p50s in per_run.items():
            label = {"turn": "prompt -> stopReason", "text": "prompt -> first agent text"}.get(
                kind.partition(" ")[2], "prompt -> first update")
            print(f"  {kind.split()[0]:7s} {label:27s} {statistics.median(p50s):7.1f} ms "
                  f"[{min(p50s):.1f}..{max(p50s):.1f}]")
    finally:
        stop(paths)


if __name__ == "__main__":
    main()
