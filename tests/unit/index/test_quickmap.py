"""A task's repo map from the ranking stored per commit (real git, real tree-sitter)."""

from __future__ import annotations

from pathlib import Path

from codetap.index import SymbolIndex, render_repo_map
from codetap.index.mapstore import MapStore
from codetap.index.quickmap import quick_repo_map, task_repo_map
from tests.conftest import git, make_repo


def module(i: int) -> str:
    calls = "\n".join(f"    helper_{j}(x)" for j in range(i % 5 + 1))
    return (f"from core import *\n\n\ndef entry_{i}(x):\n{calls}\n    return x\n\n\n"
            f"class Thing{i}:\n    def run(self):\n        return entry_{i}(1)\n")


FILES = {"core.py": "".join(f"def helper_{j}(x):\n    return x\n\n\n" for j in range(5)),
         **{f"pkg/m{i}.py": module(i) for i in range(12)}}


def head_tree(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD^{tree}").strip()


def test_the_first_map_stores_the_model_and_the_next_equals_a_full_ranking(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    cache = tmp_path / "cache"
    store = MapStore(cache)
    assert store.first_stored([head_tree(repo)]) is None
    first = task_repo_map(repo, cache, (), 256)
    assert store.first_stored([head_tree(repo)]) is not None
    again = quick_repo_map(repo.resolve(), store, [], 256)
    index = SymbolIndex(repo, tmp_path / "other", workers=1)
    index.build()
    full = render_repo_map(index, 256)
    assert again == first == full
    assert "core.py:" in full and "def helper_0(x):" in full


def test_a_new_worktree_applies_its_changes_to_the_stored_ranking(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    cache = tmp_path / "cache"
    task_repo_map(repo, cache, (), 2048)
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "HEAD")
    # helper_0 moves down four lines and helper_1 disappears; a new untracked file
    # defines a mentioned name.
    core = (wt / "core.py").read_text().replace("def helper_1(x):\n    return x\n", "")
    (wt / "core.py").write_text("# a\n# b\n# c\n# d\n" + core)
    (wt / "pkg" / "fresh.py").write_text("def brand_new_thing():\n    pass\n")
    text = quick_repo_map(wt, MapStore(cache), ["brand_new_thing"], 2048)
    assert text is not None
    assert text.startswith("pkg/fresh.py:\n    1: def brand_new_thing():\n")
    assert "    5: def helper_0(x):" in text
    assert "helper_1" not in text.split("core.py:")[1].split("\n\n")[0]
    # The same worktree ranked from scratch shows the same definitions of core.py.
    index = SymbolIndex(wt, tmp_path / "other", workers=1)
    index.build()
    full = render_repo_map(index, 2048)
    assert "    5: def helper_0(x):" in full


def test_mentioned_names_come_first(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    cache = tmp_path / "cache"
    task_repo_map(repo, cache, (), 128)
    text = task_repo_map(repo, cache, ["Thing7"], 128)
    assert text.startswith("pkg/m7.py:\n   11: class Thing7:")


def test_outside_git_or_without_a_model_the_index_is_ranked(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    for rel, body in FILES.items():
        (plain / rel).parent.mkdir(parents=True, exist_ok=True)
        (plain / rel).write_text(body)
    cache = tmp_path / "cache"
    assert quick_repo_map(plain.resolve(), MapStore(cache), [], 256) is None
    index = SymbolIndex(plain, tmp_path / "other", workers=1)
    index.build()
    assert task_repo_map(plain, cache, (), 256) == render_repo_map(index, 256)
    # A dirty worktree without a model stores none (its tree is not HEAD's).
    repo = make_repo(tmp_path / "repo", FILES)
    (repo / "core.py").write_text("def other():\n    pass\n")
    task_repo_map(repo, cache, (), 256)
    assert MapStore(cache).first_stored([head_tree(repo)]) is None
