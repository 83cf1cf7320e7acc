"""The client capabilities codetap declares (LSP 3.17 ``ClientCapabilities``).

Only what the pool really handles: navigation requests it sends, hierarchical document
symbols, versioned diagnostics it stores, work-done progress and configuration it answers.
Positions are UTF-16 (the only encoding offered).
"""

from __future__ import annotations

from lsprotocol import types as lsp


def client_capabilities() -> lsp.ClientCapabilities:
    """A fresh :class:`lsprotocol.types.ClientCapabilities` for ``initialize``."""
    markup = [lsp.MarkupKind.Markdown, lsp.MarkupKind.PlainText]
    return lsp.ClientCapabilities(
        general=lsp.GeneralClientCapabilities(
            position_encodings=[lsp.PositionEncodingKind.Utf16],
        ),
        window=lsp.WindowClientCapabilities(work_done_progress=True),
        workspace=lsp.WorkspaceClientCapabilities(
            configuration=True,
            workspace_folders=True,
            did_change_configuration=lsp.DidChangeConfigurationClientCapabilities(
                dynamic_registration=False
            ),
        ),
        text_document=lsp.TextDocumentClientCapabilities(
            synchronization=lsp.TextDocumentSyncClientCapabilities(did_save=False),
            definition=lsp.DefinitionClientCapabilities(link_support=True),
            references=lsp.ReferenceClientCapabilities(),
            hover=lsp.HoverClientCapabilities(content_format=markup),
            document_symbol=lsp.DocumentSymbolClientCapabilities(
                hierarchical_document_symbol_support=True,
                symbol_kind=lsp.ClientSymbolKindOptions(value_set=list(lsp.SymbolKind)),
            ),
            call_hierarchy=lsp.CallHierarchyClientCapabilities(),
            publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(
                related_information=True, version_support=True
            ),
        ),
    )
