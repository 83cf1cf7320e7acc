"""Special files in a task's change (issue 15 item 6): symlinks, submodules and binary files
are read from real git commits as reports with no text, and reach editors only as a
report (hunkless ``special`` entry, Warning diagnostic), never as an edit."""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types as lsp
from tests.conftest import git, make_repo

from codetap.delivery.edits import special_diagnostic, suggestions_params
from codetap.delivery.special import SpecialChange, on_disk_special
from codetap.delivery.suggestions import file_suggestions
from codetap.protocol.models import dump
from codetap.tasks import git as tgit
from codetap.tasks.changes import printable

CALC = "def add(a, b):\n    return a - b\n"


async def _task(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path, str]:
    """A repo with ``files``, a task worktree on it, and the task's base commit."""
    repo = make_repo(tmp_path / "repo", files)
    base = await tgit.snapshot(repo)
    wt = tmp_path / "worktrees" / "task-1"
    await tgit.add_worktree(repo, wt, "codetap/task-1", base)
    return repo, wt, base


async def test_a_symlink_the_task_creates_is_special_with_no_text(tmp_path: Path) -> None:
    repo, wt, base = await _task(tmp_path, {"calc.py": CALC})
    os.symlink("/etc/passwd", wt / "link")
    (wt / "calc.py").write_text(CALC.replace("a - b", "a + b"))
    tip = await tgit.commit_all(wt, "step 1")
    assert tip is not None
    changes = {c.path: c for c in await tgit.file_changes(repo, base, tip)}
    assert set(changes) == {"calc.py", "link"}
    link = changes["link"]
    assert (link.special, link.base_text, link.tip_text) == ("symlink -> /etc/passwd", None, None)
    assert changes["calc.py"].special is None
    assert changes["calc.py"].tip_text == CALC.replace("a - b", "a + b")
    # Even a consumer that ignored ``special`` would get no text edit from it.
    assert file_suggestions(1, "file:///r/link", "link", link.base_text, link.tip_text, None) == []


async def test_every_kind_of_special_change(tmp_path: Path) -> None:
    repo, wt, base = await _task(tmp_path, {"a.txt": "a\n", "img.bin": "text for now\n"})
    git(wt, "rm", "-q", "a.txt")
    os.symlink("/etc/shadow", wt / "a.txt")  # a regular file becomes a symlink
    (wt / "img.bin").write_bytes(b"\x89PNG\x00\x01")  # text becomes binary
    os.symlink("target\nwith\x1b[31mescapes", wt / "odd")
    sub = git(repo, "rev-parse", "HEAD").strip()
    git(wt, "add", "-A")
    git(wt, "update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/sub")
    git(wt, "-c", "user.name=t", "-c", "user.email=t@l", "commit", "-qm", "specials")
    mid = git(wt, "rev-parse", "HEAD").strip()
    changes = {c.path: c.special for c in await tgit.file_changes(repo, base, mid)}
    assert changes == {
        "a.txt": "symlink -> /etc/shadow (was regular file)",
        "img.bin": "binary file (was regular file)",
        "odd": "symlink -> target\\nwith\\x1b[31mescapes",
        "vendor/sub": f"submodule at {sub[:12]}",
    }
    # Retarget and delete symlinks, go back from a symlink to a file.
    os.unlink(wt / "odd")
    os.symlink("/etc/hosts", wt / "odd")
    os.unlink(wt / "a.txt")
    (wt / "a.txt").write_text("a again\n")
    git(wt, "add", "-A")
    git(wt, "rm", "-q", "--cached", "--ignore-unmatch", "vendor/sub")
    git(wt, "-c", "user.name=t", "-c", "user.email=t@l", "commit", "-qm", "more")
    tip = git(wt, "rev-parse", "HEAD").strip()
    assert tip != mid
    changes = {c.path: c.special for c in await tgit.file_changes(repo, mid, tip)}
    assert changes == {
        "a.txt": "regular file (was symlink -> /etc/shadow)",
        "odd": "symlink -> /etc/hosts (was symlink -> target\\nwith\\x1b[31mescapes)",
        "vendor/sub": f"deletes submodule at {sub[:12]}",
    }


async def test_text_changes_keep_their_texts(tmp_path: Path) -> None:
    repo, wt, base = await _task(tmp_path, {"a.txt": "one\n", "gone.txt": "bye\n"})
    (wt / "a.txt").write_text("uno\n")
    (wt / "gone.txt").unlink()
    (wt / "empty.txt").write_text("")
    (wt / "run.sh").write_text("echo hi\n")
    (wt / "run.sh").chmod(0o755)
    tip = await tgit.commit_all(wt, "texts")
    assert tip is not None
    changes = {c.path: (c.base_text, c.tip_text, c.special)
               for c in await tgit.file_changes(repo, base, tip)}
    assert changes == {"a.txt": ("one\n", "uno\n", None), "gone.txt": ("bye\n", None, None),
                       "empty.txt": (None, "", None), "run.sh": (None, "echo hi\n", None)}


def test_wire_shape_and_diagnostic_of_a_special_change() -> None:
    (hunk,) = file_suggestions(3, "file:///r/calc.py", "calc.py", CALC,
                               CALC.replace("a - b", "a + b"), CALC)
    sp = SpecialChange(3, "file:///r/link", "link", "symlink -> /etc/passwd")
    body = dump(suggestions_params(3, [hunk], [sp]))
    assert body["files"][1] == {"uri": "file:///r/link", "hunks": [],
                                "special": "symlink -> /etc/passwd"}
    assert "special" not in body["files"][0] and len(body["files"][0]["hunks"]) == 1
    assert "/etc/passwd" not in str(body["files"][0])
    d = special_diagnostic(sp)
    assert d.severity == lsp.DiagnosticSeverity.Warning and d.source == "codetap"
    assert d.message == ("codetap task 3 also changes link (symlink -> /etc/passwd): "
                         "not applied; review with `codetap diff 3`")
    assert d.data == {"task_id": "3", "special": "symlink -> /etc/passwd"}


def test_a_users_copy_that_is_a_symlink_is_special(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("x\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "notes").symlink_to(outside, target_is_directory=True)
    (root / "alias.py").symlink_to(root / "pkg" / "a.py")
    assert on_disk_special(root, root / "pkg" / "a.py") is None
    assert on_disk_special(root, root / "new.py") is None  # absent: created as a file
    assert on_disk_special(root, root / "alias.py") == f"your copy is a symlink -> {root}/pkg/a.py"
    assert "outside the workspace" in (on_disk_special(root, root / "notes" / "n.txt") or "")


def test_printable_escapes_and_truncates() -> None:
    assert printable(b"/etc/passwd") == "/etc/passwd"
    assert printable(b"a\nb\x1b\xff") == "a\\nb\\x1b\\xff"
    assert printable(b"x" * 500) == "x" * 200 + "..."
