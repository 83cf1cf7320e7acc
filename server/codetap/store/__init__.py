"""Persistent state: the interface in :mod:`codetap.store.base`; backends
:mod:`codetap.store.store` (SQLite) and :mod:`codetap.store.postgres` (PostgreSQL)."""

from codetap.store.base import Checkpoint, Event, Store, StoreUnavailable, TaskRow, now_rfc3339

__all__ = ["Checkpoint", "Event", "Store", "StoreUnavailable", "TaskRow", "now_rfc3339"]
