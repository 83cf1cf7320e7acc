"""The task state machine (ARCHITECTURE.md "Tasks"): which moves are legal.

``queued -> running <-> waiting -> ready -> applied | discarded``, plus ``paused``,
``cancelled``, ``failed`` and ``interrupted`` (the owner died or stopped while the task was
active). The runtime changes a task's state in one function that calls
:func:`check_transition` first; nothing else writes a task's state.
"""

from __future__ import annotations

from codetap.errors import InvalidTransition
from codetap.types import TaskState

Q, R, W = TaskState.QUEUED, TaskState.RUNNING, TaskState.WAITING
P, RD, A = TaskState.PAUSED, TaskState.READY, TaskState.APPLIED
D, C, F, I = TaskState.DISCARDED, TaskState.CANCELLED, TaskState.FAILED, TaskState.INTERRUPTED

#: state -> the states it may move to. ``queued`` again from an end state is a resume or a
#: follow-up message; ``paused`` from an end state is a rollback (which leaves it paused).
TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    Q: frozenset({R, P, C, F, I}),
    R: frozenset({W, RD, F, P, C, I}),
    W: frozenset({R, P, C, F, I}),
    P: frozenset({Q, P, C, D}),
    I: frozenset({Q, P, C, I}),
    RD: frozenset({A, D, Q, P}),
    A: frozenset({Q, P}),
    F: frozenset({Q, P, C, D}),
    C: frozenset({Q, P, D}),
    D: frozenset(),
}


def check_transition(task_id: int, old: TaskState, new: TaskState) -> None:
    """Raise InvalidTransition (naming the task and both states) unless ``old -> new`` is
    a legal move in :data:`TRANSITIONS`."""
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"task {task_id} cannot go from {old.value} to {new.value}")
