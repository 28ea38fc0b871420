"""Notes storage: a small protocol and its SQLite implementation (the API's own database file).

Every read and write is scoped by `owner` (the token's `sub`) inside the query itself, so no code
path can reach another user's note by forgetting a check.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from api import schemas
from api.clock import Clock
from api.errors import StoreUnavailable

log = logging.getLogger("api.notes")


@dataclass(frozen=True, kw_only=True)
class Note:
    id: str
    owner: str
    title: str
    body: str
    created_at: int
    updated_at: int

    def public(self) -> schemas.Note:
        # the owner is never echoed: it is the caller, and a note needs no personal data
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, kw_only=True)
class NoteStats:
    users: int
    notes: int


class NoteStore(Protocol):
    """Notes, each owned by one `sub`. Methods taking `owner` never see other owners' notes.

    `get`, `update` and `delete` answer None / False for an unknown id and for another owner's
    note alike. Storage failures raise StoreUnavailable.
    """

    def open(self) -> None: ...

    def close(self) -> None: ...

    def recent(self, owner: str, *, limit: int, offset: int) -> list[Note]:
        """The owner's notes, newest first."""
        ...

    def add(self, owner: str, *, title: str, body: str) -> Note: ...

    def get(self, owner: str, note_id: str) -> Note | None: ...

    def update(
        self, owner: str, note_id: str, *, title: str | None = None, body: str | None = None
    ) -> Note | None: ...

    def delete(self, owner: str, note_id: str) -> bool: ...

    def stats(self) -> NoteStats: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_owner ON notes (owner, created_at, seq);
"""
_COLUMNS = "id, owner, title, body, created_at, updated_at"


class SqliteNoteStore:
    """Notes in one SQLite file, created owner-only (0600) in an owner-only directory.

    Synchronous on purpose: the queries are tiny and indexed, cheaper than a thread hop.
    """

    def __init__(self, *, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        with _unavailable_on_error():
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _create_private(self._path)
            db = sqlite3.connect(self._path, isolation_level=None)
            try:
                db.execute("PRAGMA busy_timeout = 2000")
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(_SCHEMA)
            except sqlite3.Error:
                db.close()
                raise
            self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def recent(self, owner: str, *, limit: int, offset: int) -> list[Note]:
        rows = self._query(
            f"SELECT {_COLUMNS} FROM notes WHERE owner = ?"
            " ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?",
            (owner, limit, offset),
        )
        return [_note(row) for row in rows]

    def add(self, owner: str, *, title: str, body: str) -> Note:
        now = int(self._clock.now())
        note = Note(
            id=secrets.token_urlsafe(12),
            owner=owner,
            title=title,
            body=body,
            created_at=now,
            updated_at=now,
        )
        self._query(
            f"INSERT INTO notes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (note.id, owner, title, body, now, now),
        )
        return note

    def get(self, owner: str, note_id: str) -> Note | None:
        rows = self._query(
            f"SELECT {_COLUMNS} FROM notes WHERE id = ? AND owner = ?", (note_id, owner)
        )
        return _note(rows[0]) if rows else None

    def update(
        self, owner: str, note_id: str, *, title: str | None = None, body: str | None = None
    ) -> Note | None:
        rows = self._query(
            "UPDATE notes SET title = coalesce(?, title), body = coalesce(?, body),"
            f" updated_at = ? WHERE id = ? AND owner = ? RETURNING {_COLUMNS}",
            (title, body, int(self._clock.now()), note_id, owner),
        )
        return _note(rows[0]) if rows else None

    def delete(self, owner: str, note_id: str) -> bool:
        rows = self._query(
            "DELETE FROM notes WHERE id = ? AND owner = ? RETURNING id", (note_id, owner)
        )
        return bool(rows)

    def stats(self) -> NoteStats:
        users, notes = self._query("SELECT COUNT(DISTINCT owner), COUNT(*) FROM notes")[0]
        return NoteStats(users=int(users), notes=int(notes))

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        if self._db is None:
            raise StoreUnavailable("the notes store is not open")
        with _unavailable_on_error():
            return self._db.execute(sql, params).fetchall()


def _create_private(path: Path) -> None:
    # create the file 0600 before SQLite opens it (SQLite gives its journals the same mode)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # an existing file made with a looser umask is tightened too


@contextmanager
def _unavailable_on_error() -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        # the database's message goes to the server log, never into a response
        log.error("notes store error: %s", exc)
        raise StoreUnavailable("the notes store is unavailable") from exc


def _note(row: tuple[Any, ...]) -> Note:
    note_id, owner, title, body, created_at, updated_at = row
    return Note(
        id=note_id,
        owner=owner,
        title=title,
        body=body,
        created_at=int(created_at),
        updated_at=int(updated_at),
    )
