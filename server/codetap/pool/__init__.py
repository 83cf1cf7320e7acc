"""LSP client pool: real language servers kept warm, one per (server, project root).

Public API: :class:`LspPool` (``run``, ``stats``, ``reap``, ``shutdown``),
:func:`run_operation` with :data:`OPERATIONS` returning an :class:`Answer` of
:class:`Spot` s, :class:`ServerSpec` with :func:`default_specs` / :func:`merge_specs`,
and the errors :class:`ServerUnavailable`, :class:`ServerCrashed`, :class:`RequestFailed`.
"""

from codetap.pool.errors import LspError, RequestFailed, ServerCrashed, ServerUnavailable
from codetap.pool.ops import OPERATIONS, Answer, Spot, run_operation
from codetap.pool.pool import LspPool, Outcome, ServerStats
from codetap.pool.specs import ServerSpec, default_specs, merge_specs

__all__ = [
    "OPERATIONS",
    "Answer",
    "LspError",
    "LspPool",
    "Outcome",
    "RequestFailed",
    "ServerCrashed",
    "ServerSpec",
    "ServerStats",
    "ServerUnavailable",
    "Spot",
    "default_specs",
    "merge_specs",
    "run_operation",
]
