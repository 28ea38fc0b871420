"""Session stores behind one protocol; `store_from_url` picks the backend from settings."""

from __future__ import annotations

from urllib.parse import urlsplit

from bff.errors import ConfigError
from bff.sessions.base import Session, SessionStore, hash_session_id
from bff.sessions.memory import MemorySessionStore
from bff.sessions.sqlite import SqliteSessionStore

__all__ = [
    "MemorySessionStore",
    "Session",
    "SessionStore",
    "SqliteSessionStore",
    "hash_session_id",
    "store_from_url",
]


def store_from_url(url: str) -> SessionStore:
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return MemorySessionStore()
    if parts.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path
        return SqliteSessionStore(path=url.removeprefix("sqlite:///"))
    if parts.scheme in ("redis", "rediss"):
        from bff.sessions.redis import RedisSessionStore

        return RedisSessionStore(url=url)
    raise ConfigError(f"BFF_SESSION_STORE: unsupported store {parts.scheme!r}")
