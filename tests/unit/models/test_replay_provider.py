"""Replay provider: stateless turn choice, ids, usage, exhaustion, file errors."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from codetap.errors import ConfigError, ModelStreamError
from codetap.models.base import ModelConfig, collect
from codetap.models.registry import make_provider
from codetap.models.replay import ReplayProvider, load_session
from codetap.types import Finished, Message, ModelRequest, TextDelta, ToolCall


def write(path: Path, *lines: Any) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


SESSION: list[dict[str, Any]] = [
    {"meta": {"recorded_with": "test", "model": "x"}},
    {"text": "Let me look around the repository first.",
     "tool_calls": [{"name": "glob", "arguments": {"pattern": "**/*.py"}},
                    {"id": "explicit", "name": "read", "arguments": {"path": "a.py"}}]},
    {"tool_calls": [{"name": "edit", "arguments": {"path": "a.py"}}],
     "usage": {"input_tokens": 1000, "output_tokens": 50}},
    {"text": "Done.", "stop_reason": "end_turn"},
]


def provider(path: Path, **kw: Any) -> ReplayProvider:
    cfg = ModelConfig("rec", "replay", path=str(path), input_price_per_mtok=1.0,
                      output_price_per_mtok=2.0, **kw)
    made = make_provider(cfg)
    assert isinstance(made, ReplayProvider)
    return made


def request_after(turns: int) -> ModelRequest:
    messages = [Message("user", "task")]
    for i in range(turns):
        messages.append(Message("assistant", f"turn {i}"))
        messages.append(Message("tool", "result", tool_call_id=f"c{i}"))
    return ModelRequest("system prompt", messages)


async def test_turns_are_chosen_by_assistant_message_count(tmp_path: Path) -> None:
    replay = provider(write(tmp_path / "s.jsonl", *SESSION))
    first = await collect(replay.stream(request_after(0)))
    assert first.text == "Let me look around the repository first."
    assert first.tool_calls == [ToolCall("call_0_0", "glob", {"pattern": "**/*.py"}),
                                ToolCall("explicit", "read", {"path": "a.py"})]
    assert first.stop_reason == "tool_use"
    # A "resumed" provider (fresh instance) asked for turn 2 gets turn 2, nothing replayed.
    resumed = provider(tmp_path / "s.jsonl")
    third = await collect(resumed.stream(request_after(2)))
    assert third.text == "Done." and third.stop_reason == "end_turn" and third.tool_calls == []
    # Asking the same request twice gives the same turn (no hidden cursor).
    again = await collect(replay.stream(request_after(0)))
    assert again.tool_calls == first.tool_calls
    assert replay.session.meta == {"recorded_with": "test", "model": "x"}


async def test_usage_recorded_or_estimated(tmp_path: Path) -> None:
    replay = provider(write(tmp_path / "s.jsonl", *SESSION))
    second = await collect(replay.stream(request_after(1)))
    assert (second.usage.input_tokens, second.usage.output_tokens) == (1000, 50)
    assert second.usage.cost_usd == pytest.approx((1000 * 1 + 50 * 2) / 1e6)
    assert second.tool_calls == [ToolCall("call_1_0", "edit", {"path": "a.py"})]
    small = await collect(replay.stream(request_after(0)))
    big_request = request_after(0)
    big_request.messages[0].content = "x" * 4000
    big = await collect(replay.stream(big_request))
    assert small.usage.input_tokens > 0 and small.usage.output_tokens > 0
    assert big.usage.input_tokens - small.usage.input_tokens == pytest.approx(1000, abs=2)
    assert big.usage.cost_usd > small.usage.cost_usd > 0


async def test_text_streams_in_a_few_chunks(tmp_path: Path) -> None:
    replay = provider(write(tmp_path / "s.jsonl", *SESSION))
    events = [e async for e in replay.stream(request_after(0))]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert 2 <= len(deltas) <= 4
    assert "".join(d.text for d in deltas) == SESSION[1]["text"]
    assert isinstance(events[-1], Finished)


async def test_exhausted_session(tmp_path: Path) -> None:
    replay = provider(write(tmp_path / "s.jsonl", *SESSION))
    with pytest.raises(ModelStreamError, match="replay session exhausted after 3 turns"):
        await collect(replay.stream(request_after(3)))


async def test_delay_ms(tmp_path: Path) -> None:
    replay = provider(write(tmp_path / "s.jsonl", {"text": "slow", "delay_ms": 150}))
    began = time.monotonic()
    await collect(replay.stream(request_after(0)))
    assert time.monotonic() - began >= 0.14


async def test_relative_path_resolved_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "rel.jsonl", {"text": "hi"})
    monkeypatch.chdir(tmp_path)
    replay = provider(Path("rel.jsonl"))
    assert replay.path == tmp_path / "rel.jsonl"
    monkeypatch.chdir("/")
    assert (await collect(replay.stream(request_after(0)))).text == "hi"


def test_file_is_parsed_once_per_version(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", *SESSION)
    assert load_session(path) is load_session(path)
    write(path, {"text": "changed, and longer than before to change the size"})
    assert load_session(path).turns[0].text.startswith("changed")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"text": "a"}', "{oops"], "line 2: invalid JSON"),
        (['{"text": 5}'], "line 1: text: 5 is not of type 'string'"),
        (['{"tool_calls": [{"name": "read"}]}'], "'arguments' is a required property"),
        (['{"txt": "typo"}'], "Additional properties are not allowed"),
        (['{"text": "a", "stop_reason": "done"}'], "stop_reason"),
    ],
)
def test_malformed_file_is_a_config_error(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        provider(path)


def test_missing_file_and_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read replay session file"):
        provider(tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match="needs path"):
        make_provider(ModelConfig("rec", "replay"))
