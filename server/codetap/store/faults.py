"""Named fault points for crash testing: ``CODETAP_FAULT_POINT`` kills the process there.

The durability code calls :func:`fault_point` at the places where a crash is most
interesting (ARCHITECTURE.md "Durability"). When the environment variable
``CODETAP_FAULT_POINT`` is ``NAME`` or ``NAME#N``, the N-th time (default 1st) this
process reaches point ``NAME`` it sends itself SIGKILL, exactly like ``kill -9`` from
outside: no cleanup, no flush, no ``finally``. Unset (the normal case), a call costs one
dictionary lookup.

``CODETAP_FAULT_ONCE=<path>`` makes the kill happen once across processes: only the
process that creates ``<path>`` (exclusively) dies, so a runtime worker restarted with the
same environment (see ``codetap.daemon.runtime_proxy``) runs on.

Points (``<tool>`` is a tool name such as ``edit`` or ``bash``):
  ``after_intent:<tool>``  intent journaled, the mutating tool not started yet
  ``after_tool:<tool>``    the tool has run (files changed), its result not journaled
  ``after_result:<tool>``  the result journaled, the step not checkpointed yet
  ``before_commit``        a step's results journaled, worktree not committed yet
  ``after_commit``         worktree committed, checkpoint row not written yet
  ``after_checkpoint``     checkpoint written, task row not updated yet
  ``compaction_summarized``  a compaction's summary turn answered, nothing journaled yet
  ``after_compaction``     a ``compaction`` entry journaled, the turn's request not sent
  ``after_handoff``        a ``handoff`` entry journaled, the next role not started
"""

from __future__ import annotations

import os
import signal

ENV = "CODETAP_FAULT_POINT"
ONCE_ENV = "CODETAP_FAULT_ONCE"
_hits: dict[str, int] = {}


def parse(spec: str) -> tuple[str, int]:
    """``"NAME#N"`` -> (``NAME``, N); N defaults to 1. ValueError for N < 1 or not a number."""
    name, _, count = spec.strip().partition("#")
    n = int(count) if count else 1
    if n < 1 or not name:
        raise ValueError(f"{ENV}={spec!r}: expected NAME or NAME#N with N >= 1")
    return name, n


def fault_point(name: str) -> None:
    """SIGKILL this process if ``CODETAP_FAULT_POINT`` selects this hit of point ``name``."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, n = parse(spec)
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] != n:
        return
    once = os.environ.get(ONCE_ENV)
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return
    os.kill(os.getpid(), signal.SIGKILL)
