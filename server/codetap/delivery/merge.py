"""Three-way merge of a task's change onto the user's current text, hunk by hunk.

Inputs are three versions of one file: ``base`` (what the task started from), ``tip``
(what the task produced) and ``current`` (the user's buffer now). Line-based, using
:mod:`difflib`:

1. the task's hunks are the non-equal opcodes of ``base -> tip``;
2. the user's edits are the non-equal opcodes of ``base -> current``;
3. a task hunk and a user edit *touch* when their base line ranges overlap, or one is an
   insertion at the same point as, or strictly inside, the other. Touching hunks and edits
   are grouped into clusters;
4. a hunk touched by no user edit becomes a clean :class:`MergeHunk` at its place in
   ``current`` (positions shifted by the user's edits elsewhere);
5. a cluster with user edits is a conflict, unless ``current`` already equals ``tip`` over
   the cluster's region (the change was already applied), in which case it is dropped.

Nothing here changes text; :func:`apply_hunks` does, for callers and tests.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from dataclasses import dataclass

Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True, slots=True)
class MergeHunk:
    """One suggestion on ``current``: replace lines ``[start, end)`` by ``new_lines``.

    ``index`` is the ordinal of the (first) task hunk in ``base -> tip``: stable while the
    user edits elsewhere. ``old_lines`` are ``current[start:end]``. ``conflict`` hunks
    overlap the user's edits: report them, do not apply them.
    """

    index: int
    start: int
    end: int
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    conflict: bool = False

    @property
    def old_text(self) -> str:
        return "".join(self.old_lines)

    @property
    def new_text(self) -> str:
        return "".join(self.new_lines)


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` with their line endings kept (``""`` -> ``[]``)."""
    return text.splitlines(keepends=True)


def _changes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    return [op for op in _all_ops(a, b) if op[0] != "equal"]


def _all_ops(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    return [(str(tag), i1, i2, j1, j2) for tag, i1, i2, j1, j2 in ops]


def _touch(a1: int, a2: int, c1: int, c2: int) -> bool:
    if a1 < c2 and c1 < a2:
        return True
    if a1 == a2 and c1 == c2:
        return a1 == c1
    if a1 == a2:
        return c1 < a1 < c2
    if c1 == c2:
        return a1 < c1 < a2
    return False


def _map(ops: Sequence[Opcode], pos: int, *, start: bool) -> int:
    """Map base line boundary ``pos`` to the other side of ``ops`` (all opcodes).

    ``start`` boundaries map after an insertion made exactly at ``pos``; end boundaries
    before it, so neither side's inserted lines are swallowed.
    """
    found: list[int] = []
    for tag, i1, i2, j1, j2 in ops:
        if not i1 <= pos <= i2:
            continue
        if tag == "equal":
            found.append(j1 + (pos - i1))
        elif pos == i1 == i2:
            found.append(j2 if start else j1)
        elif pos == i1:
            found.append(j1)
        elif pos == i2:
            found.append(j2)
        else:
            raise ValueError(f"line {pos} is inside a changed region")
    if not found:
        return 0
    return found[-1] if start else found[0]


def merge_hunks(base: str, tip: str, current: str) -> list[MergeHunk]:
    """Hunks that bring ``current`` to include the ``base -> tip`` change; see module doc.

    Results are memoised on the three texts (a few hundred entries): suggestions of every
    ready task are recomputed whenever a file with suggestions changes or is reopened, and
    most of those recomputations see texts already merged.

    Returns hunks ordered by position in ``current``; clean and conflict hunks never
    overlap each other.
    """
    return list(_merge_hunks(base, tip, current))


@functools.lru_cache(maxsize=512)
def _merge_hunks(base: str, tip: str, current: str) -> list[MergeHunk]:
    b, t, c = split_lines(base), split_lines(tip), split_lines(current)
    task = _changes(b, t)
    if not task:
        return []
    if c == b:
        return [
            MergeHunk(n, i1, i2, tuple(b[i1:i2]), tuple(t[j1:j2]))
            for n, (_, i1, i2, j1, j2) in enumerate(task)
        ]
    user = _changes(b, c)
    tip_ops, cur_ops = _all_ops(b, t), _all_ops(b, c)
    hunks: list[MergeHunk] = []
    n = 0
    while n < len(task):
        r1, r2 = task[n][1], task[n][2]
        last, joined = n, set[int]()
        grew = True
        while grew:
            grew = False
            for k, (_, u1, u2, _, _) in enumerate(user):
                if k not in joined and _touch(r1, r2, u1, u2):
                    joined.add(k)
                    r1, r2, grew = min(r1, u1), max(r2, u2), True
            while last + 1 < len(task) and _touch(r1, r2, task[last + 1][1], task[last + 1][2]):
                last += 1
                r1, r2, grew = min(r1, task[last][1]), max(r2, task[last][2]), True
        # A point cluster (insertions at one place) must include every side's insertion.
        point = r1 == r2 and bool(joined)
        cs, ce = _map(cur_ops, r1, start=not point), _map(cur_ops, r2, start=point)
        if not joined:
            j1, j2 = task[n][3], task[n][4]
            hunks.append(MergeHunk(n, cs, ce, tuple(c[cs:ce]), tuple(t[j1:j2])))
        else:
            ts, te = _map(tip_ops, r1, start=not point), _map(tip_ops, r2, start=point)
            if c[cs:ce] != t[ts:te]:
                hunks.append(MergeHunk(n, cs, ce, tuple(c[cs:ce]), tuple(t[ts:te]), True))
        n = last + 1
    return hunks


def apply_hunks(current: str, hunks: Sequence[MergeHunk]) -> str:
    """``current`` with the given (non-overlapping) hunks applied, conflicts included."""
    lines = split_lines(current)
    for h in sorted(hunks, key=lambda h: h.start, reverse=True):
        if tuple(lines[h.start:h.end]) != h.old_lines:
            raise ValueError(f"hunk {h.index} does not match the text at lines {h.start}-{h.end}")
        lines[h.start:h.end] = h.new_lines
    return "".join(lines)
