"""Sessions in SQLite: the default store, survives restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bff.db import SqliteDatabase
from bff.sessions.base import Session

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    sid TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    idle_expires_at REAL NOT NULL,
    absolute_expires_at REAL NOT NULL,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    ends_at REAL NOT NULL,
    count INTEGER NOT NULL
);
"""

_COLUMNS = (
    "id_hash, sid, user_id, role, created_at, last_seen, idle_expires_at, "
    "absolute_expires_at, user_agent, ip"
)


class SqliteSessionStore:
    def __init__(self, *, path: Path | str) -> None:
        self._db = SqliteDatabase(path=path, schema=_SCHEMA, name="session store")
        self._run = self._db.run

    async def open(self) -> None:
        self._db.open()

    async def close(self) -> None:
        self._db.close()

    async def ping(self) -> None:
        self._run("SELECT 1")

    async def create(self, session: Session) -> None:
        self._run(
            f"INSERT INTO sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session.id_hash,
                session.sid,
                session.user_id,
                session.role,
                session.created_at,
                session.last_seen,
                session.idle_expires_at,
                session.absolute_expires_at,
                session.user_agent,
                session.ip,
            ),
        )

    async def get(self, id_hash: str) -> Session | None:
        rows = self._run(f"SELECT {_COLUMNS} FROM sessions WHERE id_hash = ?", (id_hash,))
        return _session(rows[0]) if rows else None

    async def touch(self, id_hash: str, *, last_seen: float, idle_expires_at: float) -> None:
        self._run(
            "UPDATE sessions SET last_seen = ?, idle_expires_at = ? WHERE id_hash = ?",
            (last_seen, idle_expires_at, id_hash),
        )

    async def delete(self, id_hash: str) -> Session | None:
        rows = self._run(f"DELETE FROM sessions WHERE id_hash = ? RETURNING {_COLUMNS}", (id_hash,))
        return _session(rows[0]) if rows else None

    async def delete_sid(self, sid: str) -> Session | None:
        rows = self._run(f"DELETE FROM sessions WHERE sid = ? RETURNING {_COLUMNS}", (sid,))
        return _session(rows[0]) if rows else None

    async def list_user(self, user_id: str) -> list[Session]:
        rows = self._run(
            f"SELECT {_COLUMNS} FROM sessions WHERE user_id = ? ORDER BY created_at", (user_id,)
        )
        return [_session(row) for row in rows]

    async def delete_user(self, user_id: str, *, keep_sid: str | None = None) -> list[Session]:
        rows = self._run(
            f"DELETE FROM sessions WHERE user_id = ? AND sid IS NOT ? RETURNING {_COLUMNS}",
            (user_id, keep_sid),
        )
        return [_session(row) for row in rows]

    async def hit(self, key: str, *, window: float, now: float, amount: int = 1) -> int:
        if amount <= 0:
            # a refund only lowers a live window's count, never below zero
            rows = self._run(
                "UPDATE counters SET count = MAX(0, count + ?) WHERE key = ? AND ends_at > ? "
                "RETURNING count",
                (amount, key, now),
            )
            return int(rows[0][0]) if rows else 0
        # one statement: concurrent workers on the same file never lose a count
        rows = self._run(
            "INSERT INTO counters (key, ends_at, count) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN ? >= ends_at THEN ? ELSE count + ? END, "
            "ends_at = CASE WHEN ? >= ends_at THEN ? ELSE ends_at END "
            "RETURNING count",
            (key, now + window, amount, now, amount, amount, now, now + window),
        )
        return int(rows[0][0])

    async def counter(self, key: str, *, now: float) -> tuple[int, float]:
        rows = self._run("SELECT count, ends_at FROM counters WHERE key = ?", (key,))
        if not rows or now >= rows[0]["ends_at"]:
            return 0, now
        return int(rows[0]["count"]), float(rows[0]["ends_at"])

    async def reset(self, key: str) -> None:
        self._run("DELETE FROM counters WHERE key = ?", (key,))

    async def purge(self, now: float) -> int:
        self._run("DELETE FROM counters WHERE ends_at <= ?", (now,))
        rows = self._run(
            "DELETE FROM sessions WHERE idle_expires_at <= ? OR absolute_expires_at <= ? "
            "RETURNING sid",
            (now, now),
        )
        return len(rows)


def _session(row: sqlite3.Row) -> Session:
    return Session(**{key: row[key] for key in row.keys()})
