"""How one ``bash`` call is started: scrubbed environment, sandbox, limits (issue 15).

:func:`launch_for` decides from ``ctx.sandbox`` and :func:`codetap.tools.sandbox.probe`:

* ``mode = "off"``: ``bash -c`` with the scrubbed environment, no sandbox, no limits;
* sandbox works (``auto`` or ``required``): ``bwrap ... bash -c`` inside the call's
  cgroup (:mod:`codetap.tools.proclimits`), ``TMPDIR=/tmp`` (the private one);
* it does not, ``auto``: unsandboxed but limited, one warning in the log per process, a
  note in the first such result, ``meta["sandboxed"] = False`` always;
* it does not, ``required``: ToolError, the command is not run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from codetap.errors import ToolError
from codetap.tools.base import ToolContext
from codetap.tools.environment import scrubbed_env
from codetap.tools.proclimits import CallLimits
from codetap.tools.sandbox import probe, sandbox_argv

log = logging.getLogger(__name__)

DEFAULT_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}
_warned: set[str] = set()


@dataclass(slots=True)
class Launch:
    """The argv and environment of one call, whether it is sandboxed, its cgroups (None:
    no limits) and lines to append to the result."""

    argv: list[str]
    env: dict[str, str]
    sandboxed: bool
    limits: CallLimits | None = None
    notes: list[str] = field(default_factory=list)


def launch_for(command: str, ctx: ToolContext) -> Launch:
    """Build the launch of ``bash -c command`` for ``ctx``.

    Raises ToolError when ``[sandbox] mode = "required"`` and bubblewrap cannot run.
    """
    settings = ctx.sandbox
    env = {**scrubbed_env(ctx.env_passthrough), **DEFAULT_ENV}
    argv = ["bash", "-c", command]
    if settings.mode == "off":
        return Launch(argv, {**env, **ctx.env}, sandboxed=False)
    status = probe()
    if not status.works and settings.mode == "required":
        raise ToolError('not run: [sandbox] mode = "required" but bubblewrap cannot run '
                        f"here: {status.reason}")
    limits = _limits(settings.max_processes, settings.memory_mb)
    notes: list[str] = []
    if status.works:
        assert status.bwrap is not None
        argv = sandbox_argv(settings, ctx.workspace, argv, git_dir=ctx.git_dir,
                            bwrap=status.bwrap)
        env["TMPDIR"] = "/tmp"
    elif _once("unsandboxed"):
        log.warning("bash runs WITHOUT a sandbox: %s", status.reason)
        notes.append(f"[sandbox: not available here ({status.reason}); commands run "
                     "unsandboxed]")
    if limits is not None:
        argv = limits.wrap(argv)
    return Launch(argv, {**env, **ctx.env}, status.works, limits, notes)


def _limits(max_processes: int, memory_mb: int | None) -> CallLimits | None:
    try:
        return CallLimits(max_processes, memory_mb)
    except OSError as exc:
        if _once("limits"):
            log.warning("cannot make a cgroup for bash limits (%s); using rlimits", exc)
        return None


def _once(key: str) -> bool:
    """True the first time ``key`` is seen in this process."""
    if key in _warned:
        return False
    _warned.add(key)
    return True


def reset_warnings() -> None:
    """Forget which once-per-process warnings were given (for tests)."""
    _warned.clear()

