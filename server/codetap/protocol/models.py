"""Pydantic models of codetap's custom LSP wire shapes: the source of truth.

Shapes follow ARCHITECTURE.md "Editor protocol". Positions and ranges are LSP's (0-based
line, UTF-16 code-unit character). Fields may be added over time; none are renamed.
Client params ignore unknown fields (newer clients keep working); results omit ``None``
fields when serialized with :func:`dump`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


def _task_id(value: Any) -> Any:
    # Ids are strings on the wire, but a typed `7` from a command line is accepted too.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


TaskId = Annotated[str, BeforeValidator(_task_id), Field(min_length=1, max_length=32)]


class _Wire(BaseModel):
    # serialization_defaults_required: the JSON Schema of what the server sends marks
    # defaulted fields as present (dump keeps them; only None fields are dropped).
    model_config = ConfigDict(
        extra="ignore", frozen=True, json_schema_serialization_defaults_required=True
    )


class Position(_Wire):
    """LSP Position: 0-based ``line`` and UTF-16 ``character``."""

    line: int = Field(ge=0)
    character: int = Field(ge=0)


class Range(_Wire):
    """LSP Range: ``start`` inclusive, ``end`` exclusive."""

    start: Position
    end: Position


class Scope(_Wire):
    """The part of a document a task is about: a file ``uri`` and a ``range`` in it."""

    uri: str
    range: Range


class UsageInfo(_Wire):
    """Token usage and cost (USD) of a task so far."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class VerificationInfo(_Wire):
    """How a task's ``[verify]`` command judged its finish: the ``command`` run, whether it
    ``passed``, and a one-line ``summary`` (the failing output's last line when not)."""

    command: str
    passed: bool
    summary: str


class TaskInfo(_Wire):
    """A task as editors see it (result of most requests, body of codetap/task/updated).

    A sub-task of a team workflow names its ``parent_id``, its ``role`` and the plan's
    ``subtask`` key it carries out; ``priority``: higher is admitted first. ``waiting``
    says why a task that should progress does not, while it waits and only then: the
    queue (``"queued: 3 ahead"``) or a budget (``"hourly budget reached: $2.00 of $2.00,
    resumes at 14:00:00Z"``)."""

    id: str
    intent: str
    state: str
    root_uri: str
    branch: str
    base_commit: str
    scope: Scope | None = None
    steps: int
    usage: UsageInfo
    created_at: str
    updated_at: str
    summary: str | None = None
    error: str | None = None
    verification: VerificationInfo | None = None
    repo_url: str | None = None
    pull_request_url: str | None = None
    parent_id: str | None = None
    role: str | None = None
    subtask: str | None = None
    priority: int = 0
    waiting: str | None = None


class WebhookParams(_Wire):
    """A task's own webhook (codetap/task/start ``webhook``; codetap.webhooks): where, the
    Standard Webhooks secret (``whsec_`` + base64; never shown again), the ``task.status``
    period in seconds and the message types wanted (default all)."""

    url: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    interval_s: float | None = Field(default=None, gt=0)
    events: list[str] | None = None


class WebhooksListParams(_Wire):
    """codetap/webhooks/list params: only dead-lettered messages with ``dead``."""

    dead: bool = False
    limit: int = Field(default=100, ge=1, le=10000)


class WebhookDelivery(_Wire):
    """One webhook message in the outbox (times in Unix seconds; ``state``: pending,
    delivered or dead)."""

    id: int
    webhook_id: str
    task_id: int
    type: str
    url: str
    state: str
    attempts: int
    created: float
    next_at: float
    delivered_at: float | None = None
    last_status: int | None = None
    last_error: str | None = None


class WebhooksListResult(_Wire):
    """codetap/webhooks/list result, newest first."""

    deliveries: list[WebhookDelivery]


class WebhookRedeliverParams(_Wire):
    """codetap/webhooks/redeliver params: the message's row id or webhook-id."""

    id: str = Field(min_length=1)


class PullRequestParams(_Wire):
    """Open a pull request when a remote task is ready: its ``title`` and ``draft`` flag."""

    title: str | None = None
    draft: bool = False


class TaskStartParams(_Wire):
    """codetap/task/start params: what to do (``intent``) in which repository: a local one
    (``root_uri``) or a remote one (``repo_url`` with ``ref``; then ``push`` and
    ``pull_request`` say what happens when it ends, ``branch`` names its branch).
    ``priority``: the scheduler admits higher first (FIFO within a priority; default 0)."""

    intent: str = Field(min_length=1)
    repo_url: str | None = Field(default=None, min_length=1)
    root_uri: str | None = Field(default=None, min_length=1, validate_default=True)
    scope: Scope | None = None
    model: str | None = None
    workflow: str | None = None
    ref: str | None = None
    push: bool | None = None
    pull_request: PullRequestParams | None = None
    branch: str | None = None
    webhook: WebhookParams | None = None
    priority: int | None = Field(default=None, ge=-1000, le=1000)

    @field_validator("root_uri")
    @classmethod
    def _one_repository(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and not info.data.get("repo_url"):
            raise PydanticCustomError("missing", "Field required")
        return value


class TaskListParams(_Wire):
    """codetap/task/list params: optional filters by repository, states, and parent task
    (``parent_id``: only that task's sub-tasks)."""

    root_uri: str | None = None
    states: list[str] | None = None
    parent_id: TaskId | None = None


class TaskListResult(_Wire):
    """codetap/task/list result."""

    tasks: list[TaskInfo]


class TaskIdParams(_Wire):
    """Params of get, cancel, pause, resume and discard: the task ``id``."""

    id: TaskId


class TaskRollbackParams(_Wire):
    """codetap/task/rollback params: go back to the checkpoint of ``step``."""

    id: TaskId
    step: int = Field(ge=0)


class TaskPushParams(_Wire):
    """codetap/task/push params: push a ready remote task's branch now and, with
    ``pull_request`` (its title and draft flag), open its pull request."""

    id: TaskId
    pull_request: PullRequestParams | None = None


class TaskApplyParams(_Wire):
    """codetap/task/apply params: apply all suggestions of a task, or only ``hunk_ids``."""

    id: TaskId
    hunk_ids: list[str] | None = None


class TaskApplyResult(_Wire):
    """codetap/task/apply result: hunks applied by the client, hunks left as conflicts."""

    applied: int
    conflicts: int


class GcParams(_Wire):
    """codetap/gc params: prune tasks that ended more than ``days`` days ago; ready tasks
    nobody reviewed only with ``include_unreviewed``; ``dry_run`` only reports."""

    days: float = Field(ge=0)
    include_unreviewed: bool = False
    dry_run: bool = False


class GcResult(_Wire):
    """codetap/gc result: task ids pruned (or that would be), and unreviewed ready ones."""

    pruned: list[str]
    unreviewed: list[str]


class TaskMessageParams(_Wire):
    """codetap/task/message params: a follow-up message on a finished task; its
    conversation and branch go on (ARCHITECTURE.md "Clients")."""

    id: TaskId
    text: str = Field(min_length=1)


class AnswerParams(_Wire):
    """codetap/answer params: the user's answer to the task's pending question/approval."""

    id: TaskId
    answer: str


class TaskEventParams(_Wire):
    """codetap/task/event notification: one journal event of a task.

    ``partial``: true when ``data`` is over :data:`LARGE_EVENT_BYTES` and some of its
    string fields were replaced by a :class:`DataRef` object; ``codetap/task/eventData``
    returns the whole event. ``step`` and ``ts`` (Unix seconds) are set in
    ``codetap/task/events`` results (the live notification omits them).
    """

    id: str
    seq: int
    kind: str
    data: dict[str, Any]
    step: int | None = None
    ts: float | None = None
    partial: bool | None = None


LARGE_EVENT_BYTES = 64 * 1024
"""Events whose string fields add up to more than this many characters travel partially."""


class TaskEventsParams(_Wire):
    """codetap/task/events params: the journal of task ``id`` after ``after`` (a seq;
    0 = from the start), at most ``limit`` entries (default and maximum 1000)."""

    id: TaskId
    after: int = Field(default=0, ge=0)
    limit: int = Field(default=1000, ge=1, le=1000)


class TaskEventsResult(_Wire):
    """codetap/task/events result: entries in seq order, large ones partial; ``more`` is
    true when entries after the last one returned exist already."""

    events: list[TaskEventParams]
    more: bool = False


class TaskEventDataParams(_Wire):
    """codetap/task/eventData params (and the ``ref`` of a :class:`DataRef`): one journal
    entry of task ``id`` by ``seq``."""

    id: TaskId
    seq: int = Field(ge=1)


class DataRef(_Wire):
    """Stands in for one large string field of a partial event: ``ref`` names the event
    (task ``id``, ``seq``), ``bytes`` is the string's length in UTF-8 bytes and ``preview``
    its first characters."""

    ref: TaskEventDataParams
    bytes: int
    preview: str


class ErrorData(_Wire):
    """``data`` of codetap's JSON-RPC errors: ``type`` is the name of the codetap error
    class (``TaskNotFound``, ``InvalidTransition``, ``ConfigError`` ...) so that clients
    can raise the same class."""

    type: str


class SuggestionHunk(_Wire):
    """One suggested change: replace ``old_text`` at ``range`` by ``new_text``.

    ``conflict`` hunks overlap text the user changed; they are reported, never applied.
    """

    hunk_id: str
    range: Range
    old_text: str
    new_text: str
    conflict: bool = False


class FileSuggestions(_Wire):
    """The hunks of one file; ``version`` is the open buffer's version they were computed on.

    ``special``: the task changes this path in a way that is not a text edit (a symlink,
    submodule or binary file, or the user's copy is a symlink), e.g.
    ``"symlink -> /etc/passwd"``. Such a file has no hunks and is never applied; review it
    with ``codetap diff <id>``.
    """

    uri: str
    version: int | None = None
    hunks: list[SuggestionHunk]
    special: str | None = None


class SuggestionsParams(_Wire):
    """codetap/suggestions notification: every pending hunk of task ``id`` (empty = none)."""

    id: str
    files: list[FileSuggestions]


class AskParams(_Wire):
    """codetap/ask (server -> client request): a question or approval for task ``id``."""

    id: str
    kind: Literal["question", "approval"]
    question: str
    options: list[str] | None = None


class AskResult(_Wire):
    """codetap/ask result: the user's answer (for approvals, one of the options)."""

    answer: str


class ClientOptions(_Wire):
    """``initializationOptions.codetap``: what the client supports beyond stock LSP.

    ``ask``: the client answers ``codetap/ask`` requests (else window/showMessageRequest
    is used). ``suggestions``: the client draws ``codetap/suggestions`` itself (diagnostics
    are still published). ``events``: the client wants ``codetap/task/event``, every
    journal entry of the tasks under its workspace (several per agent step; a stock
    client would only pay to parse and drop them). ``editor``: false for programs (the
    CLI, the Python SDK): they get no diagnostics, progress, suggestions or questions
    (they see questions as journal events and answer with ``codetap/answer``).
    """

    ask: bool = False
    suggestions: bool = False
    events: bool = False
    editor: bool = True


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as a JSON-ready dict without ``None`` fields."""
    return model.model_dump(mode="json", exclude_none=True)
