"""Prometheus metrics (``GET /metrics`` of the HTTP API; ``prometheus_client``).

Tasks run in the daemon's runtime worker while ``/metrics`` is served by its front, so task
figures are not counted as they happen: :class:`JournalCollector` computes them at scrape
time from the database (read-only), reading each journal entry once (an incremental scan
by rowid; PostgreSQL's ``events`` has a ``rowid`` identity column for this). They survive
worker and daemon restarts and agree with the journal.

From the tasks table (gauges): ``codetap_tasks{state}``, ``codetap_queue_depth`` (queued
tasks). From the journal (counters, since the database was created):
``codetap_steps_total{model,role}`` (model turns), ``codetap_tokens_total{model,role,
kind=input|output}``, ``codetap_cost_usd_total{model,role}``,
``codetap_model_latency_seconds{model}`` (histogram; turns that record ``latency_s``),
``codetap_model_errors_total{model,type}`` (``error`` entries of a model failure),
``codetap_tool_calls_total{tool,outcome=ok|error}``, ``codetap_tool_latency_seconds{tool}``
(histogram; results that record ``duration_s``). From the webhook outbox (when present):
``codetap_webhook_messages{state=pending|delivered|dead}`` and
``codetap_webhook_attempts_total``.

Counters for code that runs in the process serving ``/metrics`` (increment them there):
:data:`WEBHOOK_DELIVERIES` (``.labels(outcome="delivered"|"failed"|"dead").inc()``) and
:data:`WEBHOOK_LATENCY` (``.observe(seconds)`` enqueue -> delivered); :data:`HTTP_REQUESTS`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from codetap.store.base import decode_data
from codetap.store.readconn import ReadConn, connect_readonly
from codetap.types import TaskState

REGISTRY = CollectorRegistry()
"""The registry ``/metrics`` exposes (the daemon front's)."""

WEBHOOK_DELIVERIES = Counter("codetap_webhook_deliveries", "Webhook delivery attempts by "
                             "outcome", ["outcome"], registry=REGISTRY)
WEBHOOK_LATENCY = Histogram("codetap_webhook_delivery_seconds", "Webhook message enqueue to "
                            "delivered, seconds", registry=REGISTRY)
HTTP_REQUESTS = Counter("codetap_http_requests", "HTTP API requests by route and status",
                        ["route", "status"], registry=REGISTRY)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                   60.0, 120.0, 300.0)
SCAN_PAGE = 2000
_MODEL_ERRORS = frozenset({"ModelError", "ModelHTTPError", "ModelRetriesExhausted",
                           "ModelStreamError", "ContextLengthExceeded"})


class _Hist:
    """A cumulative histogram kept by hand (buckets, sum, count)."""

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        i = next((i for i, b in enumerate(LATENCY_BUCKETS) if value <= b), len(LATENCY_BUCKETS))
        self.counts[i] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, n in zip((*map(str, LATENCY_BUCKETS), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, float(running)))
        return out


class JournalCollector(Collector):
    """Task metrics read from the database at ``path`` at each scrape (see module doc).
    Thread-safe: ``collect`` may run in a worker thread."""

    def __init__(self, path: Path, url: str | None = None) -> None:
        self.path = path
        self.url = url
        self._conn: ReadConn | None = None
        self._lock = threading.Lock()
        self._cursor = 0
        self._models: dict[int, str] = {}
        self.steps: dict[tuple[str, str], int] = {}
        self.tokens: dict[tuple[str, str, str], int] = {}
        self.cost: dict[tuple[str, str], float] = {}
        self.model_latency: dict[str, _Hist] = {}
        self.model_errors: dict[tuple[str, str], int] = {}
        self.tool_calls: dict[tuple[str, str], int] = {}
        self.tool_latency: dict[str, _Hist] = {}

    def _db(self) -> ReadConn:
        if self._conn is None:
            self._conn = connect_readonly(self.path, self.url)
        return self._conn

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            db = self._db()
            states = dict(db.query("SELECT state, COUNT(*) FROM tasks GROUP BY state"))
            self._scan(db)
            outbox = _outbox(db)
        tasks = GaugeMetricFamily("codetap_tasks", "Tasks by state", labels=["state"])
        for state in TaskState:
            tasks.add_metric([state.value], states.get(state.value, 0))
        yield tasks
        yield GaugeMetricFamily("codetap_queue_depth", "Tasks waiting to run (queued)",
                                value=states.get(TaskState.QUEUED.value, 0))
        yield _counter("codetap_steps", "Model turns by model and role", ["model", "role"],
                       self.steps)
        yield _counter("codetap_tokens", "Tokens by model, role and kind (input|output)",
                       ["model", "role", "kind"], self.tokens)
        yield _counter("codetap_cost_usd", "Model cost in USD by model and role",
                       ["model", "role"], self.cost)
        yield _counter("codetap_model_errors", "Model failures that ended a run, by model "
                       "and error type", ["model", "type"], self.model_errors)
        yield _counter("codetap_tool_calls", "Tool calls by tool and outcome (ok|error)",
                       ["tool", "outcome"], self.tool_calls)
        yield _histogram("codetap_model_latency_seconds", "Model call latency, seconds",
                         "model", self.model_latency)
        yield _histogram("codetap_tool_latency_seconds", "Tool call latency, seconds", "tool",
                         self.tool_latency)
        if outbox is not None:
            msgs = GaugeMetricFamily("codetap_webhook_messages", "Webhook outbox messages by "
                                     "state", labels=["state"])
            for name in ("pending", "delivered", "dead"):
                msgs.add_metric([name], outbox[0].get(name, 0))
            yield msgs
            yield CounterMetricFamily("codetap_webhook_attempts", "Webhook delivery attempts "
                                      "(outbox)", value=outbox[1])

    def _scan(self, db: ReadConn) -> None:
        while True:
            rows = db.query(
                "SELECT rowid, task_id, kind, data FROM events WHERE rowid > ? AND kind IN "
                "('model_turn', 'tool_result', 'error') ORDER BY rowid LIMIT ?",
                (self._cursor, SCAN_PAGE))
            for rowid, task_id, kind, raw in rows:
                self._cursor = rowid
                self._count(db, task_id, kind, decode_data(raw))
            if len(rows) < SCAN_PAGE:
                return

    def _model_of(self, db: ReadConn, task_id: int) -> str:
        if task_id not in self._models:
            found = db.query("SELECT model FROM tasks WHERE id = ?", (task_id,))
            row = found[0] if found else None
            self._models[task_id] = str(row[0]) if row and row[0] else "unknown"
        return self._models[task_id]

    def _count(self, db: ReadConn, task_id: int, kind: str, data: Any) -> None:
        if kind == "model_turn":
            model = str(data.get("model") or self._model_of(db, task_id))
            role = str(data.get("role") or "coder")
            usage = data.get("usage") or {}
            _add(self.steps, (model, role), 1)
            _add(self.tokens, (model, role, "input"), int(usage.get("input_tokens", 0)))
            _add(self.tokens, (model, role, "output"), int(usage.get("output_tokens", 0)))
            _add(self.cost, (model, role), float(usage.get("cost_usd", 0.0)))
            if isinstance(data.get("latency_s"), int | float):
                self.model_latency.setdefault(model, _Hist()).observe(float(data["latency_s"]))
        elif kind == "tool_result":
            tool = str(data.get("name") or "unknown")
            _add(self.tool_calls, (tool, "error" if data.get("is_error") else "ok"), 1)
            if isinstance(data.get("duration_s"), int | float):
                self.tool_latency.setdefault(tool, _Hist()).observe(float(data["duration_s"]))
        elif kind == "error" and data.get("type") in _MODEL_ERRORS:
            _add(self.model_errors, (self._model_of(db, task_id), str(data["type"])), 1)


def _add(into: dict[Any, Any], key: Any, value: float) -> None:
    into[key] = into.get(key, 0) + value


def _counter(name: str, doc: str, labels: list[str], values: dict[Any, Any]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _histogram(name: str, doc: str, label: str, values: dict[str, _Hist]) -> Metric:
    family = HistogramMetricFamily(name, doc, labels=[label])
    for key, hist in sorted(values.items()):
        family.add_metric([key], hist.buckets(), hist.total)
    return family


def _outbox(db: ReadConn) -> tuple[dict[str, int], int] | None:
    try:
        rows = db.query("SELECT state, COUNT(*), COALESCE(SUM(attempts), 0) FROM outbox "
                        "GROUP BY state")
    except sqlite3.OperationalError:  # no outbox table (an older database)
        return None
    return {r[0]: r[1] for r in rows}, sum(r[2] for r in rows)


def install(path: Path, url: str | None = None) -> JournalCollector:
    """Register a :class:`JournalCollector` of the database at ``path`` (``url``: the
    PostgreSQL database of ``[store] url``) in :data:`REGISTRY` (replacing a previous one);
    returns it."""
    global _installed
    if _installed is not None:
        REGISTRY.unregister(_installed)
        _installed.close()
    _installed = JournalCollector(path, url)
    REGISTRY.register(_installed)
    return _installed


_installed: JournalCollector | None = None
