"""kill -9 at seeded random times during a compacting task (a small window: a compaction
every few turns) resumes to the same final conversation and compaction state as an
uninterrupted run. Named fault points are in test_compaction.py.

``CODETAP_KILL_TRIALS`` sets the number of trials (default 6; each ~3 s on an idle
machine: a child process started, killed once or twice, the task resumed in-process).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

from codetap.agent.state import rebuild
from codetap.runtime import Runtime
from codetap.types import TaskState
from tests.unit.agent.test_compaction import ROOT, _without, repo_for, run_task, runtime_config
from tests.unit.models.context_server import ContextModel
from tests.unit.models.scripted_server import ScriptedServer

SEED = 20260518
TRIALS = int(os.environ.get("CODETAP_KILL_TRIALS", "6"))
TURNS = 40

CHILD = """
import asyncio, sys
from pathlib import Path
from tests.unit.agent.test_compaction import runtime_config
from codetap.runtime import Runtime

async def main():
    rt = await Runtime.open(runtime_config(sys.argv[1]))
    try:
        if sys.argv[2] == "start":
            task = await rt.start_task("read it all", Path(sys.argv[3]))
        await rt.wait(int(sys.argv[3]) if sys.argv[2] == "resume" else task.id)
    finally:
        await rt.close()

asyncio.run(main())
"""


def requests(model: ContextModel) -> int:
    return len(model.accepted) + model.rejected


async def until(check: Any, timeout: float) -> bool:
    """Poll ``check()`` every 10 ms until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def kill_at_random(model: ContextModel, server_url: str, args: list[str],
                         delay: float) -> int | None:
    """Start a child running the task, wait for its first model request, SIGKILL it
    ``delay`` seconds later; the model requests it had made then (None: it ended first)."""
    seen = requests(model)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, server_url, *args, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    talking = await until(lambda: requests(model) > seen or child.returncode is not None, 60)
    assert talking, "the child made no model request in 60 s"
    waiter = asyncio.ensure_future(child.communicate())
    done, _ = await asyncio.wait({waiter}, timeout=delay)
    made = requests(model) - seen
    if not done:
        child.send_signal(signal.SIGKILL)
    _, err = await asyncio.wait_for(waiter, 60)
    assert child.returncode in (0, -9), err[-2000:]
    return made if child.returncode == -9 else None


async def test_kill9_at_random_times_resumes_to_the_same_conversation(
        xdg: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    model = ContextModel(8192, TURNS)
    async with ScriptedServer([], handler=model) as server:
        first = requests(model)
        started = time.monotonic()
        baseline, base_events, base_diff = await run_task(server.url, repo_for(tmp_path / "a",
                                                                                TURNS))
        duration = time.monotonic() - started
        assert baseline.state is TaskState.READY, baseline.error
        assert requests(model) - first >= TURNS
        expected = model.last_messages[1:]  # without the system prompt (paths differ)
        rt = await Runtime.open(runtime_config(server.url))
        try:
            base_state = rebuild(base_events, await rt.store.checkpoints(1))
        finally:
            await rt.close()
        assert base_state.context.cut > 0 and base_state.context.masks
        kills: list[int] = []
        for trial in range(TRIALS):
            task_id = trial + 2
            repo = repo_for(tmp_path / f"t{trial}", TURNS)
            # Times spread over the whole run (the child is about as fast as the baseline).
            lo, hi = trial / TRIALS, (trial + 1) / TRIALS
            delay = 0.9 * duration * rng.uniform(lo, hi)
            killed = await kill_at_random(model, server.url, ["start", str(repo)], delay)
            again = None
            if killed is not None and trial % 2:
                again = await kill_at_random(model, server.url, ["resume", str(task_id)],
                                             duration * rng.uniform(0.05, 0.5))
            kills += [n for n in (killed, again) if n is not None]
            rt = await Runtime.open(runtime_config(server.url))
            try:
                task = await rt.wait(task_id)
                events = await rt.store.events(task_id)
                state = rebuild(events, await rt.store.checkpoints(task_id))
                diff = await rt.diff(task_id)
            finally:
                await rt.close()
            what = (f"trial {trial}: killed after {delay:.2f} s of {duration:.2f} s "
                    f"(model requests before the kills: {killed}, {again})")
            assert task.state is TaskState.READY, (what, task.error)
            _check_same(model.last_messages[1:], expected, what)
            assert diff.replace(str(repo), "") == base_diff.replace(str(tmp_path / "a"), ""), what
            assert state.context == base_state.context, what
            assert len(state.messages) == len(base_state.messages), what
            assert [e.kind for e in events].count("model_turn") == \
                [e.kind for e in base_events].count("model_turn"), what
    # Most trials must really have killed the task mid-run, or the test proves nothing.
    assert len(kills) >= TRIALS // 2, f"only {len(kills)} kills in {TRIALS} trials: {kills}"


def _check_same(sent: list[Any], expected: list[Any], what: str) -> None:
    """Equal, except the text of write results reconciled after the restart (a write that
    ran just before the kill is not run again)."""
    reconciled = {m.get("tool_call_id") for m in sent
                  if "reconciled after a daemon restart" in str(m.get("content"))}
    assert all(str(i).endswith("_1") for i in reconciled), (what, reconciled)  # writes only
    assert _without(sent, reconciled) == _without(expected, reconciled), what
