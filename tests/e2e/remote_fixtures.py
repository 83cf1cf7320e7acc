"""Shared pieces of the remote-repository tests: upstream bare repositories, ``git daemon``
on loopback, scripted REST servers, a Runtime with a replay model and ``[git]`` settings."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import git, make_repo

from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.tasks.remote import GitSettings

CALC = "def add(a, b):\n    return a - b\n"
FIXED = CALC.replace("a - b", "a + b")
READ = {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]}
TOKEN = "ghp_remoteTestToken0123456789abcdef"


def fix_turns() -> list[dict[str, Any]]:
    """Replay turns: read and edit calc.py, print the environment, finish."""
    return [
        READ,
        {"tool_calls": [{"name": "edit", "arguments": {
            "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}}]},
        {"tool_calls": [{"name": "bash", "arguments": {"command": "env; git remote -v"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "add adds"}}]},
    ]


def upstream(tmp: Path, name: str = "owner/repo.git", files: dict[str, str] | None = None
             ) -> Path:
    """A bare repository ``tmp/srv/<name>`` with ``files`` (default calc.py) on main."""
    work = make_repo(tmp / f"work-{name.replace('/', '-')}", files or {"calc.py": CALC})
    bare = tmp / "srv" / name
    bare.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare


def push_commit(bare: Path, tmp: Path, branch: str, path: str, text: str) -> str:
    """Commit ``path`` = ``text`` on ``branch`` of ``bare`` (as another user would);
    the new commit id."""
    clone = tmp / f"other-{time.monotonic_ns()}"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True)
    git(clone, "checkout", "-q", "-B", branch, f"origin/{branch}")
    (clone / path).write_text(text)
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", f"change {path}")
    git(clone, "push", "-q", "origin", branch)
    return git(clone, "rev-parse", "HEAD").strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """``git daemon`` serving ``tmp_path/srv`` on loopback (receive-pack on); (base, port)."""
    base = tmp_path / "srv"
    base.mkdir(exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        ["git", "daemon", "--export-all", "--enable=receive-pack", f"--base-path={base}",
         f"--port={port}", "--reuseaddr", "--listen=127.0.0.1", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("git daemon did not start")
            time.sleep(0.02)
    yield base, port
    proc.kill()
    proc.wait()


@dataclass
class Recorded:
    """Requests seen by a scripted server: (method, raw path, headers, body)."""

    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def scripted() -> Iterator[tuple[Recorded, int, dict[str, Any]]]:
    """A loopback HTTP server answering per ``routes[(method, path)] = (status, json)``
    (404 otherwise), recording every request; (record, port, routes)."""
    rec, routes = Recorded(), {}

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(size) if size else b""
            rec.requests.append((self.command, self.path, dict(self.headers), body))
            status, payload = routes.get((self.command, self.path.split("?")[0]),
                                         (404, {"message": "Not Found"}))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec, server.server_address[1], routes
    server.shutdown()
    server.server_close()


async def open_runtime(tmp: Path, settings: GitSettings,
                       turns: list[dict[str, Any]] | None = None) -> Runtime:
    session = tmp / "session.jsonl"
    session.write_text("".join(json.dumps(t) + "\n" for t in (turns or fix_turns())))
    config = dataclasses.replace(
        Config.load(), default_model="replay", git=settings,
        models={"replay": ModelConfig("replay", "replay", path=str(session))})
    return await Runtime.open(config)
