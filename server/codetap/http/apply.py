"""``POST /v1/tasks/{id}/apply``: a ready task's change written onto its repository's
working tree on disk (there is no editor buffer over HTTP).

The merge is the editors' and ``codetap apply``'s (:func:`codetap.delivery.merge.
merge_hunks`): per file, the task's hunks (base -> tip) are placed on the file as it is on
disk now. Over HTTP it is all or nothing: when any hunk overlaps the user's own edits, or a
file changed in a way text hunks cannot carry (binary, mode, symlink), nothing is written
and :class:`ApplyConflict` names the files; otherwise every file is written and the task is
marked ``applied``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from codetap.errors import CodetapError, InvalidTransition
from codetap.types import TaskState

if TYPE_CHECKING:
    from codetap.runtime import TaskRecord
    from codetap.runtime_api import RuntimeAPI


class ApplyConflict(CodetapError):
    """Some of the change cannot be applied cleanly; ``files`` names them (nothing was
    written)."""

    def __init__(self, task_id: int, files: list[str]) -> None:
        super().__init__(f"task {task_id} does not apply cleanly to the working tree: "
                         f"{', '.join(files)}; nothing was written (see its diff)")
        self.files = files


async def apply_to_worktree(runtime: RuntimeAPI, task_id: int) -> TaskRecord:
    """Apply task ``task_id`` (must be ready: InvalidTransition otherwise) to its root's
    files; the task record, now ``applied``. ApplyConflict when it does not apply cleanly."""
    from codetap.delivery.merge import apply_hunks, merge_hunks

    task = await runtime.get_task(task_id)
    if task.state != TaskState.READY:
        raise InvalidTransition(f"task {task_id} is {task.state.value}; only ready tasks "
                                "can be applied")
    writes: list[tuple[Path, str]] = []
    bad: list[str] = []
    for change in await runtime.file_changes(task_id):
        if change.special:
            bad.append(f"{change.path} ({change.special})")
            continue
        path = task.root / change.path
        current = await asyncio.to_thread(_read, path)
        hunks = merge_hunks(change.base_text or "", change.tip_text or "", current)
        if any(h.conflict for h in hunks):
            bad.append(change.path)
        elif hunks:
            writes.append((path, apply_hunks(current, hunks)))
    if bad:
        raise ApplyConflict(task_id, bad)
    await asyncio.to_thread(_write_all, writes)
    return await runtime.mark_applied(task_id)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _write_all(writes: list[tuple[Path, str]]) -> None:
    for path, text in writes:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
