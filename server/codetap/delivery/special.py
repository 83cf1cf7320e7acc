"""Special files of a task's change: reported to editors, never delivered as a text edit.

A change is special when git says so (a symlink, submodule, binary file: see
:mod:`codetap.tasks.changes`) or when the user's copy of the path is not a plain file of
the workspace: a symlink, or reached through a symlinked directory that leads outside the
workspace root. Writing the task's text there would write through the link
(ARCHITECTURE.md "Trust and safety").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codetap.tasks.changes import printable


@dataclass(frozen=True, slots=True)
class SpecialChange:
    """Task ``task_id`` changes ``path`` (repo-relative; ``uri`` in the user's workspace)
    in a way that is not a text edit; ``what`` says how (``"symlink -> /etc/passwd"``)."""

    task_id: int
    uri: str
    path: str
    what: str

    def describe(self) -> str:
        """One line for the editor: what, that it was not applied, how to review it."""
        return (f"codetap task {self.task_id} also changes {self.path} ({self.what}): "
                f"not applied; review with `codetap diff {self.task_id}`")


def on_disk_special(root: Path, path: Path) -> str | None:
    """Why the user's copy of ``path`` (under workspace ``root``) must not receive a text
    edit, or ``None`` when it is absent or a plain file inside ``root``."""
    if path.is_symlink():
        return f"your copy is a symlink -> {printable(os.fsencode(os.readlink(path)))}"
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        return "your copy is outside the workspace, through a symlinked directory"
    return None


def special_message(task_id: int, specials: Sequence[SpecialChange]) -> str:
    """The one-line ``window/showMessage`` text reporting a task's special changes."""
    shown = "; ".join(f"{sp.path} ({sp.what})" for sp in specials[:3])
    more = f"; and {len(specials) - 3} more" if len(specials) > 3 else ""
    return (f"codetap task {task_id} also changes what cannot be applied as text: {shown}"
            f"{more}. Not applied; review with `codetap diff {task_id}`.")
