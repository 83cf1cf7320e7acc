"""Roles and workflows as data (ARCHITECTURE.md "Agent", "Teams and scheduler").

A role is a name, a model (``None``: the task's model), a system prompt, a tool subset,
limits, the model that writes its compaction summaries (``summary_model``; ``None``: its own)
and the shape of its hand-off (``handoff``: ``summary`` | ``plan`` | ``verdict`` | ``tests``:
the arguments of its ``finish`` call, see :mod:`codetap.tools.handoff`). A workflow is an
ordered list of stages, each running one role on the task's worktree; see
:mod:`codetap.tasks.workflow` for how stages hand over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codetap.agent import role_prompts
from codetap.config import Limits

CODER_PROMPT = role_prompts.CODER

CODER_TOOLS = (
    "glob", "grep", "read", "edit", "write", "bash", "lsp", "symbols", "todo", "ask", "finish",
)
READ_TOOLS = ("glob", "grep", "read", "lsp", "symbols", "todo", "finish")
TESTER_TOOLS = ("glob", "grep", "read", "bash", "lsp", "symbols", "todo", "finish")
HANDOFFS = ("summary", "plan", "verdict", "tests")


@dataclass(frozen=True, slots=True)
class Role:
    """One agent role: ``tools`` are names from the tool contract; ``model`` None = task's.

    ``verify``: the ``[verify]`` run follows this role's ``finish`` (roles that edit)."""

    name: str
    system_prompt: str
    tools: tuple[str, ...]
    model: str | None = None
    limits: Limits = field(default_factory=Limits)
    summary_model: str | None = None
    description: str = ""
    handoff: str = "summary"
    verify: bool = False


@dataclass(frozen=True, slots=True)
class Stage:
    """One workflow stage: run ``role``; ``approve``: the user approves its hand-off before
    the next stage; ``on_changes_requested``: the role a ``changes_requested`` verdict goes
    back to, at most ``max_rounds`` times.

    ``fan_out = "subtasks"``: entered with a plan, the stage runs ``role`` as one child task
    per sub-task of the plan, at most ``max_parallel`` at once, then merges their branches
    in plan order; a merge conflict goes to ``integrator`` (None: ``role``) in the task's
    own worktree (:mod:`codetap.tasks.fanout`). Entered without a plan (a review loop
    back), it runs ``role`` once in the task's worktree like any stage."""

    role: str
    approve: bool = False
    on_changes_requested: str | None = None
    max_rounds: int = 2
    fan_out: str | None = None
    max_parallel: int = 4
    integrator: str | None = None


@dataclass(frozen=True, slots=True)
class Workflow:
    """A named, ordered list of stages (at least one)."""

    name: str
    stages: tuple[Stage, ...]

    def index_of(self, role: str, before: int) -> int:
        """The index of the last stage running ``role`` before stage ``before``; ValueError
        if there is none."""
        for i in range(before - 1, -1, -1):
            if self.stages[i].role == role:
                return i
        raise ValueError(f"workflow {self.name!r}: no {role!r} stage before stage {before}")


def default_roles(limits: Limits) -> dict[str, Role]:
    """The built-in roles (``planner``, ``coder``, ``tester``, ``reviewer``) with the
    configured limits."""
    return {
        "planner": Role("planner", role_prompts.PLANNER, READ_TOOLS, limits=limits,
                        description="reads the repository and writes a plan",
                        handoff="plan"),
        "coder": Role("coder", CODER_PROMPT, CODER_TOOLS, limits=limits,
                      description="changes the code", verify=True),
        "tester": Role("tester", role_prompts.TESTER, TESTER_TOOLS, limits=limits,
                       description="runs the tests and reports", handoff="tests"),
        "reviewer": Role("reviewer", role_prompts.REVIEWER, READ_TOOLS, limits=limits,
                         description="reviews the change", handoff="verdict"),
    }


BUILTIN_WORKFLOWS: dict[str, Workflow] = {
    "default": Workflow("default", (Stage("coder"),)),
    "plan-execute": Workflow("plan-execute", (Stage("planner"), Stage("coder"))),
    "review": Workflow("review", (
        Stage("coder"), Stage("reviewer", on_changes_requested="coder", max_rounds=2))),
    "plan": Workflow("plan", (Stage("planner", approve=True), Stage("coder"))),
    "team": Workflow("team", (
        Stage("planner"), Stage("coder", fan_out="subtasks", max_parallel=4),
        Stage("tester"), Stage("reviewer", on_changes_requested="coder", max_rounds=2))),
}

WORKFLOWS: dict[str, tuple[str, ...]] = {
    name: tuple(s.role for s in wf.stages) for name, wf in BUILTIN_WORKFLOWS.items()}
"""Built-in workflow name -> its roles in order (what the report shows)."""
