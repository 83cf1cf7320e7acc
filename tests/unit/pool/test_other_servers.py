"""clangd and gopls through the pool, where they are installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codetap.pool import LspPool, default_specs, run_operation
from tests.unit.pool.conftest import have

MAIN_C = """#include "util.h"

int twice(int x) { return add(x, x); }

int main(void) { return twice(2) + add(1, 2); }
"""
UTIL_H = "int add(int a, int b);\n"
UTIL_C = '#include "util.h"\n\nint add(int a, int b) { return a + b; }\n'

GO_MAIN = """package main

import "fmt"

func main() {
	fmt.Println(Add(1, 2), Add(3, 4))
}
"""
GO_UTIL = """package main

// Add returns a + b.
func Add(a, b int) int {
	return a + b
}
"""


@pytest.mark.skipif(not have("clangd"), reason="clangd not installed (apt-get install clangd)")
async def test_clangd_definition_references_symbols(tmp_path: Path, pool: LspPool) -> None:
    root = tmp_path.resolve()
    (root / "main.c").write_text(MAIN_C)
    (root / "util.h").write_text(UTIL_H)
    (root / "util.c").write_text(UTIL_C)
    (root / "compile_flags.txt").write_text("-I.\n")
    main = root / "main.c"
    definition = await run_operation(pool, root, main, "definition", 3, 27)
    assert [(s.path.name, s.line) for s in definition.spots] in ([("util.h", 1)], [("util.c", 3)])
    refs = await run_operation(pool, root, main, "references", 3, 6)
    assert {(s.path.name, s.line) for s in refs.spots} == {("main.c", 3), ("main.c", 5)}
    symbols = await run_operation(pool, root, main, "document_symbols", 1, 1)
    assert [s.name for s in symbols.spots] == ["twice", "main"]
    assert definition.server == "clangd"


@pytest.mark.skipif(
    not (have("gopls") and have("go")),
    reason="gopls/go not installed (apt-get install gopls golang-go)",
)
async def test_gopls_cross_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path.resolve() / "mod"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/demo\n\ngo 1.19\n")
    (root / "main.go").write_text(GO_MAIN)
    (root / "util.go").write_text(GO_UTIL)
    monkeypatch.setenv("GOFLAGS", "-mod=mod")
    monkeypatch.setenv("GOPROXY", "off")
    monkeypatch.setenv("GOCACHE", os.environ.get("GOCACHE", str(tmp_path / "gocache")))
    pool = LspPool(default_specs(), ready_timeout_s=30.0)
    try:
        definition = await run_operation(pool, tmp_path, root / "main.go", "definition", 6, 14)
        assert [(s.path.name, s.line, s.character) for s in definition.spots] == [("util.go", 4, 6)]
        refs = await run_operation(pool, tmp_path, root / "util.go", "references", 4, 6)
        assert not refs.partial
        assert sorted((s.path.name, s.line, s.character) for s in refs.spots) == [
            ("main.go", 6, 14),
            ("main.go", 6, 25),
            ("util.go", 4, 6),
        ]
        (stats,) = pool.stats()
        assert stats.root == root  # go.mod marks the project root below the workspace
    finally:
        await pool.shutdown()
