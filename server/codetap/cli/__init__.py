"""The ``codetap`` command line (click). Subcommands live in sibling modules by concept."""

from __future__ import annotations

import click

from codetap.cli.control import cancel, gc, pause, resume, rollback
from codetap.cli.demo import demo
from codetap.cli.tasks import diff, log, run, show, tasks
from codetap.cli.trust import trust


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="codetap")
def main() -> None:
    """codetap: a local runtime for long-running AI coding tasks, next to your editor."""


for command in (run, tasks, show, diff, log, demo, cancel, pause, resume, rollback, gc,
                trust):
    main.add_command(command)

try:
    from codetap.cli.doctor import doctor
    main.add_command(doctor)
except ImportError:  # pragma: no cover - optional while the pool package is absent
    pass
try:
    from codetap.cli.daemon import daemon, lsp
    main.add_command(daemon)
    main.add_command(lsp)
except ImportError:  # pragma: no cover
    pass
