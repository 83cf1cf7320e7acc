"""Navigation through a warm, real basedpyright on a generated multi-file project."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from codetap.pool import Answer, LspPool, default_specs, run_operation
from tests.unit.pool.conftest import needs_basedpyright
from tests.unit.pool.project import UNICODE, area_references, make_project

FILLERS = 40
pytestmark = [needs_basedpyright, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("nav").resolve(), fillers=FILLERS)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def warm(root: Path) -> AsyncIterator[LspPool]:
    pool = LspPool(default_specs(), ready_timeout_s=30.0)
    try:
        yield pool
    finally:
        await pool.shutdown()


async def ask(pool: LspPool, root: Path, rel: str, op: str, line: int = 1, col: int = 1) -> Answer:
    return await run_operation(pool, root, root / rel, op, line, col)


def where(answer: Answer, root: Path) -> list[tuple[str, int, int]]:
    return [(s.path.relative_to(root).as_posix(), s.line, s.character) for s in answer.spots]


async def test_definition_across_files(warm: LspPool, root: Path) -> None:
    # cli.py line 6: "    print(total(), summary(), area(2, 2))"; area at column 31
    answer = await ask(warm, root, "pkg/cli.py", "definition", 6, 31)
    assert where(answer, root) == [("pkg/geometry.py", 1, 5)]
    assert not answer.partial and answer.server == "basedpyright"


async def test_references_are_complete(warm: LspPool, root: Path) -> None:
    answer = await ask(warm, root, "pkg/geometry.py", "references", 1, 5)
    found = where(answer, root)
    assert len(found) == area_references(FILLERS)
    assert ("pkg/report.py", 5, 12) in found and ("pkg/report.py", 5, 25) in found
    assert ("pkg/fill/mod_7.py", 5, 12) in found
    assert not answer.partial


async def test_incoming_calls_list_call_sites(warm: LspPool, root: Path) -> None:
    answer = await ask(warm, root, "pkg/geometry.py", "incoming_calls", 1, 5)
    callers = {(s.path.name, s.line, s.name) for s in answer.spots}
    assert ("report.py", 5, "total") in callers
    assert ("geometry.py", 11, "size") in callers
    assert ("cli.py", 6, "main") in callers
    assert ("mod_3.py", 5, "use_3") in callers
    # report.total calls area twice: both call sites are listed
    assert sum(1 for s in answer.spots if s.name == "total") == 2


async def test_outgoing_calls_of_a_method(warm: LspPool, root: Path) -> None:
    # geometry.py line 13: "    def describe(self) -> str:" calls self.size()
    answer = await ask(warm, root, "pkg/geometry.py", "outgoing_calls", 13, 9)
    assert [(s.path.name, s.line, s.name) for s in answer.spots] == [("geometry.py", 10, "size")]
    summary = await ask(warm, root, "pkg/report.py", "outgoing_calls", 8, 5)
    assert {s.name for s in summary.spots} >= {"Shape", "describe"} or {
        s.name for s in summary.spots
    } >= {"__init__", "describe"}


async def test_hover_and_symbols(warm: LspPool, root: Path) -> None:
    hover = await ask(warm, root, "pkg/geometry.py", "hover", 1, 5)
    assert "def area" in hover.text and "float" in hover.text
    symbols = await ask(warm, root, "pkg/geometry.py", "document_symbols")
    named = {(s.name, s.kind, s.depth) for s in symbols.spots}
    assert {("area", "Function", 0), ("Shape", "Class", 0), ("size", "Method", 1)} <= named


async def test_non_ascii_line_positions(warm: LspPool, root: Path) -> None:
    line = UNICODE.splitlines()[2]
    col = line.index("area") + 1  # code points; the emoji are 2 UTF-16 units each
    answer = await ask(warm, root, "pkg/unicode_names.py", "definition", 3, col)
    assert where(answer, root) == [("pkg/geometry.py", 1, 5)]
    refs = await ask(warm, root, "pkg/geometry.py", "references", 1, 5)
    assert ("pkg/unicode_names.py", 3, col) in where(refs, root)


async def test_edits_on_disk_are_synced_before_requests(warm: LspPool, root: Path) -> None:
    report = root / "pkg" / "report.py"
    original = report.read_text()
    try:
        report.write_text("# a new first line\n\n" + original)
        answer = await ask(warm, root, "pkg/report.py", "definition", 7, 12)  # area(1, 2)
        assert where(answer, root) == [("pkg/geometry.py", 1, 5)]
        moved = await ask(warm, root, "pkg/geometry.py", "references", 1, 5)
        assert ("pkg/report.py", 7, 12) in where(moved, root)
    finally:
        report.write_text(original)


async def test_line_past_the_end_is_a_clear_error(warm: LspPool, root: Path) -> None:
    with pytest.raises(ValueError, match="past the end of the file"):
        await ask(warm, root, "pkg/cli.py", "definition", 99, 1)
    with pytest.raises(ValueError, match="unknown operation"):
        await ask(warm, root, "pkg/cli.py", "rename", 1, 1)
