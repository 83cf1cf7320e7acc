"""The HTTP API end to end: ``codetap serve --http 127.0.0.1:0 --detach`` starts the real
daemon, httpx talks to it over loopback (tasks, SSE, auth, idempotency, errors, apply)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from tests.e2e.conftest import CALC, FIXED, Env

from codetap.daemon.control import stop


@dataclass
class Api:
    url: str
    token: str
    env: Env
    token_file: Path

    def client(self, token: str | None = "") -> httpx.AsyncClient:
        headers = {} if token is None else {"Authorization": f"Bearer {token or self.token}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codetap", "serve", *args], check=False,
                          text=True, capture_output=True, env=env or dict(os.environ),
                          timeout=60)


def start_api(env: Env) -> Api:
    done = serve("--http", "127.0.0.1:0", "--detach")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    url = lines[-1].rsplit(" ", 1)[1]
    token = lines[1].strip()
    token_file = Path(os.environ["XDG_CONFIG_HOME"]) / "codetap" / "http-token"
    return Api(url, token, env, token_file)


@pytest.fixture
def api(env: Env) -> Iterator[Api]:
    yield start_api(env)
    stop(env.paths)


@pytest.fixture
async def http(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    async with api.client() as client:
        yield client


async def create(http: httpx.AsyncClient, api: Api, model: str = "fast", **extra: Any
                 ) -> dict[str, Any]:
    r = await http.post("/v1/tasks", json={"intent": "fix add", "model": model,
                                           "repo": {"path": str(api.env.repo)}}, **extra)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def follow(http: httpx.AsyncClient, task_id: str, last: int | None = None,
                 stop_after: int | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Events (parsed data) of the stream, and the ``end`` event's TaskInfo ({} if cut)."""
    headers = {} if last is None else {"Last-Event-ID": str(last)}
    got: list[dict[str, Any]] = []
    async with aconnect_sse(http, "GET", f"/v1/tasks/{task_id}/events",
                            headers=headers) as source:
        assert source.response.status_code == 200
        async for sse in source.aiter_sse():
            if sse.event == "end":
                return got, json.loads(sse.data)
            data = json.loads(sse.data)
            assert sse.id == str(data["seq"]) and sse.event == data["kind"]
            got.append(data)
            if stop_after is not None and len(got) == stop_after:
                return got, {}
    return got, {}


async def test_task_over_http_with_events_diff_report(api: Api, http: httpx.AsyncClient
                                                      ) -> None:
    info = await create(http, api)
    assert info["state"] == "queued" and info["intent"] == "fix add"
    first, end = await follow(http, info["id"], stop_after=3)
    assert [e["seq"] for e in first] == [1, 2, 3] and end == {}
    rest, end = await follow(http, info["id"], last=3)
    seqs = [e["seq"] for e in first + rest]
    assert seqs == list(range(1, len(seqs) + 1))
    assert end["state"] == "ready" and end["id"] == info["id"]
    states = [e["data"]["to"] for e in first + rest if e["kind"] == "state"]
    assert states[-1] == "ready"
    again, end2 = await follow(http, info["id"], last=seqs[-1])
    assert again == [] and end2["state"] == "ready"

    got = (await http.get(f"/v1/tasks/{info['id']}")).json()
    assert got["state"] == "ready" and got["steps"] >= 3
    r = await http.get(f"/v1/tasks/{info['id']}/diff")
    assert r.headers["content-type"].startswith("text/x-diff")
    assert "-    return a - b" in r.text and "+    return a + b" in r.text
    r = await http.get(f"/v1/tasks/{info['id']}/report")
    assert r.headers["content-type"].startswith("text/markdown")
    assert r.text.startswith(f"# Task {info['id']}: fix add") and "calc.py" in r.text
    rep = (await http.get(f"/v1/tasks/{info['id']}/report", params={"format": "json"})).json()
    assert rep["id"] == info["id"] and rep["files"][0]["path"] == "calc.py"

    listed = (await http.get("/v1/tasks", params={"state": "ready"})).json()["tasks"]
    assert [t["id"] for t in listed] == [info["id"]]
    assert (await http.get("/v1/tasks", params={"state": "queued,running"})).json() == {
        "tasks": []}
    by_repo = (await http.get("/v1/tasks", params={"repo": str(api.env.repo)})).json()
    assert [t["id"] for t in by_repo["tasks"]] == [info["id"]]

    r = await http.post(f"/v1/tasks/{info['id']}/apply")
    assert r.status_code == 200 and r.json()["state"] == "applied"
    assert (api.env.repo / "calc.py").read_text() == FIXED


async def test_auth(api: Api) -> None:
    assert api.token_file.stat().st_mode & 0o777 == 0o600
    assert api.token_file.read_text().strip() == api.token
    async with api.client(None) as anon:
        r = await anon.get("/v1/tasks")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert (await anon.get("/metrics")).status_code == 401
        assert (await anon.post("/v1/tasks", json={})).status_code == 401
        assert (await anon.get("/healthz")).json() == {"ok": True}
        assert "/v1/tasks" in (await anon.get("/openapi.json")).json()["paths"]
    async with api.client("not-the-token") as wrong:
        assert (await wrong.get("/v1/tasks")).status_code == 403
        assert (await wrong.get("/v1/tasks/1/events")).status_code == 403
    # Restarted, the daemon keeps the token (not printed again).
    again = serve("--http", "127.0.0.1:0", "--detach")
    assert again.returncode == 0 and api.token not in again.stdout
    url = again.stdout.splitlines()[-1].rsplit(" ", 1)[1]
    async with httpx.AsyncClient(base_url=url,
                                 headers={"Authorization": f"Bearer {api.token}"}) as c:
        assert (await c.get("/v1/tasks")).status_code == 200


async def test_idempotency_key(api: Api, http: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": "abc-123"}
    one = await create(http, api, model="slow", headers=key)
    r = await http.post("/v1/tasks", headers=key, json={
        "intent": "fix add", "model": "slow", "repo": {"path": str(api.env.repo)}})
    assert r.status_code == 201 and r.json()["id"] == one["id"]
    assert r.headers["idempotent-replayed"] == "true"
    r = await http.post("/v1/tasks", headers=key, json={
        "intent": "something else", "model": "slow", "repo": {"path": str(api.env.repo)}})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    other = await create(http, api, model="slow", headers={"Idempotency-Key": "xyz"})
    assert other["id"] != one["id"]
    ids = sorted(t["id"] for t in (await http.get("/v1/tasks")).json()["tasks"])
    assert ids == sorted([one["id"], other["id"]])


async def test_errors(api: Api, http: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/v1/tasks/999"), ("GET", "/v1/tasks/999/diff"),
                         ("GET", "/v1/tasks/999/report"), ("GET", "/v1/tasks/999/events"),
                         ("POST", "/v1/tasks/999/cancel"), ("POST", "/v1/tasks/999/apply")):
        r = await http.request(method, path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["detail"] == "no task with id 999"
    r = await http.post("/v1/tasks", json={"repo": {"path": str(api.env.repo)}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "intent"]
    r = await http.post("/v1/tasks", json={"intent": "x", "repo": {"path": "relative/dir"}})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "repo", "path"]
    r = await http.post("/v1/tasks", json={"intent": "x", "repo": {"path": str(api.env.repo)},
                                           "colour": "blue"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "colour"]
    r = await http.get("/v1/tasks", params={"state": "sleeping"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "state"]
    r = await http.get("/v1/tasks/abc")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "task_id"]
    r = await http.post("/v1/tasks/1/answer", json={})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "answer"]

    info = await create(http, api)
    _, end = await follow(http, info["id"])
    assert end["state"] == "ready"
    for op in ("pause", "resume", "cancel"):
        r = await http.post(f"/v1/tasks/{info['id']}/{op}")
        assert r.status_code == 409, (op, r.text)
        assert "ready" in r.json()["detail"]
    r = await http.post(f"/v1/tasks/{info['id']}/push", json={"pull_request": {"title": "x"}})
    assert r.status_code == 409 and "local repository" in r.json()["detail"]
    r = await http.post(f"/v1/tasks/{info['id']}/push", json={"pull_request": ["x"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "pull_request"]
    # The user edited the same line meanwhile: nothing is written, 409 names the file.
    (api.env.repo / "calc.py").write_text(CALC.replace("a - b", "b - a"))
    r = await http.post(f"/v1/tasks/{info['id']}/apply")
    assert r.status_code == 409 and r.json()["files"] == ["calc.py"]
    assert (api.env.repo / "calc.py").read_text() == CALC.replace("a - b", "b - a")
    assert (await http.get(f"/v1/tasks/{info['id']}")).json()["state"] == "ready"


async def test_cancel_and_follow_up_message(api: Api, http: httpx.AsyncClient) -> None:
    info = await create(http, api, model="slow")
    r = await http.post(f"/v1/tasks/{info['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    _, end = await follow(http, info["id"])
    assert end["state"] == "cancelled"
    r = await http.post(f"/v1/tasks/{info['id']}/messages", json={"text": "go on"})
    assert r.status_code == 200 and r.json()["state"] == "queued"


def test_non_loopback_without_token_is_refused(env: Env) -> None:
    done = serve("--http", "0.0.0.0:0", "--detach")
    assert done.returncode != 0
    assert "refusing to serve HTTP on 0.0.0.0" in done.stderr
    assert "token_env" in done.stderr
    cfg = Path(os.environ["XDG_CONFIG_HOME"]) / "codetap" / "config.toml"
    cfg.write_text(cfg.read_text() + '[server]\ntoken_env = "CT_TEST_TOKEN"\n')
    done = serve("--http", "0.0.0.0:0", "--detach")
    assert done.returncode != 0 and "CT_TEST_TOKEN" in done.stderr
    assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "codetap" / "http-token").exists()


async def test_config_server_http_serves_with_the_daemon(env: Env, tmp_path: Path) -> None:
    cfg = Path(os.environ["XDG_CONFIG_HOME"]) / "codetap" / "config.toml"
    cfg.write_text(cfg.read_text() + '[server]\nhttp = "127.0.0.1:0"\n'
                   'token_env = "CT_TEST_TOKEN"\n')
    e = {**os.environ, "CT_TEST_TOKEN": "s3cret-token-for-tests"}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "codetap", "daemon", "start"], check=False,
        env=e, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    try:
        addr = Path(os.environ["XDG_RUNTIME_DIR"]) / "codetap" / "http.addr"
        for _ in range(1000):  # written right after the unix socket accepts
            if addr.exists():
                break
            await asyncio.sleep(0.01)
        url = addr.read_text().strip()
        async with httpx.AsyncClient(base_url=url, headers={
                "Authorization": "Bearer s3cret-token-for-tests"}) as c:
            assert (await c.get("/v1/tasks")).json() == {"tasks": []}
    finally:
        stop(env.paths)



async def test_metrics_after_a_task(api: Api, http: httpx.AsyncClient) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    info = await create(http, api)
    _, end = await follow(http, info["id"])
    assert end["state"] == "ready"
    r = await http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for f in text_string_to_metric_families(r.text) for s in f.samples}
    who = (("model", "fast"), ("role", "coder"))
    assert got[("codetap_tasks", (("state", "ready"),))] == 1
    assert got[("codetap_steps_total", who)] == end["steps"]
    assert got[("codetap_tokens_total", (("kind", "input"), *who))] == \
        end["usage"]["input_tokens"] > 0
    assert got[("codetap_tokens_total", (("kind", "output"), *who))] == \
        end["usage"]["output_tokens"]
    assert got[("codetap_tool_calls_total", (("outcome", "ok"), ("tool", "edit")))] == 1
    assert got[("codetap_model_latency_seconds_count", (("model", "fast"),))] == end["steps"]
