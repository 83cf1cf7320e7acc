"""tree-sitter symbol index and repo map (ARCHITECTURE.md: ``index/``).

- :class:`SymbolIndex`: definitions and references of a workspace, cached on disk.
- :func:`render_repo_map`: the most important definitions within a token budget.
- :func:`definitions_at` / :func:`references_at`: the LSP pool's fallback.
"""

from codetap.index.index import SymbolIndex
from codetap.index.position import definitions_at, identifier_at, references_at
from codetap.index.repomap import estimate_tokens, render_repo_map
from codetap.index.tags import Tag, extract_tags

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
