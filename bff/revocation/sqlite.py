"""Revocation events in SQLite: every process on the host (uvicorn workers, the CLI) publishes
into one table; each BFF process polls it for its subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path

from bff.revocation.events import parse_position, position_id
from bff.stores import SqliteStore
from contract.revocation import RevocationEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS revocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    at REAL NOT NULL,
    until REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS revocations_until ON revocations (until);
CREATE TABLE IF NOT EXISTS revocations_epoch (epoch TEXT NOT NULL);
"""
BATCH = 1000


class SqliteRevocationFeed(SqliteStore):
    SCHEMA = _SCHEMA
    NAME = "revocation feed"

    def __init__(self, *, path: Path | str) -> None:
        super().__init__(path=path)
        self._changed = asyncio.Event()
        self._epoch = ""

    async def open(self) -> None:
        await super().open()
        # the epoch lives with the table: a recreated file starts a new one, and followers that
        # resume with an older id get a full replay instead of missing the new events
        rows = self._run("SELECT epoch FROM revocations_epoch")
        if not rows:
            self._run(
                "INSERT INTO revocations_epoch (epoch) VALUES (?)", (secrets.token_urlsafe(6),)
            )
            rows = self._run("SELECT epoch FROM revocations_epoch")
        self._epoch = str(rows[0]["epoch"])

    async def publish(self, event: RevocationEvent) -> None:
        self._run("DELETE FROM revocations WHERE until <= ?", (event.at,))
        self._run(
            "INSERT INTO revocations (kind, value, at, until) VALUES (?, ?, ?, ?)",
            (event.kind, event.value, event.at, event.until),
        )
        self._changed.set()  # wake this process's subscribers at once; others poll

    async def since(self, after: str | None) -> list[RevocationEvent]:
        start = parse_position(after, self._epoch)
        rows = self._run(
            "SELECT id, kind, value, at, until FROM revocations WHERE id > ? ORDER BY id LIMIT ?",
            (start, BATCH),
        )
        return [
            RevocationEvent(
                id=position_id(self._epoch, row["id"]),
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
