"""``codetap config show`` and ``codetap models``: the effective configuration and where each
value comes from.

Every value is attributed to one source (:data:`SOURCES`): the built-in default, the user
file, the project file (trusted, or untrusted when it only tightens a setting), both (a
``[policy]`` list joined from the two files), or ``ignored-untrusted`` for a key of an
untrusted project file that was not applied (shown with the project's value).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from codetap.cli.common import echo_json, load_config
from codetap.config import Config, read_toml
from codetap.trust import TrustStore

SOURCES = ("default", "user", "project-trusted", "project-untrusted", "user+project",
           "ignored-untrusted")


@dataclass(frozen=True, slots=True)
class Entry:
    """One leaf of the configuration: dotted ``key``, JSON-able ``value``, its ``source``
    (one of :data:`SOURCES`) and the file it came from (None for defaults)."""

    key: str
    value: Any
    source: str
    file: str | None


def current_repo(start: Path | None = None) -> Path | None:
    """The top of the git working tree around ``start`` (default: the current directory),
    or None outside one."""
    done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start or Path.cwd(),
                          capture_output=True, text=True, check=False)
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def effective(repo: Path | None) -> tuple[Config, list[Entry]]:
    """The config for ``repo`` (or the user's alone) and every value with its source.

    Raises ConfigError like :meth:`Config.load`."""
    user = Config.load()
    config = user.for_project(repo) if repo is not None else user
    user_keys = dict(_flatten(user.user_table))
    project_path = repo / ".codetap" / "config.toml" if repo is not None else None
    project = read_toml(project_path) if project_path is not None else {}
    trusted = bool(project) and repo is not None and TrustStore(user.config_dir).is_trusted(repo)
    ignored: set[str] = set()
    if project and not trusted:
        from codetap.project import untrusted_overlay

        assert project_path is not None
        ignored = set(untrusted_overlay(user, project, project_path)[1])
    project_keys = dict(_flatten(project))
    entries: list[Entry] = []
    for key, value in _flatten(_as_table(config)):
        in_project = key in project_keys and key not in ignored
        if in_project and key in user_keys and key.startswith("policy.") and \
                isinstance(value, list):
            entries.append(Entry(key, value, "user+project", f"{user.user_config_path} + "
                                                             f"{project_path}"))
        elif in_project:
            kind = "project-trusted" if trusted else "project-untrusted"
            entries.append(Entry(key, value, kind, str(project_path)))
        elif key in user_keys:
            entries.append(Entry(key, value, "user", str(user.user_config_path)))
        else:
            entries.append(Entry(key, value, "default", None))
    for key in sorted(ignored):
        value = project_keys.get(key, _lookup(project, key))
        entries.append(Entry(key, value, "ignored-untrusted", str(project_path)))
    return config, entries


def _as_table(config: Config) -> dict[str, Any]:
    """The effective config in the shape of ``config.toml`` (JSON-able values)."""
    table: dict[str, Any] = _jsonable({
        "default_model": config.default_model,
        "models": {name: {k: v for k, v in dataclasses.asdict(m).items() if k != "name"}
                   for name, m in config.models.items()},
        "limits": dataclasses.asdict(config.limits),
        "daemon": {"resume_interrupted": "auto" if config.resume_interrupted else "manual",
                   "worker_priority": config.worker_priority, "worker_cpus": config.worker_cpus},
        "tools": {"bash_timeout_s": config.bash_timeout_s,
                  "env_passthrough": config.env_passthrough},
        "store": {"path": config.db_path},
        "policy": {f.name: getattr(config.policy, f.name)
                   for f in dataclasses.fields(config.policy) if not f.name.startswith("_")},
        "sandbox": dataclasses.asdict(config.sandbox),
        "verify": dataclasses.asdict(config.verify),
        "lsp": config.lsp,
    })
    return table


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += _flatten(value, dotted + ".")
        elif not (isinstance(value, dict) and prefix == ""):
            out.append((dotted, value))
    return out


def _lookup(table: dict[str, Any], dotted: str) -> Any:
    node: Any = table
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value) if not isinstance(value, list) else \
        "[" + ", ".join(_show(v) for v in value) + "]"


_repo = click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
                     help="Apply this repository's .codetap/config.toml (default: the git "
                          "repository around the current directory).")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _resolve(repo: Path | None) -> Path | None:
    return repo.resolve() if repo is not None else current_repo()


@click.group("config")
def config_group() -> None:
    """Inspect codetap's configuration."""


@config_group.command("show")
@_repo
@_json
def show(repo: Path | None, as_json: bool) -> None:
    """Print the effective config, each value with the file it comes from."""
    root = _resolve(repo)
    config, entries = _load(root)
    if as_json:
        echo_json({"repo": str(root) if root else None,
                   "user_file": str(config.user_config_path),
                   "values": [dataclasses.asdict(e) for e in entries],
                   "warnings": list(config.warnings)})
        return
    click.echo(f"# user file: {config.user_config_path}"
               f"{'' if config.user_config_path.exists() else ' (absent)'}")
    if root is not None:
        state = "trusted" if TrustStore(config.config_dir).is_trusted(root) else "not trusted"
        click.echo(f"# project: {root} ({state})")
    width = max((len(e.key) for e in entries), default=0)
    for e in entries:
        where = e.source if e.file is None else f"{e.source}: {e.file}"
        click.echo(f"{e.key.ljust(width)} = {_show(e.value)}  # {where}")
    for warning in config.warnings:
        click.echo(f"warning: {warning}")


@click.command()
@_repo
@_json
def models(repo: Path | None, as_json: bool) -> None:
    """List the configured models and where each is defined (never an API key's value)."""
    root = _resolve(repo)
    config, entries = _load(root)
    rows: list[dict[str, Any]] = []
    for name, model in config.models.items():
        files = sorted({e.file for e in entries if e.key.startswith(f"models.{name}.")
                        and e.file and e.source != "ignored-untrusted"})
        rows.append({"name": name, "default": name == config.default_model,
                     "provider": model.provider, "model": model.model,
                     "base_url": model.base_url, "api_key_env": model.api_key_env,
                     "api_key_set": bool(model.api_key_env and os.environ.get(model.api_key_env)),
                     "defined_in": files})
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"no models configured; add a [models.NAME] table to "
                   f"{config.user_config_path} (`codetap run` prints an example)")
        return
    for row in rows:
        key = row["api_key_env"]
        key_text = f"{key} {'set' if row['api_key_set'] else 'NOT set'}" if key else "no key"
        click.echo(f"{row['name']}{' (default)' if row['default'] else ''}: "
                   f"{row['provider']} {row['model'] or '-'} {row['base_url'] or '-'}; "
                   f"{key_text}; defined in {', '.join(row['defined_in']) or '-'}")


def _load(root: Path | None) -> tuple[Config, list[Entry]]:
    load_config(root)  # exits 2 with `error:` and the message if the config is invalid
    return effective(root)
