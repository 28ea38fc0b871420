"""Revocation events in SQLite: every process on the host (uvicorn workers, the CLI) publishes
into one table; each BFF process polls it for its subscribers."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from bff.db import SqliteDatabase
from bff.revocation.events import RevocationEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS revocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    at REAL NOT NULL,
    until REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS revocations_until ON revocations (until);
"""
BATCH = 1000


class SqliteRevocationFeed:
    def __init__(self, *, path: Path | str) -> None:
        self._db = SqliteDatabase(path=path, schema=_SCHEMA, name="revocation feed")
        self._run = self._db.run
        self._changed = asyncio.Event()

    async def open(self) -> None:
        self._db.open()

    async def close(self) -> None:
        self._db.close()

    async def publish(self, event: RevocationEvent) -> None:
        self._run("DELETE FROM revocations WHERE until <= ?", (event.at,))
        self._run(
            "INSERT INTO revocations (kind, value, at, until) VALUES (?, ?, ?, ?)",
            (event.kind, event.value, event.at, event.until),
        )
        self._changed.set()  # wake this process's subscribers at once; others poll

    async def since(self, after: str | None) -> list[RevocationEvent]:
        start = int(after) if after and after.isdigit() else 0
        rows = self._run(
            "SELECT id, kind, value, at, until FROM revocations WHERE id > ? ORDER BY id LIMIT ?",
            (start, BATCH),
        )
        return [
            RevocationEvent(
                id=str(row["id"]),
                kind=row["kind"],
                value=row["value"],
                at=row["at"],
                until=row["until"],
            )
            for row in rows
        ]

    async def wait(self, after: str | None, *, timeout: float) -> None:
        self._changed.clear()
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._changed.wait()
