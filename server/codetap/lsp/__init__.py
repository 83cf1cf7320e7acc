"""codetap's LSP server: per-connection sessions over one shared Runtime."""
