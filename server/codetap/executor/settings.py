"""``[executor]``: where tasks run (ARCHITECTURE.md "Scale-out").

``kind = "inprocess"`` (default): in the runtime worker's event loop. ``kind = "ray"``: each
task with a repository URL is one Ray task on some node of the cluster at ``address``
(``"auto"``: the cluster this machine belongs to; ``"ray://host:10001"``: Ray Client),
reserving ``num_cpus`` CPUs and ``memory_mb`` MiB of memory (0: no reservation). A task whose
node dies is retried up to ``max_retries`` times on another node; the new attempt takes
the task's lease over (``lease_ttl_s``: seconds a silent owner keeps it) and resumes from
the journal. ``node_dir``: each node's own data directory (mirrors, worktrees), default
``<data_dir>/nodes/<first 12 hex of the Ray node id>``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExecutorSettings:
    """Resolved ``[executor]`` table (see the module docstring for the meaning)."""

    kind: str = "inprocess"
    address: str = "auto"
    num_cpus: float = 1.0
    memory_mb: int = 0
    max_retries: int = 3
    lease_ttl_s: float = 30.0
    node_dir: str | None = None
