"""A task's report (issue 18, item 5): what was asked, how it ended, what changed, whether it
was verified, what it cost, and what went wrong on the way.

Built from the task row and its journal only (plus ``git diff --numstat`` for line counts),
so any surface can serve it: ``codetap report``, and later editors, the SDK and the HTTP
API. :func:`build` gives a :class:`Report`; :meth:`Report.to_json` is its JSON shape,
:meth:`Report.to_markdown` the human one.

JSON shape::

    {id, intent, state, error?, summary?, branch, base_commit, tip_commit?,
     files: [{path, added, removed}]  (added/removed null for binary files),
     verification: {command, passed, exit_code, round, rounds, detected_from, output,
                    note?} | null,
     steps, usage: {input_tokens, output_tokens, cost_usd, ...}, duration_s,
     roles: [{role, model, steps, input_tokens, output_tokens, cost_usd, time_s}]
            (the task's and its sub-tasks' steps, per role and model),
     children: [{id, role, subtask, state, steps, cost_usd}]  (sub-tasks, oldest first),
     tool_failures: [{step, tool, message}], tool_failures_total, warnings: [str]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from codetap.agent.roles import WORKFLOWS
from codetap.errors import WorkspaceError
from codetap.store import Event, Store, TaskRow
from codetap.tasks import git
from codetap.tasks.usage import usage_by_role
from codetap.types import JSON

MAX_FAILURES = 20


@dataclass(slots=True)
class Report:
    """The report of one task (see the module doc for the JSON shape)."""

    task: TaskRow
    files: list[JSON] = field(default_factory=list)
    files_note: str = ""
    verification: JSON | None = None
    roles: list[JSON] = field(default_factory=list)
    children: list[JSON] = field(default_factory=list)
    failures: list[JSON] = field(default_factory=list)
    failures_total: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> JSON:
        """The report as a JSON object."""
        t = self.task
        data: JSON = {"id": str(t.id), "intent": t.intent, "state": t.state.value,
                      "branch": t.branch, "base_commit": t.base_commit,
                      "files": self.files, "verification": self.verification,
                      "steps": t.steps, "usage": t.usage.to_json(),
                      "duration_s": duration_s(t), "roles": self.roles,
                      "children": self.children,
                      "tool_failures": self.failures,
                      "tool_failures_total": self.failures_total, "warnings": self.warnings}
        for key in ("error", "summary", "tip_commit"):
            if getattr(t, key):
                data[key] = getattr(t, key)
        if self.files_note:
            data["files_note"] = self.files_note
        return data

    def to_markdown(self) -> str:
        """The report as Markdown (headings, a files table, fenced failing output)."""
        t = self.task
        out = [f"# Task {t.id}: {_first_line(t.intent)}", "", "## Outcome", "",
               f"- State: **{t.state.value}**{_verified_tag(self.verification)}"]
        if t.error:
            out.append(f"- Error: {t.error}")
        out += [(f"- Branch: `{t.branch}` ({t.base_commit[:12]} -> "
                f"{(t.tip_commit or t.base_commit)[:12]})"), ""]
        if len(t.intent.splitlines()) > 1:
            out += ["## Intent", "", t.intent.strip(), ""]
        out += ["## Summary", "", (t.summary or "(none)").strip(), ""]
        out += self._files_md() + self._verification_md() + self._cost_md()
        if self.failures:
            out += ["## Notable tool failures", ""]
            out += [f"- step {f['step']}, `{f['tool']}`: {f['message']}" for f in self.failures]
            if self.failures_total > len(self.failures):
                out.append(f"- ... and {self.failures_total - len(self.failures)} more")
            out.append("")
        if self.warnings:
            out += ["## Warnings", ""] + [f"- {w}" for w in self.warnings] + [""]
        return "\n".join(out).rstrip() + "\n"

    def _files_md(self) -> list[str]:
        out = ["## Files changed", ""]
        if not self.files:
            return out + [self.files_note or "(none)", ""]
        out += ["| file | + | - |", "|---|---:|---:|"]
        for f in self.files:
            added = "bin" if f["added"] is None else str(f["added"])
            removed = "bin" if f["removed"] is None else str(f["removed"])
            out.append(f"| `{f['path']}` | {added} | {removed} |")
        total_add = sum(f["added"] or 0 for f in self.files)
        total_del = sum(f["removed"] or 0 for f in self.files)
        return out + [f"| {len(self.files)} file(s) | {total_add} | {total_del} |", ""]

    def _verification_md(self) -> list[str]:
        v = self.verification
        out = ["## Verification", ""]
        if v is None:
            return out + [("Not verified: no `[verify] command` configured or detected, or "
                          "`strategy = \"none\"`."), ""]
        status = "passed" if v["passed"] else "FAILED"
        out.append(f"`{v['command']}` {status} (exit code {v['exit_code']}, round "
                   f"{v['round']} of {v['rounds']} run(s); command from {v['detected_from']})")
        if v.get("note"):
            out.append(f"\n{v['note']}")
        if not v["passed"]:
            out += ["", "Failing output:", "", "```", v["output"].rstrip("\n"), "```"]
        return out + [""]

    def _cost_md(self) -> list[str]:
        u = self.task.usage
        out = ["## Steps, tokens, cost, time", "",
               (f"{self.task.steps} step(s), {u.input_tokens} input + {u.output_tokens} output "
               f"tokens, ${u.cost_usd:.4f}, {duration_s(self.task):.1f} s"), "",
               "| role | model | steps | input | output | cost | time (s) |",
               "|---|---|---:|---:|---:|---:|---:|"]
        for r in self.roles:
            out.append(f"| {r['role']} | {r['model']} | {r['steps']} | {r['input_tokens']} | "
                       f"{r['output_tokens']} | ${r['cost_usd']:.4f} | {r['time_s']:.1f} |")
        if not self.children:
            return out + [""]
        out += ["", f"The roles above include {len(self.children)} sub-task(s):", "",
                "| sub-task | role | plan key | state | steps | cost |",
                "|---|---|---|---|---:|---:|"]
        for c in self.children:
            out.append(f"| {c['id']} | {c['role'] or '-'} | {c['subtask'] or '-'} | "
                       f"{c['state']} | {c['steps']} | ${c['cost_usd']:.4f} |")
        return out + [""]


async def build(store: Store, task_id: int, *, task: TaskRow | None = None) -> Report:
    """The report of task ``task_id``. TaskNotFound if there is none; git failures (say,
    the repository was moved) leave ``files`` empty with ``files_note`` saying why.
    ``task``: the row to report instead of the stored one (a run that has ended but whose
    end state is not written yet, e.g. while its branch is pushed)."""
    task = task or await store.get_task(task_id)
    events = await store.events(task_id)
    report = Report(task)
    report.files, report.files_note = await _files(task)
    report.verification = _verification(events)
    family = await descendants(store, task_id)
    report.children = [{"id": str(c.id), "role": c.role, "subtask": c.subtask,
                        "state": c.state.value, "steps": c.steps,
                        "cost_usd": round(c.usage.cost_usd, 6)}
                       for c in family if c.parent_id == task_id]
    everyone = list(events)
    for child in family:
        everyone += await store.events(child.id)
    report.roles = _roles(task, everyone)
    report.failures, report.failures_total = _failures(events)
    report.warnings = [str(e.data.get("message", "")) for e in events if e.kind == "warning"]
    return report


async def _files(task: TaskRow) -> tuple[list[JSON], str]:
    if not task.tip_commit or task.tip_commit == task.base_commit:
        return [], "(none)"
    try:
        out = await git.git(task.root, "diff", "--numstat", "--no-renames", task.base_commit,
                            task.tip_commit)
    except (WorkspaceError, OSError) as exc:
        return [], f"(line counts unavailable: {exc})"
    files: list[JSON] = []
    for line in out.splitlines():
        added, removed, path = line.split("\t", 2)
        files.append({"path": path, "added": None if added == "-" else int(added),
                      "removed": None if removed == "-" else int(removed)})
    return files, ""


def _verification(events: Sequence[Event]) -> JSON | None:
    """The last ``verification`` entry, with the number of runs since the task's last
    (non-feedback) user message."""
    rounds, last = 0, None
    for ev in events:
        if ev.kind == "user" and not ev.data.get("verify_feedback"):
            rounds, last = 0, None
        elif ev.kind == "verification":
            rounds += 1
            last = ev.data
    if last is None:
        return None
    return {**last, "rounds": rounds}


def _roles(task: TaskRow, events: Sequence[Event]) -> list[JSON]:
    """Per role and model: steps, tokens, cost and time (:func:`codetap.tasks.usage.
    usage_by_role`). A turn without a role counts for the workflow's first role."""
    default = WORKFLOWS.get(task.workflow, ("coder",))[0]
    return usage_by_role(events, default_role=default, default_model=task.model)


async def descendants(store: Store, task_id: int) -> list[TaskRow]:
    """The task's sub-tasks, theirs, and so on, oldest first."""
    ids, found = {task_id}, []
    for row in reversed(await store.list_tasks()):  # a parent is older than its children
        if row.parent_id in ids:
            ids.add(row.id)
            found.append(row)
    return found


def _failures(events: Sequence[Event]) -> tuple[list[JSON], int]:
    failures = [{"step": e.step, "tool": e.data.get("name", "?"),
                 "message": _first_line(str(e.data.get("output", "")))[:200]}
                for e in events if e.kind == "tool_result" and e.data.get("is_error")]
    return failures[:MAX_FAILURES], len(failures)


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def _verified_tag(v: JSON | None) -> str:
    if v is None:
        return " (not verified)"
    return " (verified)" if v["passed"] else " (verified: false, the check still fails)"


def duration_s(task: TaskRow) -> float:
    """Seconds from creation to end (or to the last update for unfinished tasks)."""
    end = task.ended_at or task.updated_at
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(task.created_at))
                 .total_seconds(), 3)
