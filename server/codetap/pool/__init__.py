"""LSP client pool: real language servers kept warm, one per (server, project root).

Public API: :class:`LspPool` (``run``, ``stats``, ``reap``, ``shutdown``),
:func:`run_operation` with :data:`OPERATIONS` returning an :class:`Answer` of
:class:`Spot` s, :class:`ServerSpec` with :func:`default_specs` / :func:`merge_specs`,
and the errors :class:`ServerUnavailable`, :class:`ServerCrashed`, :class:`RequestFailed`.

Names are loaded on first use (PEP 562): lsprotocol and pygls take about half a second to
import, which a daemon restart should not pay before its tasks resume.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codetap.pool.errors import LspError, RequestFailed, ServerCrashed, ServerUnavailable
    from codetap.pool.operations import OPERATIONS
    from codetap.pool.ops import Answer, Spot, run_operation
    from codetap.pool.pool import LspPool, Outcome, ServerStats
    from codetap.pool.specs import ServerSpec, default_specs, merge_specs

_WHERE = {
    "LspError": "errors", "RequestFailed": "errors", "ServerCrashed": "errors",
    "ServerUnavailable": "errors", "OPERATIONS": "operations", "Answer": "ops", "Spot": "ops",
    "run_operation": "ops", "LspPool": "pool", "Outcome": "pool", "ServerStats": "pool",
    "ServerSpec": "specs", "default_specs": "specs", "merge_specs": "specs",
}

__all__ = [
    "OPERATIONS", "Answer", "LspError", "LspPool", "Outcome", "RequestFailed", "ServerCrashed",
    "ServerSpec", "ServerStats", "ServerUnavailable", "Spot", "default_specs", "merge_specs",
    "run_operation",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'codetap.pool' has no attribute {name!r}")
    return getattr(importlib.import_module(f"codetap.pool.{_WHERE[name]}"), name)
