"""Shared pieces of the Ray executor tests and bench: a scripted OpenAI-compatible model on
loopback (the same conversation for every task, chosen statelessly by turn index so a task
resumed on another node gets the right turn; an optional hold at one turn; a fixed delay
per turn), a 3-node Ray cluster on this machine, and a head Runtime with ``[executor] kind
= "ray"`` on a shared store."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from codetap.config import Config
from codetap.executor.settings import ExecutorSettings
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.tasks.remote import GitSettings

CALC = "def add(a, b):\n    return a - b\n"
TURNS: list[dict[str, Any]] = [
    {"name": "read", "arguments": {"path": "calc.py"}},
    {"name": "edit", "arguments": {"path": "calc.py", "old_string": "return a - b",
                                   "new_string": "return a + b"}},
    # The effect: run once, a second run would add a second line to the diff.
    {"name": "bash", "arguments": {"command": "echo once >> effects.log"}},
    {"name": "write", "arguments": {"path": "done.txt", "content": "done\n"}},
    {"name": "finish", "arguments": {"summary": "add adds"}},
]
HOLD_TURN = 3
_TASK = re.compile(r"job-(\d+)")


class ScriptedModel:
    """``with ScriptedModel(delay_s) as model``: ``model.url`` serves Chat Completions.
    ``requests[(job, turn)]`` counts requests; ``hold()`` makes requests for
    ``HOLD_TURN`` wait until ``release()``; ``held`` lists the jobs waiting there."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.requests: Counter[tuple[int, int]] = Counter()
        self.held: set[int] = set()
        self._gate = threading.Event()
        self._gate.set()
        self._lock = threading.Lock()
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.answer(self, body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._gate.set()
        self.server.shutdown()
        self.server.server_close()

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        messages = body["messages"]
        first = next(str(m["content"]) for m in messages if m["role"] == "user")
        match = _TASK.search(first)
        job = int(match.group(1)) if match else -1
        turn = sum(1 for m in messages if m["role"] == "assistant")
        with self._lock:
            self.requests[(job, turn)] += 1
        if turn == HOLD_TURN and not self._gate.is_set():
            with self._lock:
                self.held.add(job)
            self._gate.wait()
            with self._lock:
                self.held.discard(job)
        if self.delay_s:
            time.sleep(self.delay_s)  # the model's think time (the bench's 0.5 s per turn)
        call = TURNS[min(turn, len(TURNS) - 1)]
        chunks = [
            {"choices": [{"index": 0, "delta": {"tool_calls": [{
                "index": 0, "id": f"call_{turn}", "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
            }]}, "finish_reason": None}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            {"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 10,
                                      "total_tokens": 110}},
        ]
        data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        raw = data.encode()
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Content-Length", str(len(raw)))
            handler.end_headers()
            handler.wfile.write(raw)
        except OSError:  # the asking node was killed meanwhile
            pass


def start_cluster(nodes: int = 3, cpus: int = 1, head_cpus: int | None = None) -> Any:
    """A Ray cluster of ``nodes`` nodes (the head and ``nodes - 1`` workers) on this
    machine, dashboard off, small object stores, fast failure detection; this process
    is connected to it as the driver. Returns the ``ray.cluster_utils.Cluster``."""
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    import ray
    from ray.cluster_utils import Cluster
    store = 80 * 1024**2
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": cpus if head_cpus is None else head_cpus, "include_dashboard": False, "object_store_memory": store,
        "_system_config": {"health_check_initial_delay_ms": 0,
                           "health_check_period_ms": 500,
                           "health_check_failure_threshold": 3}})
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=cpus, object_store_memory=store)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    return cluster


def stop_cluster(cluster: Any) -> None:
    import ray
    ray.shutdown()
    cluster.shutdown()


def upstream(tmp: Path) -> str:
    """A bare repository with calc.py on main, as a ``file://`` URL."""
    import subprocess
    work = tmp / "work"
    work.mkdir(parents=True)
    (work / "calc.py").write_text(CALC)
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=work, check=True)
    bare = tmp / "srv" / "repo.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare.as_uri()


def config(tmp: Path, model_url: str, kind: str = "ray", **store: Any) -> Config:
    """A config whose data dir is ``tmp/data`` (the nodes' dirs under it), the scripted
    model as default, and ``[executor] kind``."""
    base = Config.load(env={"HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "share"),
                            "XDG_CONFIG_HOME": str(tmp / "cfg"),
                            "XDG_RUNTIME_DIR": str(tmp / "run")})
    return dataclasses.replace(
        base, default_model="scripted", git=GitSettings(fetch_attempts=1),
        models={"scripted": ModelConfig("scripted", "openai", model="m", base_url=model_url,
                                        max_retries=2, timeout_s=60.0)},
        executor=ExecutorSettings(kind=kind, lease_ttl_s=10.0), **store)


async def open_head(cfg: Config) -> Runtime:
    """The head's runtime (``resume_interrupted`` off: tests start tasks themselves)."""
    return await Runtime.open(cfg, resume_interrupted=False)


def job_intent(job: int) -> str:
    return f"job-{job}: make add add"
