"""Conversions between runtime records and wire shapes, and between URIs and paths."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path, to_fs_path

from codetap.protocol.models import Scope, TaskInfo, UsageInfo, VerificationInfo

if TYPE_CHECKING:
    from codetap.store import TaskRow as TaskRecord


def path_to_uri(path: Path) -> str:
    """``file://`` URI of an absolute path (RFC 8089, as pygls writes them)."""
    uri = from_fs_path(str(path))
    if uri is None:
        raise ValueError(f"cannot make a URI of {path}")
    return str(uri)


def uri_to_path(uri: str) -> Path:
    """Absolute path of a ``file://`` URI; JsonRpcInvalidParams for other schemes."""
    if not uri.startswith("file:"):
        raise JsonRpcInvalidParams(f"expected a file:// URI, got {uri!r}")
    path = to_fs_path(uri)
    if not path:
        raise JsonRpcInvalidParams(f"expected a file:// URI, got {uri!r}")
    return Path(path)


def parse_task_id(task_id: str) -> int:
    """The runtime's integer id of a wire id (``"7"``); JsonRpcInvalidParams otherwise."""
    if not task_id.isdigit():
        raise JsonRpcInvalidParams(f"no task with id {task_id!r} (task ids are numbers)")
    return int(task_id)


def _scope(raw: Any) -> Scope | None:
    if raw is None:
        return None
    try:
        return Scope.model_validate(raw)
    except ValidationError:
        return None


def task_info(task: TaskRecord, waiting: str | None = None) -> TaskInfo:
    """The wire ``TaskInfo`` of a runtime task record; ``waiting``: why it waits now
    (``RuntimeAPI.waiting_reason``), if it does."""
    usage = task.usage
    return TaskInfo(
        id=str(task.id),
        intent=task.intent,
        state=str(task.state),
        root_uri=path_to_uri(task.root),
        branch=task.branch,
        base_commit=task.base_commit,
        scope=_scope(task.scope),
        steps=task.steps,
        usage=UsageInfo(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=round(usage.cost_usd, 6),
        ),
        created_at=task.created_at,
        updated_at=task.updated_at,
        summary=task.summary,
        error=task.error,
        verification=_verification(task.verification),
        repo_url=task.repo_url,
        pull_request_url=task.pull_request_url,
        parent_id=str(task.parent_id) if task.parent_id is not None else None,
        role=task.role,
        subtask=task.subtask,
        priority=task.priority,
        waiting=waiting,
    )


def _verification(raw: Any) -> VerificationInfo | None:
    if raw is None:
        return None
    try:
        return VerificationInfo.model_validate(raw)
    except ValidationError:
        return None


def find_repo_root(path: Path) -> Path:
    """The nearest ancestor of ``path`` (or itself) containing ``.git``; else ``path``'s dir."""
    start = path if path.is_dir() else path.parent
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start
