"""The ``codetap`` command line (click). Subcommands live in sibling modules by concept.

Commands are imported when they run (:class:`LazyGroup`): ``codetap run --detach`` must
not pay for importing every other command's dependencies.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, str] = {
    "run": "codetap.cli.tasks:run",
    "tasks": "codetap.cli.tasks:tasks",
    "show": "codetap.cli.tasks:show",
    "diff": "codetap.cli.tasks:diff",
    "log": "codetap.cli.tasks:log",
    "report": "codetap.cli.report:report",
    "follow": "codetap.cli.follow_cmd:follow",
    "answer": "codetap.cli.lifecycle:answer",
    "continue": "codetap.cli.follow_cmd:continue_",
    "apply": "codetap.cli.apply:apply",
    "discard": "codetap.cli.lifecycle:discard",
    "cancel": "codetap.cli.lifecycle:cancel",
    "pause": "codetap.cli.lifecycle:pause",
    "resume": "codetap.cli.lifecycle:resume",
    "rollback": "codetap.cli.lifecycle:rollback",
    "push": "codetap.cli.lifecycle:push",
    "gc": "codetap.cli.control:gc",
    "demo": "codetap.cli.demo:demo",
    "trust": "codetap.cli.trust:trust",
    "doctor": "codetap.cli.doctor:doctor",
    "daemon": "codetap.cli.daemon:daemon",
    "lsp": "codetap.cli.daemon:lsp",
    "acp": "codetap.acp.command:acp",
    "config": "codetap.cli.config:config_group",
    "models": "codetap.cli.config:models",
    "serve": "codetap.cli.serve:serve",
    "webhooks": "codetap.cli.webhooks:webhooks",
}
"""Command name -> ``module:attribute`` of its click command."""


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in COMMANDS:
            return found
        module, _, attr = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="codetap")
def main() -> None:
    """codetap: a local runtime for long-running AI coding tasks, next to your editor."""
