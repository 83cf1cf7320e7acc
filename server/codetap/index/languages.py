"""Language detection by file extension and the tree-sitter objects for each language.

Grammars come from ``tree-sitter-language-pack`` (bundled, offline); tags queries are the
data files ``queries/<language>-tags.scm`` next to this module. Parsers and queries are
built once per process and per thread (a ``tree_sitter.Parser`` is not thread-safe).
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path, PurePosixPath

import tree_sitter
import tree_sitter_language_pack

QUERIES_DIR = Path(__file__).with_name("queries")

LANGUAGES: tuple[str, ...] = (
    "python", "typescript", "tsx", "javascript", "go", "c", "cpp", "rust", "java",
)

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
    """The tree-sitter Language for ``lang``; raises KeyError for an unknown name."""
    if lang not in LANGUAGES:
        raise KeyError(f"unsupported language: {lang}")
    return tree_sitter_language_pack.get_language(lang)  # type: ignore[arg-type]


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
