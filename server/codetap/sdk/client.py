"""The SDK client: ``async with codetap.connect() as client`` (docs/sdk.md).

A :class:`Client` holds one connection to the per-user daemon (started if none runs) and
calls its ``codetap/*`` requests (ARCHITECTURE.md "Editor protocol"). It declares itself
a program, not an editor (``initializationOptions.codetap = {"events": true, "editor":
false}``): it receives every task's journal events and task updates, never diagnostics,
suggestions, progress or questions. :meth:`Client.events` survives a dropped connection
(daemon restarted, socket closed): it reconnects and resumes after the last ``seq`` it
yielded, so a reader sees every entry once, in order.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import subprocess
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlparse

from codetap.sdk.connection import Connection
from codetap.sdk.errors import ConnectionLost, DaemonUnreachable

if TYPE_CHECKING:
    from codetap.protocol.models import GcResult, TaskApplyResult, TaskInfo, WebhookDelivery
    from codetap.sdk.models import Event, TaskResult

RECONNECT_S = 30.0
OPTIONS = {"events": True, "editor": False}


def task_id(value: int | str) -> str:
    """The wire id of a task (``7``, ``"7"`` and ``"#7"`` all give ``"7"``)."""
    text = str(value).lstrip("#")
    if not text.isdigit():
        raise ValueError(f"{value!r} is not a task id (a number, e.g. 7)")
    return text


def _socket(socket: Path | None) -> Path:
    if socket is not None:
        return socket
    from codetap.daemon.paths import DaemonPaths
    return DaemonPaths.from_env().socket


class Client:
    """A connection to the codetap daemon. Use ``async with connect() as client``.

    ``socket``: the daemon's socket (default: the user's, see ``codetap daemon status``);
    ``start_daemon``: start the daemon when none runs (default True). Every method raises
    the daemon's errors as codetap's classes (TaskNotFound, InvalidTransition,
    ConfigError ...), and DaemonUnreachable when no daemon can be reached.
    """

    def __init__(self, socket: Path | None = None, *, start_daemon: bool = True) -> None:
        self.socket = _socket(socket)
        self.start_daemon = start_daemon
        self._conn: Connection | None = None
        self._events: dict[str, list[asyncio.Queue[dict[str, Any]]]] = {}
        self._updates: dict[str, list[asyncio.Queue[dict[str, Any]]]] = {}
        self._applying: set[str] = set()

    # -- connection ------------------------------------------------------------------
    async def connect(self) -> Client:
        """Open the connection (starting the daemon if allowed and needed)."""
        try:
            self._conn = await Connection.open(self.socket, OPTIONS, self._notified,
                                               self._requested)
        except DaemonUnreachable:
            if not self.start_daemon:
                raise
            await asyncio.to_thread(self._start)
            self._conn = await Connection.open(self.socket, OPTIONS, self._notified,
                                               self._requested)
        return self

    def _start(self) -> None:
        from codetap.daemon.control import start_detached
        from codetap.daemon.paths import DaemonPaths
        from codetap.errors import CodetapError
        try:
            start_detached(DaemonPaths(self.socket.parent))
        except CodetapError as exc:
            raise DaemonUnreachable(str(exc)) from None

    async def reconnect(self, timeout_s: float = RECONNECT_S) -> None:
        """Replace a lost connection, retrying for up to ``timeout_s`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        delay = 0.05
        while True:
            if self._conn is not None:
                await self._conn.close()
            try:
                await self.connect()
                return
            except DaemonUnreachable:
                if asyncio.get_running_loop().time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)  # back-off between attempts, not synchronisation
            delay = min(delay * 2, 1.0)

    async def close(self) -> None:
        """Close the connection; tasks keep running in the daemon."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Self:
        if self._conn is None:
            await self.connect()
        return self

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Send one ``codetap/*`` request; its raw JSON result."""
        if self._conn is None:
            raise ConnectionLost("the client is not connected")
        return await self._conn.request(method, params)

    def _notified(self, method: str, params: Any) -> None:
        if method == "codetap/task/event":
            subs = self._events.get(params.get("id"))
        elif method == "codetap/task/updated":
            subs = self._updates.get(params.get("id"))
        else:
            return
        for q in subs or ():
            q.put_nowait(params)

    async def _requested(self, method: str, params: Any) -> Any:
        if method == "workspace/applyEdit" and self._applying:
            from codetap.sdk.edits import apply_workspace_edit
            try:
                await asyncio.to_thread(apply_workspace_edit, params["edit"])
            except (OSError, ValueError, KeyError) as exc:
                return {"applied": False, "failureReason": str(exc)}
            return {"applied": True}
        if method == "workspace/applyEdit":
            return {"applied": False, "failureReason": "this client applies only its own apply"}
        raise ValueError(f"{method} is not handled by the codetap SDK")

    # -- tasks -----------------------------------------------------------------------
    async def start(self, intent: str, *, repo: str | Path | None = None,
                    model: str | None = None, workflow: str | None = None,
                    scope: dict[str, Any] | None = None, repo_url: str | None = None,
                    ref: str | None = None, push: bool | None = None,
                    pull_request: dict[str, Any] | bool | None = None,
                    branch: str | None = None,
                    webhook: dict[str, Any] | None = None, priority: int = 0) -> TaskInfo:
        """Start a task on the git repository at local path ``repo``, or on the remote
        repository ``repo_url`` (https, ssh, git or file URL) at ``ref`` (default: its
        default branch); its TaskInfo (queued). For a remote task ``push`` (default:
        ``[git] push``) pushes the task's branch when it is ready and ``pull_request``
        (True or ``{"title", "draft"}``) also opens a pull request; ``branch`` names the
        branch (default ``[git] branch_template``). ConfigError for an unknown model or
        workflow, WorkspaceError if ``repo`` is not a git repository or ``repo_url`` is not
        usable (clone failures end the task ``failed``). ``webhook``: the task's own
        webhook ``{"url", "secret", "interval_s"?, "events"?}`` (Standard Webhooks
        signed; ConfigError for a bad one). ``priority`` (-1000..1000, default 0): the
        scheduler admits higher first, FIFO within a priority; a task that waits says why
        in ``TaskInfo.waiting``."""
        from codetap.protocol.models import TaskInfo
        params: dict[str, Any] = {"intent": intent}
        if repo is not None:
            params["root_uri"] = Path(repo).resolve().as_uri()
        pr = {} if pull_request is True else (pull_request or None)
        for key, value in (("model", model), ("workflow", workflow), ("scope", scope),
                           ("repo_url", repo_url), ("ref", ref), ("push", push),
                           ("pull_request", pr), ("branch", branch), ("webhook", webhook),
                           ("priority", priority or None)):
            if value is not None:
                params[key] = value
        return TaskInfo.model_validate(await self.call("codetap/task/start", params))

    async def webhooks(self, *, dead: bool = False, limit: int = 100
                       ) -> builtins.list[WebhookDelivery]:
        """Webhook messages in the outbox, newest first (only dead-lettered ones with
        ``dead``)."""
        from codetap.protocol.models import WebhooksListResult
        raw = await self.call("codetap/webhooks/list", {"dead": dead, "limit": limit})
        return WebhooksListResult.model_validate(raw).deliveries

    async def redeliver_webhook(self, id: int | str) -> WebhookDelivery:
        """Send webhook message ``id`` (row id or webhook-id) again with the same
        webhook-id, from the start of the retry schedule."""
        from codetap.protocol.models import WebhookDelivery
        raw = await self.call("codetap/webhooks/redeliver", {"id": str(id)})
        return WebhookDelivery.model_validate(raw)

    async def get(self, id: int | str) -> TaskInfo:
        """The task; TaskNotFound if there is none with this id."""
        return await self._info("codetap/task/get", {"id": task_id(id)})

    async def list(self, *, repo: str | Path | None = None,
                   states: Sequence[str] | None = None,
                   parent_id: int | str | None = None) -> builtins.list[TaskInfo]:
        """Tasks newest first, optionally only of ``repo``, in ``states``, and sub-tasks
        of ``parent_id``."""
        from codetap.protocol.models import TaskListResult
        params: dict[str, Any] = {}
        if repo is not None:
            params["root_uri"] = Path(repo).resolve().as_uri()
        if states is not None:
            params["states"] = list(states)
        if parent_id is not None:
            params["parent_id"] = task_id(parent_id)
        return TaskListResult.model_validate(await self.call("codetap/task/list", params)).tasks

    async def children(self, id: int | str) -> builtins.list[TaskInfo]:
        """The sub-tasks of task ``id`` (a team workflow's fan-out), oldest first; each
        names its ``role`` and the plan's ``subtask``. TaskNotFound for an unknown id."""
        await self.get(id)
        return builtins.list(reversed(await self.list(parent_id=id)))

    async def _info(self, method: str, params: dict[str, Any]) -> TaskInfo:
        from codetap.protocol.models import TaskInfo
        return TaskInfo.model_validate(await self.call(method, params))

    async def answer(self, id: int | str, text: str) -> TaskInfo:
        """Answer the task's pending question or approval; InvalidTransition if it has none."""
        return await self._info("codetap/answer", {"id": task_id(id), "answer": text})

    async def gc(self, days: float, *, include_unreviewed: bool = False,
                 dry_run: bool = False) -> GcResult:
        """Prune tasks that ended more than ``days`` days ago (worktree, branch, journal);
        ready tasks nobody reviewed are listed in ``unreviewed`` and kept unless
        ``include_unreviewed``; ``dry_run`` only reports."""
        from codetap.protocol.models import GcResult
        return GcResult.model_validate(await self.call("codetap/gc", {
            "days": days, "include_unreviewed": include_unreviewed, "dry_run": dry_run}))

    async def message(self, id: int | str, text: str) -> TaskInfo:
        """Send a follow-up message to a finished task: its conversation and branch go on."""
        return await self._info("codetap/task/message", {"id": task_id(id), "text": text})

    async def cancel(self, id: int | str) -> TaskInfo:
        """Cancel an active or paused task."""
        return await self._info("codetap/task/cancel", {"id": task_id(id)})

    async def pause(self, id: int | str) -> TaskInfo:
        """Pause an active task (resume continues from its last checkpoint)."""
        return await self._info("codetap/task/pause", {"id": task_id(id)})

    async def resume(self, id: int | str) -> TaskInfo:
        """Resume a paused, interrupted or failed task."""
        return await self._info("codetap/task/resume", {"id": task_id(id)})

    async def discard(self, id: int | str) -> TaskInfo:
        """Discard a ready task's change."""
        return await self._info("codetap/task/discard", {"id": task_id(id)})

    async def rollback(self, id: int | str, step: int) -> TaskInfo:
        """Reset the task to the checkpoint of ``step`` (0: the start); it is left paused."""
        return await self._info("codetap/task/rollback", {"id": task_id(id), "step": step})

    async def push(self, id: int | str, pull_request: Mapping[str, Any] | bool = False
                   ) -> TaskInfo:
        """Push a ready remote task's branch now; with ``pull_request`` (True or
        ``{title?, draft?}``) open its pull request too. A rejected push or host error
        is in the returned task's ``error``; InvalidTransition for a task
        that is not ready or works on a local repository."""
        params: dict[str, Any] = {"id": task_id(id)}
        if pull_request:
            params["pull_request"] = dict(pull_request) if isinstance(pull_request, Mapping) \
                else {}
        return await self._info("codetap/task/push", params)

    async def apply(self, id: int | str) -> TaskApplyResult:
        """Three-way merge a ready task's change onto the files on disk: clean hunks are
        written, hunks that overlap the user's own edits are counted as ``conflicts`` and
        left alone. The task becomes ``applied`` when nothing is left."""
        from codetap.protocol.models import TaskApplyResult
        tid = task_id(id)
        self._applying.add(tid)
        try:
            raw = await self.call("codetap/task/apply", {"id": tid})
        finally:
            self._applying.discard(tid)
        return TaskApplyResult.model_validate(raw)

    async def event(self, id: int | str, seq: int) -> Event:
        """The journal entry ``seq`` of the task, whole."""
        raw = await self.call("codetap/task/eventData", {"id": task_id(id), "seq": seq})
        return self._event(raw)

    def _event(self, raw: dict[str, Any]) -> Event:
        from codetap.sdk.models import Event
        ev = Event.model_validate(raw)
        ev._client = self
        return ev

    async def diff(self, id: int | str) -> str:
        """The task's change as a unified diff (base -> its branch), "" when none."""
        info = await self.get(id)
        root = unquote(urlparse(info.root_uri).path)
        proc = await asyncio.to_thread(
            subprocess.run, ["git", "-C", root, "diff", info.base_commit, info.branch, "--"],
            capture_output=True, text=True, check=False)
        return proc.stdout if proc.returncode == 0 else ""

    async def result(self, id: int | str) -> TaskResult:
        """The task as a :class:`TaskResult` (its diff included)."""
        from codetap.sdk.models import TaskResult
        info = await self.get(id)
        return TaskResult(id=info.id, state=info.state, summary=info.summary,
                          diff=await self.diff(id), usage=info.usage, error=info.error,
                          verification=info.verification.model_dump()
                          if info.verification else None)

    # -- following -------------------------------------------------------------------
    async def wait(self, id: int | str, *, until: Collection[str] | None = None) -> TaskInfo:
        """Wait until the task is in one of ``until`` (default: an end state: ready, failed,
        cancelled, applied, discarded); its TaskInfo then. Survives daemon restarts."""
        from codetap.sdk.models import END_STATES
        tid, want = task_id(id), set(until or END_STATES)
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._updates.setdefault(tid, []).append(q)
        try:
            while True:
                try:
                    info = await self.get(tid)
                    while info.state not in want:
                        info = await self._next(q, lambda raw: self._parse_info(raw))
                    return info
                except ConnectionLost:
                    await self.reconnect()
        finally:
            self._updates[tid].remove(q)

    def _parse_info(self, raw: dict[str, Any]) -> TaskInfo:
        from codetap.protocol.models import TaskInfo
        return TaskInfo.model_validate(raw)

    async def _next(self, q: asyncio.Queue[dict[str, Any]], parse: Any) -> Any:
        """The next queued notification, parsed; ConnectionLost if the connection drops."""
        if not q.empty():
            return parse(q.get_nowait())
        conn = self._conn
        if conn is None:
            raise ConnectionLost("not connected")
        getter = asyncio.ensure_future(q.get())
        lost = asyncio.ensure_future(conn.closed.wait())
        try:
            await asyncio.wait({getter, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return parse(getter.result())
        raise ConnectionLost("the connection to the codetap daemon closed")

    async def events(self, id: int | str, *, after: int = 0, follow: bool = True,
                     until: Collection[str] | None = None) -> AsyncIterator[Event]:
        """The task's journal entries with ``seq > after``, in order: first those already
        written, then (``follow``) live ones until the task reaches a state of ``until``
        (default: an end state). A dropped connection is re-opened (the daemon restarted if
        needed) and the stream resumes after the last ``seq`` yielded: no gaps, no
        duplicates. Entries over 64 KiB arrive ``partial`` (see :meth:`Event.full`)."""
        from codetap.sdk.models import END_STATES
        tid, stop = task_id(id), set(until or END_STATES)
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._events.setdefault(tid, []).append(q)
        last, last_state = after, None
        try:
            while True:
                try:
                    more = True
                    while more:
                        page = await self.call("codetap/task/events", {"id": tid, "after": last})
                        for raw in page["events"]:
                            ev = self._event(raw)
                            last = ev.seq
                            if ev.kind == "state":
                                last_state = ev.data.get("to")
                            yield ev
                        more = bool(page.get("more"))
                    if not follow:
                        return
                    info = await self.get(tid)
                    if info.state in stop and last_state in (None, info.state):
                        return
                    while True:
                        raw = await self._next(q, lambda r: r)
                        if raw["seq"] <= last:
                            continue
                        if raw["seq"] > last + 1:
                            break  # a gap: read it from the journal
                        ev = self._event(raw)
                        last = ev.seq
                        yield ev
                        if ev.kind == "state" and ev.data.get("to") in stop:
                            return
                except ConnectionLost:
                    await self.reconnect()
        finally:
            self._events[tid].remove(q)


@contextlib.asynccontextmanager
async def connect(socket: Path | None = None, *, start_daemon: bool = True
                  ) -> AsyncIterator[Client]:
    """``async with codetap.connect() as client``: a connected :class:`Client` (the daemon
    started when none runs, unless ``start_daemon`` is False), closed at the end."""
    client = Client(socket, start_daemon=start_daemon)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()
