"""Anthropic Messages provider against a scripted server on loopback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from codetap.errors import (
    ContextLengthExceeded,
    ModelHTTPError,
    ModelRetriesExhausted,
    ModelStreamError,
)
from codetap.models.base import ModelConfig, collect
from codetap.models.registry import make_provider
from codetap.models.retry import Backoff
from codetap.types import Finished, Message, ModelRequest, TextDelta, ToolCall, ToolSpec
from tests.unit.models.scripted_server import Reply, ScriptedServer, error_reply, event_stream, sse

FAST = Backoff(base_delay_s=0.01, max_delay_s=0.05)
EDIT = ToolSpec("edit", "Edit a file", {"type": "object", "properties": {}})


def config(url: str, **kw: Any) -> ModelConfig:
    base: dict[str, Any] = {
        "name": "claude", "provider": "anthropic", "model": "claude-test", "base_url": url,
        "api_key_env": "CODETAP_TEST_ANTHROPIC_KEY", "input_price_per_mtok": 3.0,
        "output_price_per_mtok": 15.0, "max_retries": 3, "timeout_s": 5.0,
    }
    base.update(kw)
    return ModelConfig(**base)


def ev(kind: str, **data: Any) -> str:
    return sse({"type": kind, **data}, event=kind)


def start(input_tokens: int = 25) -> str:
    return ev("message_start", message={
        "id": "msg_1", "type": "message", "role": "assistant", "content": [],
        "model": "claude-test", "stop_reason": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1}})


def text_block(index: int, *pieces: str) -> list[str]:
    return [
        ev("content_block_start", index=index, content_block={"type": "text", "text": ""}),
        *[ev("content_block_delta", index=index, delta={"type": "text_delta", "text": p})
          for p in pieces],
        ev("content_block_stop", index=index),
    ]


def finish(stop_reason: str, output_tokens: int) -> list[str]:
    return [
        ev("message_delta", delta={"stop_reason": stop_reason, "stop_sequence": None},
           usage={"output_tokens": output_tokens}),
        ev("message_stop"),
    ]


def text_reply(*pieces: str) -> Reply:
    return event_stream(start(), *text_block(0, *pieces), *finish("end_turn", 7))


def overloaded() -> str:
    return ev("error", error={"type": "overloaded_error", "message": "Overloaded"})


async def run(server: ScriptedServer, req: ModelRequest | None = None, **kw: Any) -> Any:
    provider = make_provider(config(server.url, **kw), backoff=FAST)
    try:
        return await collect(provider.stream(req or ModelRequest("", [Message("user", "hi")])))
    finally:
        await provider.aclose()


async def test_tool_use_split_and_request_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODETAP_TEST_ANTHROPIC_KEY", "ak-test")
    tool_start = {"type": "tool_use", "id": "toolu_1", "name": "edit", "input": {}}
    reply = event_stream(
        start(300),
        ev("ping"),
        *text_block(0, "I will ", "edit."),
        ev("content_block_start", index=1, content_block=tool_start),
        ev("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": ""}),
        ev("content_block_delta", index=1,
           delta={"type": "input_json_delta", "partial_json": '{"path": "a.py", "old_str'}),
        0.05,
        ev("content_block_delta", index=1,
           delta={"type": "input_json_delta", "partial_json": 'ing": "x = 1\\n"}'}),
        ev("content_block_stop", index=1),
        *finish("tool_use", 42),
    )
    history = [
        Message("user", "rename x"),
        Message("assistant", "Reading.", [ToolCall("toolu_a", "read", {"path": "a.py"}),
                                          ToolCall("toolu_b", "read", {"path": "b.py"})]),
        Message("tool", "1\tx = 1", tool_call_id="toolu_a", name="read"),
        Message("tool", "not found", tool_call_id="toolu_b", name="read", is_error=True),
        Message("user", "also b"),
    ]
    req = ModelRequest("be careful", history, tools=[EDIT], max_tokens=2048)
    async with ScriptedServer([reply]) as server:
        response = await run(server, req)

    assert response.text == "I will edit."
    assert response.tool_calls == [
        ToolCall("toolu_1", "edit", {"path": "a.py", "old_string": "x = 1\n"})]
    assert response.stop_reason == "tool_use"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (300, 42)
    assert response.usage.cost_usd == pytest.approx((300 * 3 + 42 * 15) / 1e6)

    (sent,) = server.requests
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "ak-test"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    body = sent.json()
    assert body["model"] == "claude-test" and body["stream"] is True
    assert body["max_tokens"] == 2048 and body["system"] == [
        {"type": "text", "text": "be careful", "cache_control": {"type": "ephemeral"}}]
    assert body["tools"] == [
        {"name": "edit", "description": "Edit a file", "input_schema": EDIT.parameters}]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "rename x"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Reading."},
            {"type": "tool_use", "id": "toolu_a", "name": "read", "input": {"path": "a.py"}},
            {"type": "tool_use", "id": "toolu_b", "name": "read", "input": {"path": "b.py"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "1\tx = 1"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "not found",
             "is_error": True},
            {"type": "text", "text": "also b"},
        ]},
    ]


async def test_text_stream_events_in_order() -> None:
    async with ScriptedServer([text_reply("Hel", "lo")]) as server:
        provider = make_provider(config(server.url), backoff=FAST)
        events = [e async for e in provider.stream(ModelRequest("", [Message("user", "hi")]))]
        await provider.aclose()
    assert events[:2] == [TextDelta("Hel"), TextDelta("lo")]
    last = events[2]
    assert isinstance(last, Finished)
    assert last.stop_reason == "end_turn" and last.usage.output_tokens == 7
    assert "system" not in server.requests[0].json()


async def test_overloaded_event_before_output_is_retried() -> None:
    script = [event_stream(start(), ev("ping"), overloaded()), text_reply("ok")]
    async with ScriptedServer(script) as server:
        response = await run(server)
    assert response.text == "ok" and len(server.requests) == 2


async def test_overloaded_event_after_output_is_a_stream_error() -> None:
    reply = event_stream(start(), *text_block(0, "half")[:2], overloaded())
    async with ScriptedServer([reply, text_reply("never")]) as server:
        with pytest.raises(ModelStreamError, match="overloaded_error"):
            await run(server)
    assert len(server.requests) == 1


async def test_non_transient_error_event() -> None:
    reply = event_stream(start(), ev("error", error={"type": "invalid_request_error",
                                                     "message": "bad tool schema"}))
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="bad tool schema"):
            await run(server)
    assert len(server.requests) == 1


async def test_prompt_too_long_is_context_length_exceeded() -> None:
    too_long = ('{"type":"error","error":{"type":"invalid_request_error",'
                '"message":"prompt is too long: 210000 tokens > 200000 maximum"}}')
    event = ev("error", error={"type": "invalid_request_error", "message": "prompt is too long"})
    async with ScriptedServer([error_reply(400, too_long),
                               event_stream(start(), event)]) as server:
        with pytest.raises(ContextLengthExceeded, match="HTTP 400.*prompt is too long") as http:
            await run(server)
        assert http.value.status == 400
        with pytest.raises(ContextLengthExceeded, match="error event"):
            await run(server)
    assert len(server.requests) == 2


async def test_429_retry_after_seconds_is_honoured() -> None:
    script = [error_reply(429, '{"type":"error"}', {"retry-after": "1"}), text_reply("ok")]
    async with ScriptedServer(script) as server:
        response = await run(server)
    assert response.text == "ok"
    gap = server.requests[1].at - server.requests[0].at
    assert 0.95 <= gap < 3.0


async def test_529_forever_exhausts() -> None:
    body = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    async with ScriptedServer([error_reply(529, body)] * 2) as server:
        with pytest.raises(ModelRetriesExhausted, match="2 attempts.*HTTP 529.*Overloaded"):
            await run(server, max_retries=1)
    assert len(server.requests) == 2


async def test_400_is_not_retried() -> None:
    async with ScriptedServer([error_reply(400, "messages: roles must alternate")]) as server:
        with pytest.raises(ModelHTTPError, match="roles must alternate"):
            await run(server)
    assert len(server.requests) == 1


async def test_read_timeout_retried_then_exhausted() -> None:
    stalled = event_stream(start(), 3.0, *text_block(0, "late"), *finish("end_turn", 1))
    async with ScriptedServer([stalled, stalled]) as server:
        with pytest.raises(ModelRetriesExhausted, match="ReadTimeout"):
            await run(server, max_retries=1, timeout_s=0.2)
    assert len(server.requests) == 2


async def test_truncated_stream() -> None:
    cut = event_stream(start(), *text_block(0, "par")[:2], complete=False)
    async with ScriptedServer([cut]) as server:
        with pytest.raises(ModelStreamError):
            await run(server)
    assert len(server.requests) == 1


async def test_stream_without_message_stop() -> None:
    reply = event_stream(start(), *text_block(0, "x"))
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="no message_stop"):
            await run(server)


async def test_malformed_event_json() -> None:
    reply = event_stream(start(), "event: content_block_delta\ndata: {not json\n\n")
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="malformed JSON in content_block_delta"):
            await run(server)


async def test_invalid_tool_input_json() -> None:
    tool = {"type": "tool_use", "id": "t", "name": "edit", "input": {}}
    reply = event_stream(
        start(),
        ev("content_block_start", index=0, content_block=tool),
        ev("content_block_delta", index=0,
           delta={"type": "input_json_delta", "partial_json": '{"path": '}),
        ev("content_block_stop", index=0),
        *finish("tool_use", 3),
    )
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="invalid JSON arguments"):
            await run(server)


async def test_default_endpoint_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "ak-default")
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        body = "".join([start(), *finish("end_turn", 1)])
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)

    cfg = ModelConfig("c", "anthropic", model="claude-test")
    provider = make_provider(cfg, transport=httpx.MockTransport(handler))
    response = await collect(provider.stream(ModelRequest("", [Message("user", "hi")])))
    await provider.aclose()
    assert response.text == "" and response.stop_reason == "end_turn"
    assert str(seen[0].url) == "https://api.anthropic.com/v1/messages"
    assert seen[0].headers["x-api-key"] == "ak-default"
