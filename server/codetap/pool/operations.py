"""The operations of the ``lsp`` tool (ARCHITECTURE.md "Tool contract").

Kept apart from :mod:`codetap.pool.ops` so naming them does not load the LSP client stack.
"""

from __future__ import annotations

OPERATIONS = (
    "definition",
    "references",
    "hover",
    "incoming_calls",
    "outgoing_calls",
    "document_symbols",
    "diagnostics",
)
