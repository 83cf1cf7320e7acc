"""Waiting out a database server that went away (PostgreSQL restarted, failed over, or the
network between): what a running task and a state change do with
:class:`~codetap.store.base.StoreUnavailable` (docs/scale-out.md, "When PostgreSQL goes
away").

A write lost with its connection was not confirmed, but may still have committed (the
connection broke during COMMIT). So a lost write is never simply sent again:
:func:`write_through` waits for the store, asks the caller's ``landed`` check (which reads
the journal back) whether the write is there, and writes again only when it is not. The
journal's ``(task_id, seq)`` key refuses a duplicate sequence number in any case; the check
keeps the same entries from being journaled twice under new numbers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from codetap.redact import redact_json
from codetap.store.base import Event, Store, StoreUnavailable, decode_data, encode_data
from codetap.types import JSON

log = logging.getLogger(__name__)
_T = TypeVar("_T")
PAUSE_MAX_S = 2.0


async def until_available(store: Store, what: str) -> None:
    """Return once ``store`` can be written again (:meth:`Store.wait_available`), however
    long that takes: while the server is away a task's state cannot be written either, so
    there is nothing better to do than wait. Logs a warning per round of
    ``store.wait_available`` given up (30 s by default). Cancellable (cancel, pause,
    shutdown)."""
    rounds = 0
    while True:
        try:
            await store.wait_available()
            return
        except StoreUnavailable as exc:
            rounds += 1
            log.warning("%s waits for the store (%d): %s", what, rounds, exc)
            # The store's own wait has a backoff; this one only keeps a store that gives
            # up at once (a reader failing while the writer works) from spinning.
            await asyncio.sleep(min(PAUSE_MAX_S, 0.05 * 2 ** rounds))


async def write_through(store: Store, write: Callable[[], Awaitable[_T]],
                        landed: Callable[[], Awaitable[_T | None]], what: str) -> _T:
    """``await write()``; when it raises StoreUnavailable, wait for the store
    (:func:`until_available`), then return ``await landed()`` if that finds the lost write
    committed (its result as ``write`` would have returned it; None: not there), else
    ``write()`` again, as often as the server goes away. Other errors propagate, as does
    cancellation. ``what`` names the writer in log lines."""
    try:
        return await write()
    except StoreUnavailable as exc:
        log.warning("%s: %s; waiting for the store to come back", what, exc)
    pause = 0.05
    while True:
        await until_available(store, what)
        try:
            found = await landed()
            if found is not None:
                log.info("%s: the lost write had committed; going on", what)
                return found
            result = await write()
            log.info("%s: written after the store came back", what)
            return result
        except StoreUnavailable as exc:
            log.warning("%s: %s; waiting again", what, exc)
            await asyncio.sleep(pause)
            pause = min(PAUSE_MAX_S, pause * 2)


async def journaled(store: Store, task_id: int, after: int,
                    runs: Sequence[tuple[int, Sequence[tuple[str, JSON]]]],
                    checkpoint: tuple[int, str, JSON] | None = None) -> list[Event] | None:
    """Whether a lost journal write of task ``task_id`` committed after all: its events
    when the journal holds, after seq ``after``, the entries of ``runs`` ((step, [(kind,
    data)]) as given to :meth:`Store.append`) in order and contiguous (one transaction);
    for a write of a ``checkpoint`` (step, commit, state) alone, ``[]`` when the latest
    checkpoint is that one. None when the write is not there. Compared as stored
    (redacted, through the journal's encoding). StoreUnavailable if the store is away."""
    want = [(step, kind, _as_stored(data)) for step, entries in runs for kind, data in entries]
    if not want:
        if checkpoint is None:
            return []
        cp = await store.latest_checkpoint(task_id)
        same = cp is not None and (cp.step, cp.commit_id, cp.state) == (
            checkpoint[0], checkpoint[1], _as_stored(checkpoint[2]))
        return [] if same else None
    events = await store.events(task_id, after)
    have = [(e.step, e.kind, e.data) for e in events]
    for i in range(len(have) - len(want), -1, -1):  # newest first: the lost write is last
        if have[i:i + len(want)] == want:
            return events[i:i + len(want)]
    return None


def _as_stored(data: JSON) -> JSON:
    return decode_data(encode_data(redact_json(data)))
