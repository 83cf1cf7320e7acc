"""``codetap acp``: the Agent Client Protocol front door (ARCHITECTURE.md "ACP", docs/acp.md).

A stdio shim attached to the per-user daemon through the Python SDK, like ``codetap lsp``:
it runs no task itself, so a closed editor never stops one. Modules: :mod:`.tools` (codetap
tool calls as ACP tool calls), :mod:`.mapping` (journal entries as ``session/update``s, end
states as stop reasons), :mod:`.sessions` (ACP sessions and their tasks), :mod:`.agent`
(the request handlers), :mod:`.command` (the click command).
"""
