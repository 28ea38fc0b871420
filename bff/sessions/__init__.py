"""Session stores behind one protocol; `bff.backends` picks the backend from settings."""

from __future__ import annotations

from bff.sessions.base import Session, SessionStore, hash_session_id
from bff.sessions.memory import MemorySessionStore
from bff.sessions.sqlite import SqliteSessionStore

__all__ = [
    "MemorySessionStore",
    "Session",
    "SessionStore",
    "SqliteSessionStore",
    "hash_session_id",
]
