"""OpenAI-compatible provider against a scripted Chat Completions server on loopback."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from codetap.errors import (
    ConfigError,
    ModelHTTPError,
    ModelRetriesExhausted,
    ModelStreamError,
)
from codetap.models.base import ModelConfig, collect
from codetap.models.registry import make_provider
from codetap.models.retry import Backoff
from codetap.types import (
    Finished,
    Message,
    ModelRequest,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
)
from tests.unit.models.scripted_server import (
    Reply,
    ScriptedServer,
    error_reply,
    event_stream,
    sse,
    timed,
)

FAST = Backoff(base_delay_s=0.01, max_delay_s=0.05)

READ = ToolSpec(
    "read", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}}}
)


def config(url: str, **kw: Any) -> ModelConfig:
    base: dict[str, Any] = {
        "name": "local", "provider": "openai", "model": "qwen-coder", "base_url": url + "/v1",
        "api_key_env": "CODETAP_TEST_OPENAI_KEY", "input_price_per_mtok": 2.0,
        "output_price_per_mtok": 8.0, "max_retries": 3, "timeout_s": 5.0,
    }
    base.update(kw)
    return ModelConfig(**base)


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> str:
    return sse({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "qwen-coder",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    })


def usage_chunk(prompt: int, completion: int) -> str:
    return sse({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    })


def text_stream(*pieces: str) -> Reply:
    return event_stream(
        chunk({"role": "assistant", "content": ""}),
        *[chunk({"content": p}) for p in pieces],
        chunk(finish="stop"), usage_chunk(10, 5), sse("[DONE]"),
    )


def request(**kw: Any) -> ModelRequest:
    return ModelRequest(system="You are a coder.", messages=[Message("user", "hi")], **kw)


async def run(server: ScriptedServer, req: ModelRequest | None = None, **kw: Any) -> Any:
    provider = make_provider(config(server.url, **kw), backoff=FAST)
    try:
        return await collect(provider.stream(req or request()))
    finally:
        await provider.aclose()


async def test_tool_calls_split_across_chunks_and_request_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CODETAP_TEST_OPENAI_KEY", "sk-test-123")
    first = {"index": 0, "id": "call_a", "type": "function",
             "function": {"name": "read", "arguments": ""}}
    second = {"index": 1, "id": "call_b", "type": "function",
              "function": {"name": "grep", "arguments": '{"pat'}}
    script = event_stream(
        chunk({"role": "assistant", "content": "Looking."}),
        chunk({"tool_calls": [first]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"path": "src/ma'}}]}),
        0.05,
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'in.py"}'}}]}),
        chunk({"tool_calls": [second]}),
        0.3,
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": 'tern": "def \\"x"}'}}]}),
        chunk(finish="tool_calls"),
        usage_chunk(120, 30),
        sse("[DONE]"),
    )
    history = [
        Message("user", "fix it"),
        Message("assistant", "", [ToolCall("call_0", "glob", {"pattern": "*.py"})]),
        Message("tool", "a.py", tool_call_id="call_0", name="glob"),
        Message("tool", "no such file", tool_call_id="call_1", name="read", is_error=True),
    ]
    req = ModelRequest("sys prompt", history, tools=[READ], max_tokens=1000, temperature=0.2)
    async with ScriptedServer([script]) as server:
        provider = make_provider(config(server.url), backoff=FAST)
        events = await timed(provider.stream(req))
        await provider.aclose()

    kinds = [e for _, e in events]
    assert kinds[0] == TextDelta("Looking.")
    assert kinds[1] == ToolCallReady(ToolCall("call_a", "read", {"path": "src/main.py"}))
    assert kinds[2] == ToolCallReady(ToolCall("call_b", "grep", {"pattern": 'def "x'}))
    assert isinstance(kinds[3], Finished) and len(kinds) == 4
    assert kinds[3].stop_reason == "tool_use"
    assert (kinds[3].usage.input_tokens, kinds[3].usage.output_tokens) == (120, 30)
    assert kinds[3].usage.cost_usd == pytest.approx((120 * 2 + 30 * 8) / 1e6)
    # The first call is ready as soon as the second starts, before the 0.3 s pause ends.
    assert events[2][0] - events[1][0] >= 0.25

    (sent,) = server.requests
    assert sent.method == "POST" and sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-123"
    body = sent.json()
    assert body["model"] == "qwen-coder" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 1000 and body["temperature"] == 0.2
    assert body["tools"] == [{"type": "function", "function": {
        "name": "read", "description": "Read a file", "parameters": READ.parameters}}]
    assert body["messages"] == [
        {"role": "system", "content": "sys prompt"},
        {"role": "user", "content": "fix it"},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_0", "type": "function",
            "function": {"name": "glob", "arguments": '{"pattern": "*.py"}'}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "a.py"},
        {"role": "tool", "tool_call_id": "call_1", "content": "Error: no such file"},
    ]


async def test_text_and_usage_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODETAP_TEST_OPENAI_KEY", raising=False)
    async with ScriptedServer([text_stream("Hel", "lo ", "world")]) as server:
        response = await run(server)
    assert response.text == "Hello world" and response.tool_calls == []
    assert response.stop_reason == "end_turn"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (10, 5)
    assert "authorization" not in server.requests[0].headers


async def test_length_finish_maps_to_max_tokens() -> None:
    reply = event_stream(chunk({"content": "cut"}), chunk(finish="length"), sse("[DONE]"))
    async with ScriptedServer([reply]) as server:
        response = await run(server)
    assert response.stop_reason == "max_tokens"
    assert response.usage.input_tokens > 0  # estimated: the server sent no usage


async def test_429_retry_after_ms_is_honoured() -> None:
    script = [error_reply(429, '{"error": "slow down"}', {"retry-after-ms": "400"}),
              text_stream("ok")]
    async with ScriptedServer(script) as server:
        response = await run(server)
    assert response.text == "ok"
    assert len(server.requests) == 2
    gap = server.requests[1].at - server.requests[0].at
    assert 0.38 <= gap < 2.0


async def test_500_then_success() -> None:
    async with ScriptedServer([error_reply(500, "boom"), text_stream("fine")]) as server:
        response = await run(server)
    assert response.text == "fine" and len(server.requests) == 2


async def test_500_forever_exhausts_retries() -> None:
    script = [error_reply(500, '{"error": "database on fire"}')] * 3
    async with ScriptedServer(script) as server:
        with pytest.raises(ModelRetriesExhausted) as info:
            await run(server, max_retries=2)
    assert len(server.requests) == 3
    message = str(info.value)
    assert "3 attempts" in message and "HTTP 500" in message and "database on fire" in message


async def test_400_is_not_retried() -> None:
    async with ScriptedServer([error_reply(400, '{"error": "bad tools"}')]) as server:
        with pytest.raises(ModelHTTPError) as info:
            await run(server)
    assert info.value.status == 400 and "bad tools" in str(info.value)
    assert len(server.requests) == 1


async def test_401_names_the_missing_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODETAP_TEST_OPENAI_KEY", raising=False)
    async with ScriptedServer([error_reply(401, "unauthorized")]) as server:
        with pytest.raises(ModelHTTPError, match="CODETAP_TEST_OPENAI_KEY is not set"):
            await run(server)


async def test_read_timeout_is_retried_then_exhausted() -> None:
    script = [Reply(stall_s=3.0), Reply(stall_s=3.0)]
    async with ScriptedServer(script) as server:
        with pytest.raises(ModelRetriesExhausted, match="2 attempts.*ReadTimeout"):
            await run(server, max_retries=1, timeout_s=0.2)
    assert len(server.requests) == 2


async def test_truncated_stream_after_output_is_a_stream_error() -> None:
    cut = event_stream(chunk({"content": "partial "}), chunk({"content": "answ"}), complete=False)
    async with ScriptedServer([cut, text_stream("never")]) as server:
        provider = make_provider(config(server.url), backoff=FAST)
        seen: list[Any] = []
        with pytest.raises(ModelStreamError, match="after partial output"):
            async for event in provider.stream(request()):
                seen.append(event)
        await provider.aclose()
    assert seen == [TextDelta("partial "), TextDelta("answ")]
    assert len(server.requests) == 1


async def test_truncated_before_any_event_is_retried() -> None:
    cut = event_stream(": keep-alive\n\n", complete=False)
    async with ScriptedServer([cut, text_stream("second try")]) as server:
        response = await run(server)
    assert response.text == "second try" and len(server.requests) == 2


async def test_stream_ending_without_done_is_a_stream_error() -> None:
    reply = event_stream(chunk({"content": "hm"}))
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="no finish_reason"):
            await run(server)


async def test_malformed_chunk_json() -> None:
    reply = event_stream(chunk({"content": "a"}), 'data: {"choices": [\n\n', sse("[DONE]"))
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="malformed JSON"):
            await run(server)
    assert len(server.requests) == 1


async def test_invalid_tool_arguments_json() -> None:
    call = {"index": 0, "id": "c", "function": {"name": "read", "arguments": '{"path": '}}
    reply = event_stream(chunk({"tool_calls": [call]}), chunk(finish="tool_calls"), sse("[DONE]"))
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="'read' has invalid JSON arguments"):
            await run(server)


async def test_error_chunk_in_stream() -> None:
    reply = event_stream(sse({"error": {"message": "context too long", "type": "invalid"}}))
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="context too long"):
            await run(server)


async def test_non_sse_answer_is_a_stream_error() -> None:
    reply = Reply(200, {"content-type": "application/json"}, ['{"choices": []}'])
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="event stream"):
            await run(server)


async def test_connection_refused_exhausts_retries() -> None:
    async with ScriptedServer([]) as server:
        url = server.url
    with pytest.raises(ModelRetriesExhausted, match="ConnectError"):
        await run_url(url)


async def run_url(url: str) -> Any:
    provider = make_provider(config(url, max_retries=1), backoff=FAST)
    try:
        return await collect(provider.stream(request()))
    finally:
        await provider.aclose()


async def test_injected_transport_is_used() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        body = (chunk({"content": "via transport"}) + chunk(finish="stop") + sse("[DONE]"))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)

    cfg = config("http://model.invalid")
    provider = make_provider(cfg, transport=httpx.MockTransport(handler))
    response = await collect(provider.stream(request()))
    await provider.aclose()
    assert response.text == "via transport"


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'gemini'"):
        make_provider(ModelConfig("x", "gemini", model="m"))
    with pytest.raises(ConfigError, match="set model"):
        make_provider(ModelConfig("x", "openai"))
    with pytest.raises(ConfigError, match="base_url must start with http"):
        make_provider(ModelConfig("x", "openai", model="m", base_url="localhost:8080"))


    with pytest.raises(ConfigError, match="invalid base_url"):
        make_provider(ModelConfig("x", "openai", model="m", base_url="http://[::1"))


async def test_server_error_chunk_before_output_is_retried() -> None:
    failed = event_stream(sse({"error": {"message": "try again", "type": "server_error"}}))
    async with ScriptedServer([failed, text_stream("recovered")]) as server:
        response = await run(server)
    assert response.text == "recovered" and len(server.requests) == 2


async def test_consumer_stopping_early_releases_the_connection() -> None:
    slow = event_stream(chunk({"content": "first"}), 5.0, chunk(finish="stop"), sse("[DONE]"))
    async with ScriptedServer([slow, text_stream("next")]) as server:
        provider = make_provider(config(server.url), backoff=FAST)
        stream = provider.stream(request())
        async for event in stream:
            assert event == TextDelta("first")
            break
        await stream.aclose()  # type: ignore[attr-defined]
        # The same client serves the next call at once.
        response = await collect(provider.stream(request()))
        await provider.aclose()
    assert response.text == "next" and len(server.requests) == 2


async def test_default_endpoint_key_and_output_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-default")
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        body = chunk(finish="stop") + sse("[DONE]")
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)

    cfg = ModelConfig("gpt", "openai", model="gpt-test", max_output_tokens=512)
    provider = make_provider(cfg, transport=httpx.MockTransport(handler))
    await collect(provider.stream(request(max_tokens=9000)))
    await provider.aclose()
    (sent,) = seen
    assert str(sent.url) == "https://api.openai.com/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-default"
    body = json.loads(sent.content)
    assert body["max_completion_tokens"] == 512 and "max_tokens" not in body
