"""Revocation: ending sessions at the BFF at once and telling every API within a second."""

from __future__ import annotations

from urllib.parse import urlsplit

from bff.errors import ConfigError
from bff.revocation.events import RevocationFeed, follow
from bff.revocation.memory import MemoryRevocationFeed
from bff.revocation.revoker import Revoker
from bff.revocation.sqlite import SqliteRevocationFeed

__all__ = [
    "MemoryRevocationFeed",
    "RevocationFeed",
    "Revoker",
    "SqliteRevocationFeed",
    "feed_from_url",
    "follow",
]


def feed_from_url(url: str) -> RevocationFeed:
    """The feed that shares the session store's truth: same SQLite file, same Redis."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryRevocationFeed()
    if scheme == "sqlite":
        return SqliteRevocationFeed(path=url.removeprefix("sqlite:///"))
    if scheme in ("redis", "rediss"):
        from bff.revocation.redis import RedisRevocationFeed

        return RedisRevocationFeed(url=url)
    raise ConfigError(f"BFF_SESSION_STORE: unsupported store {scheme!r}")
