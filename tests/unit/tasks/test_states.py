"""The task state machine: every legal move and every illegal one, from the table."""

from __future__ import annotations

import itertools

import pytest

from codetap.errors import InvalidTransition
from codetap.tasks.states import TRANSITIONS, check_transition
from codetap.types import TaskState


@pytest.mark.parametrize("old", list(TaskState))
def test_every_state_has_a_row_and_illegal_moves_raise(old: TaskState) -> None:
    for new in TaskState:
        if new in TRANSITIONS[old]:
            check_transition(1, old, new)
        else:
            with pytest.raises(InvalidTransition, match=f"{old.value} to {new.value}"):
                check_transition(1, old, new)


def test_the_lifecycle_of_the_architecture_page() -> None:
    path = [TaskState.QUEUED, TaskState.RUNNING, TaskState.WAITING, TaskState.RUNNING,
            TaskState.READY, TaskState.APPLIED]
    for old, new in itertools.pairwise(path):
        check_transition(1, old, new)
    assert TRANSITIONS[TaskState.DISCARDED] == frozenset()
    with pytest.raises(InvalidTransition):
        check_transition(7, TaskState.READY, TaskState.RUNNING)  # only via queued
