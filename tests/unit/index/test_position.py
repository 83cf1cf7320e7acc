"""definitions_at / references_at: the LSP pool's fallback answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from codetap.errors import ToolError
from codetap.index import SymbolIndex, definitions_at, identifier_at, references_at

from .project import write


@pytest.fixture
def index(root: Path, cache_dir: Path) -> SymbolIndex:
    write(root, {
        "lib.py": "def area(r):\n    return 3 * r * r\n",
        "app.py": "from lib import area\n\nprint(area(2))  # é\nx = area\n",
        "other/lib2.go": "package other\n\nfunc area(r int) int { return r }\n",
        "notes.txt": "area\n",
    })
    built = SymbolIndex(root, cache_dir)
    built.build()
    return built


def test_definition_of_a_call(index: SymbolIndex) -> None:
    hits = definitions_at(index, "app.py", 3, 7)
    assert [(t.rel_path, t.line) for t in hits] == [("lib.py", 1), ("other/lib2.go", 3)]
    # Cursor just after the identifier still counts; same-file definitions come first.
    assert identifier_at(index, "app.py", 3, 11) == "area"
    assert definitions_at(index, "other/lib2.go", 3, 7)[0].rel_path == "other/lib2.go"


def test_references(index: SymbolIndex) -> None:
    hits = references_at(index, "lib.py", 1, 5)
    assert [(t.rel_path, t.line, t.column) for t in hits] == [("app.py", 3, 7)]


def test_not_on_an_identifier(index: SymbolIndex) -> None:
    assert definitions_at(index, "app.py", 2, 1) == []
    assert references_at(index, "lib.py", 2, 14) == []


def test_errors(index: SymbolIndex) -> None:
    with pytest.raises(ToolError, match="no tree-sitter grammar"):
        definitions_at(index, "notes.txt", 1, 1)
    with pytest.raises(ToolError, match="cannot read"):
        definitions_at(index, "missing.py", 1, 1)
    with pytest.raises(ToolError, match="out of range"):
        references_at(index, "lib.py", 40, 1)
