"""The ``codetap acp`` command: what an ACP editor (Zed, JetBrains, CodeCompanion, avante,
agent-shell) launches. See docs/acp.md."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import cast

import click


async def serve() -> None:
    """Speak ACP on this process's stdin/stdout until the editor closes them."""
    from acp import Agent, run_agent

    from codetap.acp.agent import CodetapAgent

    agent = CodetapAgent()
    try:
        await run_agent(cast(Agent, agent))  # implements the methods codetap supports
    finally:
        await agent.close()


@click.command()
def acp() -> None:
    """Speak the Agent Client Protocol on stdio (what an ACP editor launches); connects to
    or starts the daemon, which runs the tasks: closing the editor leaves them running."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="codetap acp: %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(130)
