"""codetap's exception tree.

    CodetapError
    ├── ConfigError            bad or missing configuration (message says how to fix it)
    ├── StoreError             database unreadable, locked, or from a newer codetap
    ├── WorkspaceError         not a git repository, worktree creation failed, git failed
    ├── ModelError             a model call failed
    │   ├── ModelHTTPError     non-retryable HTTP status (4xx other than 408/409/429)
    │   ├── ModelRetriesExhausted  429/5xx/timeouts beyond the retry budget
    │   ├── ModelStreamError   malformed or truncated stream
    │   └── ContextLengthExceeded  the prompt is longer than the model accepts
    ├── ToolError              a tool could not do what was asked (becomes a tool result)
    │   └── PathEscapeError    a path leaves the workspace
    └── TaskStop               control flow: the agent loop must stop
        ├── Submitted          the model called ``finish``
        └── LimitsExceeded     steps, tokens, cost or wall time over the role's limits

Cancelling or pausing a task cancels its asyncio task (``asyncio.CancelledError``); the
runtime, which asked for it, sets the state.
"""

from __future__ import annotations

from typing import Any


class CodetapError(Exception):
    """Base of every error codetap raises on purpose."""


class ConfigError(CodetapError):
    """Configuration is missing or invalid; the message says what to write where."""


class StoreError(CodetapError):
    """The database cannot be used (unreadable, locked, or written by a newer version)."""


class WorkspaceError(CodetapError):
    """A git or worktree operation failed, or the directory is not a git repository."""


class ModelError(CodetapError):
    """A model call failed."""


class ModelHTTPError(ModelError):
    """The provider answered with a status that retrying will not fix."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"model API returned HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class ModelRetriesExhausted(ModelError):
    """429, 5xx or timeouts continued past the retry budget."""


class ModelStreamError(ModelError):
    """The response stream was malformed or ended before the response was complete."""


class ContextLengthExceeded(ModelError):
    """The provider refused the prompt as longer than the model's context (OpenAI
    ``context_length_exceeded``, Anthropic "prompt is too long", vLLM "maximum context
    length", llama.cpp "exceeds the available context size"). ``status`` is the HTTP status
    (None for an in-stream error); the agent compacts the conversation and retries."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ToolError(CodetapError):
    """A tool failed in a way the model can act on; turned into an error ToolResult."""


class PathEscapeError(ToolError):
    """A path argument resolves outside the task workspace."""


class TaskStop(CodetapError):
    """Control flow: stop the agent loop. Not a failure by itself."""


class Submitted(TaskStop):
    """The model called ``finish``; ``summary`` is its description of the change and
    ``handoff`` the structured rest of the call (a plan, a verdict, a test result: see
    :mod:`codetap.tools.handoff`), None for a plain ``finish``."""

    def __init__(self, summary: str, handoff: dict[str, Any] | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.handoff = handoff


class LimitsExceeded(TaskStop):
    """A role limit (steps, tokens, cost in USD, wall time in s) was reached."""


class TaskNotFound(CodetapError):
    """No task has this id."""

    def __init__(self, task_id: int) -> None:
        super().__init__(f"no task with id {task_id}")
        self.task_id = task_id


class InvalidTransition(CodetapError):
    """The requested operation does not apply to the task's current state."""
