"""``codetap demo``: a real task on a bundled sample project, offline.

Copies the sample package (its tests fail because of a bug) to a temporary git repository,
runs a task with the bundled replay session, then shows the steps, the diff and the
project's own tests passing in the task's worktree.

Everything lives in one temporary directory: the sample, and codetap's data, config and
runtime directories (its own database, worktree and lock), so the user's tasks, database,
config and daemon are neither read nor touched. The directory is removed at the end
unless ``--keep`` is given.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import click

from codetap.cli.common import duration_s, exit_code, run_async
from codetap.cli.progress import _Progress
from codetap.config import Config
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


def demo_env(workdir: Path) -> dict[str, str]:
    """The environment whose XDG directories all lie under ``workdir``/xdg (created, 0700)."""
    env = dict(os.environ)
    for name, var in (("data", "XDG_DATA_HOME"), ("config", "XDG_CONFIG_HOME"),
                      ("run", "XDG_RUNTIME_DIR"), ("cache", "XDG_CACHE_HOME")):
        path = workdir / "xdg" / name
        path.mkdir(parents=True, mode=0o700, exist_ok=True)
        env[var] = str(path)
    return env


def _num(n: int) -> str:
    """The demo's step number ``n.``, bold on a terminal."""
    return click.style(f"{n}.", bold=True)


async def run_demo(workdir: Path) -> tuple[TaskRecord, str]:
    """Run the demo task in ``workdir`` with a config whose data, config and runtime
    directories are under ``workdir`` (:func:`demo_env`); the finished task and its diff."""
    repo = make_sample_repo(workdir)
    click.echo(f"{_num(1)} sample project copied to {repo}")
    failing = await asyncio.to_thread(
        subprocess.run, TEST_COMMAND, cwd=repo, capture_output=True, text=True, check=False)
    last = failing.stderr.strip().splitlines()[-1]
    click.echo(f"   its tests: {click.style(last, fg='red')}")
    config = Config.load(env=demo_env(workdir))
    replay = ModelConfig(name="demo-replay", provider="replay", path=str(session_path()),
                         input_price_per_mtok=3.0, output_price_per_mtok=15.0)
    config = dataclasses.replace(config, models={**config.models, "demo-replay": replay})
    runtime = await Runtime.open(config, recover=False)
    try:
        progress = _Progress()
        runtime.subscribe(progress)
        click.echo(f"{_num(2)} task: {DEMO_INTENT}")
        task = await runtime.start_task(DEMO_INTENT, repo, model="demo-replay")
        progress.task_id = task.id
        task = await runtime.wait(task.id)
        return task, await runtime.diff(task.id)
    finally:
        await runtime.close()


@click.command()
@click.option("--keep", is_flag=True,
              help="Keep the sample repository, the task's worktree and the demo's database.")
def demo(keep: bool) -> None:
    """Fix a real bug in a bundled sample project, offline (replay model), in a temporary
    directory of its own (your tasks and database are untouched)."""
    workdir = Path(tempfile.mkdtemp(prefix="codetap-demo-"))
    try:
        task, diff = run_async(lambda: run_demo(workdir))
        click.echo(f"{_num(3)} task {task.id} is {click.style(task.state.value, bold=True)} "
                   f"after {task.steps} steps ({task.usage.input_tokens}+"
                   f"{task.usage.output_tokens} tokens, ${task.usage.cost_usd:.4f}, "
                   f"{duration_s(task):.1f} s)")
        if task.error:
            click.echo(f"   reason: {task.error}")
        click.echo(f"   summary: {task.summary}")
        click.echo(f"{_num(4)} the change (codetap diff):")
        click.echo(diff)
        assert task.worktree is not None
        result = subprocess.run(TEST_COMMAND, cwd=task.worktree, capture_output=True, text=True,
                                check=False)
        click.echo(f"{_num(5)} the project's tests in the task worktree {task.worktree}:")
        click.echo(result.stderr.rstrip())
        code = exit_code(task.state) or (1 if result.returncode else 0)
        click.secho("demo passed" if code == 0 else "demo failed",
                    fg="green" if code == 0 else "red")
        if keep:
            data = workdir / "xdg" / "data"
            click.echo(f"kept in {workdir}; inspect it: XDG_DATA_HOME={data} codetap show "
                       f"{task.id} (or log, diff)")
        else:
            click.echo("removed the demo's temporary directory (--keep keeps it)")
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)
