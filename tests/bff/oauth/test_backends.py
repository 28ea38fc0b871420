"""The grant-record backends the OAuth races run against: SQLite, and a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bff.records import RecordStore, SqliteRecordStore
from bff.records.redis import RedisRecordStore


def backends() -> list[Any]:
    return ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture
async def records(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RecordStore]:
    """Overrides the suite's in-memory records where a test names a backend indirectly."""
    kind = getattr(request, "param", "memory")
    if kind == "memory":
        from bff.records import MemoryRecordStore

        yield MemoryRecordStore()
        return
    store: RecordStore
    if kind == "sqlite":
        store = SqliteRecordStore(path=tmp_path / "records.db")
    else:
        store = RedisRecordStore(url=request.getfixturevalue("redis_url"))
    yield store
