"""Exit codes, plain output and the SDK runner shared by the daemon-client commands.

Output is plain text written as given: user and model text is never parsed as markup
(an intent saying ``[bold]`` prints ``[bold]``). Every error line starts with ``error:``.

Exit codes (README.md "Exit codes"), for every command:

    0  success; the task is ready (or applied)
    1  the task failed, or ``apply`` left conflicts
    2  usage or configuration error, unknown task, operation the task's state forbids
    3  the task was cancelled or discarded
    4  the task is not finished: paused, waiting, interrupted, or following it stopped
       (Ctrl-C, SIGTERM, SIGHUP, closed output pipe) while it runs on in the daemon
    5  the daemon cannot be reached (did not start, or does not answer)
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from codetap.sdk.client import Client

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED, EXIT_UNFINISHED, EXIT_UNREACHABLE = range(6)


def state_exit(state: str) -> int:
    """The exit code of a task that is in ``state``."""
    if state in ("ready", "applied"):
        return EXIT_OK
    if state == "failed":
        return EXIT_FAILED
    if state in ("cancelled", "discarded"):
        return EXIT_CANCELLED
    return EXIT_UNFINISHED


def out(text: str) -> None:
    """One line on stdout, flushed (a follower of a pipe sees it now)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def note(text: str) -> None:
    """One line on stderr; silent when stderr is gone (terminal hung up)."""
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def error(text: str) -> None:
    """An ``error:`` line on stderr."""
    note(f"error: {text}")


def aligned(rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """``rows`` of cells with each cell but the last of a row padded (``str.ljust``) to the
    widest cell of its column, so that cells joined by the same separator line up."""
    widths = [max(len(row[i]) for row in rows if i < len(row))
              for i in range(max((len(row) for row in rows), default=0))]
    return [[cell if i == len(row) - 1 else cell.ljust(widths[i]) for i, cell in enumerate(row)]
            for row in rows]


def with_client(fn: Callable[[Client], Awaitable[int]], *, start_daemon: bool = True
                ) -> NoReturn:
    """Connect to the daemon (started if none runs and ``start_daemon``), run ``fn`` and
    exit with the code it returns. Daemon errors become one ``error:`` line: exit 5 when
    the daemon cannot be reached, 2 for other codetap errors."""
    import asyncio  # here: `codetap run --detach` next to a daemon never needs it

    from codetap.errors import CodetapError
    from codetap.sdk.client import Client
    from codetap.sdk.errors import DaemonUnreachable

    async def go() -> int:
        async with Client(start_daemon=start_daemon) as client:
            return await fn(client)

    try:
        code = asyncio.run(go())
    except DaemonUnreachable as exc:
        error(str(exc))
        code = EXIT_UNREACHABLE
    except CodetapError as exc:
        error(str(exc) or type(exc).__name__)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        note("interrupted")
        code = EXIT_UNFINISHED
    sys.exit(code)
