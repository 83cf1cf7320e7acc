"""Three-way merge: task change (base -> tip) mapped onto the user's current text."""

from __future__ import annotations

import random

import pytest

from codetap.delivery.merge import apply_hunks, merge_hunks

BASE = "".join(f"line {i}\n" for i in range(10))


def edit(text: str, n: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[n] = new
    return "".join(lines)


def test_no_change_no_hunks() -> None:
    assert merge_hunks(BASE, BASE, BASE) == []


def test_unchanged_current_gives_task_hunks() -> None:
    tip = edit(BASE, 3, "THREE\n")
    hunks = merge_hunks(BASE, tip, BASE)
    assert [(h.start, h.end, h.old_text, h.new_text, h.conflict) for h in hunks] == [
        (3, 4, "line 3\n", "THREE\n", False)
    ]
    assert apply_hunks(BASE, hunks) == tip


def test_user_insert_above_shifts_hunk() -> None:
    tip = edit(BASE, 5, "FIVE\n")
    current = "# header\n# more\n" + BASE
    (hunk,) = merge_hunks(BASE, tip, current)
    assert (hunk.start, hunk.end, hunk.conflict) == (7, 8, False)
    assert apply_hunks(current, [hunk]) == "# header\n# more\n" + tip


def test_user_edit_elsewhere_is_preserved() -> None:
    tip = edit(BASE, 8, "EIGHT\n")
    current = edit(BASE, 1, "user typed this\n")
    merged = apply_hunks(current, merge_hunks(BASE, tip, current))
    assert merged == edit(tip, 1, "user typed this\n")


def test_adjacent_user_edit_is_not_a_conflict() -> None:
    tip = edit(BASE, 4, "FOUR\n")
    current = edit(BASE, 3, "three!\n")
    (hunk,) = merge_hunks(BASE, tip, current)
    assert not hunk.conflict
    assert apply_hunks(current, [hunk]) == edit(tip, 3, "three!\n")


def test_overlapping_user_edit_is_a_conflict() -> None:
    tip = edit(BASE, 4, "FOUR\n")
    current = edit(BASE, 4, "four by user\n")
    (hunk,) = merge_hunks(BASE, tip, current)
    assert hunk.conflict
    assert hunk.old_text == "four by user\n" and hunk.new_text == "FOUR\n"
    assert (hunk.start, hunk.end) == (4, 5)


def test_insertions_at_same_point_conflict() -> None:
    lines = BASE.splitlines(keepends=True)
    tip = "".join(lines[:3] + ["task\n"] + lines[3:])
    current = "".join(lines[:3] + ["user\n"] + lines[3:])
    (hunk,) = merge_hunks(BASE, tip, current)
    assert hunk.conflict


def test_user_insert_at_hunk_start_is_kept() -> None:
    lines = BASE.splitlines(keepends=True)
    tip = edit(BASE, 3, "THREE\n")
    current = "".join(lines[:3] + ["user\n"] + lines[3:])
    (hunk,) = merge_hunks(BASE, tip, current)
    assert not hunk.conflict
    assert apply_hunks(current, [hunk]) == "".join(lines[:3] + ["user\n", "THREE\n"] + lines[4:])


def test_already_applied_change_is_dropped() -> None:
    tip = edit(edit(BASE, 2, "TWO\n"), 7, "SEVEN\n")
    current = edit(BASE, 2, "TWO\n")
    (hunk,) = merge_hunks(BASE, tip, current)
    assert hunk.new_text == "SEVEN\n" and not hunk.conflict
    assert merge_hunks(BASE, tip, tip) == []


def test_index_is_stable_across_user_edits() -> None:
    tip = edit(edit(BASE, 2, "TWO\n"), 7, "SEVEN\n")
    before = {h.new_text: h.index for h in merge_hunks(BASE, tip, BASE)}
    current = edit(BASE, 2, "TWO\n")  # first hunk accepted
    after = {h.new_text: h.index for h in merge_hunks(BASE, tip, current)}
    assert after["SEVEN\n"] == before["SEVEN\n"] == 1


def test_deletion_at_end_and_missing_newline() -> None:
    base = "a\nb\nc"
    tip = "a\nb\n"
    (hunk,) = merge_hunks(base, tip, base)
    assert apply_hunks(base, [hunk]) == tip
    assert merge_hunks("", "new\n", "") [0].new_text == "new\n"


def test_user_appended_at_end_and_task_appended_conflict() -> None:
    assert merge_hunks("a\n", "a\nb\n", "a\nc\n")[0].conflict


def test_user_deleted_region_containing_hunk_conflicts() -> None:
    tip = edit(BASE, 5, "FIVE\n")
    lines = BASE.splitlines(keepends=True)
    current = "".join(lines[:4] + lines[7:])
    (hunk,) = merge_hunks(BASE, tip, current)
    assert hunk.conflict


def test_apply_refuses_stale_hunk() -> None:
    tip = edit(BASE, 3, "THREE\n")
    (hunk,) = merge_hunks(BASE, tip, BASE)
    with pytest.raises(ValueError, match="does not match"):
        apply_hunks(edit(BASE, 3, "x\n"), [hunk])


@pytest.mark.parametrize("seed", range(40))
def test_random_disjoint_edits_merge_cleanly(seed: int) -> None:
    rng = random.Random(seed)
    lines = [f"l{i}\n" for i in range(40)]
    base = "".join(lines)
    task_lines = {rng.randrange(0, 20) for _ in range(3)}
    user_lines = {rng.randrange(21, 40) for _ in range(3)}
    tip_l, cur_l = list(lines), list(lines)
    for n in task_lines:
        tip_l[n] = f"T{n}\n"
    for n in sorted(user_lines, reverse=True):
        cur_l[n : n + 1] = [f"U{n}\n", f"U{n}b\n"]
    tip, cur = "".join(tip_l), "".join(cur_l)
    hunks = merge_hunks(base, tip, cur)
    assert not any(h.conflict for h in hunks)
    merged = apply_hunks(cur, hunks)
    expect = list(cur_l)
    for n in task_lines:
        expect[n] = f"T{n}\n"
    assert merged == "".join(expect)
    assert merge_hunks(base, tip, merged) == []
