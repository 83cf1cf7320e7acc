"""Fixtures for the VS Code end-to-end test: code-server (installed once per machine),
the extension packaged as a .vsix, and the system Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright", reason="playwright (dev extra) is not installed")

from tests.e2e.vscode.workbench import Unavailable, build_vsix, install_code_server


@pytest.fixture(scope="session")
def code_server_entry() -> Path:
    """code-server's entry.js; skips (with the reason) when it cannot be installed."""
    try:
        return install_code_server()
    except Unavailable as e:
        pytest.skip(f"code-server unavailable: {e}")


@pytest.fixture(scope="session")
def vsix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The extension as built from this checkout."""
    try:
        yield build_vsix(tmp_path_factory.mktemp("vsix") / "codetap.vsix")
    except Unavailable as e:
        pytest.skip(f"cannot package the extension: {e}")
