"""What the providers say about the context: cached tokens and their price, "context length
exceeded" errors, replies cut by the output limit, and Anthropic ``cache_control`` placement.

Real HTTP against the scripted server on loopback."""

from __future__ import annotations

import json
from typing import Any

import pytest

from codetap.errors import ContextLengthExceeded, ModelStreamError
from codetap.models.base import ModelConfig, collect
from codetap.models.registry import make_provider
from codetap.types import Message, ModelRequest, ToolCall
from tests.unit.models import test_anthropic_provider as anth
from tests.unit.models import test_openai_provider as oai
from tests.unit.models.scripted_server import ScriptedServer, error_reply, event_stream, sse


async def _openai(server: ScriptedServer, req: ModelRequest | None = None, **kw: Any) -> Any:
    provider = make_provider(oai.config(server.url, **kw), backoff=oai.FAST)
    try:
        return await collect(provider.stream(req or ModelRequest("", [Message("user", "hi")])))
    finally:
        await provider.aclose()


def test_cost_prices_cached_tokens_apart() -> None:
    cfg = ModelConfig("m", "openai", input_price_per_mtok=3.0, output_price_per_mtok=15.0,
                      cached_input_price_per_mtok=0.3, cache_write_price_per_mtok=3.75)
    # 1M prompt tokens: 0.6M read from cache, 0.1M written to it, 0.3M plain.
    assert cfg.cost(1_000_000, 0, 600_000, 100_000) == pytest.approx(0.9 + 0.18 + 0.375)
    unset = ModelConfig("m", "openai", input_price_per_mtok=3.0)
    assert unset.cost(1_000_000, 0, 600_000, 100_000) == pytest.approx(3.0)
    assert ModelConfig("m", "openai", context_window=8192,
                       max_output_tokens=1024).prompt_budget == 7168


async def test_openai_cached_tokens_are_recorded_and_priced() -> None:
    usage = sse({"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": {
        "prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010,
        "prompt_tokens_details": {"cached_tokens": 800}}})
    reply = event_stream(oai.chunk({"content": "ok"}), oai.chunk(finish="stop"), usage,
                         sse("[DONE]"))
    async with ScriptedServer([reply]) as server:
        response = await _openai(server, cached_input_price_per_mtok=0.5)
    assert response.usage.input_tokens == 1000 and response.usage.cache_read_tokens == 800
    assert response.usage.cost_usd == pytest.approx((200 * 2.0 + 800 * 0.5 + 10 * 8.0) / 1e6)


@pytest.mark.parametrize("body", [
    ('{"error": {"message": "This model\'s maximum context length is 8192 tokens. However, '
    'your messages resulted in 9000 tokens.", "type": "invalid_request_error", '
    '"code": "context_length_exceeded"}}'),
    ('{"object": "error", "message": "This model\'s maximum context length is 4096 tokens. '
    'However, you requested 5000 tokens", "type": "BadRequestError", "code": 400}'),
    ('{"error": {"code": 400, "message": "the request exceeds the available context size, '
    'try increasing it", "type": "exceed_context_size_error", "n_prompt_tokens": 9000}}'),
])
async def test_openai_compatible_context_errors_are_typed(body: str) -> None:
    async with ScriptedServer([error_reply(400, body)]) as server:
        with pytest.raises(ContextLengthExceeded) as info:
            await _openai(server)
    assert info.value.status == 400 and len(server.requests) == 1


async def test_openai_reply_cut_mid_tool_call_is_not_a_call() -> None:
    whole = {"index": 0, "id": "call_1", "type": "function",
             "function": {"name": "read", "arguments": json.dumps({"path": "a.py"})}}
    cut = {"index": 1, "id": "call_2", "type": "function",
           "function": {"name": "write", "arguments": '{"path": "b.py", "content": "def f('}}
    reply = event_stream(oai.chunk({"role": "assistant", "tool_calls": [whole]}),
                         oai.chunk({"tool_calls": [cut]}), oai.chunk(finish="length"),
                         oai.usage_chunk(100, 4096), sse("[DONE]"))
    async with ScriptedServer([reply]) as server:
        response = await _openai(server)
    assert response.stop_reason == "max_tokens"
    assert response.tool_calls == [ToolCall("call_1", "read", {"path": "a.py"})]
    assert response.usage.output_tokens == 4096


async def test_openai_invalid_arguments_without_a_cut_still_fail() -> None:
    bad = {"index": 0, "id": "call_1", "type": "function",
           "function": {"name": "write", "arguments": '{"path": '}}
    reply = event_stream(oai.chunk({"tool_calls": [bad]}), oai.chunk(finish="tool_calls"),
                         sse("[DONE]"))
    async with ScriptedServer([reply]) as server:
        with pytest.raises(ModelStreamError, match="invalid JSON arguments"):
            await _openai(server)


async def _anthropic(server: ScriptedServer, req: ModelRequest, **kw: Any) -> Any:
    provider = make_provider(anth.config(server.url, **kw), backoff=anth.FAST)
    try:
        return await collect(provider.stream(req))
    finally:
        await provider.aclose()


async def test_anthropic_cache_usage_and_cache_control_placement() -> None:
    start = anth.ev("message_start", message={
        "id": "m", "type": "message", "role": "assistant", "content": [], "model": "c",
        "usage": {"input_tokens": 50, "cache_creation_input_tokens": 200,
                  "cache_read_input_tokens": 1000, "output_tokens": 1}})
    reply = event_stream(start, *anth.text_block(0, "ok"), *anth.finish("end_turn", 9))
    call = ToolCall("t1", "read", {"path": "a.py"})
    messages = [
        Message("user", "Task: fix it"),
        Message("assistant", "", tool_calls=[call]),
        Message("tool", "[output of `read a.py` removed]", tool_call_id="t1", name="read"),
        Message("user", "Context was compacted: task, plan, files changed."),
        Message("assistant", "", tool_calls=[ToolCall("t2", "read", {"path": "b.py"})]),
        Message("tool", "b contents", tool_call_id="t2", name="read"),
    ]
    req = ModelRequest("SYSTEM", messages, cache_breakpoints=(3, 5))
    async with ScriptedServer([reply]) as server:
        response = await _anthropic(server, req, cached_input_price_per_mtok=0.3,
                                    cache_write_price_per_mtok=3.75)
    usage = response.usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == \
        (1250, 1000, 200)
    assert usage.cost_usd == pytest.approx((50 * 3.0 + 1000 * 0.3 + 200 * 3.75 + 9 * 15) / 1e6)
    body = server.requests[0].json()
    assert body["system"] == [{"type": "text", "text": "SYSTEM",
                               "cache_control": {"type": "ephemeral"}}]
    marked = [(i, j) for i, turn in enumerate(body["messages"])
              for j, block in enumerate(turn["content"]) if "cache_control" in block]
    # Turn 2 is the user turn merging the masked tool result (message 2) and the compaction
    # note (message 3): the note, its last block, is the boundary. Turn 4 holds the newest.
    assert marked == [(2, 1), (4, 0)]
    assert body["messages"][2]["content"][1]["text"].startswith("Context was compacted")
    assert body["messages"][4]["content"][0]["type"] == "tool_result"


async def test_anthropic_tool_input_cut_by_max_tokens_is_not_a_call() -> None:
    reply = event_stream(
        anth.start(),
        anth.ev("content_block_start", index=0, content_block={
            "type": "tool_use", "id": "toolu_1", "name": "write", "input": {}}),
        anth.ev("content_block_delta", index=0, delta={
            "type": "input_json_delta", "partial_json": '{"path": "b.py", "content": "x'}),
        anth.ev("content_block_stop", index=0),
        *anth.finish("max_tokens", 4096))
    async with ScriptedServer([reply]) as server:
        response = await _anthropic(server, ModelRequest("", [Message("user", "hi")]))
    assert response.stop_reason == "max_tokens" and response.tool_calls == []
    assert response.usage.output_tokens == 4096
