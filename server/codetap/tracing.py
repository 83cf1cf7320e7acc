"""OpenTelemetry spans of task runs: one per task run, step, model call and tool call.

Off by default and free when off: without ``[telemetry] otlp_endpoint`` no tracer provider
is made and :func:`span` is a no-op context manager (no OpenTelemetry import at all). With
it, :func:`configure` (called by the runtime worker at start) installs an SDK tracer
provider exporting in batches over OTLP/HTTP (``opentelemetry-exporter-otlp-proto-http``,
the optional ``codetap[otlp]`` extra; imported only then: a missing package is a
ConfigError naming it). Tests install a provider of their own with :func:`use_provider`.

Spans (OpenTelemetry semantic conventions for GenAI where they apply): ``codetap.task``
(``codetap.task.id``, ``codetap.task.workflow``), ``codetap.step`` (``codetap.step``),
``codetap.model`` (``gen_ai.request.model``, ``gen_ai.usage.input_tokens``,
``gen_ai.usage.output_tokens``), ``codetap.tool`` (``codetap.tool.name``,
``codetap.tool.is_error``). A raised exception is recorded on its span.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from codetap.errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from codetap.config import Config

_tracer: Tracer | None = None
_endpoint: str | None = None

Attrs = Mapping[str, str | int | float | bool]


def configure(config: Config) -> None:
    """Install the OTLP exporter when ``[telemetry] otlp_endpoint`` is set (once per
    process; a changed endpoint is picked up at the next start). ConfigError when the
    exporter package is not installed."""
    global _endpoint
    from codetap.config_schema import TelemetryTable

    table = TelemetryTable.model_validate(config.user_table.get("telemetry") or {})
    if table.otlp_endpoint is None or _endpoint is not None:
        return
    try:
        otlp = importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    except ImportError:
        raise ConfigError("[telemetry] otlp_endpoint is set but the OTLP exporter is not "
                          "installed: pip install 'codetap[otlp]'") from None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SdkProvider(resource=Resource.create({"service.name": table.service_name}))
    provider.add_span_processor(BatchSpanProcessor(otlp.OTLPSpanExporter(
        endpoint=table.otlp_endpoint)))
    _endpoint = table.otlp_endpoint
    use_provider(provider)


def use_provider(provider: TracerProvider | None) -> None:
    """Trace into ``provider`` from now on (None: stop tracing)."""
    global _tracer
    _tracer = provider.get_tracer("codetap") if provider is not None else None


def enabled() -> bool:
    """Whether spans are recorded."""
    return _tracer is not None


@contextlib.contextmanager
def span(name: str, attrs: Attrs | None = None) -> Iterator[Span | None]:
    """A span ``name`` with ``attrs`` around the block (the current span is its parent);
    yields it, or None when tracing is off."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, attributes=dict(attrs or {})) as current:
        yield current


def annotate(current: Span | None, attrs: Mapping[str, Any]) -> None:
    """Set ``attrs`` on ``current`` (a no-op for None)."""
    if current is not None:
        current.set_attributes(dict(attrs))
