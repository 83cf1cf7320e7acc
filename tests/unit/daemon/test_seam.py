"""The front/worker seam: a read-only store for the front, errors rebuilt as the same
classes, and only the calls of the routing table crossing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codetap.daemon.runtime_proxy import rebuild_error
from codetap.errors import CodetapError, InvalidTransition, StoreError, TaskNotFound
from codetap.runtime_api import WORKER_CALLS, RuntimeAPI
from codetap.store import Store


async def test_front_store_is_read_only_for_real(tmp_path: Path) -> None:
    db = tmp_path / "codetap.db"
    writer = await Store.open(db)
    task = await writer.create_task(intent="x", root=tmp_path, scope=None, model="m",
                                    workflow="default")
    reader = await Store.open_readonly(db)
    try:
        assert (await reader.get_task(task.id)).intent == "x"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.create_task(intent="y", root=tmp_path, scope=None, model="m",
                                     workflow="default")
    finally:
        await reader.close()
        await writer.close()
    with pytest.raises(StoreError):
        await Store.open_readonly(tmp_path / "missing.db")


def test_errors_are_rebuilt_as_the_same_codetap_classes() -> None:
    exc = rebuild_error(("codetap.errors.InvalidTransition", "task 3 is ready", {}))
    assert type(exc) is InvalidTransition and str(exc) == "task 3 is ready"
    exc = rebuild_error(("codetap.errors.TaskNotFound", "no task with id 9", {"task_id": 9}))
    assert isinstance(exc, TaskNotFound) and exc.task_id == 9  # type: ignore[attr-defined]
    for foreign in ("builtins.KeyError", "os.system", "codetap.errors.nothing"):
        exc = rebuild_error((foreign, "boom", {}))
        assert type(exc) is CodetapError and "internal error" in str(exc)


def test_routing_table_names_only_methods_of_the_seam() -> None:
    assert WORKER_CALLS <= set(dir(RuntimeAPI))
    assert "close" not in WORKER_CALLS and "subscribe" not in WORKER_CALLS
