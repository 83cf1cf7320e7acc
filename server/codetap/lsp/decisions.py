"""The user's decisions on suggestions (accepted / rejected hunks), shared by every editor
session of one daemon and persisted through the runtime, so a rejected hunk stays hidden in
every session and after a restart. Cached per task once loaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codetap.delivery.suggestions import Suggestion
    from codetap.runtime_api import RuntimeAPI

REJECTED = "rejected"
ACCEPTED = "accepted"
#: Command run by an Accept code action after the client applied its inline edit
#: (arguments ``[{"id", "hunk_ids"}]`` -> ``{"accepted": int}``).
CMD_ACCEPTED = "codetap.suggestion.accepted"


class Decisions:
    """Hunk id -> ``rejected`` | ``accepted``, per task; writes go to the runtime first."""

    def __init__(self, runtime: RuntimeAPI) -> None:
        self.runtime = runtime
        self._statuses: dict[int, dict[str, str]] = {}

    async def rejected(self, task_id: int) -> set[str]:
        """Hunk ids of ``task_id`` the user rejected (in any session, before any restart).

        TaskNotFound for an unknown task."""
        return {h for h, s in (await self._load(task_id)).items() if s == REJECTED}

    async def any_accepted(self, task_id: int) -> bool:
        """Whether the user accepted any hunk of ``task_id``."""
        return ACCEPTED in (await self._load(task_id)).values()

    async def decide(self, task_id: int, items: Sequence[Suggestion], status: str) -> None:
        """Record ``status`` (``rejected`` | ``accepted``) for ``items`` durably; a later
        decision on a hunk replaces the earlier one. TaskNotFound for an unknown task."""
        if not items:
            return
        rows = [(s.hunk_id, s.path, status, {"uri": s.uri, "new_text": s.new_text[:2000]})
                for s in items]
        await self.runtime.set_suggestion_status(task_id, rows)
        (await self._load(task_id)).update((s.hunk_id, status) for s in items)

    async def _load(self, task_id: int) -> dict[str, str]:
        statuses = self._statuses.get(task_id)
        if statuses is None:
            statuses = await self.runtime.suggestion_statuses(task_id)
            statuses = self._statuses.setdefault(task_id, statuses)
        return statuses
