"""Bad input over the real daemon socket: clear JSON-RPC errors, nothing else affected."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from tests.e2e.conftest import Editor, Env

from codetap.daemon.control import start_detached
from codetap.lsp.framing import read_message
from codetap.lsp.wire import frame


class Raw:
    """A bare JSON-RPC connection to the daemon socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, env: Env) -> Raw:
        start_detached(env.paths)
        return cls(*await asyncio.open_unix_connection(str(env.paths.socket)))

    def send_bytes(self, body: bytes) -> None:
        self.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def recv(self) -> dict[str, Any]:
        while True:
            body = await asyncio.wait_for(read_message(self.reader), 10)
            assert body is not None, "connection closed"
            msg: dict[str, Any] = json.loads(body)
            if "method" not in msg:  # skip server notifications/requests
                return msg

    async def call(self, method: str, params: Any, msg_id: int = 1) -> dict[str, Any]:
        self.writer.write(frame({"jsonrpc": "2.0", "id": msg_id, "method": method,
                                 "params": params}))
        return await self.recv()

    async def initialize(self, root_uri: str) -> None:
        reply = await self.call("initialize", {"processId": None, "rootUri": root_uri,
                                               "capabilities": {}}, 0)
        assert "capabilities" in reply["result"]
        self.writer.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))


async def test_malformed_json_and_invalid_requests(env: Env) -> None:
    raw = await Raw.open(env)
    await raw.initialize(env.root_uri)
    raw.send_bytes(b"{not json")
    err = await raw.recv()
    assert err["id"] is None and err["error"]["code"] == -32700
    assert "invalid JSON" in err["error"]["message"]
    raw.send_bytes(b"[1, 2]")
    assert (await raw.recv())["error"]["code"] == -32600
    reply = await raw.call("codetap/no/such", {}, 5)
    assert reply["id"] == 5 and reply["error"]["code"] == -32601
    reply = await raw.call("codetap/task/start", {"root_uri": 3}, 6)
    assert reply["error"]["code"] == -32602
    msg = reply["error"]["message"]
    assert "intent: Field required" in msg and "root_uri: Input should be a valid string" in msg
    reply = await raw.call("codetap/task/get", {"id": "999"}, 7)
    assert reply["error"] == {"code": -32602, "message": "no task with id 999"} or \
        reply["error"]["message"] == "no task with id 999"
    reply = await raw.call("codetap/task/get", {"id": "abc"}, 8)
    assert "task ids are numbers" in reply["error"]["message"]
    reply = await raw.call("textDocument/codeAction", {"textDocument": 1}, 9)
    assert reply["id"] == 9 and reply["error"]["code"] == -32602
    # the connection still works
    reply = await raw.call("codetap/task/list", {}, 10)
    assert reply["result"] == {"tasks": []}
    raw.writer.close()


async def test_bad_command_arguments_and_states(env: Env, editor: Editor) -> None:
    with pytest.raises(JsonRpcException, match="takes one argument"):
        await editor.client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="codetap.task.get", arguments=[{"id": "1"}, {"id": "2"}]))
    with pytest.raises(JsonRpcException, match="invalid params for codetap/task/list: states"):
        await editor.command("codetap.task.list", {"states": "ready"})
    with pytest.raises(JsonRpcException, match="not a valid TaskState|states are"):
        await editor.command("codetap.task.list", {"states": ["bogus"]})
    with pytest.raises(JsonRpcException, match="not a git repository|git"):
        await editor.request("codetap/task/start", {"intent": "x",
                                                    "root_uri": env.repo.parent.as_uri()})


async def test_client_vanishing_mid_request_leaves_daemon_serving(env: Env, editor: Editor) -> None:
    raw = await Raw.open(env)
    await raw.initialize(env.root_uri)
    raw.writer.write(frame({"jsonrpc": "2.0", "id": 1, "method": "codetap/task/start",
                            "params": {"intent": "make add add", "root_uri": env.root_uri}}))
    raw.writer.write(b"Content-Length: 50\r\n\r\n{\"jsonrpc\"")  # truncated message
    raw.writer.close()
    # The start request was complete: its task exists once the daemon has handled it.
    deadline = asyncio.get_running_loop().time() + 20
    while not (listed := await editor.request("codetap/task/list", {}))["tasks"]:
        assert asyncio.get_running_loop().time() < deadline, "the started task never appeared"
        await asyncio.sleep(0.05)
    assert len(listed["tasks"]) == 1
    info = listed["tasks"][0]
    await editor.wait_state(info["id"], "ready")


def _msg(msg_id: int, method: str, params: Any) -> bytes:
    return frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})


# Each case: malformed bytes, then a well-formed request that must still be answered.
BROKEN_FRAMES = {
    "garbage header line": b"hello there\r\n",
    "garbage line after the length": b"Content-Length: 2\r\nnot a header\r\n\r\n{}",
    "no Content-Length": b"Content-Type: application/json\r\n\r\n{\"jsonrpc\":\"2.0\"}",
    "bad Content-Length": b"Content-Length: twelve\r\n\r\n{\"id\":1}",
    "negative Content-Length": b"Content-Length: -5\r\n\r\n{}",
    "empty header block": b"\r\n",
}


async def _check_frames(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        root_uri: str) -> None:
    """Initialize, then each broken frame -> one -32700 with id null, and the next
    well-formed request on the same connection gets its answer."""
    async def recv() -> dict[str, Any]:
        while True:
            body = await asyncio.wait_for(read_message(reader), 10)
            assert body is not None, "connection closed"
            msg: dict[str, Any] = json.loads(body)
            if "method" not in msg:
                return msg

    writer.write(_msg(0, "initialize", {"processId": None, "rootUri": root_uri,
                                        "capabilities": {}}))
    assert "capabilities" in (await recv())["result"]
    writer.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    for n, (what, junk) in enumerate(BROKEN_FRAMES.items(), start=1):
        writer.write(junk + _msg(n, "codetap/task/list", {}))
        err = await recv()
        assert err["id"] is None and err["error"]["code"] == -32700, (what, err)
        assert err["error"]["message"].startswith("Parse error"), (what, err)
        reply = await recv()
        assert reply == {"jsonrpc": "2.0", "id": n, "result": {"tasks": []}}, (what, reply)


async def test_malformed_frames_over_the_socket_keep_the_session(env: Env) -> None:
    raw = await Raw.open(env)
    await _check_frames(raw.reader, raw.writer, env.root_uri)
    raw.writer.close()


@pytest.mark.parametrize("args", [(), ("--no-daemon",)], ids=["bridge", "no-daemon"])
async def test_malformed_frames_over_stdio_keep_the_session(
        env: Env, args: tuple[str, ...]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "codetap", "lsp", *args, env=env.env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        writer = proc.stdin
        await _check_frames(proc.stdout, writer, env.root_uri)  # type: ignore[arg-type]
        writer.write(_msg(99, "shutdown", None))
        writer.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        writer.close()
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
