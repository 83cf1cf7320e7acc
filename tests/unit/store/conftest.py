"""Every store test that takes ``open_store`` runs against both backends: SQLite (a file in
tmp_path) and PostgreSQL (a fresh database on the session's server, tests/pg_fixture.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from codetap.store import Store
from tests.pg_fixture import pg_server, pg_url  # noqa: F401  (fixtures)

OpenStore = Callable[..., Awaitable[Store]]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend under test."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """``[store] url`` for the backend: None for SQLite, a fresh database for PostgreSQL."""
    if backend == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def open_store(tmp_path: Path, store_url: str | None) -> AsyncIterator[OpenStore]:
    """``await open_store()`` opens the test's database (again: same data);
    ``open_store(readonly=True)`` opens it read-only. All are closed after the test."""
    opened: list[Store] = []

    async def open_(*, readonly: bool = False) -> Store:
        path = tmp_path / "db" / "codetap.db"
        store = await (Store.open_readonly(path, url=store_url) if readonly
                       else Store.open(path, url=store_url))
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.close()
