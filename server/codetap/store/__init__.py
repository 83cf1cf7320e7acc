"""Persistent state: see :mod:`codetap.store.store`."""

from codetap.store.store import Checkpoint, Event, Store, TaskRow, now_rfc3339

__all__ = ["Checkpoint", "Event", "Store", "TaskRow", "now_rfc3339"]
