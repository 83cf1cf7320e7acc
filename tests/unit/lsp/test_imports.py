"""The lsp package has no import cycle, and nothing below it imports back up into it or
into the daemon: checked on the source with ast (every import, TYPE_CHECKING ones too)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[3] / "server" / "codetap"


def _imports(path: Path) -> set[str]:
    """Every codetap module ``path`` imports (absolute names, at any depth in the file)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("codetap"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("codetap"))
    return out


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PKG.parent).with_suffix("").parts)


def _graph(package: str) -> dict[str, set[str]]:
    files = sorted((PKG / package).glob("*.py"))
    names = {_module(f) for f in files}
    return {_module(f): _imports(f) & names for f in files}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_lsp_package_has_no_import_cycle() -> None:
    graph = _graph("lsp")
    assert "codetap.lsp.session" not in graph["codetap.lsp.hub"]
    assert "codetap.lsp.session" not in graph["codetap.lsp.suggest"]
    assert "codetap.lsp.hub" not in graph["codetap.lsp.suggest"]
    assert _cycle(graph) is None, _cycle(graph)


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_runs_back_up_into_the_daemon() -> None:
    for path in sorted((PKG / "lsp").glob("*.py")):
        assert not any(m.startswith("codetap.daemon") for m in _imports(path)), path.name
    assert not any(m.startswith("codetap.daemon") for m in _imports(PKG / "config.py"))
    assert not any(m.startswith("codetap.") for m in _imports(PKG / "paths.py"))
