"""SymbolIndex: building, lookups, incremental refresh and the persistent cache."""

from __future__ import annotations

import gc
import os
import sqlite3
from pathlib import Path

import pytest

from codetap.index import SymbolIndex
from codetap.index import index as index_module
from codetap.index.parse import PARALLEL_MIN_FILES

from .project import write

FILES = {
    "app/main.py": "from app.util import parse\n\ndef main():\n    return parse('x')\n",
    "app/util.py": "def parse(text):\n    return Token(text)\n\nclass Token:\n    pass\n",
    "web/client.ts": "export function fetchAll(): void { parse(); }\n",
    "README.md": "def not_code(): pass\n",
}


def build(root: Path, cache_dir: Path, **kw: int) -> SymbolIndex:
    index = SymbolIndex(root, cache_dir, **kw)
    index.build()
    return index


def test_lookups(root: Path, cache_dir: Path) -> None:
    write(root, FILES)
    index = build(root, cache_dir)
    assert len(index) == 3
    (d,) = index.definitions("parse")
    assert (d.rel_path, d.line, d.category) == ("app/util.py", 1, "function")
    assert [(r.rel_path, r.line) for r in index.references("parse")] == [
        ("app/main.py", 4), ("web/client.ts", 1)
    ]
    assert [t.name for t in index.search("pars")] == ["parse"]
    assert [t.name for t in index.search("TOK")] == ["Token"]
    assert [t.name for t in index.search("ftal")] == ["fetchAll"]  # fuzzy
    assert index.search("main", limit=1)[0].name == "main"
    assert [t.name for t in index.file_symbols("app/util.py") if t.kind == "def"] == [
        "parse", "Token"
    ]
    assert index.file_symbols("nope.py") == []
    with pytest.raises(ValueError):
        index.search("  ")


def test_skips_vendored_ignored_big_and_linked_files(root: Path, cache_dir: Path) -> None:
    write(root, {
        "ok.py": "def ok(): pass\n",
        "node_modules/lib/x.js": "function vendored() {}\n",
        ".git/hooks/h.py": "def hook(): pass\n",
        "env/pyvenv.cfg": "home = /usr\n",
        "env/lib/site.py": "def in_venv(): pass\n",
        "gen/out.py": "def generated(): pass\n",
        ".gitignore": "gen/\n",
        "big.py": "x = 1\n" * 200_000,
    })
    (root / "link.py").symlink_to(root / "ok.py")
    index = build(root, cache_dir)
    assert sorted(index.files()) == ["ok.py"]


def test_refresh_reparses_only_changed_files(root: Path, cache_dir: Path) -> None:
    write(root, FILES)
    index = build(root, cache_dir)
    assert index.parse_count == 3
    assert index.refresh() == []
    assert index.parse_count == 3
    write(root, {"app/util.py": "def parse_all(text):\n    return text\n"})
    assert index.refresh() == ["app/util.py"]
    assert index.parse_count == 4
    assert index.definitions("parse") == []
    assert index.definitions("parse_all")[0].rel_path == "app/util.py"
    write(root, {"app/new.py": "def fresh(): pass\n"})
    os.remove(root / "web/client.ts")
    assert index.refresh() == ["app/new.py", "web/client.ts"]
    assert index.parse_count == 5
    assert index.definitions("fetchAll") == [] and index.references("parse") != []


def test_named_paths_are_reparsed_and_nothing_else(root: Path, cache_dir: Path) -> None:
    write(root, FILES)
    index = build(root, cache_dir)
    write(root, {"app/main.py": "def main2(): pass\n"})  # changed but not named
    assert index.refresh(["app/util.py", str(root / "web/client.ts")]) == [
        "app/util.py", "web/client.ts"
    ]
    assert index.parse_count == 5
    assert index.definitions("main2") == []
    os.remove(root / "app/util.py")
    assert index.refresh(["app/util.py"]) == ["app/util.py"]
    assert index.definitions("parse") == []
    with pytest.raises(ValueError, match="outside"):
        index.refresh(["/etc/passwd"])
    with pytest.raises(ValueError, match="leaves"):
        index.refresh(["../x.py"])


def test_cache_survives_a_new_instance(root: Path, cache_dir: Path) -> None:
    write(root, FILES)
    first = build(root, cache_dir)
    second = build(root, cache_dir)
    assert second.parse_count == 0
    assert second.files() == first.files()


def test_cache_invalidates_on_mtime_or_size_change(root: Path, cache_dir: Path) -> None:
    write(root, FILES)
    build(root, cache_dir)
    st = os.stat(root / "app/main.py")
    os.utime(root / "app/main.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    again = build(root, cache_dir)
    assert again.parse_count == 1
    # Same mtime, other size: also a change.
    path = root / "app/util.py"
    st = os.stat(path)
    path.write_text(path.read_text() + "\ndef extra(): pass\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    third = build(root, cache_dir)
    assert third.parse_count == 1
    assert third.definitions("extra")[0].rel_path == "app/util.py"


def test_cache_is_namespaced_by_root(tmp_path: Path, cache_dir: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write(a, {"m.py": "def alpha(): pass\n"})
    write(b, {"m.py": "def beta(): pass\n"})
    os.utime(b / "m.py", ns=(os.stat(a / "m.py").st_atime_ns, os.stat(a / "m.py").st_mtime_ns))
    build(a, cache_dir)
    index_b = build(b, cache_dir)
    assert index_b.parse_count == 1
    assert index_b.definitions("alpha") == [] and index_b.definitions("beta")


def test_deleted_files_leave_the_cache(root: Path, cache_dir: Path) -> None:
    write(root, FILES)
    build(root, cache_dir)
    os.remove(root / "app/main.py")
    build(root, cache_dir)
    (db_path,) = cache_dir.glob("symbols-*.sqlite3")
    with sqlite3.connect(db_path) as db:
        paths = {p for (p,) in db.execute("SELECT path FROM files")}
    assert paths == {"app/util.py", "web/client.ts"}


def test_corrupt_cache_row_is_reparsed(root: Path, cache_dir: Path) -> None:
    write(root, FILES)
    build(root, cache_dir)
    (db_path,) = cache_dir.glob("symbols-*.sqlite3")
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE files SET tags = x'00ff' WHERE path = 'app/util.py'")
    index = build(root, cache_dir)
    assert index.parse_count == 1
    assert index.definitions("parse")


def test_parallel_parse_matches_serial(root: Path, cache_dir: Path, tmp_path: Path) -> None:
    write(root, {
        f"m{i}.py": f"def f{i}():\n    return f{i + 1}()\n" for i in range(PARALLEL_MIN_FILES + 10)
    })
    parallel = build(root, cache_dir, workers=2)
    serial = build(root, tmp_path / "other-cache", workers=1)
    assert parallel.parse_count == serial.parse_count == PARALLEL_MIN_FILES + 10
    assert parallel.files() == serial.files()
    assert parallel.references("f5")[0].rel_path == "m4.py"


async def test_async_build_and_refresh(root: Path, cache_dir: Path) -> None:
    write(root, FILES)
    index = SymbolIndex(root, cache_dir)
    assert await index.build_async() == ["app/main.py", "app/util.py", "web/client.ts"]
    write(root, {"app/main.py": "def other(): pass\n"})
    assert await index.refresh_async(["app/main.py"]) == ["app/main.py"]
    assert index.definitions("other")


def test_name_tables_snapshot_survives_refresh(root: Path, cache_dir: Path) -> None:
    write(root, {
        "a.py": "def one():\n    two()\n",
        "b.py": "def two():\n    one()\n",
    })
    index = SymbolIndex(root, cache_dir)
    index.build()
    before = index.name_tables()
    assert before.files == ("a.py", "b.py")
    assert set(before.defs["one"]) == {"a.py"}
    assert before.calls["a.py"] == {"two": 1}
    # a.py renames one -> three and calls two twice; b.py vanishes.
    (root / "a.py").write_text("def three():\n    two()\n    two()\n")
    os.utime(root / "a.py", ns=(1, 1))
    (root / "b.py").unlink()
    index.refresh()
    # The old snapshot is untouched (its per-name mappings were not mutated) ...
    assert set(before.defs) == {"one", "two"} and set(before.defs["two"]) == {"b.py"}
    assert before.refs["two"] == {"a.py": 1}
    assert before.calls["a.py"] == {"two": 1}
    # ... and the new one sees the change, names dropped and re-added in one refresh.
    after = index.name_tables()
    assert after.files == ("a.py",)
    assert set(after.defs) == {"three"}
    assert after.refs["two"] == {"a.py": 2} and after.calls["a.py"] == {"two": 2}
    assert [t.line for t in index.references("two")] == [2, 3]
    # Re-parsing a file whose names stay the same (drop + add of the same names).
    index.refresh(["a.py"])
    assert index.name_tables().defs["three"]["a.py"][0].line == 1
    # With no snapshot alive the mappings change in place.
    del before, after
    (root / "a.py").write_text("def four():\n    two()\n")
    index.refresh(["a.py"])
    assert set(index.name_tables().defs) == {"four"} and len(index.references("two")) == 1


def test_a_large_build_freezes_the_collector_and_a_small_one_does_not(
    root: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(root, FILES)
    small = build(root, cache_dir)
    assert small.tag_count() == sum(len(t) for t in small.files().values()) > 0
    before = gc.get_freeze_count()
    monkeypatch.setattr(index_module, "FREEZE_MIN_TAGS", small.tag_count())
    try:
        build(root, cache_dir / "again")
        assert gc.get_freeze_count() > before
        assert gc.isenabled()
    finally:
        gc.unfreeze()
    monkeypatch.setattr(index_module, "FREEZE_MIN_TAGS", small.tag_count() + 1)
    build(root, cache_dir / "third")
    assert gc.get_freeze_count() == 0
