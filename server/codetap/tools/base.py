"""The tool interface: what every model-facing tool implements.

A tool validates its JSON arguments against ``parameters`` (JSON Schema, draft 2020-12),
runs against a :class:`ToolContext`, and returns a :class:`~codetap.types.ToolResult`.
Failures the model can act on are raised as :class:`~codetap.errors.ToolError` and turned
into error results by :func:`run_tool`; a tool never crashes the task.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from codetap.errors import ToolError
from codetap.policy import CommandPolicy
from codetap.tools.sandbox import SandboxSettings
from codetap.types import JSON, ToolResult, ToolSpec

if TYPE_CHECKING:
    import jsonschema

    from codetap.index import SymbolIndex
    from codetap.pool.pool import LspPool
    from codetap.tools.procgroups import ProcessGroups


@dataclass(slots=True)
class FileRead:
    """What the agent saw of a file: mtime (ns), size (bytes), line range read, sha256."""

    mtime_ns: int
    size: int
    offset: int
    limit: int
    sha256: str


AskFn = Callable[..., Awaitable[str]]


@dataclass(slots=True)
class Services:
    """Long-lived helpers the runtime lends a task's tools; each None when unavailable.

    ``pool``: the language-server pool (:class:`codetap.pool.pool.LspPool`); ``index``: a
    symbol index (:class:`codetap.index.SymbolIndex`) of the workspace, built by the
    ``symbols`` tool on first use when the runtime gave none (``own_index`` when ``index``
    belongs to another root); ``index_cache_dir``: where indexes keep their cache;
    ``process_groups``: the registry of running tool process groups (killed after a
    crash); ``ask(question, options=None, kind="question") -> answer``: puts the task in
    ``waiting`` until the user answers; ``can_ask() -> bool``: whether anybody is attached
    to answer.
    """

    pool: LspPool | None = None
    index: SymbolIndex | None = None
    own_index: SymbolIndex | None = None
    index_cache_dir: Path | None = None
    process_groups: ProcessGroups | None = None
    ask: AskFn | None = None
    can_ask: Callable[[], Awaitable[bool]] | None = None

    def copy(self) -> Services:
        """A shallow copy (one per task: the ``symbols`` tool fills ``index`` in it)."""
        return dataclasses.replace(self)


@dataclass(slots=True)
class ToolContext:
    """Per-task state shared by the tools of one task.

    ``workspace`` is the task's worktree (absolute, resolved). ``reads`` maps a workspace
    relative POSIX path to what was last read of it (the edit tool's staleness check).
    ``todo`` is the task plan as set by the ``todo`` tool. ``services`` holds the
    long-lived helpers injected by the runtime (:class:`Services`).
    ``policy`` says which ``bash`` commands need approval (checked by the agent loop).
    ``sandbox`` says how ``bash`` is sandboxed (:mod:`codetap.tools.sandbox`);
    ``env_passthrough`` names the extra variables tool processes may see (exact names or
    globs, :func:`codetap.tools.environment.scrubbed_env`); ``git_dir`` is the repository's
    git directory the sandbox shows read-only (None: found from ``workspace/.git``).
    """

    workspace: Path
    reads: dict[str, FileRead] = field(default_factory=dict)
    todo: list[JSON] = field(default_factory=list)
    bash_timeout_s: float = 120.0
    output_cap_bytes: int = 30_000
    env: dict[str, str] = field(default_factory=dict)
    services: Services = field(default_factory=Services)
    policy: CommandPolicy = field(default_factory=CommandPolicy)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    env_passthrough: tuple[str, ...] = ()
    git_dir: Path | None = None


class Tool(abc.ABC):
    """Base class of a model-facing tool.

    Subclasses set ``name``, ``description``, ``parameters`` and the flags, and implement
    :meth:`run`. ``read_only`` tools may run concurrently; ``idempotent`` tools are re-run
    on resume when their intent has no journaled result (ARCHITECTURE.md "Durability").
    ``mutates`` tools may change files (the step is committed after them);
    ``reports_changes`` ones name every file they changed in ``meta.changed_files`` (none
    on error), so the commit stages just those; others' changes are found by a git status.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    parameters: ClassVar[JSON]
    read_only: ClassVar[bool] = True
    idempotent: ClassVar[bool] = True
    mutates: ClassVar[bool] = False
    reports_changes: ClassVar[bool] = False

    @classmethod
    def spec(cls) -> ToolSpec:
        """The :class:`ToolSpec` offered to the model."""
        return ToolSpec(cls.name, cls.description, cls.parameters)

    @abc.abstractmethod
    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        """Run with validated ``args``. Raise ToolError for failures the model can fix."""


def validate_arguments(tool: Tool, args: JSON) -> None:
    """Check ``args`` against ``tool.parameters`` (JSON Schema draft 2020-12); raise
    ToolError naming the bad field."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(type(tool)).iter_errors(args))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "arguments"
        raise ToolError(f"invalid arguments for {tool.name}: {where}: {error.message}")


@functools.cache
def _validator(cls: type[Tool]) -> jsonschema.Draft202012Validator:
    # Built once per tool class: jsonschema.validate() would re-check the schema each call.
    # Imported here: jsonschema costs ~60 ms at start-up, before a resumed task's first step.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(cls.parameters)


async def run_tool(tool: Tool, args: JSON, ctx: ToolContext) -> ToolResult:
    """Validate and run ``tool``; any ToolError (or OSError) becomes an error result.

    Control-flow exceptions (``TaskStop`` subclasses such as ``Submitted``) propagate.
    """
    try:
        validate_arguments(tool, args)
        return await tool.run(args, ctx)
    except ToolError as exc:
        return ToolResult(f"error: {exc}", is_error=True)
    except OSError as exc:
        return ToolResult(f"error: {exc.strerror or exc}", is_error=True)
