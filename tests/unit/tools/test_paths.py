from __future__ import annotations

import os
from pathlib import Path

import pytest

from codetap.errors import PathEscapeError
from codetap.tools.paths import relpath, resolve_in_workspace


def test_relative_path_inside(workspace: Path) -> None:
    assert resolve_in_workspace(workspace, "src/a.py") == workspace / "src" / "a.py"
    assert resolve_in_workspace(workspace, ".") == workspace
    assert resolve_in_workspace(workspace, "") == workspace


def test_dotdot_that_stays_inside_is_accepted(workspace: Path) -> None:
    assert resolve_in_workspace(workspace, "src/../b.txt") == workspace / "b.txt"


@pytest.mark.parametrize("path", ["..", "../x", "a/../../x", "src/../../ws2/f"])
def test_dotdot_escape_refused(workspace: Path, path: str) -> None:
    with pytest.raises(PathEscapeError, match="leaves the workspace") as err:
        resolve_in_workspace(workspace, path)
    assert repr(path) in str(err.value)


def test_absolute_inside_accepted_outside_refused(workspace: Path) -> None:
    assert resolve_in_workspace(workspace, str(workspace / "a.txt")) == workspace / "a.txt"
    with pytest.raises(PathEscapeError, match="absolute path outside"):
        resolve_in_workspace(workspace, "/etc/passwd")
    with pytest.raises(PathEscapeError, match="absolute path outside"):
        resolve_in_workspace(workspace, "~/.bashrc")


def test_symlink_escape_refused(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    os.symlink(outside, workspace / "link")
    os.symlink(tmp_path / "nowhere", workspace / "dangling")
    with pytest.raises(PathEscapeError, match="symlink"):
        resolve_in_workspace(workspace, "link/secret")
    with pytest.raises(PathEscapeError, match="symlink"):
        resolve_in_workspace(workspace, "link")
    with pytest.raises(PathEscapeError):
        resolve_in_workspace(workspace, "dangling")


def test_symlink_inside_accepted(workspace: Path) -> None:
    (workspace / "real").mkdir()
    (workspace / "real" / "f.txt").write_text("x")
    os.symlink("real", workspace / "alias")
    assert resolve_in_workspace(workspace, "alias/f.txt") == workspace / "real" / "f.txt"


def test_nul_byte_refused(workspace: Path) -> None:
    with pytest.raises(PathEscapeError, match="NUL"):
        resolve_in_workspace(workspace, "a\x00b")


def test_workspace_given_through_symlink(tmp_path: Path, workspace: Path) -> None:
    os.symlink(workspace, tmp_path / "wslink")
    assert resolve_in_workspace(tmp_path / "wslink", "a/b") == workspace / "a" / "b"


def test_relpath_posix(workspace: Path, tmp_path: Path) -> None:
    assert relpath(workspace, workspace / "a" / "b.txt") == "a/b.txt"
    assert relpath(workspace, workspace) == "."
    with pytest.raises(PathEscapeError):
        relpath(workspace, tmp_path)
