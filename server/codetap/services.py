"""Optional services the runtime offers tasks: the symbol index's repo map, the LSP pool.

Both are optional: a missing grammar package or language server degrades the agent's
tools, never the task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codetap.tools.base import Services

log = logging.getLogger(__name__)

REPO_MAP_TOKENS = 1024


def repo_map_for(runtime: Any) -> Callable[[Path, str], Awaitable[str]] | None:
    """A coroutine function (worktree, intent) -> repo map text, or None if no index."""
    try:
        from codetap.index.quickmap import task_repo_map
    except ImportError:
        return None
    cache_dir: Path = runtime.config.cache_dir / "index"

    async def build(worktree: Path, intent: str) -> str:
        def work() -> str:
            names = [w for w in intent.replace("(", " ").split() if w.isidentifier()]
            return task_repo_map(worktree, cache_dir, names, REPO_MAP_TOKENS)
        try:
            return await asyncio.to_thread(work)
        except Exception:  # the repo map is an aid; never fail a task over it
            log.exception("repo map failed for %s", worktree)
            return ""

    return build


def default_services(config: Any) -> Services:
    """Services every task gets: the LSP client pool (servers start lazily, so this is
    cheap), where the symbol index keeps its cache, the tool process-group registry."""
    from codetap.tools.base import Services
    from codetap.tools.procgroups import ProcessGroups
    services = Services(index_cache_dir=config.cache_dir / "index",
                        process_groups=ProcessGroups(config.runtime_dir / "pgroups"))
    try:
        from codetap.pool.pool import LspPool
        from codetap.pool.specs import default_specs, merge_specs
    except ImportError:
        return services
    services.pool = LspPool(merge_specs(default_specs(), config.lsp),
                            env_passthrough=config.env_passthrough)
    return services
