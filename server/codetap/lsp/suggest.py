"""A session's view of task suggestions: compute, publish, accept, reject.

Suggestions are computed per session because they are placed in *this* client's buffers
(open document overlay, else the file on disk). They are published as diagnostics (and
as a codetap/suggestions notification to clients that opted in with
``initializationOptions.codetap.suggestions``), recomputed when the user edits a file that
has some, and applied with versioned ``workspace/applyEdit`` (recomputed and retried if the
client refuses, e.g. because the buffer version moved) or by the client itself from an
Accept code action's inline edit (:meth:`SuggestionBook.accepted`). Once nothing is left
to decide the task is settled: ``applied`` if a hunk was accepted, else ``discarded``.

Special changes (symlinks, submodules, binary files, paths whose copy here is a symlink)
are shown, never applied: a hunkless ``special`` entry in codetap/suggestions, a Warning
diagnostic, and one ``window/showMessage`` per task so a stock client sees them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from codetap.delivery.edits import (
    special_diagnostic,
    suggestions_params,
    to_diagnostic,
    workspace_edit,
)
from codetap.delivery.special import SpecialChange, on_disk_special, special_message
from codetap.delivery.suggestions import Suggestion, file_suggestions
from codetap.errors import CodetapError
from codetap.lsp.convert import path_to_uri
from codetap.lsp.decisions import ACCEPTED, REJECTED
from codetap.protocol import methods
from codetap.protocol.models import TaskApplyResult, dump
from codetap.types import TaskState

if TYPE_CHECKING:
    from codetap.lsp.review import ReviewState, SuggestionClient

log = logging.getLogger(__name__)
APPLY_ATTEMPTS = 3
GONE_KEPT = 256
DEBOUNCE_S = 0.05
PUBLISH_DELAY_S = 0.02


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None


def _visible(items: Sequence[Suggestion]) -> list[tuple[object, ...]]:
    """What a client shows of suggestions: everything but the buffer version."""
    return [(s.hunk_id, s.uri, s.range, s.old_text, s.new_text, s.conflict, s.create,
             s.delete) for s in items]


class SuggestionBook:
    """Suggestions shown to one client, by task id. ``client`` is that connection,
    ``shared`` the daemon-wide review state (runtime, decisions, file changes)."""

    def __init__(self, client: SuggestionClient, shared: ReviewState) -> None:
        self.client = client
        self.shared = shared
        self.by_task: dict[int, list[Suggestion]] = {}
        self.specials: dict[int, list[SpecialChange]] = {}
        self._told: dict[int, list[SpecialChange]] = {}
        self._dirty: set[str] = set()
        self._unpublished: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._pending: asyncio.Task[None] | None = None
        self._gone: dict[str, Suggestion] = {}
        self._awaiting: set[int] = set()  # accepted inline, the client's didChange not seen

    def _remember(self, gone: Sequence[Suggestion]) -> None:
        """Keep withdrawn suggestions a while: an inline Accept edit applied by the client
        withdraws its hunk (didChange) before the client reports it accepted."""
        for s in gone:
            self._gone[s.hunk_id] = s
        while len(self._gone) > GONE_KEPT:
            del self._gone[next(iter(self._gone))]

    def has(self, task_id: int) -> bool:
        return task_id in self.by_task or task_id in self.specials

    def find(self, hunk_id: str) -> Suggestion | None:
        """The suggestion shown with this id, if any."""
        for items in self.by_task.values():
            for s in items:
                if s.hunk_id == hunk_id:
                    return s
        return None

    def at(self, uri: str, rng: lsp.Range) -> list[Suggestion]:
        """Suggestions in ``uri`` whose lines overlap ``rng``."""
        out = []
        for items in self.by_task.values():
            for s in items:
                if s.uri != uri:
                    continue
                lo, hi = s.range.start.line, max(s.range.end.line, s.range.start.line)
                if lo <= rng.end.line and rng.start.line <= hi:
                    out.append(s)
        return out

    async def compute(self, task_id: int) -> list[Suggestion]:
        """Fresh suggestions of a ready task against the current texts, minus rejected ones."""
        return (await self._compute(task_id))[0]

    async def _compute(self, task_id: int) -> tuple[list[Suggestion], list[SpecialChange]]:
        shared = self.shared
        task = await shared.runtime.get_task(task_id)
        if task.state != TaskState.READY:
            return [], []
        rejected = await shared.decisions.rejected(task_id)
        out: list[Suggestion] = []
        specials: list[SpecialChange] = []
        for change in await shared.file_changes(task):
            path = task.root / change.path
            uri = path_to_uri(path)
            why = change.special or await asyncio.to_thread(on_disk_special, task.root, path)
            if why is not None:
                specials.append(SpecialChange(task_id, uri, change.path, why))
                continue
            doc = self.client.document(uri)
            current: str | None
            if doc is not None:
                current, version = doc
            else:
                current, version = await asyncio.to_thread(_read, str(path)), None
            items = file_suggestions(
                task_id, uri, change.path, change.base_text, change.tip_text, current,
                version, self.client.encoding,
            )
            out.extend(s for s in items if s.hunk_id not in rejected)
        return out, specials

    async def refresh(self, task_id: int) -> list[Suggestion]:
        """Recompute and publish the suggestions (and special changes) of ``task_id``;
        returns the suggestions."""
        items, specials = await self._compute(task_id)
        self._set(task_id, items, specials)
        return items

    def clear(self, task_id: int) -> None:
        """Withdraw every suggestion and special change of ``task_id``."""
        self._set(task_id, [], [])

    def _set(self, task_id: int, items: list[Suggestion],
             specials: list[SpecialChange] | None = None) -> None:
        """Show ``items`` and ``specials`` (``None``: those shown now) for ``task_id``."""
        old = self.by_task.pop(task_id, [])
        old_specials = self.specials.pop(task_id, [])
        specials = old_specials if specials is None else specials
        if items:
            self.by_task[task_id] = items
        if specials:
            self.specials[task_id] = specials
        if _visible(old) == _visible(items) and old_specials == specials:
            # Typing elsewhere only moves the buffer version: the client's view is current
            # (the new version is kept above for the next applyEdit).
            return
        # Structured hunks first: a client that reacts to the diagnostics has them already.
        if self.client.wants_suggestions:  # opted in: stock clients only get diagnostics
            body = suggestions_params(task_id, items, specials)
            self.client.notify(methods.SUGGESTIONS, dump(body))
        self._remember(old)
        self._unpublished |= {s.uri for s in old} | {s.uri for s in items}
        self._unpublished |= {sp.uri for sp in old_specials} | {sp.uri for sp in specials}
        self._tell(task_id, specials)
        if self._flush is None:
            # Diagnostics carry every task's hunks of a file: when many tasks change at
            # once, publish each file once per burst instead of once per task.
            self._flush = asyncio.get_running_loop().call_later(PUBLISH_DELAY_S, self._publish_all)

    def _tell(self, task_id: int, specials: list[SpecialChange]) -> None:
        """Show a message for the special changes of a task, once per distinct set."""
        if not specials:
            self._told.pop(task_id, None)
            return
        if self._told.get(task_id) == specials or self.client.closed:
            return
        self._told[task_id] = specials
        self.client.show_message(lsp.ShowMessageParams(
            type=lsp.MessageType.Warning, message=special_message(task_id, specials)))

    def _publish_all(self) -> None:
        self._flush = None
        uris, self._unpublished = self._unpublished, set()
        for uri in sorted(uris):
            self._publish(uri)

    def _publish(self, uri: str) -> None:
        diagnostics = [to_diagnostic(s) for items in self.by_task.values()
                       for s in items if s.uri == uri]
        diagnostics += [special_diagnostic(sp) for specials in self.specials.values()
                        for sp in specials if sp.uri == uri]
        self.client.publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    def changed(self, uri: str) -> None:
        """The user edited ``uri``: recompute the tasks with suggestions there (debounced)."""
        if not any(s.uri == uri for items in self.by_task.values() for s in items):
            return
        self._dirty.add(uri)
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._recompute())

    async def _recompute(self) -> None:
        await asyncio.sleep(DEBOUNCE_S)
        dirty, self._dirty = self._dirty, set()
        tasks = {tid for tid, items in self.by_task.items() if any(s.uri in dirty for s in items)}
        for tid in tasks:
            if not self.client.closed:
                await self.refresh(tid)
                if tid in self._awaiting:
                    self._awaiting.discard(tid)
                    await self.settle(tid)

    async def reject(self, task_id: int, hunk_ids: Sequence[str] | None) -> int:
        """Reject hunks (all of the task if ``None``) for every session, durably.

        Returns how many shown suggestions were withdrawn (unknown ids count nothing).
        """
        current = self.by_task.get(task_id) or await self.compute(task_id)
        chosen = [s for s in current if hunk_ids is None or s.hunk_id in hunk_ids]
        await self.shared.decisions.decide(task_id, chosen, REJECTED)
        self.shared.refresh_suggestions(task_id)
        if not self.client.initialized:
            await self.refresh(task_id)
        await self.settle(task_id)
        return len(chosen)

    async def accepted(self, task_id: int, hunk_ids: Sequence[str]) -> int:
        """The client applied the inline edit of these hunks (an Accept code action): record
        them accepted for every session, durably, and settle the task. Returns how many
        were known (shown now or lately withdrawn); unknown ids count nothing."""
        known = [s for h in hunk_ids if (s := self.find(h) or self._gone.get(h)) is not None
                 and s.task_id == task_id]
        await self.shared.decisions.decide(task_id, known, ACCEPTED)
        if self.has(task_id):
            await self.refresh(task_id)
        if any(s.hunk_id in hunk_ids for s in self.by_task.get(task_id, [])):
            # The client sends the edit's didChange later (eglot: from an idle timer):
            # settle once it has arrived and the hunks are recomputed.
            self._awaiting.add(task_id)
        else:
            await self.settle(task_id)
        return len(known)

    async def settle(self, task_id: int) -> None:
        """End the review of a ready task once nothing is left to decide: no suggestion
        (all accepted, rejected or already in the text) and no special change. The task
        becomes ``applied`` if any hunk was accepted, else ``discarded`` (every hunk was
        rejected: the worktree goes, the branch stays). Another session settling it first
        is not an error."""
        runtime = self.shared.runtime
        task = await runtime.get_task(task_id)
        if task.state != TaskState.READY:
            return
        items, specials = await self._compute(task_id)
        if items or specials:
            return
        try:
            if await self.shared.decisions.any_accepted(task_id):
                await runtime.mark_applied(task_id)
            else:
                await runtime.discard(task_id)
        except CodetapError as exc:
            log.info("task %s was settled elsewhere: %s", task_id, exc)

    async def apply(self, task_id: int, hunk_ids: Sequence[str] | None) -> TaskApplyResult:
        """Apply clean hunks (all if ``None``) with workspace/applyEdit; never clobber.

        Each attempt recomputes against the current texts and sends versioned edits; a
        refused edit (version moved) is retried up to ``APPLY_ATTEMPTS`` times. Conflicts
        are counted, never applied; special changes are never part of an edit. Marks the
        task applied when nothing is left: no hunk, and no special change (which stays
        for the user to review with ``codetap diff`` and take by hand, or discard).
        """
        applied = conflicts = 0
        for _ in range(APPLY_ATTEMPTS):
            items = await self.refresh(task_id)
            wanted = [s for s in items if hunk_ids is None or s.hunk_id in hunk_ids]
            conflicts = sum(1 for s in wanted if s.conflict)
            clean = [s for s in wanted if not s.conflict]
            if not clean:
                break
            result = await self.client.apply_edit(
                lsp.ApplyWorkspaceEditParams(
                    edit=workspace_edit(clean), label=f"codetap: apply task {task_id}"
                )
            )
            if result.applied:
                applied = len(clean)
                await self.shared.decisions.decide(task_id, clean, ACCEPTED)
                left = [s for s in items if s not in clean]
                self._set(task_id, left)
                if not left and not self.specials.get(task_id):
                    await self.shared.runtime.mark_applied(task_id)
                break
            log.info("client refused the edit (%s); recomputing", result.failure_reason)
            await asyncio.sleep(DEBOUNCE_S)
        return TaskApplyResult(applied=applied, conflicts=conflicts)
