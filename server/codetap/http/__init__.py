"""The HTTP API of the daemon (ARCHITECTURE.md "Service mode"; docs/http.md).

Served by the daemon's front process on its event loop (uvicorn), as one more client of
the same runtime as the LSP sessions: commands go to the runtime worker, reads come from
the front's read-only store. Modules: :mod:`~codetap.http.settings` (``[server]`` table,
tokens), :mod:`~codetap.http.app` (the FastAPI application and its task routes),
:mod:`~codetap.http.events` (Server-Sent Events), :mod:`~codetap.http.apply` (apply onto
the working tree), :mod:`~codetap.http.serve` (starting and stopping it in the daemon).
"""
