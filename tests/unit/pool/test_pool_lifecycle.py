"""Pool lifecycle against real basedpyright: readiness, crashes, limits, idle and memory."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from codetap.pool import (
    LspPool,
    ServerCrashed,
    ServerUnavailable,
    default_specs,
    merge_specs,
    run_operation,
)
from tests.unit.pool.conftest import needs_basedpyright
from tests.unit.pool.project import area_references, make_project

pytestmark = needs_basedpyright


def gone(pid: int | None) -> bool:
    assert pid is not None
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def wait_gone(pid: int) -> None:
    for _ in range(500):
        if gone(pid):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"process {pid} survived SIGKILL")


async def test_early_references_are_complete_or_marked_partial(tmp_path: Path) -> None:
    root = make_project(tmp_path.resolve(), fillers=150)
    expected = area_references(150)
    waited = LspPool(default_specs(), ready_timeout_s=30.0)
    hurried = LspPool(default_specs(), ready_timeout_s=0.0)
    try:
        # issued immediately after start: never a silently incomplete answer
        answer = await run_operation(waited, root, root / "pkg/geometry.py", "references", 1, 5)
        assert answer.partial or len(answer.spots) == expected
        assert not answer.partial and len(answer.spots) == expected
        rushed = await run_operation(hurried, root, root / "pkg/geometry.py", "references", 1, 5)
        assert rushed.partial or len(rushed.spots) == expected
        assert rushed.partial  # no time allowed to settle: it must say so
    finally:
        await waited.shutdown()
        await hurried.shutdown()


@pytest.mark.parametrize("victim", ["server", "child"])
async def test_killed_server_is_restarted(tmp_path: Path, pool: LspPool, victim: str) -> None:
    root = make_project(tmp_path.resolve())
    first = await run_operation(pool, root, root / "pkg/cli.py", "definition", 6, 31)
    assert first.spots[0].path.name == "geometry.py"
    (stats,) = pool.stats()
    pid = stats.pid
    assert pid is not None
    proc = psutil.Process(pid)
    # the venv's launcher is a wrapper: kill it, or kill the real (node) server under it
    target = proc.children(recursive=True)[-1].pid if victim == "child" else pid
    os.kill(target, signal.SIGKILL)
    await wait_gone(target)
    again = await run_operation(pool, root, root / "pkg/geometry.py", "references", 1, 5)
    assert len(again.spots) == area_references(0)
    (after,) = pool.stats()
    assert after.pid != pid and after.crashes == 1
    assert gone(pid) and gone(target)


async def test_restart_limit_gives_a_clear_error(tmp_path: Path) -> None:
    root = make_project(tmp_path.resolve())
    pool = LspPool(default_specs(), max_restarts=0, ready_timeout_s=20.0)
    try:
        await run_operation(pool, root, root / "pkg/cli.py", "definition", 6, 31)
        (stats,) = pool.stats()
        assert stats.pid is not None
        os.kill(stats.pid, signal.SIGKILL)
        await wait_gone(stats.pid)
        with pytest.raises(ServerCrashed, match="crashed 1 times .* not restarting"):
            await run_operation(pool, root, root / "pkg/cli.py", "definition", 6, 31)
    finally:
        await pool.shutdown()


async def test_server_that_dies_at_start(tmp_path: Path) -> None:
    root = make_project(tmp_path.resolve())
    broken = merge_specs(
        default_specs(),
        {
            "servers": {
                "basedpyright": {"command": [sys.executable, "-c", "import sys; sys.exit(3)"]}
            }
        },
    )
    pool = LspPool(broken, max_restarts=1)
    try:
        with pytest.raises(ServerCrashed, match="could not be started.*status 3"):
            await run_operation(pool, root, root / "pkg/cli.py", "hover", 1, 1)
        with pytest.raises(ServerCrashed, match="could not be started"):
            await run_operation(pool, root, root / "pkg/cli.py", "hover", 1, 1)
        with pytest.raises(ServerCrashed, match="not restarting"):
            await run_operation(pool, root, root / "pkg/cli.py", "hover", 1, 1)
    finally:
        await pool.shutdown()


async def test_missing_binary_and_unsupported_language(tmp_path: Path) -> None:
    root = make_project(tmp_path.resolve())
    (root / "notes.txt").write_text("hello\n")
    specs = merge_specs(
        default_specs(), {"servers": {"basedpyright": {"command": ["codetap-no-such-server"]}}}
    )
    pool = LspPool(specs)
    try:
        with pytest.raises(
            ServerUnavailable, match="basedpyright is not installed.*pip install"
        ) as exc:
            await run_operation(pool, root, root / "pkg/cli.py", "definition", 6, 31)
        assert exc.value.server == "basedpyright"
        with pytest.raises(ServerUnavailable, match="no language server is configured for .txt"):
            await run_operation(pool, root, root / "notes.txt", "definition", 1, 1)
        assert pool.stats() == []
    finally:
        await pool.shutdown()


async def test_diagnostics_follow_edits(tmp_path: Path, pool: LspPool) -> None:
    root = make_project(tmp_path.resolve())
    cli = root / "pkg/cli.py"
    clean = await run_operation(pool, root, cli, "diagnostics", 1, 1)
    assert not clean.partial
    assert [s for s in clean.spots if s.kind.startswith("error")] == []
    cli.write_text(cli.read_text() + "\n\ncount: int = 'three'\n")
    broken = await run_operation(pool, root, cli, "diagnostics", 1, 1)
    errors = [s for s in broken.spots if s.kind.startswith("error")]
    assert errors and errors[0].line == 9
    assert "three" in errors[0].name and "int" in errors[0].name
    cli.write_text(cli.read_text().replace("'three'", "3"))
    fixed = await run_operation(pool, root, cli, "diagnostics", 1, 1)
    assert [s for s in fixed.spots if s.kind.startswith("error")] == []


async def test_idle_servers_are_shut_down(tmp_path: Path) -> None:
    root = make_project(tmp_path.resolve())
    pool = LspPool(default_specs(), idle_timeout_s=0.0)
    try:
        await run_operation(pool, root, root / "pkg/cli.py", "document_symbols", 1, 1)
        (stats,) = pool.stats()
        await pool.reap()
        assert pool.stats() == []
        assert gone(stats.pid)
        # and it comes back on demand
        answer = await run_operation(pool, root, root / "pkg/cli.py", "document_symbols", 1, 1)
        assert [s.name for s in answer.spots][:1] == ["main"]
    finally:
        await pool.shutdown()


async def test_memory_cap_evicts_least_recently_used(tmp_path: Path) -> None:
    first = make_project((tmp_path / "a").resolve())
    second = make_project((tmp_path / "b").resolve())
    pool = LspPool(default_specs(), memory_cap_mb=1)
    try:
        await run_operation(pool, first, first / "pkg/cli.py", "document_symbols", 1, 1)
        (old,) = pool.stats()
        assert old.rss_bytes > 1024 * 1024
        await run_operation(pool, second, second / "pkg/cli.py", "document_symbols", 1, 1)
        assert [s.root for s in pool.stats()] == [second]
        assert gone(old.pid)
    finally:
        await pool.shutdown()


async def test_shutdown_stops_every_server(tmp_path: Path) -> None:
    root = make_project(tmp_path.resolve())
    pool = LspPool(default_specs())
    await run_operation(pool, root, root / "pkg/cli.py", "document_symbols", 1, 1)
    (stats,) = pool.stats()
    children = [p.pid for p in psutil.Process(stats.pid).children(recursive=True)]
    await pool.shutdown()
    assert gone(stats.pid) and all(gone(c) for c in children)
    with pytest.raises(ServerCrashed, match="shut down"):
        await run_operation(pool, root, root / "pkg/cli.py", "document_symbols", 1, 1)


def test_project_root_uses_markers(tmp_path: Path) -> None:
    ws = tmp_path.resolve()
    (ws / "svc" / "cmd").mkdir(parents=True)
    (ws / "svc" / "go.mod").write_text("module svc\n")
    pool = LspPool(default_specs())
    gopls = next(s for s in pool.specs if s.name == "gopls")
    assert pool.project_root(gopls, ws, ws / "svc" / "cmd" / "main.go") == ws / "svc"
    assert pool.project_root(gopls, ws, ws / "other.go") == ws
    assert dataclasses.is_dataclass(gopls)
