"""Running a task's workflow: stages one after the other, structured hand-offs between
roles, review loops and plan approval (ARCHITECTURE.md "Teams and scheduler").

Each stage runs one role to its ``finish``. Its hand-off (the ``finish`` arguments, see
:mod:`codetap.tools.handoff`) is journaled as a ``handoff`` entry and the next role's
conversation starts from it (:func:`codetap.agent.state.rebuild` starts a new conversation
at each ``handoff``, with ``context`` as its first user message). Where the workflow stands
is derived from the journal alone, so a task killed at any point resumes at the right stage
with the right round counts.

A stage with ``fan_out`` entered with a plan runs as child tasks instead
(:mod:`codetap.tasks.fanout`, through :attr:`Drive.fan_out`).

Journal entries written here (``data`` shapes):
  ``handoff``        {from_role, to_role, from_stage, to_stage, round, data, context}
                     (one with ``integrate`` set is a fan-out's merge conflict handed to
                     its integrator: not a move between stages)
  ``plan_approval``  {stage, role, approved, answer}
  ``user``           {content, approval_feedback: true}  (a rejected plan's feedback)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from codetap.agent.loop import Journal
from codetap.agent.roles import Role, Stage, Workflow
from codetap.errors import ConfigError
from codetap.store import Event
from codetap.store.faults import fault_point
from codetap.tasks.verify import Verification
from codetap.types import JSON

APPROVE_WORDS = frozenset({"approve", "approved", "yes", "y", "ok", "lgtm"})


@dataclass(slots=True)
class RoleResult:
    """How one role's run ended: its summary, structured hand-off (None: plain finish),
    verification (roles that verify), and the step count then."""

    summary: str
    handoff: JSON | None
    verification: Verification | None
    step: int


@dataclass(slots=True)
class Position:
    """Where a workflow stands: the stage to run, the ``changes_requested`` loops taken per
    stage index, and the latest summary of each role."""

    stage: int = 0
    rounds: dict[int, int] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)


def position(events: Sequence[Event], workflow: Workflow) -> Position:
    """The workflow's position from the journal (its ``handoff`` entries)."""
    pos = Position()
    for ev in events:
        if ev.kind != "handoff" or ev.data.get("integrate"):
            continue
        d = ev.data
        pos.summaries[str(d.get("from_role"))] = str((d.get("data") or {}).get("summary", ""))
        frm, to = int(d.get("from_stage", 0)), int(d.get("to_stage", 0))
        if to <= frm:
            pos.rounds[frm] = pos.rounds.get(frm, 0) + 1
        pos.stage = min(to, len(workflow.stages) - 1)
    return pos


RunRole = Callable[[Role], Awaitable[RoleResult]]
Ask = Callable[..., Awaitable[str]]
FanOutRun = Callable[[int, Stage, JSON, int], Awaitable[RoleResult]]
"""(stage index, stage, the plan hand-off's data, its journal seq) -> the stage's result."""


@dataclass(slots=True)
class Drive:
    """What :func:`drive` needs: the workflow and roles, the journal, the task's own
    message (every role's context starts with it), and callables to run a role, read the
    journal, list changed files and ask the user."""

    workflow: Workflow
    roles: dict[str, Role]
    journal: Journal
    task_message: str
    run_role: RunRole
    events: Callable[[], Awaitable[list[Event]]]
    changed: Callable[[], Awaitable[list[str]]]
    ask: Ask | None = None
    fan_out: FanOutRun | None = None


async def drive(d: Drive) -> RoleResult:
    """Run the workflow from where the journal says it stands to its end; the result of
    the last role that verifies (else of the last role), its summary standing for the
    task's. Raises what the role runs raise; ConfigError for a stage naming an unknown
    role."""
    wf = d.workflow
    pos = position(await d.events(), wf)
    final: RoleResult | None = None
    while True:
        stage = wf.stages[pos.stage]
        role = d.roles.get(stage.role)
        if role is None:
            raise ConfigError(f"workflow {wf.name!r}: unknown role {stage.role!r}; "
                              f"known: {', '.join(sorted(d.roles))}")
        plan = await _plan_in(d, pos.stage) if stage.fan_out and d.fan_out else None
        if plan is not None and d.fan_out is not None:
            out = await d.fan_out(pos.stage, stage, plan[0], plan[1])
        else:
            out = await d.run_role(role)
        if stage.approve and not await _approved(d, pos.stage, role, out):
            continue
        if role.verify or final is None:
            final = out
        pos.summaries[role.name] = out.summary
        to, loop = _next(wf, pos, out)
        if to is None:
            return final
        if loop:
            pos.rounds[pos.stage] = pos.rounds.get(pos.stage, 0) + 1
        to_role = wf.stages[to].role
        data: JSON = {"summary": out.summary, **(out.handoff or {})}
        context = await _context(d, role.name, to_role, data, pos, to)
        await d.journal.record(out.step, [("handoff", {
            "from_role": role.name, "to_role": to_role, "from_stage": pos.stage,
            "to_stage": to, "round": pos.rounds.get(pos.stage, 0), "data": data,
            "context": context})])
        fault_point("after_handoff")
        pos.stage = to


async def _plan_in(d: Drive, index: int) -> tuple[JSON, int] | None:
    """The plan a fan-out stage was entered with (hand-off data, its seq); None when the
    latest hand-off into the stage is not a plan (a review loop back)."""
    for ev in reversed(await d.events()):
        if ev.kind == "handoff" and not ev.data.get("integrate") \
                and ev.data.get("to_stage") == index:
            data = ev.data.get("data") or {}
            return (data, ev.seq) if data.get("subtasks") else None
    return None


def _next(wf: Workflow, pos: Position, out: RoleResult) -> tuple[int | None, bool]:
    """The next stage (None: the workflow is done) and whether it is a loop back."""
    stage = wf.stages[pos.stage]
    verdict = (out.handoff or {}).get("verdict")
    if verdict == "changes_requested" and stage.on_changes_requested \
            and pos.rounds.get(pos.stage, 0) < stage.max_rounds:
        try:
            return wf.index_of(stage.on_changes_requested, pos.stage), True
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    nxt = pos.stage + 1
    return (nxt if nxt < len(wf.stages) else None), False


async def _approved(d: Drive, index: int, role: Role, out: RoleResult) -> bool:
    """Ask the user to approve the stage's hand-off (journaled); a rejection's answer is
    given to the role as feedback (and False returned, so it runs again)."""
    done = _decided(await d.events())
    if done is not None:
        return done
    data: JSON = {"summary": out.summary, **(out.handoff or {})}
    question = (f"The {role.name} proposes:\n\n{render(data)}\n\n"
                "Approve it (the next stage starts), or answer with what to change.")
    answer = "approve" if d.ask is None else await d.ask(
        question, ["approve", "reject"], kind="approval")
    approved = answer.strip().lower() in APPROVE_WORDS
    entries: list[tuple[str, JSON]] = [("plan_approval", {
        "stage": index, "role": role.name, "approved": approved, "answer": answer})]
    if not approved:
        feedback = answer if answer.strip().lower() not in ("reject", "no", "n") else \
            "The user rejected this."
        entries.append(("user", {"content": f"The user did not approve your "
                                            f"{role.handoff}: {feedback}\nRevise it and call "
                                            "`finish` again.", "approval_feedback": True}))
    await d.journal.record(out.step, entries)
    return approved


def _decided(events: Sequence[Event]) -> bool | None:
    """The user's decision on the latest ``finish`` (None: not asked or not answered)."""
    for ev in reversed(events):
        if ev.kind == "plan_approval":
            return bool(ev.data.get("approved"))
        if ev.kind == "tool_result" and ev.data.get("name") == "finish":
            return None
    return None


async def _context(d: Drive, frm: str, to: str, data: JSON, pos: Position,
                   to_stage: int) -> str:
    """The first user message of the next role: the task, then the hand-off."""
    parts = [d.task_message]
    if data.get("verdict") == "changes_requested":
        stage = d.workflow.stages[pos.stage]
        parts.append(f"## The {frm} requested changes (round {pos.rounds.get(pos.stage, 0)} "
                     f"of {stage.max_rounds})\n{render(data)}\n\nYour earlier change is in "
                     "the worktree already. Address every comment, then call `finish`.")
    elif "subtasks" in data:
        parts.append(f"## Plan from the {frm}\n{render(data)}\n\nCarry out this plan.")
    else:
        coder = pos.summaries.get("coder")
        parts.append(f"## Hand-off from the {frm}\n{render(data)}")
        if coder and frm != "coder":
            parts.append(f"## The coder's summary\n{coder}")
        changed = await d.changed()
        if changed:
            parts.append("Changed files so far: " + ", ".join(changed))
    return "\n\n".join(parts)


def render(data: JSON) -> str:
    """A hand-off as Markdown text for a model or a person."""
    lines = [str(data.get("summary", ""))]
    for i, sub in enumerate(data.get("subtasks") or [], 1):
        files = ", ".join(sub.get("files") or [])
        lines.append(f"{i}. {sub.get('intent', '')}" + (f" (files: {files})" if files else ""))
    if data.get("acceptance"):
        lines.append("Acceptance checks:")
        lines += [f"- {a}" for a in data["acceptance"]]
    if "verdict" in data:
        lines.append(f"Verdict: {data['verdict']}")
    for c in data.get("comments") or []:
        where = ":".join(str(x) for x in (c.get("path"), c.get("line")) if x)
        lines.append(f"- {where + ': ' if where else ''}{c.get('comment', '')}")
    if "passed" in data:
        lines.append(f"Tests passed: {data['passed']}")
        if data.get("output"):
            lines.append(str(data["output"]))
    return "\n".join(lines)


def last_handoff(events: Sequence[Event]) -> Any:
    """The structured hand-off of the journal's latest successful ``finish`` (None: none,
    or a plain finish)."""
    for ev in reversed(events):
        if ev.kind == "tool_result" and ev.data.get("name") == "finish" \
                and not ev.data.get("is_error"):
            return (ev.data.get("meta") or {}).get("handoff")
    return None
