"""The package's lazy public names: workers start without loading the whole index."""

from __future__ import annotations

import subprocess
import sys

import pytest

import codetap.index


def test_worker_import_does_not_load_index_or_repo_map() -> None:
    code = (
        "import sys, codetap.index.worker\n"
        "print(sorted(m for m in ('codetap.index.index', 'codetap.index.repomap',"
        " 'codetap.index.rank', 'asyncio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_public_names_resolve_to_their_modules() -> None:
    from codetap.index.index import SymbolIndex
    from codetap.index.repomap import render_repo_map

    assert codetap.index.SymbolIndex is SymbolIndex
    assert codetap.index.render_repo_map is render_repo_map
    assert set(codetap.index.__all__) <= set(dir(codetap.index)) | set(codetap.index._HOME)
    for name in codetap.index.__all__:
        assert getattr(codetap.index, name) is not None


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = codetap.index.nope  # type: ignore[attr-defined]
