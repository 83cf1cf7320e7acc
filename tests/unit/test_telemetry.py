"""Tracing and metrics of a real task run in process (replay model, real tools, git,
SQLite): spans per task, step, model call and tool call in an in-memory exporter; the
journal collector's figures agree with the task row; no tracer provider = no spans."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from codetap import tracing
from codetap.config import Config
from codetap.metrics import JournalCollector
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime, TaskRecord
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import CALC, session

TURNS = [
    {"tool_calls": [{"name": "read", "arguments": {"path": "missing.py"}}]},
    {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]},
    {"tool_calls": [{"name": "edit", "arguments": {
        "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}}]},
    {"tool_calls": [{"name": "finish", "arguments": {"summary": "add adds"}}]},
]


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exp))
    tracing.use_provider(provider)
    yield exp
    tracing.use_provider(None)


async def run_task(xdg: Path, tmp_path: Path) -> tuple[Config, TaskRecord]:
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    model = ModelConfig("replay", "replay", path=str(session(tmp_path / "s.jsonl", TURNS)),
                        input_price_per_mtok=1.0, output_price_per_mtok=2.0)
    config = dataclasses.replace(Config.load(), default_model="replay",
                                 models={"replay": model})
    config = dataclasses.replace(config, verify=dataclasses.replace(config.verify,
                                                                    strategy="none"))
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("make add add", repo)).id)
    finally:
        await rt.close()
    assert task.state is TaskState.READY, task.error
    return config, task


async def test_spans_per_task_step_model_and_tool(xdg: Path, tmp_path: Path,
                                                  exporter: InMemorySpanExporter) -> None:
    _, task = await run_task(xdg, tmp_path)
    spans = exporter.get_finished_spans()
    by_name: dict[str, list[object]] = {}
    for s in spans:
        by_name.setdefault(s.name, []).append(s)
    [task_span] = [s for s in spans if s.name == "codetap.task"]
    assert task_span.attributes is not None
    assert task_span.attributes["codetap.task.id"] == task.id
    assert task_span.attributes["codetap.task.outcome"] == "ready"
    steps = [s for s in spans if s.name == "codetap.step"]
    models = [s for s in spans if s.name == "codetap.model"]
    tools = [s for s in spans if s.name == "codetap.tool"]
    assert len(steps) == len(models) == task.steps == len(TURNS)
    assert [t.attributes["codetap.tool.name"] for t in tools if t.attributes] == [
        "read", "read", "edit", "finish"]
    assert [t.attributes["codetap.tool.is_error"] for t in tools[:3] if t.attributes] == [
        True, False, False]
    assert sum(int(m.attributes["gen_ai.usage.input_tokens"]) for m in models
               if m.attributes) == task.usage.input_tokens
    trace_id = task_span.context.trace_id  # type: ignore[union-attr]
    assert all(s.context.trace_id == trace_id for s in spans)  # type: ignore[union-attr]
    for step in steps:
        children = [s for s in models + tools if s.parent is not None
                    and s.parent.span_id == step.context.span_id]  # type: ignore[union-attr]
        assert children and children[0].name == "codetap.model"
        assert step.parent is not None
        assert step.parent.span_id == task_span.context.span_id  # type: ignore[union-attr]


async def test_no_provider_no_spans(xdg: Path, tmp_path: Path) -> None:
    tracing.use_provider(None)
    assert not tracing.enabled()
    with tracing.span("x", {"a": 1}) as s:
        assert s is None


async def test_journal_collector_agrees_with_the_task(xdg: Path, tmp_path: Path) -> None:
    config, task = await run_task(xdg, tmp_path)
    registry = CollectorRegistry()
    collector = JournalCollector(config.db_path)
    registry.register(collector)
    try:
        first = _samples(generate_latest(registry).decode())
        again = _samples(generate_latest(registry).decode())
    finally:
        collector.close()
    assert first == again  # each journal entry is counted once
    assert first[key("codetap_tasks", state="ready")] == 1
    assert first[key("codetap_queue_depth")] == 0
    who = {"model": "replay", "role": "coder"}
    assert first[key("codetap_steps_total", **who)] == task.steps
    assert first[key("codetap_tokens_total", kind="input", **who)] == \
        task.usage.input_tokens > 0
    assert first[key("codetap_tokens_total", kind="output", **who)] == \
        task.usage.output_tokens
    assert first[key("codetap_cost_usd_total", **who)] == pytest.approx(task.usage.cost_usd)
    assert first[key("codetap_tool_calls_total", outcome="error", tool="read")] == 1
    assert first[key("codetap_tool_calls_total", outcome="ok", tool="edit")] == 1
    assert first[key("codetap_model_latency_seconds_count", model="replay")] == task.steps
    assert first[key("codetap_tool_latency_seconds_count", tool="read")] == 2


Key = tuple[str, tuple[tuple[str, str], ...]]


def key(name: str, **labels: str) -> Key:
    return name, tuple(sorted(labels.items()))


def _samples(text: str) -> dict[Key, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[key(s.name, **s.labels)] = s.value
    return out
