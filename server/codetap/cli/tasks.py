"""Task commands: run, tasks, show, diff, log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table

from codetap.cli.common import (
    console,
    duration_s,
    echo_json,
    exit_code,
    load_config,
    parse_task_id,
    run_async,
    task_json,
    with_store,
)
from codetap.runtime import Runtime, TaskRecord
from codetap.types import JSON


class _Progress:
    """Runtime listener that draws a live status line and prints each step's tool calls."""

    def __init__(self, live: Live | None, quiet: bool) -> None:
        self.live, self.quiet, self.task_id = live, quiet, 0

    def task_updated(self, task: TaskRecord) -> None:
        if self.live and task.id == self.task_id:
            self.live.update(Spinner("dots", f"task {task.id} {task.state.value}: step "
                                     f"{task.steps}, {task.usage.input_tokens + task.usage.output_tokens} "
                                     f"tokens, ${task.usage.cost_usd:.4f}"))

    def task_event(self, task_id: int, seq: int, kind: str, data: JSON) -> None:
        if self.quiet or task_id != self.task_id:
            return
        if kind == "tool_intent":
            args = json.dumps(data["arguments"], ensure_ascii=False)
            console.print(f"  [cyan]{escape(data['name'])}[/] {escape(args[:110])}", markup=True, soft_wrap=False)
        elif kind == "model_turn" and data["message"].get("content"):
            console.print(f"[dim]{escape(data['message']['content'][:200])}[/]", markup=True)
        elif kind == "tool_result" and data.get("is_error"):
            console.print(f"    [yellow]{escape(data['output'][:160])}[/]", markup=True)

    def question(self, q: object) -> None:
        pass


async def run_task_in_process(intent: str, repo: Path, model: str | None, as_json: bool) -> TaskRecord:
    """Run one task in this process and wait for it; live progress unless ``as_json``."""
    config = load_config(repo)
    runtime = await Runtime.open(config, recover=False)
    try:
        live = None if as_json or not console.is_terminal else Live(console=console, transient=True)
        progress = _Progress(live, quiet=as_json)
        runtime.subscribe(progress)
        if live:
            live.start()
        try:
            task = await runtime.start_task(intent, repo, model=model)
            progress.task_id = task.id
            if not as_json:
                console.print(f"task [bold]{task.id}[/] on branch {task.branch} "
                              f"(model {task.model})", markup=True)
            return await runtime.wait(task.id)
        finally:
            if live:
                live.stop()
    finally:
        await runtime.close()


@click.command()
@click.argument("intent")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="Repository the task works on.")
@click.option("--model", help="Model name from config ([models.<name>]).")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait for the task to end (this process runs it), or hand it to the "
                   "daemon (started if needed) and return at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the task as JSON.")
def run(intent: str, repo: Path, model: str | None, wait: bool, as_json: bool) -> None:
    """Run a coding task described by INTENT on a git repository.

    Exit code: 0 ready, 1 failed, 2 usage or configuration error, 3 cancelled.
    """
    if not wait:
        info = _start_in_daemon(intent, repo.resolve(), model)
        if as_json:
            echo_json(info)
        else:
            console.print(f"task {info['id']} queued in the daemon (branch {info['branch']}); "
                          f"follow it with `codetap show {info['id']}`")
        return
    task = run_async(lambda: run_task_in_process(intent, repo.resolve(), model, as_json))
    if as_json:
        echo_json(task_json(task))
    else:
        _print_summary(task)
    sys.exit(exit_code(task.state))


def _start_in_daemon(intent: str, repo: Path, model: str | None) -> JSON:
    from codetap.cli.remote import daemon_request
    from codetap.daemon.control import start_detached
    from codetap.daemon.paths import DaemonPaths
    from codetap.errors import CodetapError

    try:
        start_detached(DaemonPaths.from_env())
    except CodetapError as exc:
        raise click.ClickException(str(exc)) from None
    params: JSON = {"intent": intent, "root_uri": repo.as_uri()}
    if model:
        params["model"] = model
    info = daemon_request("codetap/task/start", params)
    if info is None:
        raise click.ClickException("the codetap daemon is not reachable")
    return info


def _print_summary(task: TaskRecord) -> None:
    style = {"ready": "green", "failed": "red"}.get(task.state.value, "yellow")
    console.print(f"task {task.id}: [{style}]{task.state.value}[/] after {task.steps} steps, "
                  f"{task.usage.input_tokens}+{task.usage.output_tokens} tokens, "
                  f"${task.usage.cost_usd:.4f}, {duration_s(task):.1f} s", markup=True)
    if task.summary:
        console.print(f"summary: {task.summary}")
    if task.error:
        console.print(f"[red]reason:[/] {escape(task.error)}", markup=True)
    if task.state.value == "ready":
        console.print(f"see the change: codetap diff {task.id}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), help="Only this repository.")
def tasks(as_json: bool, repo: Path | None) -> None:
    """List tasks, newest first."""
    rows = run_async(lambda: with_store(lambda s: s.list_tasks(repo.resolve() if repo else None)))
    if as_json:
        echo_json({"tasks": [task_json(t) for t in rows]})
        return
    table = Table("id", "state", "steps", "tokens", "cost", "intent", box=None)
    for t in rows:
        table.add_row(str(t.id), t.state.value, str(t.steps),
                      str(t.usage.input_tokens + t.usage.output_tokens),
                      f"${t.usage.cost_usd:.4f}", t.intent[:60])
    console.print(table)


@click.command()
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(task_id: str, as_json: bool) -> None:
    """Show a task: state, steps, tokens, cost, duration."""
    task = run_async(lambda: with_store(lambda s: s.get_task(parse_task_id(task_id))))
    if as_json:
        echo_json(task_json(task))
        return
    data = task_json(task)
    for key in ("id", "state", "intent", "model", "steps", "usage", "duration_s", "branch",
                "base_commit", "tip_commit", "worktree", "created_at", "updated_at", "summary",
                "error"):
        if key in data:
            value = data[key]
            if key == "usage":
                value = (f"{value['input_tokens']} in + {value['output_tokens']} out tokens, "
                         f"${value['cost_usd']:.4f}")
            console.print(f"[bold]{key:>12}[/] {value}", markup=True, soft_wrap=True)


@click.command()
@click.argument("task_id")
def diff(task_id: str) -> None:
    """Print the task's change as a unified diff (base -> tip). Special files (symlinks,
    submodules, binary files), which editors never receive as text, are also listed on
    stderr."""
    async def go() -> tuple[str, list[str]]:
        runtime = await Runtime.open(load_config(), recover=False)
        try:
            tid = parse_task_id(task_id)
            text = await runtime.diff(tid)
            specials = [f"{c.path} ({c.special})" for c in await runtime.file_changes(tid)
                        if c.special]
            return text, specials
        finally:
            await runtime.close()
    text, specials = run_async(go)
    click.echo(text, nl=False)
    for line in specials:
        click.echo(f"codetap: not applied to editors as text: {line}", err=True)


@click.command()
@click.argument("task_id")
def log(task_id: str) -> None:
    """Print the task's journal as JSON lines (seq, step, ts, kind, data)."""
    events = run_async(lambda: with_store(lambda s: _events(s, parse_task_id(task_id))))
    for e in events:
        click.echo(json.dumps({"seq": e.seq, "step": e.step, "ts": e.ts, "kind": e.kind,
                               "data": e.data}, ensure_ascii=False))


async def _events(store, task_id: int):  # type: ignore[no-untyped-def]
    await store.get_task(task_id)
    return await store.events(task_id)
