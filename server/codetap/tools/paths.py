"""Confining model-supplied paths to the task workspace (ARCHITECTURE.md "Tool contract").

Policy: a path is taken relative to the workspace; an absolute path is accepted only when
it lies inside the workspace (models often echo absolute paths printed by ``bash``).
``..`` components are allowed as long as the result stays inside. Symlinks are resolved
(also dangling ones, as far as the link text goes) and the *target* must stay inside.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from codetap.errors import PathEscapeError


def resolve_in_workspace(workspace: Path, path: str) -> Path:
    """Resolve ``path`` (relative to ``workspace``, or absolute inside it) to a real path.

    Returns the absolute, symlink-resolved path; it need not exist (tools creating files
    call this too). ``""`` and ``"."`` mean the workspace itself.

    Raises PathEscapeError naming ``path`` when it contains a NUL byte, or when it or a
    symlink along it resolves outside the workspace.
    """
    if "\x00" in path:
        raise PathEscapeError(f"path {path!r} contains a NUL byte")
    root = Path(os.path.realpath(workspace))
    home = path == "~" or path.startswith("~/")
    candidate = Path(path).expanduser() if home else Path(path)
    joined = candidate if candidate.is_absolute() else root / candidate
    resolved = Path(os.path.realpath(joined))
    if resolved != root and not resolved.is_relative_to(root):
        if candidate.is_absolute():
            why = "is an absolute path outside the workspace"
        elif _lexically_inside(root, joined):
            why = "goes through a symlink that points outside the workspace"
        else:
            why = "leaves the workspace"
        raise PathEscapeError(
            f"path {path!r} {why}; use a path relative to the workspace root"
        )
    return resolved


def relpath(workspace: Path, p: Path) -> str:
    """``p`` relative to ``workspace`` as a POSIX string (``"."`` for the workspace itself).

    Both are compared after resolving symlinks; raises PathEscapeError if ``p`` is outside.
    """
    root = Path(os.path.realpath(workspace))
    real = Path(os.path.realpath(p))
    try:
        rel = real.relative_to(root)
    except ValueError:
        raise PathEscapeError(f"path {str(p)!r} is outside the workspace") from None
    return PurePosixPath(*rel.parts).as_posix() if rel.parts else "."


def _lexically_inside(root: Path, joined: Path) -> bool:
    """True if ``joined`` stays under ``root`` after collapsing ``..`` without symlinks."""
    normal = Path(os.path.normpath(joined))
    return normal == root or normal.is_relative_to(root)
