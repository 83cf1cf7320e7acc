"""The names of codetap's custom LSP methods and their executeCommand twins.

This module is the one place these strings are written (ARCHITECTURE.md "Editor protocol").
Every client -> server request also exists as a ``workspace/executeCommand`` command whose
name is the method with ``codetap/`` -> ``codetap.`` and ``/`` -> ``.``
(``codetap/task/start`` -> ``codetap.task.start``), taking ``arguments = [params]``.
"""

from __future__ import annotations

TASK_START = "codetap/task/start"
TASK_LIST = "codetap/task/list"
TASK_GET = "codetap/task/get"
TASK_CANCEL = "codetap/task/cancel"
TASK_PAUSE = "codetap/task/pause"
TASK_RESUME = "codetap/task/resume"
TASK_ROLLBACK = "codetap/task/rollback"
TASK_APPLY = "codetap/task/apply"
TASK_DISCARD = "codetap/task/discard"
TASK_MESSAGE = "codetap/task/message"
TASK_PUSH = "codetap/task/push"
GC = "codetap/gc"
ANSWER = "codetap/answer"
TASK_EVENTS = "codetap/task/events"
TASK_EVENT_DATA = "codetap/task/eventData"
WEBHOOKS_LIST = "codetap/webhooks/list"
WEBHOOKS_REDELIVER = "codetap/webhooks/redeliver"

# server -> client
TASK_UPDATED = "codetap/task/updated"
TASK_EVENT = "codetap/task/event"
SUGGESTIONS = "codetap/suggestions"
ASK = "codetap/ask"

REQUESTS: tuple[str, ...] = (
    TASK_START,
    TASK_LIST,
    TASK_GET,
    TASK_CANCEL,
    TASK_PAUSE,
    TASK_RESUME,
    TASK_ROLLBACK,
    TASK_APPLY,
    TASK_DISCARD,
    TASK_MESSAGE,
    TASK_PUSH,
    GC,
    ANSWER,
    TASK_EVENTS,
    TASK_EVENT_DATA,
    WEBHOOKS_LIST,
    WEBHOOKS_REDELIVER,
)

# Command-only operation (arguments = [{"id", "hunk_ids"?}] -> {"rejected": int}): used by
# the "Reject" code action; accepting uses codetap.task.apply.
CMD_REJECT = "codetap.suggestion.reject"


def command_name(method: str) -> str:
    """The ``workspace/executeCommand`` name of a custom request method."""
    return method.replace("/", ".")


COMMANDS: dict[str, str] = {command_name(m): m for m in REQUESTS}
"""executeCommand name -> request method."""
