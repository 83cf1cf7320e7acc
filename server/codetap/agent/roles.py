"""Roles and workflows as data (ARCHITECTURE.md "Agent").

A role is a name, a model (``None``: the task's model), a system prompt, a tool subset and
limits. A workflow is an ordered list of roles that run one after the other on the same
worktree; the default workflow is a single ``coder``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codetap.config import Limits

CODER_PROMPT = """\
You are codetap's coder, an autonomous software engineer working in a git worktree that is a
copy of the user's repository. Complete the task you are given, then call `finish` with a short
summary of the change.

How to work:
- Explore before editing: use `grep`, `glob`, `symbols` and `lsp` to find the relevant code and
  `read` files before you change them. `edit` needs an exact, unique `old_string` from a fresh
  read; `write` creates new files.
- Keep the change minimal and in the style of the surrounding code.
- Run the project's tests or checks with `bash` when they exist, and fix what you broke.
- Paths are relative to the repository root. Tool errors are messages for you: read them and
  adjust. Never try to leave the workspace.
- Use `todo` to keep a short plan for longer tasks. Ask the user (`ask`) only when the task
  cannot be done without an answer."""

CODER_TOOLS = (
    "glob", "grep", "read", "edit", "write", "bash", "lsp", "symbols", "todo", "ask", "finish",
)


@dataclass(frozen=True, slots=True)
class Role:
    """One agent role: ``tools`` are names from the tool contract; ``model`` None = task's."""

    name: str
    system_prompt: str
    tools: tuple[str, ...]
    model: str | None = None
    limits: Limits = field(default_factory=Limits)


def default_roles(limits: Limits) -> dict[str, Role]:
    """The built-in roles with the configured limits."""
    return {"coder": Role("coder", CODER_PROMPT, CODER_TOOLS, limits=limits)}


WORKFLOWS: dict[str, tuple[str, ...]] = {"default": ("coder",)}
