"""``codetap trust``: honour a repository's own ``.codetap/`` settings (ARCHITECTURE.md
"Trust and safety"; records in :mod:`codetap.trust`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from codetap.cli.common import EXIT_ERROR, load_config
from codetap.cli.output import error
from codetap.errors import CodetapError
from codetap.project import untrusted_overlay
from codetap.trust import TrustStore, project_files


@click.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--list", "list_", is_flag=True, help="List trusted projects.")
@click.option("--revoke", is_flag=True, help="Stop trusting PATH.")
def trust(path: Path | None, list_: bool, revoke: bool) -> None:
    """Trust PATH's .codetap/config.toml and .codetap/roles/ as they are now (default: the
    current directory). Until then a project's settings can only tighten yours; an edited
    file is untrusted again."""
    store = TrustStore(load_config().config_dir)
    try:
        if list_:
            for record in store.records().values():
                state = "trusted" if record.current() else "changed since trusted"
                click.echo(f"{record.root}  {state}  {record.trusted_at}")
            return
        root = (path or Path.cwd()).resolve()
        if revoke:
            if not store.revoke(root):
                _fail(f"{root} is not trusted")
            click.echo(f"{root}: no longer trusted")
            return
        if not project_files(root):
            _fail(f"nothing to trust: {root} has no .codetap/config.toml or .codetap/roles/")
        unlocked = _unlocked(root)
        record = store.trust(root)
    except CodetapError as exc:
        _fail(str(exc))
    click.echo(f"{record.root}: trusted (sha256 {record.sha256[:12]})")
    if unlocked:
        click.echo("now honoured: " + ", ".join(unlocked))


def _unlocked(root: Path) -> list[str]:
    """The keys an untrusted load of ``root`` ignores (what trusting it changes)."""
    import tomllib

    path = root / ".codetap" / "config.toml"
    if not path.is_file():
        return []
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CodetapError(f"{path}: invalid TOML: {exc}") from None
    return untrusted_overlay(load_config(), table, path)[1]


def _fail(message: str) -> None:
    error(message)
    sys.exit(EXIT_ERROR)
