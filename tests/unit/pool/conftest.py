"""Fixtures for the pool tests: generated projects and pools of real language servers."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from codetap.pool import LspPool, default_specs
from tests.unit.pool.project import make_project

HAVE_BASEDPYRIGHT = default_specs()[0].resolve_command() is not None
needs_basedpyright = pytest.mark.skipif(
    not HAVE_BASEDPYRIGHT, reason="basedpyright-langserver not installed (pip install basedpyright)"
)


def have(program: str) -> bool:
    return shutil.which(program) is not None


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project((tmp_path / "proj").resolve())


@pytest_asyncio.fixture
async def pool() -> AsyncIterator[LspPool]:
    p = LspPool(default_specs(), ready_timeout_s=20.0)
    try:
        yield p
    finally:
        await p.shutdown()
