"""The repo map: token budget, ranking, personalisation, rendering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codetap.index import SymbolIndex, estimate_tokens, render_repo_map
from codetap.index.rank import pagerank, rank_definitions

from .project import generated_project, write


@pytest.fixture
def index(root: Path, cache_dir: Path) -> SymbolIndex:
    generated_project(root)
    built = SymbolIndex(root, cache_dir)
    built.build()
    return built


def _file_order(text: str) -> list[str]:
    return re.findall(r"^(\S+\.py):$", text, flags=re.MULTILINE)


@pytest.mark.parametrize("budget", [128, 256, 512, 1024, 2048])
def test_map_fits_the_budget(index: SymbolIndex, budget: int) -> None:
    text = render_repo_map(index, max_tokens=budget)
    assert 0.85 * budget <= estimate_tokens(text) <= 1.15 * budget


def test_map_shows_paths_line_numbers_and_source(index: SymbolIndex, root: Path) -> None:
    text = render_repo_map(index, max_tokens=512)
    blocks = text.strip().split("\n\n")
    for block in blocks:
        header, *rows = block.split("\n")
        rel = header.rstrip(":")
        source = (root / rel).read_text().splitlines()
        assert rows
        for row in rows:
            number, _, code = row.partition(": ")
            assert source[int(number) - 1] == code
    # Low-numbered modules are called most: they lead the map.
    hubs = {f"pkg/mod_{i}.py" for i in range(7)}
    assert set(_file_order(text)[:5]) <= hubs


def test_small_project_shows_everything(root: Path, cache_dir: Path) -> None:
    write(root, {"a.py": "def one():\n    two()\n", "b.py": "def two():\n    pass\n"})
    index = SymbolIndex(root, cache_dir)
    index.build()
    text = render_repo_map(index, max_tokens=1024)
    assert text == "b.py:\n    1: def two():\n\na.py:\n    1: def one():\n"


def test_personalisation_changes_the_ranking(index: SymbolIndex) -> None:
    base = rank_definitions(index.files())
    target = "pkg/mod_39.py"
    by_files = rank_definitions(index.files(), personalize_files=[target])
    # mod_39 calls into some modules; those gain rank when mod_39 is the focus.
    called = {t.name for t in index.files()[target] if t.kind == "ref"}
    def pos(order: list[tuple[str, str]]) -> float:
        hits = [i for i, (_, name) in enumerate(order) if name in called]
        return sum(hits) / len(hits)
    assert pos(by_files) < pos(base)
    by_names = rank_definitions(index.files(), personalize_names=["helper_30_3"])
    assert by_names[0] == ("pkg/mod_30.py", "helper_30_3")
    assert base[0] != by_names[0]
    text = render_repo_map(index, max_tokens=256, names=["helper_30_3"])
    assert _file_order(text)[0] == "pkg/mod_30.py"
    assert "def helper_30_3(" in text


def test_pagerank_follows_links_and_personalisation() -> None:
    edges = {"a": {"c": 1.0}, "b": {"c": 1.0}, "c": {"a": 1.0}}
    plain = pagerank(edges, ["a", "b", "c", "d"])
    assert abs(sum(plain.values()) - 1.0) < 1e-9
    assert plain["c"] > plain["a"] > plain["b"]
    focused = pagerank(edges, ["a", "b", "c", "d"], {"d": 1.0})
    assert focused["d"] > plain["d"]
    assert pagerank({}, []) == {}


def test_empty_index_and_bad_budget(root: Path, cache_dir: Path) -> None:
    index = SymbolIndex(root, cache_dir)
    index.build()
    assert render_repo_map(index) == ""
    with pytest.raises(ValueError):
        render_repo_map(index, max_tokens=0)
