"""Task commands: run (a daemon client), and the read-only tasks, show, diff, log.

``run`` starts the task in the daemon (started when none runs) and follows it; the task
never runs in this process. ``tasks``, ``show``, ``diff`` and ``log`` read the database
and the repository (they change nothing, and work without a daemon). Heavy imports stay
inside the commands: ``codetap run --detach`` must start fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from codetap.cli.output import EXIT_OK, EXIT_USAGE, error, out, with_client

if TYPE_CHECKING:
    from codetap.sdk.client import Client
    from codetap.store import Store


def __getattr__(name: str) -> Any:
    if name == "_Progress":  # codetap demo's in-process printer lives in cli.progress
        from codetap.cli.progress import _Progress
        return _Progress
    raise AttributeError(name)


def read_intent(intent: str | None) -> str:
    """INTENT, or stdin when it is ``-`` or absent with stdin not a terminal; exits 2 when
    there is none."""
    if intent == "-" or (intent is None and not sys.stdin.isatty()):
        intent = sys.stdin.read()
    if intent is None or not intent.strip():
        error("no intent: give it as an argument, or on stdin (`echo 'fix it' | codetap run`)")
        sys.exit(EXIT_USAGE)
    return intent.strip()


@click.command()
@click.argument("intent", required=False)
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="Repository the task works on.")
@click.option("--model", help="Model name from config ([models.<name>]).")
@click.option("--workflow", help="Workflow name from config ([workflows.<name>]).")
@click.option("--priority", type=click.IntRange(-1000, 1000), default=0, show_default=True,
              help="Queue priority: higher is admitted first (FIFO within a priority).")
@click.option("--detach", is_flag=True, help="Start the task and return at once (prints its id).")
@click.option("--stop-on-interrupt", is_flag=True,
              help="Ctrl-C pauses the task (default: it keeps running in the daemon).")
@click.option("--json", "as_json", is_flag=True, help="Print the task as JSON.")
def run(intent: str | None, repo: Path, model: str | None, workflow: str | None, priority: int,
        detach: bool, stop_on_interrupt: bool, as_json: bool) -> None:
    """Run a coding task described by INTENT (or stdin, or `-`) on a git repository.

    The task runs in the daemon (started when none runs); this command follows it until
    it ends. Exit codes: see `codetap --help` / README (0 ready, 1 failed, 2 usage or
    config error, 3 cancelled, 4 not finished, 5 daemon unreachable).
    """
    text = read_intent(intent)
    params: dict[str, Any] = {"intent": text, "root_uri": repo.resolve().as_uri()}
    if model:
        params["model"] = model
    if workflow:
        params["workflow"] = workflow
    if priority:
        params["priority"] = priority
    if detach:
        _detach_fast(params, as_json)  # returns only when no daemon runs yet

    async def go(client: Client) -> int:
        info = await client.call("codetap/task/start", params)
        if detach:
            out(json.dumps(info, indent=2, ensure_ascii=False) if as_json else str(info["id"]))
            return EXIT_OK
        from codetap.cli.follow import follow
        if not as_json:
            out(f"task {info['id']} on branch {info['branch']}")
        return await follow(client, str(info["id"]), stop_on_interrupt=stop_on_interrupt,
                            as_json=as_json)

    with_client(go)


def _detach_fast(params: dict[str, Any], as_json: bool) -> None:
    """``run --detach`` next to a running daemon: one synchronous request (no asyncio, no
    SDK import), the id printed, exit. Returns when no daemon answers (the caller then
    starts one through the SDK)."""
    import sys

    from codetap.cli.output import EXIT_USAGE, error
    from codetap.cli.remote import DaemonRequestError, daemon_request
    try:
        info = daemon_request("codetap/task/start", params)
    except DaemonRequestError as exc:
        error(str(exc))
        sys.exit(EXIT_USAGE)
    except OSError:
        return
    if info is not None:
        out(json.dumps(info, indent=2, ensure_ascii=False) if as_json else str(info["id"]))
        sys.exit(EXIT_OK)


def _read(fn: Any) -> Any:
    from codetap.cli.common import run_async, with_store
    return run_async(lambda: with_store(fn))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), help="Only this repository.")
def tasks(as_json: bool, repo: Path | None) -> None:
    """List tasks, newest first; a team's sub-tasks are indented under their parent with
    their role, and a task that waits (queue, budget) says why."""
    from codetap import waits
    from codetap.cli.common import echo_json, task_json
    from codetap.cli.tree import render

    async def go(store: Store) -> tuple[list[Any], dict[int, str]]:
        rows = await store.list_tasks(repo.resolve() if repo else None)
        return rows, await waits.reasons(store, rows)

    rows, waiting = _read(go)
    if as_json:
        echo_json({"tasks": [task_json(t, waiting.get(t.id)) for t in rows]})
        return
    for line in render(rows, waiting):
        out(line)


@click.command()
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(task_id: str, as_json: bool) -> None:
    """Show a task: state, steps, tokens, cost, duration, why it waits, and its sub-tasks
    (a team workflow's fan-out) with their roles."""
    from codetap import waits
    from codetap.cli.common import echo_json, parse_task_id, task_json
    from codetap.cli.tree import task_line, tree_order

    async def go(store: Store) -> tuple[Any, list[Any], dict[int, str]]:
        task = await store.get_task(parse_task_id(task_id))
        family = await _family(store, task.id)
        return task, family, await waits.reasons(store, [task, *family])

    task, family, waiting = _read(go)
    data = task_json(task, waiting.get(task.id))
    kids = [t for t in family if t.parent_id == task.id]
    if as_json:
        data["children"] = [task_json(t, waiting.get(t.id)) for t in reversed(kids)]
        echo_json(data)
        return
    for key in ("id", "state", "waiting", "intent", "workflow", "role", "parent_id", "subtask",
                "priority", "model", "steps", "usage", "duration_s", "branch",
                "base_commit", "tip_commit", "worktree", "created_at", "updated_at", "summary",
                "error"):
        if key in data:
            value = data[key]
            if key == "usage":
                value = (f"{value['input_tokens']} in + {value['output_tokens']} out tokens, "
                         f"${value['cost_usd']:.4f}")
            out(f"{key:>12} {value}")
    if kids:
        out(f"{'children':>12} {len(kids)}")
        for depth, row in tree_order([task, *family]):
            if depth:
                out(task_line(row, depth, waiting.get(row.id)))


async def _family(store: Store, task_id: int) -> list[Any]:
    """The task's descendants (sub-tasks, theirs ...), newest first."""
    from codetap.tasks.report import descendants
    return list(reversed(await descendants(store, task_id)))


@click.command()
@click.argument("task_id")
def diff(task_id: str) -> None:
    """Print the task's change as a unified diff (base -> tip). Special files (symlinks,
    submodules, binary files), which editors never receive as text, are also listed on
    stderr."""
    from codetap.cli.common import parse_task_id
    from codetap.tasks import git

    async def go(store: Store) -> tuple[str, list[str]]:
        task = await store.get_task(parse_task_id(task_id))
        tip = task.tip_commit or task.base_commit
        if not task.base_commit or not task.tip_commit:
            return "", []
        text = await git.diff(task.root, task.base_commit, tip)
        specials = [f"{c.path} ({c.special})"
                    for c in await git.file_changes(task.root, task.base_commit, tip)
                    if c.special]
        return text, specials

    text, specials = _read(go)
    click.echo(text, nl=False)
    for line in specials:
        click.echo(f"codetap: not applied to editors as text: {line}", err=True)


@click.command()
@click.argument("task_id")
@click.option("-f", "--follow", "follow_", is_flag=True,
              help="Keep following new entries live (as `codetap follow`).")
@click.option("--steps", is_flag=True,
              help="One line per model step of the task and its sub-tasks: which role on "
                   "which model, tokens, cost, tool calls.")
def log(task_id: str, follow_: bool, steps: bool) -> None:
    """Print the task's journal as JSON lines (seq, step, ts, kind, data); a model turn's
    data names its ``role`` and ``model``."""
    if steps:
        _log_steps(task_id)
        return
    if follow_:
        from codetap.cli.follow_cmd import follow_task
        follow_task(task_id, as_log=True)
    from codetap.cli.common import parse_task_id

    async def go(store: Store) -> list[Any]:
        tid = parse_task_id(task_id)
        await store.get_task(tid)
        return await store.events(tid)

    for e in _read(go):
        click.echo(json.dumps({"seq": e.seq, "step": e.step, "ts": e.ts, "kind": e.kind,
                               "data": e.data}, ensure_ascii=False))




def _log_steps(task_id: str) -> None:
    """``codetap log --steps``: the audit of who did each step, the task's own steps first,
    then its sub-tasks' in tree order (each followed by its own sub-tasks)."""
    from codetap.cli.common import parse_task_id
    from codetap.cli.tree import tree_order

    async def go(store: Store) -> list[tuple[Any, list[Any]]]:
        task = await store.get_task(parse_task_id(task_id))
        family = [row for _, row in tree_order([task, *await _family(store, task.id)])]
        return [(t, await store.events(t.id)) for t in family]

    out(f"{'task':>6} {'step':>5}  {'role':<10} {'model':<20} {'in':>8} {'out':>7} "
        f"{'cost':>9}  calls")
    for task, events in _read(go):
        for ev in events:
            if ev.kind != "model_turn":
                continue
            usage = ev.data.get("usage") or {}
            calls = [c.get("name", "?") for c in
                     (ev.data.get("message") or {}).get("tool_calls") or []]
            role = ev.data.get("role") or task.role or "-"
            model = ev.data.get("model") or task.model
            out(f"{task.id:>6} {ev.step:>5}  {role:<10} {model:<20} "
                f"{usage.get('input_tokens', 0):>8} {usage.get('output_tokens', 0):>7} "
                f"{'$' + format(float(usage.get('cost_usd', 0.0)), '.4f'):>9}  "
                f"{', '.join(calls)}")
