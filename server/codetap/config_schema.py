"""The shape of ``config.toml`` as pydantic models, and the error text for a table that
does not fit it.

:func:`validate` checks a parsed TOML table (user file, or user file merged with a
trusted project file) before :class:`codetap.config.Config` is built from it. Values are
checked strictly (no ``"10"`` for 10; an integer is accepted where a number is expected)
and unknown keys are errors. ``[policy]``, ``[sandbox]``, ``[lsp]``, ``[roles]``,
``[workflows]``, ``[scheduler]`` and ``[budget]`` are only required to be tables here: :class:`codetap.policy.CommandPolicy`, :class:`codetap.tools.sandbox.
SandboxSettings` and :mod:`codetap.pool.specs` check their contents.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from codetap.errors import ConfigError

PROVIDERS = ("openai", "anthropic", "replay")
WORKER_PRIORITIES = ("idle", "low")
WORKER_CPUS = ("auto", "all")

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Name = Annotated[str, Field(min_length=1)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelTable(_Table):
    """``[models.<name>]``: see :class:`codetap.models.base.ModelConfig`."""

    provider: Literal["openai", "anthropic", "replay"]
    model: str = ""
    base_url: str | None = None
    api_key_env: str | None = None
    input_price_per_mtok: NonNegative = 0.0
    output_price_per_mtok: NonNegative = 0.0
    cached_input_price_per_mtok: NonNegative | None = None
    cache_write_price_per_mtok: NonNegative | None = None
    context_window: Annotated[int, Field(gt=0)] = 128_000
    max_output_tokens: Annotated[int, Field(gt=0)] = 4096
    timeout_s: Positive = 120.0
    max_retries: Annotated[int, Field(ge=0)] = 4
    path: str | None = None
    max_concurrent: Annotated[int, Field(ge=1)] | None = None


class LimitsTable(_Table):
    """``[limits]``: steps, tokens, USD, seconds per task."""

    max_steps: Annotated[int, Field(ge=0)] = 60
    max_tokens: Annotated[int, Field(ge=0)] = 2_000_000
    max_cost_usd: NonNegative = 5.0
    max_wall_s: NonNegative = 3600.0


class DaemonTable(_Table):
    """``[daemon]``: recovery and how the task worker is scheduled."""

    resume_interrupted: Literal["auto", "manual"] = "auto"
    worker_priority: Literal["idle", "low"] = "idle"
    worker_cpus: Any = "auto"

    @field_validator("worker_cpus")
    @classmethod
    def _cpus(cls, value: Any) -> str | tuple[int, ...]:
        if isinstance(value, list) and value and all(
                isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in value):
            return tuple(sorted(set(value)))
        if isinstance(value, str) and value in WORKER_CPUS:
            return value
        raise PydanticCustomError(
            "expected", '"auto", "all" or a non-empty list of CPU numbers such as [2, 3]')


class ToolsTable(_Table):
    """``[tools]``: bash time-out (seconds) and extra variables tools may see."""

    bash_timeout_s: Positive = 120.0
    env_passthrough: tuple[Name, ...] = ()

    @field_validator("env_passthrough", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        # TOML arrays arrive as lists; strict mode wants a tuple for a tuple field.
        return tuple(value) if isinstance(value, list) else value


class StoreTable(_Table):
    """``[store]``: where the database lives (default ``<data_dir>/codetap.db``) and how
    each commit reaches the disk: ``synchronous = "normal"`` (default; WAL without an fsync
    per commit: a crash or ``kill -9`` loses nothing committed, a power loss or OS crash
    can drop the newest steps) or ``"full"`` (an fsync per commit: those survive too).
    ``url = "postgresql://user@host:5432/codetap"``: a shared PostgreSQL instead of the
    SQLite file (scale-out, docs/scale-out.md); ``path`` and ``synchronous`` then do not
    apply."""

    path: Name | None = None
    synchronous: Literal["normal", "full"] = "normal"
    url: Annotated[str, Field(pattern=r"^postgres(ql)?://")] | None = None


class ExecutorTable(_Table):
    """``[executor]``: :class:`codetap.executor.settings.ExecutorSettings`."""

    kind: Literal["inprocess", "ray"] = "inprocess"
    address: Annotated[str, Field(pattern=r"^(auto|ray://.+)$")] = "auto"
    num_cpus: Annotated[float, Field(gt=0)] = 1.0
    memory_mb: Annotated[int, Field(ge=0)] = 0
    max_retries: Annotated[int, Field(ge=0)] = 3
    lease_ttl_s: Positive = 30.0
    node_dir: Name | None = None


class VerifyTable(_Table):
    """``[verify]``: the check run after ``finish`` (:mod:`codetap.tasks.verify`)."""

    command: Name | None = None
    max_rounds: Annotated[int, Field(ge=1)] = 2
    strategy: Literal["full", "changed", "none"] = "full"
    timeout_s: Positive = 900.0


class GitHostTable(_Table):
    """``[git.hosts."HOST"]``: see :class:`codetap.tasks.remote.GitHost`."""

    token_env: Name | None = None
    api_url: Name | None = None
    kind: Literal["github", "gitlab"] | None = None
    username: Name = "x-access-token"


class GitTable(_Table):
    """``[git]``: remote repositories, push and pull requests
    (:class:`codetap.tasks.remote.GitSettings`)."""

    branch_template: Name = "codetap/task-{id}"
    push: bool = False
    push_on_failure: bool = False
    fetch_attempts: Annotated[int, Field(ge=1)] = 4
    fetch_backoff_s: NonNegative = 2.0
    hosts: dict[str, GitHostTable] = {}


class ServerTable(_Table):
    """``[server]``: the HTTP API (:mod:`codetap.http`): ``http = "HOST:PORT"`` turns it on;
    ``token_env`` names the variable holding the bearer token (else one is generated)."""

    http: Name | None = None
    token_env: Name | None = None


class TelemetryTable(_Table):
    """``[telemetry]``: OpenTelemetry spans (:mod:`codetap.tracing`) go to ``otlp_endpoint``
    (OTLP over HTTP, e.g. ``http://127.0.0.1:4318/v1/traces``); unset: no tracing."""

    otlp_endpoint: Name | None = None
    service_name: Name = "codetap"


WebhookType = Literal["task.created", "task.updated", "task.status", "task.waiting",
                      "task.ready", "task.failed", "task.cancelled"]


class WebhookTable(_Table):
    """``[[webhooks]]``: a global webhook (:mod:`codetap.webhooks.settings`); the secret is
    read from the variable ``secret_env``, never written in the file."""

    url: Annotated[str, Field(pattern=r"^https?://")]
    secret_env: Name
    events: list[WebhookType] | None = None
    interval_s: Positive = 60.0


class WebhookDeliveryTable(_Table):
    """``[webhook_delivery]``: retry schedule (seconds before each attempt), per-attempt
    time-out (seconds), messages in flight at once."""

    retry_schedule_s: Annotated[list[NonNegative], Field(min_length=1)] = [
        0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0]
    timeout_s: Positive = 10.0
    concurrency: Annotated[int, Field(ge=1)] = 16


class ConfigFile(_Table):
    """A whole ``config.toml``."""

    default_model: Name | None = None
    models: dict[str, ModelTable] = {}
    limits: LimitsTable = LimitsTable()
    daemon: DaemonTable = DaemonTable()
    tools: ToolsTable = ToolsTable()
    store: StoreTable = StoreTable()
    executor: ExecutorTable = ExecutorTable()
    verify: VerifyTable = VerifyTable()
    server: ServerTable = ServerTable()
    telemetry: TelemetryTable = TelemetryTable()
    git: GitTable = GitTable()
    webhooks: list[WebhookTable] = []
    webhook_delivery: WebhookDeliveryTable = WebhookDeliveryTable()
    lsp: dict[str, Any] = {}
    policy: dict[str, Any] = {}
    sandbox: dict[str, Any] = {}
    # Checked by codetap.agent.teams_config (roles, workflows, scheduler, budget).
    roles: dict[str, Any] = {}
    workflows: dict[str, Any] = {}
    scheduler: dict[str, Any] = {}
    budget: dict[str, Any] = {}


def validate(table: dict[str, Any], origin: Callable[[tuple[str, ...]], Path]) -> ConfigFile:
    """The validated form of a parsed TOML ``table``.

    ``origin(dotted_key_parts)`` names the file a key came from (the table may merge two
    files). Raises ConfigError ``"<file>: <dotted.key> = <value>: expected <type>"`` for the
    first wrong value, ``"<file>: unknown key <dotted.key>"`` for an unknown key and
    ``"<file>: default_model = 'x' but there is no [models.x] table"``.
    """
    try:
        parsed = ConfigFile.model_validate(table)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(str(part) for part in error["loc"])
        raise ConfigError(f"{origin(loc)}: {_describe(loc, error)}") from None
    name = parsed.default_model
    if name is not None and name not in parsed.models:
        raise ConfigError(f"{origin(('default_model',))}: default_model = {name!r} but there "
                          f"is no [models.{name}] table")
    return parsed


def _describe(loc: tuple[str, ...], error: ErrorDetails) -> str:
    key = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc).lstrip(".")
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {key}"
    if kind == "missing":
        if loc[-1] == "provider":
            return f"{key} is required: one of {', '.join(map(repr, PROVIDERS))}"
        return f"{key} is required"
    return f"{key} = {error['input']!r}: expected {_expected(kind, error)}"


_TYPES = {
    "int_type": "an integer", "int_from_float": "an integer", "float_type": "a number",
    "string_type": "a string", "bool_type": "true or false", "list_type": "a list",
    "tuple_type": "a list", "dict_type": "a table", "model_type": "a table",
    "model_attributes_type": "a table",
}


def _expected(kind: str, error: ErrorDetails) -> str:
    ctx = error.get("ctx") or {}
    if kind in _TYPES:
        return _TYPES[kind]
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        return f"a number {'>' if kind == 'greater_than' else '>='} {bound}"
    if kind == "string_too_short":
        return "a non-empty string"
    return error["msg"][0].lower() + error["msg"][1:]
