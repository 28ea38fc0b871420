"""Rate-limit counters behind one protocol; `bff.backends` picks the backend from settings."""

from __future__ import annotations

from bff.counters.base import CounterStore
from bff.counters.memory import MemoryCounterStore
from bff.counters.sqlite import SqliteCounterStore

__all__ = ["CounterStore", "MemoryCounterStore", "SqliteCounterStore"]
