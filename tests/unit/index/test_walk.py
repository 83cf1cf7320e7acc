"""Which files the index lists: .gitignore rules in plain directories and in git repos."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

import pytest

from codetap.index.languages import EXTENSIONS, language_for_path
from codetap.index.walk import list_source_files

from .project import write


def test_gitignore_rules_in_a_plain_directory(root: Path) -> None:
    write(root, {
        ".gitignore": "# comment\n*.gen.py\n!keep.gen.py\nbuild/\n/top.py\ndocs/*.js\n",
        "a.py": "", "x.gen.py": "", "keep.gen.py": "", "top.py": "", "sub/top.py": "",
        "build/out.py": "", "src/build/deep.py": "", "docs/a.js": "", "docs/api/b.js": "",
        "sub/.gitignore": "local.py\n", "sub/local.py": "", "local.py": "",
        "notes.txt": "", "venvlike/pyvenv.cfg": "", "venvlike/v.py": "",
    })
    assert list_source_files(root) == [
        "a.py", "docs/api/b.js", "keep.gen.py", "local.py", "sub/top.py",
    ]


def test_git_repository_uses_git_ignore_rules(root: Path) -> None:
    write(root, {".gitignore": "ignored.py\n", "tracked.py": "", "untracked.ts": "",
                 "ignored.py": "", "node_modules/m.js": ""})
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "tracked.py", ".gitignore"], cwd=root, check=True)
    (root / "vendor").mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root / "vendor", check=True)
    assert list_source_files(root) == ["tracked.py", "untracked.ts"]


def test_missing_root_lists_nothing(tmp_path: Path) -> None:
    assert list_source_files(tmp_path / "absent") == []


@pytest.mark.parametrize("path", [
    "a.py", "dir/a.PY", ".py", "a.", "a..py", "x/.hidden.ts", "noext", "a/b.c/d", "a/b.c/d.h",
    "a.tar.gz", "dir.py/file", "..", "a/.", "x.Tsx", "dir/..py", "a/b.py/", "lib.rs",
])
def test_language_detection_matches_path_suffix(path: str) -> None:
    expected = EXTENSIONS.get(PurePosixPath(path).suffix.lower())
    assert language_for_path(path) == expected
    assert language_for_path(PurePosixPath(path)) == expected
