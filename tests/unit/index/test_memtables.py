"""The compact in-memory tables: definitions by name (one-file names without a dict),
reference counts only, reference positions read back from the SQLite cache."""

from __future__ import annotations

import os
from pathlib import Path

from codetap.index import SymbolIndex
from codetap.index.memtables import OneFile


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_a_name_moves_between_one_file_and_many(root: Path, cache_dir: Path) -> None:
    write(root, {"a.py": "def shared():\n    pass\n", "b.py": "x = 1\n"})
    index = SymbolIndex(root, cache_dir, workers=1, watch=False)
    index.build()
    held = index.name_tables()
    assert isinstance(held.defs["shared"], OneFile)
    (root / "b.py").write_text("\n\ndef shared():\n    pass\n")
    index.refresh(["b.py"])
    assert [(t.rel_path, t.line) for t in index.definitions("shared")] == [("a.py", 1),
                                                                          ("b.py", 3)]
    assert dict(held.defs["shared"]) == {"a.py": held.defs["shared"]["a.py"]}  # unchanged
    (root / "a.py").unlink()
    index.refresh(["a.py"])
    assert [(t.rel_path, t.line) for t in index.definitions("shared")] == [("b.py", 3)]
    (root / "b.py").write_text("y = 2\n")
    index.refresh(["b.py"])
    assert index.definitions("shared") == [] and "shared" not in index.name_tables().defs


def test_references_and_file_tags_come_from_the_cache(root: Path, cache_dir: Path) -> None:
    write(root, {"a.py": "def f():\n    pass\n", "b.py": "f()\nf()\n", "c.py": "\n\nf()\n"})
    index = SymbolIndex(root, cache_dir, workers=1, watch=False)
    index.build()
    assert index.name_tables().refs["f"] == {"b.py": 2, "c.py": 1}
    assert [(t.rel_path, t.line, t.kind) for t in index.references("f")] == [
        ("b.py", 1, "ref"), ("b.py", 2, "ref"), ("c.py", 3, "ref")]
    assert [t.name for t in index.file_symbols("a.py")] == ["f"]
    files = index.files()
    assert sorted(files) == ["a.py", "b.py", "c.py"] and len(files["b.py"]) == 2
    assert index.tag_count() == 4
    # Another index of the same root rewrites c.py's row: this one parses c.py again
    # rather than show tags its tables do not hold.
    (root / "c.py").write_text("f()\n")
    os.utime(root / "c.py", ns=(5, 5))
    other = SymbolIndex(root, cache_dir, workers=1, watch=False)
    other.build()
    assert [(t.rel_path, t.line) for t in index.references("f")][-1] == ("c.py", 1)
