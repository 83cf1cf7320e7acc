"""Fixtures for the tool tests: a real workspace directory and a ToolContext on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from codetap.tools.base import ToolContext


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws.resolve()


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return ToolContext(workspace=workspace)
