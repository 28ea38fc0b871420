"""SQLite connections for the embedded stores.

Queries run on the event loop: each is a few microseconds on a local WAL file, less than a thread
hop would cost. Writers wait at most `busy_timeout` for another process's lock.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from bff.errors import StoreUnavailable


def connect(path: Path | str) -> sqlite3.Connection:
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=2000")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot open {target.name}: {exc}") from exc
    _restrict(target)
    return conn


def _restrict(path: Path) -> None:
    # the database holds password hashes and session hashes: owner-only
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists():
            os.chmod(candidate, 0o600)


class SqliteDatabase:
    """One connection, opened in the app's lifespan, with its schema; every failure of a query
    becomes StoreUnavailable (callers fail closed), naming the store but never the query."""

    def __init__(self, *, path: Path | str, schema: str, name: str) -> None:
        self._path = path
        self._schema = schema
        self._name = name
        self._conn: sqlite3.Connection | None = None

    def open(self) -> None:
        if self._conn is None:
            self._conn = connect(self._path)
            self._conn.executescript(self._schema)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        if self._conn is None:
            raise StoreUnavailable(f"{self._name} is not open")
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{self._name} failed: {type(exc).__name__}") from exc
