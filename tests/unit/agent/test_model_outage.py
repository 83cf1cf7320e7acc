"""A model API that fails past the retry budget fails the task clearly; resume continues it.

Real HTTP on loopback (the scripted OpenAI-compatible server of the provider tests)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import CALC
from tests.unit.models.scripted_server import ScriptedServer, error_reply, event_stream, sse
from tests.unit.models.test_openai_provider import chunk, usage_chunk


def finish_stream(summary: str) -> object:
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "finish", "arguments": json.dumps({"summary": summary})}}
    return event_stream(chunk({"role": "assistant", "tool_calls": [call]}),
                        chunk(finish="tool_calls"), usage_chunk(50, 7), sse("[DONE]"))


async def test_outage_fails_the_task_then_resume_finishes_it(xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    async with ScriptedServer([error_reply(500, '{"error": "down"}')] * 2) as server:
        model = ModelConfig("local", "openai", model="m", base_url=server.url + "/v1",
                            max_retries=1, timeout_s=5)
        config = dataclasses.replace(Config.load(), models={"local": model},
                                     default_model="local")
        rt = await Runtime.open(config)
        try:
            task = await rt.wait((await rt.start_task("x", repo)).id)
            assert task.state is TaskState.FAILED
            assert task.error is not None and "model error" in task.error and "500" in task.error
            assert len(server.requests) == 2

            server.script.append(finish_stream("done after the outage"))
            await rt.resume(task.id)
            task = await rt.wait(task.id)
            assert task.state is TaskState.READY and task.summary == "done after the outage"
            assert task.usage.input_tokens == 50 and task.usage.output_tokens == 7
            turns = [e for e in await rt.store.events(task.id) if e.kind == "model_turn"]
            assert len(turns) == 1
        finally:
            await rt.close()
