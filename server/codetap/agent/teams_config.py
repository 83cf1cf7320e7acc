"""``[roles.*]``, ``[workflows.*]``, ``[scheduler]``, ``[budget]`` and ``.codetap/roles/*.md``
(ARCHITECTURE.md "Teams and scheduler").

The tables are read from :attr:`codetap.config.Config.user_table` (the user's file, merged
with a trusted project file; an untrusted project's tables never get there: they are ignored
with the project warning). Precedence for a role: built-in, then ``[roles.NAME]``, then a
trusted project's role file ``.codetap/roles/NAME.md``. Role files of an untrusted project are
ignored as a whole, with a warning: a role names the model the code is sent to and the tools
that run, and a prompt alone is no safer than the instructions files the model already reads.

Role file shape::

    ---
    name: reviewer            # default: the file name
    description: strict review
    model: strong             # a [models.*] name
    tools: read, grep, finish # or [read, grep, finish]
    ---
    The body is the system prompt.

Errors: ConfigError naming the table or file and the bad key.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codetap.agent.roles import (
    BUILTIN_WORKFLOWS,
    CODER_TOOLS,
    Role,
    Stage,
    Workflow,
    default_roles,
)
from codetap.config import Config, Limits
from codetap.errors import ConfigError

_T = TypeVar("_T", bound=BaseModel)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LimitsOverride(_Table):
    """A role's ``limits``: any of the ``[limits]`` keys."""

    max_steps: Annotated[int, Field(ge=0)] | None = None
    max_tokens: Annotated[int, Field(ge=0)] | None = None
    max_cost_usd: Annotated[float, Field(ge=0)] | None = None
    max_wall_s: Annotated[float, Field(ge=0)] | None = None


class RoleTable(_Table):
    """``[roles.NAME]``."""

    model: str | None = None
    prompt: str | None = None
    prompt_file: str | None = None
    tools: list[str] | None = None
    limits: LimitsOverride | None = None
    summary_model: str | None = None
    description: str | None = None
    handoff: Literal["summary", "plan", "verdict", "tests"] | None = None


class StageTable(_Table):
    """One entry of ``[workflows.NAME] stages``."""

    role: str
    approve: bool = False
    on_changes_requested: str | None = None
    max_rounds: Annotated[int, Field(ge=0)] = 2
    fan_out: Literal["subtasks"] | None = None
    max_parallel: Annotated[int, Field(ge=1)] = 4
    integrator: str | None = None


class WorkflowTable(_Table):
    """``[workflows.NAME]``."""

    stages: Annotated[list[StageTable], Field(min_length=1)]


class SchedulerTable(_Table):
    """``[scheduler]``: tasks running at once (default: the number of CPUs)."""

    max_concurrent_tasks: Annotated[int, Field(ge=1)] | None = None


class BudgetTable(_Table):
    """``[budget]``: USD across all tasks per hour and per day (None: unbounded);
    ``window_s`` scales both windows (default 3600 s: the day is 24 windows)."""

    max_cost_usd_per_hour: Annotated[float, Field(ge=0)] | None = None
    max_cost_usd_per_day: Annotated[float, Field(ge=0)] | None = None
    window_s: Annotated[float, Field(gt=0)] = 3600.0


def _parse(cls: type[_T], value: Any, where: str) -> _T:
    try:
        return cls.model_validate(value if value is not None else {})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{where}{'.' + key if key else ''}: {err['msg']}") from None


def scheduler_settings(config: Config) -> SchedulerTable:
    """The ``[scheduler]`` table (validated)."""
    return _parse(SchedulerTable, config.user_table.get("scheduler"), "[scheduler]")


def budget_settings(config: Config) -> BudgetTable:
    """The ``[budget]`` table (validated)."""
    return _parse(BudgetTable, config.user_table.get("budget"), "[budget]")


def max_concurrent_tasks(config: Config) -> int:
    """``[scheduler] max_concurrent_tasks``, default the number of CPUs."""
    return scheduler_settings(config).max_concurrent_tasks or os.cpu_count() or 1


def workflows(config: Config) -> dict[str, Workflow]:
    """Built-in workflows with ``[workflows.*]`` added or replacing them."""
    out = dict(BUILTIN_WORKFLOWS)
    for name, value in (config.user_table.get("workflows") or {}).items():
        table = _parse(WorkflowTable, value, f"[workflows.{name}]")
        out[name] = Workflow(name, tuple(Stage(**s.model_dump()) for s in table.stages))
    return out


def workflow_for(config: Config, name: str, role: str | None,
                 parent_id: int | None) -> Workflow | None:
    """The workflow a task runs: a sub-task of a fan-out (``parent_id`` and ``role`` set)
    runs its one role; any other task the workflow ``name`` (None if unknown)."""
    if parent_id is not None and role:
        return Workflow(f"{name}:{role}", (Stage(role),))
    return workflows(config).get(name)


def roles(config: Config, limits: Limits, repo: Path | None = None,
          trusted: bool = False) -> tuple[dict[str, Role], list[str]]:
    """The roles for a task in ``repo`` and the warnings (ignored role files).

    ``trusted``: the project's files are trusted (:mod:`codetap.trust`). ConfigError for a
    bad table or file, an unknown model name or a role without a prompt."""
    out = default_roles(limits)
    for name, value in (config.user_table.get("roles") or {}).items():
        table = _parse(RoleTable, value, f"[roles.{name}]")
        prompt = table.prompt
        if table.prompt_file is not None:
            path = Path(table.prompt_file).expanduser()
            if not path.is_absolute():
                path = config.user_config_path.parent / path
            try:
                prompt = path.read_text()
            except OSError as exc:
                raise ConfigError(f"[roles.{name}] prompt_file: {exc}") from None
        fields: dict[str, Any] = {"model": table.model, "system_prompt": prompt, "tools": table.tools,
                  "limits": table.limits, "summary_model": table.summary_model,
                  "description": table.description, "handoff": table.handoff}
        out[name] = _apply(out.get(name), name, config, limits, f"[roles.{name}]", fields)
    warnings: list[str] = []
    folder = repo / ".codetap" / "roles" if repo is not None else None
    files = sorted(folder.glob("*.md")) if folder is not None and folder.is_dir() else []
    if files and not trusted:
        warnings.append(f"{folder} is not trusted, so its role files were ignored: "
                        f"{', '.join(p.name for p in files)}. Review them, then run "
                        f"`codetap trust {repo}` to use them.")
        return out, warnings
    for path in files:
        meta, body = read_role_file(path)
        name = str(meta.pop("name", path.stem))
        tools = meta.pop("tools", None)
        fields = {"model": meta.pop("model", None), "description": meta.pop("description", None),
                  "tools": tools, "system_prompt": body or None}
        if meta:
            raise ConfigError(f"{path}: unknown front matter key(s) {', '.join(meta)}")
        out[name] = _apply(out.get(name), name, config, limits, str(path), fields)
    return out, warnings


def _apply(base: Role | None, name: str, config: Config, limits: Limits, where: str,
           fields: dict[str, Any]) -> Role:
    given = {k: v for k, v in fields.items() if v is not None}
    if base is None:
        if "system_prompt" not in given:
            raise ConfigError(f"{where}: a new role needs a prompt (prompt or prompt_file)")
        base = Role(name, "", CODER_TOOLS, limits=limits)
    for key in ("model", "summary_model"):
        if key in given:
            config.model(given[key])  # ConfigError for an unknown model
    if isinstance(given.get("tools"), list):
        given["tools"] = tuple(given["tools"])
        if "finish" not in given["tools"]:
            given["tools"] += ("finish",)
        given.setdefault("verify", bool({"edit", "write"} & set(given["tools"])))
    if isinstance(given.get("limits"), LimitsOverride):
        over = {k: v for k, v in given["limits"].model_dump().items() if v is not None}
        given["limits"] = dataclasses.replace(base.limits, **over)
    return dataclasses.replace(base, **given)


def read_role_file(path: Path) -> tuple[dict[str, Any], str]:
    """A role file's front matter (``key: value`` lines; ``tools`` a list) and body.
    ConfigError for an unreadable file or a malformed front matter."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not text.startswith("---"):
        return {}, text.strip()
    head, sep, body = text[3:].partition("\n---")
    if not sep:
        raise ConfigError(f"{path}: front matter has no closing ---")
    meta: dict[str, Any] = {}
    for line in head.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line:
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise ConfigError(f"{path}: front matter line {line!r} is not 'key: value'")
        value = value.strip().strip('"').strip("'")
        if key.strip() == "tools":
            meta["tools"] = [t.strip().strip('"\'') for t in value.strip("[]").split(",")
                             if t.strip()]
        else:
            meta[key.strip()] = value
    return meta, body.lstrip("-").strip()
