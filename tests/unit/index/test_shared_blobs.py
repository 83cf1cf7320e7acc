"""The tag cache keyed by content: every worktree of a repository shares what was parsed
(real git worktrees, real tree-sitter parses; ``parse_count`` counts files parsed)."""

from __future__ import annotations

from pathlib import Path

from codetap.index import SymbolIndex
from tests.conftest import git, make_repo

FILES = {f"pkg/m{i}.py": f"def f{i}(x):\n    return g{i}(x)\n\n\ndef g{i}(y):\n    return y\n"
         for i in range(30)}


def snapshot(index: SymbolIndex) -> dict[str, list[tuple[str, str, int]]]:
    return {rel: [(t.name, t.kind, t.line) for t in tags]
            for rel, tags in sorted(index.files().items())}


def test_a_second_worktree_parses_only_what_differs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    cache = tmp_path / "cache"
    first = SymbolIndex(repo, cache, workers=1)
    first.build()
    assert first.parse_count == len(FILES)

    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "HEAD")
    (wt / "pkg" / "m3.py").write_text("def changed():\n    pass\n")
    (wt / "pkg" / "new.py").write_text("def added():\n    pass\n")
    (wt / "pkg" / "m7.py").unlink()

    second = SymbolIndex(wt, cache, workers=1)
    second.build()

    # Only the modified file and the untracked one were parsed; the other 28 came from
    # the tags stored under their blob ids by the first build (another root).
    assert second.parse_count == 2
    assert [t.name for t in second.definitions("changed")] == ["changed"]
    assert second.definitions("f3") == [] and second.definitions("f7") == []
    assert [t.rel_path for t in second.definitions("f12")] == ["pkg/m12.py"]
    fresh = SymbolIndex(wt, tmp_path / "other-cache", workers=1)
    fresh.build()
    assert snapshot(second) == snapshot(fresh)


def test_a_file_that_differs_from_the_index_is_parsed(tmp_path: Path) -> None:
    """Same size, same blob id in the index, different bytes: git reports it changed, so
    its stored tags are not used."""
    repo = make_repo(tmp_path / "repo", {"a.py": "def aaa():\n    pass\n"})
    cache = tmp_path / "cache"
    SymbolIndex(repo, cache, workers=1).build()
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "HEAD")
    (wt / "a.py").write_text("def bbb():\n    pass\n")
    index = SymbolIndex(wt, cache, workers=1)
    index.build()
    assert index.parse_count == 1
    assert [t.name for t in index.definitions("bbb")] == ["bbb"]
    assert index.definitions("aaa") == []


def test_tags_of_a_clean_file_are_stored_once(tmp_path: Path) -> None:
    """A clean tracked file's path row refers to its content row instead of holding a
    second copy of the payload; an edited file's row holds its own; a second instance
    reads both back without parsing."""
    import sqlite3

    repo = make_repo(tmp_path / "repo", FILES)
    (repo / "pkg" / "m1.py").write_text("def edited():\n    pass\n")
    cache = tmp_path / "cache"
    first = SymbolIndex(repo, cache, workers=1)
    first.build()
    (db_path,) = cache.glob("symbols-*.sqlite3")
    with sqlite3.connect(db_path) as db:
        rows = {path: (sha, tags is None) for path, sha, tags in
                db.execute("SELECT path, sha, tags FROM files")}
        blobs = db.execute("SELECT count(*) FROM blobs").fetchone()[0]
    assert rows["pkg/m1.py"] == (None, False)
    assert all(sha is not None and no_copy for rel, (sha, no_copy) in rows.items()
               if rel != "pkg/m1.py")
    assert blobs == len(FILES) - 1
    again = SymbolIndex(repo, cache, workers=1)
    again.build()
    assert again.parse_count == 0
    assert snapshot(again) == snapshot(first)
