"""Refresh without named paths from the inotify watcher (real files, real git)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from codetap.index import SymbolIndex
from tests.conftest import make_repo

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="inotify is Linux-only")

FILES = {".gitignore": "build/\n", "a.py": "def alpha():\n    pass\n",
         "pkg/b.py": "def beta():\n    pass\n", "pkg/sub/c.py": "def gamma():\n    pass\n",
         "docs/readme.txt": "no code\n"}


def names(index: SymbolIndex) -> set[str]:
    return {t.name for tags in index.files().values() for t in tags if t.kind == "def"}


def test_refresh_sees_edits_new_files_and_moved_or_deleted_directories(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    index = SymbolIndex(repo, tmp_path / "cache", workers=1)
    index.build()
    assert index._watcher is not None
    assert names(index) == {"alpha", "beta", "gamma"}

    (repo / "a.py").write_text("def alpha2():\n    pass\n")
    (repo / "docs" / "new.py").write_text("def delta():\n    pass\n")
    assert index.refresh() == ["a.py", "docs/new.py"]
    assert names(index) == {"alpha2", "beta", "gamma", "delta"}

    (repo / "pkg" / "sub").rename(repo / "moved")
    (repo / "fresh" / "deep").mkdir(parents=True)
    (repo / "fresh" / "deep" / "e.py").write_text("def epsilon():\n    pass\n")
    assert index.refresh() == ["fresh/deep/e.py", "moved/c.py", "pkg/sub/c.py"]
    (repo / "moved" / "c.py").write_text("def gamma2():\n    pass\n")
    shutil.rmtree(repo / "pkg")
    assert index.refresh() == ["moved/c.py", "pkg/b.py"]
    assert names(index) == {"alpha2", "gamma2", "delta", "epsilon"}
    assert index.refresh() == []


def test_ignored_new_files_stay_out_like_a_full_listing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    index = SymbolIndex(repo, tmp_path / "cache", workers=1)
    index.build()
    (repo / "build").mkdir()
    (repo / "build" / "gen.py").write_text("def generated():\n    pass\n")
    (repo / "node_modules").mkdir()
    (repo / "node_modules" / "x.js").write_text("function inNodeModules() {}\n")
    assert index.refresh() == []
    unwatched = SymbolIndex(repo, tmp_path / "cache2", workers=1, watch=False)
    unwatched.build()
    assert sorted(unwatched.files()) == sorted(index.files())


def test_outside_git_a_new_file_falls_back_to_listing(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "b.py").write_text("def beta():\n    pass\n")
    (root / ".gitignore").write_text("skip.py\n")
    index = SymbolIndex(root, tmp_path / "cache", workers=1)
    index.build()
    (root / "pkg" / "n.py").write_text("def nu():\n    pass\n")
    (root / "skip.py").write_text("def skipped():\n    pass\n")
    assert index.refresh() == ["pkg/n.py"]
    index.close()
    (root / "pkg" / "b.py").write_text("def beta2():\n    pass\n")
    assert index.refresh() == ["pkg/b.py"]
