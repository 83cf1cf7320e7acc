"""Grammars from the per-language wheels: each loads, its tags query compiles and finds
definitions, and each wheel is a declared runtime dependency."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tree_sitter

from codetap.index.languages import GRAMMARS, LANGUAGES, get_language, get_parser, get_query
from codetap.index.tags import extract_tags

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"

# One small file per indexed language and the definitions (name, category, line) it must give.
SAMPLES: dict[str, tuple[str, bytes, set[tuple[str, str, int]]]] = {
    "python": ("s.py", b"# c\nRATE: float = 0.5\nclass Q:\n    def get(self): pass\n",
               {("RATE", "constant", 2), ("Q", "class", 3), ("get", "method", 4)}),
    "typescript": ("s.ts", b"export interface Q { n: number }\nfunction get(): Q { return x; }\n",
                   {("Q", "interface", 1), ("get", "function", 2)}),
    "tsx": ("s.tsx", b"class Q {}\nexport const View = () => <div />;\n",
            {("Q", "class", 1), ("View", "function", 2)}),
    "javascript": ("s.js", b"class Q { get() {} }\nfunction make() {}\n",
                   {("Q", "class", 1), ("get", "method", 1), ("make", "function", 2)}),
    "go": ("s.go", b"package s\n\ntype Q struct{}\n\nfunc (q Q) Get() {}\n",
           {("Q", "struct", 3), ("Get", "method", 5)}),
    "c": ("s.c", b"struct q { int n; };\nint get(void) { return 0; }\n",
          {("q", "struct", 1), ("get", "function", 2)}),
    "cpp": ("s.cpp", b"class Q {\n  int get();\n};\nint Q::get() { return 0; }\n",
            {("Q", "class", 1), ("get", "method", 2), ("get", "method", 4)}),
    "rust": ("s.rs", b"struct Q;\nimpl Q {\n    fn get(&self) {}\n}\n",
             {("Q", "struct", 1), ("get", "method", 3)}),
    "java": ("s.java", b"class Q {\n  int get() { return 0; }\n}\n",
             {("Q", "class", 1), ("get", "method", 2)}),
}


def _defs(path: str, source: bytes) -> set[tuple[str, str, int]]:
    return {(t.name, t.category, t.line) for t in extract_tags(path, source) if t.kind == "def"}


def test_every_indexed_language_has_a_grammar_and_a_sample() -> None:
    assert set(LANGUAGES) <= set(GRAMMARS)
    assert set(SAMPLES) == set(LANGUAGES)


@pytest.mark.parametrize("lang", sorted(GRAMMARS))
def test_grammar_loads_within_the_core_abi(lang: str) -> None:
    language = get_language(lang)
    assert isinstance(language, tree_sitter.Language)
    assert (tree_sitter.MIN_COMPATIBLE_LANGUAGE_VERSION <= language.abi_version
            <= tree_sitter.LANGUAGE_VERSION)
    tree = get_parser(lang).parse(b"")
    assert tree.root_node.type and not tree.root_node.has_error


@pytest.mark.parametrize("lang", LANGUAGES)
def test_tags_query_compiles_and_finds_the_sample_definitions(lang: str) -> None:
    query = get_query(lang)
    captures = {query.capture_name(i) for i in range(query.capture_count)}
    assert "name" in captures
    assert any(c.startswith("definition.") for c in captures)
    path, source, defs = SAMPLES[lang]
    assert _defs(path, source) == defs


def test_python_module_constants_in_every_statement_form() -> None:
    # The grammar wraps module-level assignments in expression_statement; a query that
    # expects them bare compiles to an impossible pattern and loses every constant.
    source = b"import os\n# note\nA = 1\nB: int = 2\nC = [\n    1,\n]\nx.y = 3\na, b = 4, 5\n"
    assert {d for d in _defs("k.py", source) if d[1] == "constant"} == {
        ("A", "constant", 3), ("B", "constant", 4), ("C", "constant", 5)}


def test_bash_grammar_parses_a_command_line() -> None:
    tree = get_parser("bash").parse(b"ls -l | grep x && echo $(date) > out.txt\n")
    root = tree.root_node
    assert not root.has_error
    types: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        types.add(node.type)
        stack.extend(node.children)
    assert {"pipeline", "list", "command", "command_substitution", "file_redirect"} <= types


def test_grammars_load_without_the_language_pack() -> None:
    code = (
        "import sys\n"
        "sys.modules['tree_sitter_language_pack'] = None\n"
        "from codetap.index.languages import GRAMMARS, LANGUAGES, get_language, get_query\n"
        "for g in GRAMMARS: get_language(g)\n"
        "for g in LANGUAGES: get_query(g)\n"
        "print(sorted(m for m, v in sys.modules.items()\n"
        "             if m.startswith('tree_sitter_') and '.' not in m and v is not None))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == repr(sorted({module for module, _ in GRAMMARS.values()}))


def test_each_grammar_wheel_is_a_declared_runtime_dependency() -> None:
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower() for d in declared}
    assert "tree-sitter-language-pack" not in names
    owners = importlib.metadata.packages_distributions()
    for module, _ in GRAMMARS.values():
        (dist,) = owners[module]
        assert dist.lower() in names, f"{dist} (for {module}) missing from dependencies"
