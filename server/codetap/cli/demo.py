"""``codetap demo``: a real task on a bundled sample project, offline.

Copies the sample package (its tests fail because of a bug) to a temporary git repository,
runs a task with the bundled replay session, then shows the steps, the diff and the
project's own tests passing in the task's worktree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import click
from rich.markup import escape

from codetap.cli.common import console, duration_s, exit_code, load_config, run_async
from codetap.cli.tasks import _Progress
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime, TaskRecord

DEMO_INTENT = "The slugify test suite fails: find the bug in slugkit and fix it."
TEST_COMMAND = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-v"]


def make_sample_repo(dest: Path) -> Path:
    """Copy the bundled sample project into ``dest``/slugkit and commit it; return it."""
    src = resources.files("codetap.demo") / "sample"
    repo = dest / "slugkit"
    with resources.as_file(src) as path:
        shutil.copytree(path, repo, ignore=shutil.ignore_patterns("__pycache__"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=demo", "-c", "user.email=demo@localhost", "commit", "-q",
                  "-m", "slugkit: initial version"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    return repo


def session_path() -> Path:
    """The bundled replay session of the demo."""
    with resources.as_file(resources.files("codetap.demo") / "session.jsonl") as path:
        return Path(path)


async def run_demo(workdir: Path) -> tuple[TaskRecord, str]:
    """Run the demo task in ``workdir``; return the finished task and its diff."""
    repo = make_sample_repo(workdir)
    console.print(f"[bold]1.[/] sample project copied to {repo}", markup=True)
    failing = await asyncio.to_thread(
        subprocess.run, TEST_COMMAND, cwd=repo, capture_output=True, text=True, check=False)
    console.print(f"   its tests: [red]{escape(failing.stderr.strip().splitlines()[-1])}[/]", markup=True)
    config = load_config(repo)
    replay = ModelConfig(name="demo-replay", provider="replay", path=str(session_path()),
                         input_price_per_mtok=3.0, output_price_per_mtok=15.0)
    config = dataclasses.replace(config, models={**config.models, "demo-replay": replay})
    runtime = await Runtime.open(config, recover=False)
    try:
        progress = _Progress(None, quiet=False)
        runtime.subscribe(progress)
        console.print(f"[bold]2.[/] task: {DEMO_INTENT}", markup=True)
        task = await runtime.start_task(DEMO_INTENT, repo, model="demo-replay")
        progress.task_id = task.id
        task = await runtime.wait(task.id)
        return task, await runtime.diff(task.id)
    finally:
        await runtime.close()


@click.command()
@click.option("--clean", is_flag=True, help="Delete the sample repository and worktree after.")
def demo(clean: bool) -> None:
    """Fix a real bug in a bundled sample project, offline (replay model)."""
    workdir = Path(tempfile.mkdtemp(prefix="codetap-demo-"))
    try:
        task, diff = run_async(lambda: run_demo(workdir))
        console.print(f"[bold]3.[/] task {task.id} is [bold]{task.state.value}[/] after "
                      f"{task.steps} steps ({task.usage.input_tokens}+{task.usage.output_tokens} "
                      f"tokens, ${task.usage.cost_usd:.4f}, {duration_s(task):.1f} s)", markup=True)
        if task.error:
            console.print(f"   reason: {task.error}")
        console.print(f"   summary: {task.summary}")
        console.print("[bold]4.[/] the change (codetap diff):", markup=True)
        click.echo(diff)
        assert task.worktree is not None
        result = subprocess.run(TEST_COMMAND, cwd=task.worktree, capture_output=True, text=True,
                                check=False)
        console.print(f"[bold]5.[/] the project's tests in the task worktree {task.worktree}:",
                      markup=True)
        click.echo(result.stderr.rstrip())
        code = exit_code(task.state) or (1 if result.returncode else 0)
        console.print("[green]demo passed[/]" if code == 0 else "[red]demo failed[/]", markup=True)
        console.print(f"inspect it: codetap show {task.id}; codetap log {task.id}; "
                      f"codetap diff {task.id}")
    finally:
        if clean:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)
