"""An LSP client talking to one language server subprocess over stdio.

Built on pygls 2.1's :class:`pygls.lsp.client.LanguageClient` (JSON-RPC framing and
lsprotocol (de)serialisation); this module owns the process: it starts it in its own
process group with stderr drained, notices its exit, fails pending requests, answers the
server's requests (LSP 3.17: ``workspace/configuration``, ``window/workDoneProgress/create``,
``client/registerCapability``, ``workspace/workspaceFolders``) and keeps what the server
pushes (``$/progress`` -> :class:`Readiness`, ``window/logMessage`` -> ring buffer,
``textDocument/publishDiagnostics`` -> per-URI store).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.io_ import run_async
from pygls.lsp.client import LanguageClient

from codetap.pool.capabilities import client_capabilities
from codetap.pool.errors import RequestFailed, ServerCrashed
from codetap.pool.positions import split_lines
from codetap.pool.readiness import Readiness
from codetap.pool.specs import ServerSpec
from codetap.tools.environment import scrubbed_env

log = logging.getLogger(__name__)


@dataclass(slots=True)
class OpenDocument:
    """A file as last sent to the server: uri, version, (mtime_ns, size) stamp, lines,
    and ``sent_at`` (monotonic seconds)."""

    uri: str
    version: int
    stamp: tuple[int, int]
    lines: list[str]
    sent_at: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class PublishedDiagnostics:
    """The last ``textDocument/publishDiagnostics`` for a URI (version may be None)."""

    version: int | None
    diagnostics: list[lsp.Diagnostic]
    received_at: float


class LspClient:
    """One running language server for one workspace root.

    Lifecycle: :meth:`start` (spawn, ``initialize``, ``initialized``), then :meth:`request`
    / :meth:`sync_file`, then :meth:`shutdown` (``shutdown`` + ``exit``, then kill).
    ``exited`` is set when the process is gone for any reason.
    """

    def __init__(self, spec: ServerSpec, root: Path, argv: list[str], *, log_lines: int = 200,
                 env_passthrough: Sequence[str] = ()):
        self.spec = spec
        self.root = root
        self.argv = argv
        self.env_passthrough = tuple(env_passthrough)
        self.log: collections.deque[str] = collections.deque(maxlen=log_lines)
        self.diagnostics: dict[str, PublishedDiagnostics] = {}
        self.readiness = Readiness(spec.ready_log_pattern, spec.quiet_s)
        self.capabilities: lsp.ServerCapabilities | None = None
        self.exited = asyncio.Event()
        self.last_used = time.monotonic()
        self.started_at = 0.0
        self._proc: asyncio.subprocess.Process | None = None
        self._docs: dict[str, OpenDocument] = {}
        self._doc_lock = asyncio.Lock()
        self._diag_event = asyncio.Event()
        self._stop = threading.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._ids = itertools.count(1)
        self._lc = LanguageClient("codetap", "0.1.0")
        self._register_handlers()

    # -- process -----------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The server's process id (None before start)."""
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self._proc is not None and not self.exited.is_set()

    def process_gone(self) -> bool:
        """Ask the OS whether the process has died (before asyncio has noticed).

        A wrapper launcher killed alone leaves the real server answering on its pipes;
        the pool treats that as a crash rather than talking to an orphan.
        """
        if self._proc is None or self.exited.is_set():
            return True
        try:
            return bool(psutil.Process(self._proc.pid).status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True

    @property
    def returncode(self) -> int | None:
        """Exit status once exited (negative: killed by that signal)."""
        return self._proc.returncode if self._proc else None

    async def start(self, timeout_s: float = 60.0) -> None:
        """Spawn the server and run the initialize handshake.

        Raises ServerCrashed if the process exits or does not answer ``initialize`` within
        ``timeout_s`` seconds; OSError if it cannot be spawned.
        """
        # the same scrubbed environment as tool processes (issue 15): no API keys
        env = {**scrubbed_env(self.env_passthrough), **self.spec.env}
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.root,
            env=env,
            start_new_session=True,  # own process group: wrappers spawn the real server
        )
        self.started_at = time.monotonic()
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self._lc.protocol.set_writer(self._proc.stdin)
        self._tasks = [
            asyncio.create_task(self._read_loop(self._proc.stdout)),
            asyncio.create_task(self._drain_stderr(self._proc.stderr)),
            asyncio.create_task(self._watch_exit()),
        ]
        params = lsp.InitializeParams(
            process_id=os.getpid(),
            client_info=lsp.ClientInfo(name="codetap", version="0.1.0"),
            root_uri=self.root.as_uri(),
            root_path=str(self.root),
            workspace_folders=[lsp.WorkspaceFolder(uri=self.root.as_uri(), name=self.root.name)],
            capabilities=client_capabilities(),
            initialization_options=self.spec.initialization_options,
        )
        try:
            result = await self.request(lsp.INITIALIZE, params, timeout_s=timeout_s)
        except (RequestFailed, ServerCrashed) as exc:
            await self.kill()
            raise ServerCrashed(f"{self.spec.name} failed to initialize: {exc}") from None
        self.capabilities = result.capabilities
        self._lc.protocol.notify(lsp.INITIALIZED, lsp.InitializedParams())
        self.readiness.last_activity = time.monotonic()
        # Settings pushed as well as pulled: some servers never ask workspace/configuration.
        if self.spec.settings:
            self.notify(
                lsp.WORKSPACE_DID_CHANGE_CONFIGURATION,
                lsp.DidChangeConfigurationParams(settings=dict(self.spec.settings)),
            )

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            await run_async(stop_event=self._stop, reader=reader, protocol=self._lc.protocol)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:  # a malformed frame must not leave requests hanging
            log.exception("%s: reading from the server failed", self.spec.name)
            await self.kill()

    async def _drain_stderr(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            self.log.append("stderr: " + line.decode("utf-8", "replace").rstrip())

    async def _watch_exit(self) -> None:
        assert self._proc is not None
        code = await self._proc.wait()
        self._kill_group(signal.SIGKILL)
        self._stop.set()
        reason = f"{self.spec.name} (pid {self._proc.pid}) exited with status {code}"
        if not self._closing:
            log.warning("%s", reason)
            self.log.append(reason)
        for future in list(self._lc.protocol._request_futures.values()):
            if not future.done():
                future.set_exception(ServerCrashed(reason))
        self.exited.set()
        self._diag_event.set()

    def _kill_group(self, sig: int) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    async def kill(self) -> None:
        """SIGKILL the server's process group and wait for the exit to be noticed."""
        self._closing = True
        self._kill_group(signal.SIGKILL)
        if self._proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), 5)

    async def shutdown(self, timeout_s: float = 3.0) -> None:
        """Polite stop (LSP ``shutdown`` then ``exit``), then kill after ``timeout_s``."""
        self._closing = True
        if self.alive:
            with contextlib.suppress(Exception):
                await self.request(lsp.SHUTDOWN, None, timeout_s=timeout_s)
                self.notify(lsp.EXIT, None)
                await asyncio.wait_for(self.exited.wait(), timeout_s)
        await self.kill()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def rss_bytes(self) -> int:
        """Resident memory of the server and all its child processes, in bytes."""
        if not self.alive or self._proc is None:
            return 0
        try:
            root = psutil.Process(self._proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    # -- messages ----------------------------------------------------------------------

    async def request(self, method: str, params: Any, *, timeout_s: float = 30.0) -> Any:
        """Send request ``method`` and await its (lsprotocol-typed) result.

        Raises ServerCrashed if the server is gone or dies meanwhile, RequestFailed on an
        error response or when ``timeout_s`` passes (the request is then cancelled).
        """
        if self._proc is None or self.exited.is_set():
            raise ServerCrashed(f"{self.spec.name} is not running")
        self.last_used = time.monotonic()
        # String ids: pygls files the server's own (integer) request ids in the same table.
        msg_id = f"codetap-{next(self._ids)}"
        future = self._lc.protocol.send_request(method, params, msg_id=msg_id)
        self.readiness.inflight += 1
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
        except TimeoutError:
            if self.alive:
                self.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id=msg_id))
            raise RequestFailed(f"{self.spec.name}: {method} timed out after {timeout_s:g} s")
        except JsonRpcException as exc:
            if self.exited.is_set():
                raise ServerCrashed(f"{self.spec.name} exited during {method}") from None
            raise RequestFailed(f"{self.spec.name}: {method} failed: {exc}") from None
        finally:
            self.readiness.inflight -= 1

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (dropped silently when the server is gone)."""
        if self.alive:
            self._lc.protocol.notify(method, params)

    def _register_handlers(self) -> None:
        feature: Callable[[str], Callable[[Callable[..., Any]], object]] = self._lc.feature

        def configuration(params: lsp.ConfigurationParams) -> list[Any]:
            return [self.spec.setting(item.section) for item in params.items]

        def progress_create(params: lsp.WorkDoneProgressCreateParams) -> None:
            return None

        def register(params: lsp.RegistrationParams) -> None:
            return None

        def unregister(params: lsp.UnregistrationParams) -> None:
            return None

        def folders(params: None) -> list[lsp.WorkspaceFolder]:
            return [lsp.WorkspaceFolder(uri=self.root.as_uri(), name=self.root.name)]

        def show_message_request(params: lsp.ShowMessageRequestParams) -> None:
            self.log.append(f"showMessageRequest: {params.message}")

        def progress(params: lsp.ProgressParams) -> None:
            value = params.value
            kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
            self.readiness.on_progress(params.token, kind)

        def log_message(params: lsp.LogMessageParams) -> None:
            self.log.append(params.message)
            self.readiness.on_log(params.message)

        def show_message(params: lsp.ShowMessageParams) -> None:
            self.log.append(params.message)

        def diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
            self.diagnostics[params.uri] = PublishedDiagnostics(
                params.version, list(params.diagnostics), time.monotonic()
            )
            self._diag_event.set()

        feature(lsp.WORKSPACE_CONFIGURATION)(configuration)
        feature(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE)(progress_create)
        feature(lsp.CLIENT_REGISTER_CAPABILITY)(register)
        feature(lsp.CLIENT_UNREGISTER_CAPABILITY)(unregister)
        feature(lsp.WORKSPACE_WORKSPACE_FOLDERS)(folders)
        feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)(show_message_request)
        feature(lsp.PROGRESS)(progress)
        feature(lsp.WINDOW_LOG_MESSAGE)(log_message)
        feature(lsp.WINDOW_SHOW_MESSAGE)(show_message)
        feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(diagnostics)

    # -- documents ---------------------------------------------------------------------

    async def sync_file(self, path: Path, language_id: str) -> OpenDocument:
        """Make the server see ``path``'s current disk contents.

        ``didOpen`` the first time, ``didChange`` with the full text when its mtime or size
        changed since. Returns the document as sent. Raises OSError if unreadable.
        """
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        uri = path.as_uri()
        async with self._doc_lock:
            doc = self._docs.get(uri)
            if doc is not None and doc.stamp == stamp:
                return doc
            text = path.read_bytes().decode("utf-8", "replace")
            if doc is None:
                doc = OpenDocument(uri, 1, stamp, split_lines(text))
                self.notify(
                    lsp.TEXT_DOCUMENT_DID_OPEN,
                    lsp.DidOpenTextDocumentParams(
                        lsp.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)
                    ),
                )
            else:
                doc = OpenDocument(uri, doc.version + 1, stamp, split_lines(text))
                self.notify(
                    lsp.TEXT_DOCUMENT_DID_CHANGE,
                    lsp.DidChangeTextDocumentParams(
                        text_document=lsp.VersionedTextDocumentIdentifier(
                            uri=uri, version=doc.version
                        ),
                        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
                    ),
                )
            self._docs[uri] = doc
            return doc

    async def wait_diagnostics(
        self, doc: OpenDocument, timeout_s: float
    ) -> PublishedDiagnostics | None:
        """Diagnostics for ``doc`` at its version (or, from servers that send no version,
        received after it was sent); None if none came within ``timeout_s`` seconds.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            got = self.diagnostics.get(doc.uri)
            if got is not None and (
                (got.version is not None and got.version >= doc.version)
                or (got.version is None and got.received_at >= doc.sent_at)
            ):
                return got
            left = deadline - time.monotonic()
            if left <= 0 or self.exited.is_set():
                return None
            self._diag_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._diag_event.wait(), left)
