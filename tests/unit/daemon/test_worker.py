"""The runtime worker process and the daemon's proxy to it (real processes, real SQLite)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import CALC, TEST, fix_session
from tests.unit.cli.test_cli import configure

from codetap.config import Config
from codetap.daemon.frames import FrameBatcher, read_frame
from codetap.daemon.runtime_proxy import RemoteRuntime, WorkerGone
from codetap.daemon.worker import Forward, worker_cpus
from codetap.errors import ConfigError, InvalidTransition, TaskNotFound
from codetap.runtime import Runtime
from codetap.types import JSON, TaskState


class Recorder:
    def __init__(self) -> None:
        self.updates: list[tuple[int, str]] = []
        self.kinds: list[str] = []

    def task_updated(self, task) -> None:  # type: ignore[no-untyped-def]
        self.updates.append((task.id, task.state.value))

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        self.kinds.append(kind)

    def question(self, q) -> None:  # type: ignore[no-untyped-def]
        pass


def worker_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-x", "codetap-worker"], capture_output=True, text=True,
                         check=False)
    return {int(p) for p in out.stdout.split()}


async def test_proxy_runs_tasks_relays_events_and_typed_errors(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TEST})
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    rt = await RemoteRuntime.start(Config.load())
    rec = Recorder()
    rt.subscribe(rec)
    try:
        task = await rt.start_task("make add add", repo)
        for _ in range(200):
            if (task.id, "ready") in rec.updates:
                break
            await asyncio.sleep(0.05)
        assert (task.id, "ready") in rec.updates
        assert {"model_turn", "tool_intent", "tool_result"} <= set(rec.kinds)
        assert (await rt.get_task(task.id)).state is TaskState.READY
        assert "+    return a + b" in await rt.diff(task.id)
        with pytest.raises(TaskNotFound, match="no task with id 99"):
            await rt.cancel(99)
        with pytest.raises(InvalidTransition, match="cannot pause"):
            await rt.pause(task.id)
    finally:
        await rt.close()


async def test_a_dead_worker_is_restarted(xdg: Path, tmp_path: Path) -> None:
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    rt = await RemoteRuntime.start(Config.load())
    try:
        pid = rt.worker_pid
        assert pid is not None and pid in worker_pids()
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if rt.worker_pid not in (None, pid):
                break
            await asyncio.sleep(0.05)
        assert rt.worker_pid != pid
        for _ in range(50):
            try:
                await rt.call("pending_questions")
                break
            except WorkerGone:
                await asyncio.sleep(0.1)
        assert await rt.call("pending_questions") == []
    finally:
        await rt.close()


def test_killing_the_daemon_kills_its_worker(xdg: Path) -> None:
    before = worker_pids()
    daemon = subprocess.Popen([sys.executable, "-m", "codetap.daemon"], env=dict(os.environ),
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if worker_pids() - before:
                break
            time.sleep(0.1)
        assert worker_pids() - before, "no worker started"
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait()
        for _ in range(50):
            if not worker_pids() - before:
                break
            time.sleep(0.1)
        assert not worker_pids() - before
    finally:
        if daemon.poll() is None:
            daemon.kill()


async def test_worker_runs_at_idle_priority_by_default(xdg: Path, tmp_path: Path) -> None:
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    rt = await RemoteRuntime.start(Config.load())
    try:
        assert rt.worker_pid is not None
        assert os.sched_getscheduler(rt.worker_pid) == os.SCHED_IDLE
    finally:
        await rt.close()


async def test_low_worker_priority_is_nice_and_a_bad_value_is_refused(
    xdg: Path, tmp_path: Path
) -> None:
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    path = xdg / "config" / "codetap" / "config.toml"
    text = path.read_text()
    path.write_text(text + '[daemon]\nworker_priority = "low"\n')
    rt = await RemoteRuntime.start(Config.load())
    try:
        assert rt.worker_pid is not None
        assert os.sched_getscheduler(rt.worker_pid) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, rt.worker_pid) == os.getpriority(
            os.PRIO_PROCESS, 0) + 10
    finally:
        await rt.close()
    path.write_text(text + '[daemon]\nworker_priority = "realtime"\n')
    with pytest.raises(ConfigError, match="worker_priority = 'realtime'"):
        Config.load()


def test_worker_cpus_keeps_one_cpu_free_by_default() -> None:
    assert worker_cpus("auto", {0, 1, 2, 3}) == {1, 2, 3}
    assert worker_cpus("auto", {2, 5}) == {5}
    assert worker_cpus("auto", {3}) == {3}  # one CPU: nothing to keep free
    assert worker_cpus("all", {0, 1}) == {0, 1}
    assert worker_cpus((1, 7), {0, 1, 2}) == {1}
    assert worker_cpus((7,), {0, 1, 2}) == {0, 1, 2}  # none of the listed CPUs is allowed


async def test_worker_runs_off_the_first_cpu_unless_told_otherwise(
    xdg: Path, tmp_path: Path
) -> None:
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    allowed = os.sched_getaffinity(0)
    path = xdg / "config" / "codetap" / "config.toml"
    text = path.read_text()
    for spec, expected in (("", worker_cpus("auto", allowed)), ('worker_cpus = "all"\n', allowed)):
        path.write_text(text + "[daemon]\n" + spec)
        rt = await RemoteRuntime.start(Config.load())
        try:
            assert rt.worker_pid is not None
            assert os.sched_getaffinity(rt.worker_pid) == expected
            if len(allowed) > 1 and not spec:
                assert min(allowed) not in os.sched_getaffinity(rt.worker_pid)
        finally:
            await rt.close()
    for bad in ('"some"', "[]", '["1"]', "[-1]"):
        path.write_text(text + f"[daemon]\nworker_cpus = {bad}\n")
        with pytest.raises(ConfigError, match="worker_cpus"):
            Config.load()


async def test_forward_sends_state_changes_at_once_and_coalesces_progress(
    xdg: Path, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TEST})
    configure(xdg, fix_session(tmp_path / "s.jsonl"))
    a, b = socket.socketpair()
    reader, keep = await asyncio.open_unix_connection(sock=a)
    _, writer = await asyncio.open_unix_connection(sock=b)
    forward = Forward(FrameBatcher(writer), interval_s=0.2)
    runtime = await Runtime.open(Config.load())
    try:
        task = await runtime.start_task("make add add", repo)
        await runtime.cancel(task.id)
        base = await runtime.get_task(task.id)
    finally:
        await runtime.close()
    running = dataclasses.replace(base, state=TaskState.RUNNING)
    forward.task_updated(dataclasses.replace(running, steps=1))  # a new state: sent now
    for step in (2, 3, 4):  # progress only: held, the latest one kept
        forward.task_updated(dataclasses.replace(running, steps=step))
    forward.task_updated(dataclasses.replace(running, state=TaskState.PAUSED, steps=4))
    forward.task_updated(dataclasses.replace(running, state=TaskState.PAUSED, steps=5))
    await writer.drain()

    async def next_update() -> tuple[str, int]:
        frame = await asyncio.wait_for(read_frame(reader), 1.0)
        assert frame is not None and frame[:2] == ("event", "task_updated")
        return frame[2][0].state.value, frame[2][0].steps

    assert await next_update() == ("running", 1)
    assert await next_update() == ("paused", 4)  # the held steps 2-3 are superseded
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(read_frame(reader), 0.1)  # steps 5 is held...
    assert await next_update() == ("paused", 5)  # ... and sent when the interval ends
    forward.task_updated(dataclasses.replace(running, state=TaskState.PAUSED, steps=6))
    forward.flush()
    assert await next_update() == ("paused", 6)
    writer.close()
    keep.close()
