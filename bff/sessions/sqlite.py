"""Sessions in SQLite: the default store, survives restarts."""

from __future__ import annotations

import sqlite3

from bff.sessions.base import Session
from bff.stores import SqliteStore

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
"""

_COLUMNS = (
    "id_hash, sid, user_id, role, created_at, last_seen, idle_expires_at, "
    "absolute_expires_at, user_agent, ip"
)


class SqliteSessionStore(SqliteStore):
    SCHEMA = _SCHEMA
    NAME = "session store"

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

    async def purge(self, now: float) -> int:
        rows = self._run(
            "DELETE FROM sessions WHERE idle_expires_at <= ? OR absolute_expires_at <= ? "
            "RETURNING sid",
            (now, now),
        )
        return len(rows)


def _session(row: sqlite3.Row) -> Session:
    return Session(**{key: row[key] for key in row.keys()})
