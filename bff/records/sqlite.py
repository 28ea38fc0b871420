"""Grant records in SQLite (the sessions' file by default): compare-and-set is one UPDATE with the
version in its WHERE clause, so workers sharing the file never both win a race."""

from __future__ import annotations

import contextlib
import json
import sqlite3

from bff.errors import StoreUnavailable
from bff.records.base import Put, Record, Value
from bff.stores import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    idx TEXT,
    PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS records_by_index ON records (kind, idx);
CREATE INDEX IF NOT EXISTS records_by_expiry ON records (expires_at);
"""


class SqliteRecordStore(SqliteStore):
    SCHEMA = _SCHEMA
    NAME = "grant store"

    async def insert(
        self,
        kind: str,
        key: str,
        value: Value,
        *,
        expires_at: float,
        now: float,
        index: str | None = None,
    ) -> bool:
        # an expired record under the key gives way; a live one wins
        rows = self._run(
            "INSERT INTO records (kind, key, value, version, expires_at, idx) "
            "VALUES (?, ?, ?, 1, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, version = 1, "
            "expires_at = excluded.expires_at, idx = excluded.idx WHERE records.expires_at <= ? "
            "RETURNING version",
            (kind, key, _dump(value), expires_at, index, now),
        )
        return bool(rows)

    async def get(self, kind: str, key: str, *, now: float) -> Record | None:
        rows = self._run(
            "SELECT value, version, expires_at FROM records "
            "WHERE kind = ? AND key = ? AND expires_at > ?",
            (kind, key, now),
        )
        return _record(rows[0]) if rows else None

    async def replace(
        self, kind: str, key: str, value: Value, *, version: int, expires_at: float, now: float
    ) -> bool:
        rows = self._run(
            "UPDATE records SET value = ?, version = version + 1, expires_at = ? "
            "WHERE kind = ? AND key = ? AND version = ? AND expires_at > ? RETURNING version",
            (_dump(value), expires_at, kind, key, version, now),
        )
        return bool(rows)

    async def get_linked(
        self, kind: str, key: str, *, link: str, link_kind: str, now: float
    ) -> tuple[Record | None, Record | None]:
        record = await self.get(kind, key, now=now)
        if record is None or not isinstance(record.value.get(link), str):
            return record, None
        return record, await self.get(link_kind, record.value[link], now=now)

    async def write(self, puts: list[Put], *, now: float) -> bool:
        # one transaction: IMMEDIATE takes the write lock first, so another process's writer
        # waits (busy_timeout) rather than interleaving; no await inside, so no task either
        self._run("BEGIN IMMEDIATE")
        try:
            written = all(self._put(put, now) for put in puts)  # stops at the first refusal
        except BaseException:
            self._rollback()
            raise
        if not written:
            self._rollback()
            return False
        self._run("COMMIT")
        return True

    def _rollback(self) -> None:
        # a failed statement may have ended the transaction already: nothing more to undo
        with contextlib.suppress(StoreUnavailable):
            self._run("ROLLBACK")

    def _put(self, put: Put, now: float) -> bool:
        if put.version is None:
            rows = self._run(
                "INSERT INTO records (kind, key, value, version, expires_at, idx) "
                "VALUES (?, ?, ?, 1, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, version = 1, "
                "expires_at = excluded.expires_at, idx = excluded.idx "
                "WHERE records.expires_at <= ? RETURNING version",
                (put.kind, put.key, _dump(put.value), put.expires_at, put.index, now),
            )
        else:
            rows = self._run(
                "UPDATE records SET value = ?, version = version + 1, expires_at = ? "
                "WHERE kind = ? AND key = ? AND version = ? AND expires_at > ? RETURNING version",
                (_dump(put.value), put.expires_at, put.kind, put.key, put.version, now),
            )
        return bool(rows)

    async def indexed(self, kind: str, index: str, *, now: float) -> list[tuple[str, Record]]:
        rows = self._run(
            "SELECT key, value, version, expires_at FROM records "
            "WHERE kind = ? AND idx = ? AND expires_at > ? ORDER BY key",
            (kind, index, now),
        )
        return [(str(row["key"]), _record(row)) for row in rows]

    async def delete(self, kind: str, key: str) -> None:
        self._run("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key))

    async def purge(self, now: float) -> int:
        return len(self._run("DELETE FROM records WHERE expires_at <= ? RETURNING key", (now,)))


def _dump(value: Value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _record(row: sqlite3.Row) -> Record:
    return Record(
        value=json.loads(row["value"]), version=int(row["version"]), expires_at=row["expires_at"]
    )
