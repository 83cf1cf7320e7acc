"""Language detection by file extension and the tree-sitter objects for each language.

Grammars come from the per-language wheels (``tree-sitter-python``, ``tree-sitter-typescript``,
...; offline, a few MB each), imported on first use so a parsing worker loads only the grammars
it meets. Tags queries are the data files ``queries/<language>-tags.scm`` next to this module.
Parsers and queries are built once per process and per thread (a ``tree_sitter.Parser`` is not
thread-safe).
"""

from __future__ import annotations

import functools
import importlib
import threading
from pathlib import Path, PurePosixPath

import tree_sitter

QUERIES_DIR = Path(__file__).with_name("queries")

LANGUAGES: tuple[str, ...] = (
    "python", "typescript", "tsx", "javascript", "go", "c", "cpp", "rust", "java",
)

GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "javascript": ("tree_sitter_javascript", "language"),
    "go": ("tree_sitter_go", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "bash": ("tree_sitter_bash", "language"),
}
"""Grammar name -> (module, function returning the language capsule). Every name in
:data:`LANGUAGES` is here; ``bash`` is parsed (shell commands) but not indexed."""

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".go": "go",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp",
    ".hh": "cpp", ".hpp": "cpp", ".hxx": "cpp", ".h++": "cpp",
    ".rs": "rust",
    ".java": "java",
}

_local = threading.local()


def language_for_path(path: str | PurePosixPath) -> str | None:
    """The language name (one of :data:`LANGUAGES`) for a file path, or None if unsupported.

    Detection is by the lower-cased file extension only; ``.h`` counts as C.
    """
    if isinstance(path, str) and not path.endswith("/"):
        # PurePosixPath(path).suffix without building a path object (called per file).
        name = path[path.rfind("/") + 1:]
        dot = name.rfind(".")
        suffix = name[dot:] if 0 < dot < len(name) - 1 else ""
    else:
        suffix = PurePosixPath(path).suffix
    return EXTENSIONS.get(suffix.lower())


@functools.cache
def get_language(lang: str) -> tree_sitter.Language:
    """The tree-sitter Language for ``lang`` (a key of :data:`GRAMMARS`).

    Raises KeyError for an unknown name, ImportError if its grammar wheel is not installed,
    and ValueError if the wheel's ABI is outside what the installed ``tree_sitter`` accepts.
    """
    if lang not in GRAMMARS:
        raise KeyError(f"unsupported language: {lang}")
    module_name, function = GRAMMARS[lang]
    capsule: object = getattr(importlib.import_module(module_name), function)()
    return tree_sitter.Language(capsule)


@functools.cache
def get_query(lang: str) -> tree_sitter.Query:
    """The compiled tags query of ``lang`` (read from ``queries/<lang>-tags.scm``)."""
    source = (QUERIES_DIR / f"{lang}-tags.scm").read_text(encoding="utf-8")
    return tree_sitter.Query(get_language(lang), source)


def get_parser(lang: str) -> tree_sitter.Parser:
    """A parser for ``lang`` owned by the calling thread (parsers are not thread-safe)."""
    parsers: dict[str, tree_sitter.Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(lang)
    if parser is None:
        parser = parsers[lang] = tree_sitter.Parser(get_language(lang))
    return parser


@functools.cache
def queries_fingerprint() -> str:
    """A short hash of all tags queries: cached tags are only valid for the same queries."""
    import hashlib  # here: the parsing workers never need it

    digest = hashlib.sha256()
    for lang in LANGUAGES:
        digest.update(lang.encode())
        digest.update((QUERIES_DIR / f"{lang}-tags.scm").read_bytes())
    return digest.hexdigest()[:12]
