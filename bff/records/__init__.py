"""Grant records (refresh-token families, authorization and device codes) behind one protocol;
`bff.backends` picks the backend from settings."""

from __future__ import annotations

from bff.records.base import Put, Record, RecordStore, Value
from bff.records.memory import MemoryRecordStore
from bff.records.sqlite import SqliteRecordStore

__all__ = ["MemoryRecordStore", "Put", "Record", "RecordStore", "SqliteRecordStore", "Value"]
