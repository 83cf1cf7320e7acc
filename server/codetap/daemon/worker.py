"""The runtime worker: the process that owns the Runtime (store writer, tasks, pool).

The daemon's editor-facing process stays light: LSP sessions only. Tasks running flat out
(a fast model, quick tools, git processes) would otherwise compete with editor requests for
the event loop and the GIL. The two processes talk over a socketpair with length-prefixed
pickle frames (both ends are codetap, started together; nothing else can reach the pair):

    front -> worker   ("call", call_id, method, args, kwargs)   |  ("close",)
    worker -> front   ("result", call_id, True, value)
                      ("result", call_id, False, (exception class path, message, attributes))
                      ("event", listener_method, args)           |  ("closed",)

If the worker dies, the front starts a new one: ``Runtime.open`` marks the tasks that were
running ``interrupted`` and resumes them (ARCHITECTURE.md "Durability").
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from typing import Any

from codetap.children import watch_children_by_pidfd
from codetap.config import Config
from codetap.daemon.frames import FrameBatcher, read_frame, write_frame
from codetap.errors import CodetapError
from codetap.redact import install_log_filter
from codetap.runtime import Question, Runtime, TaskRecord
from codetap.runtime_api import WORKER_CALLS
from codetap.types import JSON, TaskState

log = logging.getLogger(__name__)
WORKER_NICENESS = 10
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
PROCESS_NAME = b"codetap-worker"
UPDATE_INTERVAL_S = 0.05  # see Forward


class Forward:
    """Runtime listener that sends every callback to the front process through ``out``.

    Journal events and questions go at once, in order. A task update that changes the
    task's state goes at once too; one that only moves its progress (steps, usage) is
    held for up to ``interval_s`` seconds and only the latest is sent: a task stepping
    flat out updates several times per step, and every update is re-sent to each editor.
    Every state transition still reaches the front, and the newest record always does.
    Must be used from the worker's event loop (updates are flushed by a loop timer).
    """

    def __init__(self, out: FrameBatcher, interval_s: float = UPDATE_INTERVAL_S) -> None:
        self.out = out
        self.interval_s = interval_s
        self._states: dict[int, TaskState] = {}
        self._held: dict[int, TaskRecord] = {}
        self._timer: asyncio.TimerHandle | None = None

    def task_updated(self, task: TaskRecord) -> None:
        if self._states.get(task.id) == task.state:
            self._held[task.id] = task
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self.interval_s, self.flush)
            return
        self._held.pop(task.id, None)
        self._states[task.id] = task.state
        self.out.send(("event", "task_updated", (task,)))

    def flush(self) -> None:
        """Send the held progress updates now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held, self._held = self._held, {}
        for task in held.values():
            self.out.send(("event", "task_updated", (task,)))

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        self.out.send(("event", "task_event", (task_id, seq, kind, data)))

    def question(self, q: Question) -> None:
        info = (q.task_id, q.question_id, q.kind, q.question, q.options)
        self.out.send(("event", "question", info))


async def _call(runtime: Runtime, out: FrameBatcher, call_id: int, method: str,
                args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        if method not in WORKER_CALLS:
            raise CodetapError(f"the runtime worker has no call {method!r}")
        value = getattr(runtime, method)(*args, **kwargs)
        if asyncio.iscoroutine(value):
            value = await value
        if method == "pending_questions":
            value = [(q.task_id, q.question_id, q.kind, q.question, q.options) for q in value]
        out.send(("result", call_id, True, value))
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, typed
        out.send(("result", call_id, False, _exc_info(exc)))


def _exc_info(exc: Exception) -> tuple[str, str, dict[str, Any]]:
    attrs = {k: v for k, v in vars(exc).items() if isinstance(v, (int, str, float))}
    return f"{type(exc).__module__}.{type(exc).__qualname__}", str(exc), attrs


async def serve(fd: int) -> None:
    """Open the Runtime and serve the front process on socket ``fd`` until it closes."""
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock, limit=2**26)
    if await read_frame(reader) != ("go",):
        return  # the front did not get the daemon lock: another daemon owns the database
    try:
        config = Config.load()
        if config.worker_priority == "idle":
            _run_when_idle()
        _confine(config.worker_cpus)
        out = FrameBatcher(writer)
        forward = Forward(out)
        # The front process holds the daemon lock for both of them.
        from codetap import tracing
        tracing.configure(config)
        runtime = await Runtime.open(config, listeners=[forward], take_lock=False)
    except Exception as exc:  # noqa: BLE001 - reported to the front process, typed
        write_frame(writer, ("failed", _exc_info(exc)))
        # The front may already be gone: it loads the same config and reports the error.
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return
    write_frame(writer, ("ready",))
    if config.sandbox.mode != "off":
        # After "ready": probing runs bubblewrap once and must not delay the start.
        from codetap.tools.sandbox import describe
        line = await asyncio.to_thread(describe)
        (log.info if "NOT available" not in line else log.warning)("%s", line)
    calls: set[asyncio.Task[None]] = set()
    try:
        while (frame := await read_frame(reader)) is not None and frame[0] != "close":
            _, call_id, method, args, kwargs = frame
            task = asyncio.create_task(_call(runtime, out, call_id, method, args, kwargs))
            calls.add(task)
            task.add_done_callback(calls.discard)
    finally:
        await runtime.close()
        forward.flush()
        out.flush()
        write_frame(writer, ("closed",))
        await writer.drain()
        writer.close()


def _run_when_idle() -> None:
    """Switch this process (and the tools, git and language servers it starts, which
    inherit it) to ``SCHED_IDLE``: it runs only on CPU time no normal process wants
    (sched(7)), so a task working flat out does not take CPU time from the editor or the
    daemon's front. The kernel work it causes is not covered (see :func:`_confine`). Nice
    +10 alone still let 4 busy tasks triple the editor's p99 on a 2-core machine."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError) as exc:
        log.warning("cannot use SCHED_IDLE (%s); the worker keeps nice +%d", exc, WORKER_NICENESS)


def worker_cpus(spec: str | tuple[int, ...], allowed: set[int]) -> set[int]:
    """The CPUs the worker may run on, given ``[daemon] worker_cpus`` and the ``allowed``
    CPUs of the daemon (its affinity mask, sched_setaffinity(2)).

    ``"auto"``: all allowed CPUs but the lowest-numbered one, when there are at least two;
    that CPU is then never used by task work (tools, git, language servers), only by the
    user's programs and the daemon's front. ``"all"``: ``allowed``. A list: its CPUs that
    are allowed (all allowed CPUs if none is).
    """
    if isinstance(spec, str):
        if spec == "all" or len(allowed) < 2:
            return set(allowed)
        return set(allowed) - {min(allowed)}
    return (set(spec) & allowed) or set(allowed)


def _confine(spec: str | tuple[int, ...]) -> None:
    """Pin this process (and what it starts later: threads, tools, git, language servers)
    to :func:`worker_cpus`.

    SCHED_IDLE alone leaves the editor exposed to what it does not cover: kernel work done
    on behalf of tasks (process start and exit, file system writes) that a kernel without
    full preemption finishes before switching, and caches shared by a CPU's threads. Keeping
    one CPU free of task work removed most of the editor's extra p99 latency in
    ``bench/editor_latency.py`` on a 2-CPU machine (see docs/architecture.md).
    """
    try:
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, worker_cpus(spec, allowed))
    except (AttributeError, OSError) as exc:
        log.warning("cannot set the worker's CPU affinity (%s); it may use every CPU", exc)


def _die_with_parent() -> None:
    """Get SIGKILL when the daemon's front process dies (Linux ``PR_SET_PDEATHSIG``), and
    name the process ``codetap-worker`` (``PR_SET_NAME``, what ``ps -o comm`` shows).

    A daemon killed with ``kill -9`` must take its worker with it: the tasks are then
    ``interrupted`` and the next daemon resumes them, rather than two workers sharing the
    database.
    """
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols include libc
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # ``ps``/``pgrep`` tell the worker from the front (a forked worker shares its argv).
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(PROCESS_NAME))
    except (OSError, AttributeError):
        log.warning("cannot tie the worker's life to the daemon on this platform")
    if os.getppid() != parent:
        os._exit(1)


def run(fd: int) -> int:
    """Serve the front process on socket ``fd`` until it closes; the exit status."""
    logging.basicConfig(level=os.environ.get("CODETAP_LOG", "INFO"),
                        format="%(asctime)s %(levelname)s worker %(name)s: %(message)s")
    logging.getLogger("pygls").setLevel(logging.WARNING)
    install_log_filter()
    _die_with_parent()
    # Background work yields the CPU to the editor-facing process (and the user's editor).
    os.nice(WORKER_NICENESS)
    watch_children_by_pidfd()
    asyncio.run(serve(fd))
    return 0


def main() -> None:
    """``python -m codetap.daemon.worker FD``."""
    sys.exit(run(int(sys.argv[1])))


if __name__ == "__main__":
    main()
