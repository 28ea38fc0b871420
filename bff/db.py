"""SQLite connections for the embedded stores.

Queries run on the event loop: each is a few microseconds on a local WAL file, less than a thread
hop would cost. Writers wait at most `busy_timeout` for another process's lock.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bff.errors import StoreUnavailable


def connect(path: Path | str) -> sqlite3.Connection:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
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
