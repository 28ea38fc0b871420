"""The lifecycle every store shares (open with the app, close after it, ping for readiness), for
the in-process and the embedded SQLite backends; the Redis one is in bff.redisconn."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from bff.db import SqliteDatabase


class MemoryStore:
    """Nothing to open, close or reach: the data lives in this process."""

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None


class SqliteStore:
    """One SQLite connection with the subclass's schema; every failure is StoreUnavailable."""

    SCHEMA: ClassVar[str]
    NAME: ClassVar[str]

    def __init__(self, *, path: Path | str) -> None:
        self._db = SqliteDatabase(path=path, schema=self.SCHEMA, name=self.NAME)
        self._run = self._db.run

    async def open(self) -> None:
        self._db.open()

    async def close(self) -> None:
        self._db.close()

    async def ping(self) -> None:
        self._run("SELECT 1")
