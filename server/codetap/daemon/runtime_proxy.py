"""The Runtime as the daemon's editor-facing process sees it: a proxy to the worker.

:class:`RemoteRuntime` has the :class:`~codetap.runtime.Runtime` API. Commands travel to the
runtime worker process (``codetap.daemon.worker``); queries (``get_task``, ``list_tasks``)
are answered from a read-only connection to the same database (WAL lets it read while the
worker writes), so they never wait behind running tasks. Listener callbacks arrive as
frames and are delivered on this process's event loop. A worker that dies is restarted
(its tasks resume as ``interrupted`` ones do).
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import logging
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codetap.config import Config
from codetap.daemon import prelaunch
from codetap.daemon.frames import frame_bytes, read_frame, write_frame
from codetap.errors import CodetapError
from codetap.store import Store
from codetap.types import JSON, TaskState

if TYPE_CHECKING:
    from codetap.runtime import FileChange, Question, Runtime, RuntimeListener, TaskRecord
    from codetap.runtime_api import RuntimeAPI
    from codetap.tasks.gc import GcResult

    def _both_implement_it(local: Runtime, remote: RemoteRuntime) -> list[RuntimeAPI]:
        """mypy checks here that both runtimes implement the whole seam."""
        return [local, remote]

log = logging.getLogger(__name__)
RESTART_LIMIT = 5


class WorkerGone(CodetapError):
    """The runtime worker process exited while a call was in flight."""


class RemoteRuntime:
    """Proxy to the runtime worker. ``await RemoteRuntime.start(config)``; ``await close()``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._listeners: list[RuntimeListener] = []
        self._questions: dict[int, Question] = {}
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._reader: Store | None = None
        self._proc: prelaunch.WorkerProcess | None = None
        self._front_sock: socket.socket | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._closing = False
        self._restarts = 0
        self._clients = 0
        from codetap.waits import Board
        self._waits = Board()
        self._listeners.append(self._waits)

    @classmethod
    async def start(cls, config: Config) -> RemoteRuntime:
        """Start the worker and wait until its Runtime is open (its errors propagate)."""
        rt = cls(config)
        await rt.launch()
        await rt.ready()
        return rt

    async def launch(self) -> None:
        """Start the worker process without waiting for it (then call :meth:`ready`)."""
        early = prelaunch.take()
        if early is not None:
            self._proc, self._front_sock = early
        else:
            self._proc, self._front_sock = prelaunch.spawn_worker()
            self._front_sock.sendall(frame_bytes(("go",)))

    async def ready(self) -> None:
        """Wait until the launched worker's Runtime is open; its start errors propagate."""
        await self._handshake()
        self._reader = await Store.open_readonly(self.config.db_path,
                                                  url=self.config.store_url)
        await self._sync_questions()

    async def _spawn(self) -> None:
        await self.launch()
        await self._handshake()

    async def _handshake(self) -> None:
        assert self._proc is not None and self._front_sock is not None
        reader, self._writer = await asyncio.open_unix_connection(sock=self._front_sock,
                                                                  limit=2**26)
        first = await read_frame(reader)
        while first is not None and first[0] == "event":  # recovery news, sent before ready
            self._dispatch(first[1], first[2])
            first = await read_frame(reader)
        if first is None or first[0] != "ready":
            await asyncio.to_thread(self._proc.wait)
            if first is not None and first[0] == "failed":
                raise rebuild_error(first[1])
            raise CodetapError(f"the runtime worker exited at start (status {self._proc.returncode})")
        self._pump = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while (frame := await read_frame(reader)) is not None:
            if frame[0] == "result":
                fut = self._pending.pop(frame[1], None)
                if fut is not None and not fut.done():
                    ok, value = frame[2], frame[3]
                    fut.set_result(value) if ok else fut.set_exception(rebuild_error(value))
            elif frame[0] == "event":
                self._dispatch(frame[1], frame[2])
                # Let editor requests that arrived meanwhile run between events: a busy
                # worker sends them in bursts, and reading a buffered frame never yields.
                await asyncio.sleep(0)
            elif frame[0] == "closed":
                break
        if self._writer is not None:
            # No call may go to the dead worker's socket while a new one starts.
            self._writer.close()
            self._writer = None
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(WorkerGone("the runtime worker exited; try again"))
        self._pending.clear()
        if not self._closing:
            await self._restart()

    async def _restart(self) -> None:
        self._restarts += 1
        if self._restarts > RESTART_LIMIT:
            log.error("runtime worker died %d times; not restarting", self._restarts)
            return
        log.error("runtime worker exited (status %s); restarting", self._proc and self._proc.poll())
        await asyncio.sleep(min(0.2 * 2 ** self._restarts, 5.0))
        # The old worker's questions died with it; resumed tasks ask again.
        self._questions.clear()
        try:
            await self._spawn()
            await self.call("set_clients", self._clients)
            await self._sync_questions()
        except CodetapError:
            log.exception("runtime worker restart failed")

    async def _sync_questions(self) -> None:
        """Mirror the questions the worker asked before it reported them (e.g. by tasks
        resumed while it opened), and tell the listeners about the new ones."""
        for info in await self.call("pending_questions"):
            q = self._question(tuple(info))
            known = self._questions.get(q.task_id)
            if known is None or known.question_id != q.question_id:
                self._dispatch("question", (q,))

    def _dispatch(self, method: str, args: tuple[Any, ...]) -> None:
        if method == "question":
            from codetap.runtime import Question
            q = args[0] if isinstance(args[0], Question) else self._question(args)
            self._questions[q.task_id] = q
            for listener in list(self._listeners):
                listener.question(q)
            return
        if method == "task_updated" and args[0].state is not TaskState.WAITING:
            self._questions.pop(args[0].id, None)
        for listener in list(self._listeners):
            getattr(listener, method)(*args)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``Runtime.<method>(*args, **kwargs)`` in the worker (``method`` one of
        :data:`codetap.runtime_api.WORKER_CALLS`); its result, or its exception rebuilt
        as the same CodetapError subclass. WorkerGone if the worker is not running."""
        if self._writer is None or self._writer.is_closing():
            raise WorkerGone("the runtime worker is not running")
        call_id = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[call_id] = fut
        write_frame(self._writer, ("call", call_id, method, args, kwargs))
        return await fut

    async def set_clients(self, count: int) -> None:
        """Tell the worker how many clients are attached (remembered for its restarts)."""
        self._clients = count
        try:
            await self.call("set_clients", count)
        except WorkerGone:
            pass  # replayed to the next worker when it starts

    # -- RuntimeAPI: commands go to the worker, row reads come from the read-only store --

    async def diff(self, task_id: int) -> str:
        result: str = await self.call("diff", task_id)
        return result

    async def file_changes(self, task_id: int) -> list[FileChange]:
        result: list[FileChange] = await self.call("file_changes", task_id)
        return result

    async def start_task(self, intent: str, root: Path | None, *, scope: JSON | None = None,
                         model: str | None = None, workflow: str | None = None,
                         overlay: Mapping[Path, str] | None = None,
                         repo: Mapping[str, Any] | None = None, push: bool | None = None,
                         pull_request: Mapping[str, Any] | bool | None = None,
                         branch: str | None = None,
                         webhook: Mapping[str, Any] | None = None,
                         priority: int = 0) -> TaskRecord:
        pr = dict(pull_request) if isinstance(pull_request, Mapping) else pull_request
        return await self._task("start_task", intent, root, scope=scope, model=model,
                                workflow=workflow, overlay=dict(overlay or {}),
                                repo=dict(repo) if repo else None, push=push,
                                pull_request=pr, branch=branch,
                                webhook=dict(webhook) if webhook else None,
                                priority=priority)

    async def webhook_deliveries(self, dead: bool = False, limit: int = 100) -> list[JSON]:
        result: list[JSON] = await self.call("webhook_deliveries", dead, limit)
        return result

    async def redeliver_webhook(self, ref: str) -> JSON:
        result: JSON = await self.call("redeliver_webhook", ref)
        return result

    async def cancel(self, task_id: int) -> TaskRecord:
        return await self._task("cancel", task_id)

    async def pause(self, task_id: int) -> TaskRecord:
        return await self._task("pause", task_id)

    async def resume(self, task_id: int) -> TaskRecord:
        return await self._task("resume", task_id)

    async def discard(self, task_id: int) -> TaskRecord:
        return await self._task("discard", task_id)

    async def mark_applied(self, task_id: int) -> TaskRecord:
        return await self._task("mark_applied", task_id)

    async def rollback(self, task_id: int, step: int) -> TaskRecord:
        return await self._task("rollback", task_id, step)

    async def gc(self, older_than_days: float, include_unreviewed: bool = False,
                 dry_run: bool = False) -> GcResult:
        result: GcResult = await self.call("gc", older_than_days, include_unreviewed, dry_run)
        return result

    async def message(self, task_id: int, text: str) -> TaskRecord:
        return await self._task("message", task_id, text)

    async def answer(self, task_id: int, answer: str) -> TaskRecord:
        return await self._task("answer", task_id, answer)

    async def push(self, task_id: int,
                   pull_request: Mapping[str, Any] | bool | None = None) -> TaskRecord:
        return await self._task("push", task_id,
                                dict(pull_request) if isinstance(pull_request, Mapping)
                                else pull_request)

    async def set_suggestion_status(self, task_id: int,
                                    rows: Sequence[tuple[str, str, str, JSON]]) -> None:
        await self.call("set_suggestion_status", task_id, list(rows))

    async def suggestion_statuses(self, task_id: int) -> dict[str, str]:
        result: dict[str, str] = await self.call("suggestion_statuses", task_id)
        return result

    async def _task(self, method: str, *args: Any, **kwargs: Any) -> TaskRecord:
        result: TaskRecord = await self.call(method, *args, **kwargs)
        return result

    @property
    def worker_pid(self) -> int | None:
        """Process id of the current runtime worker (None before it started)."""
        return self._proc.pid if self._proc is not None else None

    def subscribe(self, listener: RuntimeListener) -> Callable[[], None]:
        """Register ``listener`` (called on this loop); returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _question(self, info: tuple[Any, ...]) -> Question:
        from codetap.runtime import Question
        task_id, question_id, kind, question, options = info
        # Worker-local ids restart at 1 with each worker: qualify them with its pid.
        pid = self._proc.pid if self._proc is not None else 0
        return Question(task_id, f"{pid}:{question_id}", kind, question, options)

    def waiting_reason(self, task: TaskRecord) -> str | None:
        """Why the task waits, from the worker's journal entries (:mod:`codetap.waits`)."""
        return self._waits.reason(task)

    def pending_questions(self) -> list[Question]:
        """Questions the worker asked that are still unanswered (as last reported)."""
        return list(self._questions.values())

    async def get_task(self, task_id: int) -> TaskRecord:
        assert self._reader is not None
        return await self._reader.get_task(task_id)

    async def list_tasks(self, root: Path | None = None,
                         states: Sequence[TaskState] | None = None) -> list[TaskRecord]:
        assert self._reader is not None
        return await self._reader.list_tasks(root.resolve() if root else None, states)

    async def close(self) -> None:
        """Close the worker's Runtime (running tasks become interrupted) and wait for it."""
        self._closing = True
        if self._writer is not None and not self._writer.is_closing():
            write_frame(self._writer, ("close",))
            await self._writer.drain()
        if self._pump is not None:
            await asyncio.wait({self._pump}, timeout=30)
        if self._proc is not None and self._proc.poll() is None:
            try:
                await asyncio.to_thread(self._proc.wait, 10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._reader is not None:
            await self._reader.close()


def rebuild_error(info: tuple[str, str, dict[str, Any]]) -> Exception:
    """The worker's exception ``(qualified class name, message, simple attributes)``
    rebuilt as the same :class:`CodetapError` subclass; anything else (a bug in the
    worker) becomes a plain CodetapError that names the original class."""
    path, message, attrs = info
    module, _, name = path.rpartition(".")
    cls: Any = None
    if module == "codetap" or module.startswith("codetap."):
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            cls = None
    if not (isinstance(cls, type) and issubclass(cls, CodetapError)):
        return CodetapError(f"internal error in the runtime worker: {name}: {message}")
    exc: Exception = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.__dict__.update(attrs)
    return exc
