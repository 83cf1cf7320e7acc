"""tree-sitter symbol index and repo map (ARCHITECTURE.md: ``index/``).

- :class:`SymbolIndex`: definitions and references of a workspace, cached on disk.
- :func:`render_repo_map`: the most important definitions within a token budget.
- :func:`definitions_at` / :func:`references_at`: the LSP pool's fallback.

Names are imported on first use (PEP 562), so the parsing worker processes
(``python -m codetap.index.worker``) start without loading the whole package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codetap.index.index import SymbolIndex
    from codetap.index.position import definitions_at, identifier_at, references_at
    from codetap.index.repomap import estimate_tokens, render_repo_map
    from codetap.index.tags import Tag, extract_tags

_HOME = {
    "SymbolIndex": "codetap.index.index",
    "Tag": "codetap.index.tags",
    "definitions_at": "codetap.index.position",
    "estimate_tokens": "codetap.index.repomap",
    "extract_tags": "codetap.index.tags",
    "identifier_at": "codetap.index.position",
    "references_at": "codetap.index.position",
    "render_repo_map": "codetap.index.repomap",
}

__all__ = [
    "SymbolIndex",
    "Tag",
    "definitions_at",
    "estimate_tokens",
    "extract_tags",
    "identifier_at",
    "references_at",
    "render_repo_map",
]


def __getattr__(name: str) -> Any:
    """Import a public name of the package on first access; AttributeError otherwise."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
