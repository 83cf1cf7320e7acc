"""The engine's glue around one agent run (issue 18, items 4 and 6): the system prompt it
sees (assembled, journaled when it changes) and the verified finish.

Journal entries written here (``data`` shapes):
  ``system_prompt`` {sha256, content, chars, sources: [path], cuts: [str]}
  ``verification``  {command, passed, exit_code, output, round, detected_from, note?}
  ``user``          {content, verify_feedback: true}   (a failed run's output to the model)
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
from collections.abc import Sequence
from pathlib import Path

from codetap.agent.context import Environment, languages, system_prompt
from codetap.agent.instructions import Instructions, gather
from codetap.agent.loop import Agent, Journal
from codetap.errors import Submitted
from codetap.store import Event, TaskRow
from codetap.tasks import git, verify
from codetap.tasks.verify import Verification, VerifySettings
from codetap.tools.base import ToolContext
from codetap.tools.sandbox import SandboxSettings, probe
from codetap.types import JSON, Message


async def until_finish(agent: Agent) -> str:
    """Run the agent until it calls ``finish``; the summary. Raises what
    :meth:`Agent.run` raises other than Submitted."""
    try:
        await agent.run()
    except Submitted as done:
        return done.summary
    raise AssertionError("Agent.run returned without finish")


async def build_prompt(role_prompt: str, task: TaskRow, sandbox: SandboxSettings,
                       settings: VerifySettings, repo_map: str,
                       user_file: Path | None = None) -> tuple[str, Instructions]:
    """The system prompt for ``task`` (worktree set) and the instruction layers in it.

    Instructions from the worktree, root down to the scope's directory; the ``*.local.md``
    files from the user's checkout (``task.root``). Environment facts include the test
    command :func:`codetap.tasks.verify.plan` would run and the sandbox status.
    """
    assert task.worktree is not None
    worktree = task.worktree
    instructions = gather(worktree, scope_dir(task), local_root=task.root, user_file=user_file)
    found = verify.plan(VerifySettings(command=settings.command), worktree, [])
    status, langs = await asyncio.gather(
        asyncio.to_thread(probe) if sandbox.mode != "off" else _none(),
        asyncio.to_thread(languages, worktree))
    env = Environment(worktree, sandbox, status, found.command if found else None,
                      found.detected_from if found else None, langs,
                      datetime.date.today().isoformat(), settings.strategy != "none")
    prompt = system_prompt(role_prompt, worktree, repo_map, instructions=instructions,
                           environment=env)
    return prompt, instructions


async def _none() -> None:
    return None


def scope_dir(task: TaskRow) -> str | None:
    """The scope's directory relative to the repository root (None: no scope, or outside)."""
    if not task.scope:
        return None
    path = Path(str(task.scope.get("uri", "")).removeprefix("file://"))
    try:
        rel = path.resolve().relative_to(task.root.resolve())
    except (ValueError, OSError):
        return None
    return rel.parent.as_posix() if rel.suffix or not (task.root / rel).is_dir() \
        else rel.as_posix()


async def journal_prompt(journal: Journal, step: int, events: Sequence[Event], prompt: str,
                         instructions: Instructions) -> bool:
    """Journal ``prompt`` unless the last ``system_prompt`` entry has the same hash; whether
    it was journaled."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    last = next((e.data.get("sha256") for e in reversed(events)
                 if e.kind == "system_prompt"), None)
    if last == digest:
        return False
    await journal.record(step, [("system_prompt", {
        "sha256": digest, "content": prompt, "chars": len(prompt),
        "sources": instructions.sources, "cuts": list(instructions.cuts)})])
    return True


async def verified(agent: Agent, ctx: ToolContext, journal: Journal, task: TaskRow,
                   settings: VerifySettings, summary: str,
                   events: Sequence[Event]) -> tuple[str, Verification | None]:
    """Run the verification after ``finish`` (in ``ctx``'s worktree and sandbox); on
    failure give its output to the model and run the agent again, up to
    ``settings.max_rounds`` runs. The final summary and the last run (None: nothing to
    run). ``events``: the journal when the run started, so a resumed task counts the rounds
    already run and does not repeat a run that already judged the latest ``finish``.
    Raises what :meth:`Agent.run` raises."""
    assert task.worktree is not None
    done, result = _rounds(events)
    while True:
        if result is None:
            p = verify.plan(settings, task.worktree, await _changed(task))
            if p is None:
                return summary, None
            done += 1
            result = await verify.run(p, ctx, done, settings.timeout_s)
            await journal.record(agent.state.step, [("verification", result.entry())])
        if result.passed or done >= settings.max_rounds:
            return summary, result
        text = result.feedback(settings.max_rounds - done)
        agent.state.messages.append(Message("user", text))
        agent.state.submitted = None
        await journal.record(agent.state.step, [("user", {"content": text,
                                                          "verify_feedback": True})])
        summary = await until_finish(agent)
        result = None


def _rounds(events: Sequence[Event]) -> tuple[int, Verification | None]:
    """Verification runs since the last user message that was not verification feedback
    or hand-off (a new task, a follow-up or another role's turn starts counting again), and the run that judged the latest
    ``finish`` (None if the model has taken a turn since the last run)."""
    done = 0
    last: Verification | None = None
    for ev in events:
        if (ev.kind == "user" and not ev.data.get("verify_feedback")) or ev.kind == "handoff":
            done, last = 0, None
        elif ev.kind == "model_turn":
            last = None
        elif ev.kind == "verification":
            done += 1
            last = from_entry(ev.data)
    return done, last


def from_entry(data: JSON) -> Verification:
    """A :class:`Verification` from its journal entry."""
    return Verification(str(data.get("command", "")), bool(data.get("passed")),
                        data.get("exit_code"), str(data.get("output", "")),
                        int(data.get("round", 0)), str(data.get("detected_from", "")),
                        str(data.get("note", "")))


def task_field(result: Verification | None) -> JSON | None:
    """TaskInfo's ``verification`` {command, passed, summary} (None: not verified)."""
    if result is None:
        return None
    return {"command": result.command, "passed": result.passed, "summary": result.summary()}


async def _changed(task: TaskRow) -> list[str]:
    assert task.worktree is not None
    out = await git.git(task.worktree, "diff", "--name-only", "--no-renames",
                        task.base_commit, "HEAD")
    return [line for line in out.splitlines() if line]
