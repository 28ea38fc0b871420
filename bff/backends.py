"""The one place that reads the store URL (`BFF_SESSION_STORE`) and builds what lives behind it.

Sessions, rate-limit counters, grant records and the revocation feed always share one backend
(the same SQLite file, the same Redis), so every BFF instance that shares the sessions shares the
counts, the grants and the revocations too. Redis modules are imported only when Redis is
configured.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from bff.counters import CounterStore, MemoryCounterStore, SqliteCounterStore
from bff.errors import ConfigError
from bff.records import MemoryRecordStore, RecordStore, SqliteRecordStore
from bff.revocation import MemoryRevocationFeed, RevocationFeed, SqliteRevocationFeed
from bff.sessions import MemorySessionStore, SessionStore, SqliteSessionStore

Backend = Literal["memory", "sqlite", "redis"]


def session_store(url: str) -> SessionStore:
    kind, target = backend(url)
    if kind == "redis":
        from bff.sessions.redis import RedisSessionStore

        return RedisSessionStore(url=target)
    return MemorySessionStore() if kind == "memory" else SqliteSessionStore(path=target)


def counter_store(url: str) -> CounterStore:
    kind, target = backend(url)
    if kind == "redis":
        from bff.counters.redis import RedisCounterStore

        return RedisCounterStore(url=target)
    return MemoryCounterStore() if kind == "memory" else SqliteCounterStore(path=target)


def revocation_feed(url: str) -> RevocationFeed:
    kind, target = backend(url)
    if kind == "redis":
        from bff.revocation.redis import RedisRevocationFeed

        return RedisRevocationFeed(url=target)
    return MemoryRevocationFeed() if kind == "memory" else SqliteRevocationFeed(path=target)


def record_store(url: str) -> RecordStore:
    kind, target = backend(url)
    if kind == "redis":
        from bff.records.redis import RedisRecordStore

        return RedisRecordStore(url=target)
    return MemoryRecordStore() if kind == "memory" else SqliteRecordStore(path=target)


def is_shared(url: str) -> bool:
    """Whether other processes on other machines may share the store (Redis): the one whose reads
    cross the network, so the one worth a session cache in front."""
    return backend(url)[0] == "redis"


def backend(url: str) -> tuple[Backend, str]:
    """The backend a store URL names, and its target: a file path for SQLite
    (sqlite:///relative/path or sqlite:////absolute/path), the URL itself for Redis."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return "memory", ""
    if scheme == "sqlite":
        return "sqlite", url.removeprefix("sqlite:///")
    if scheme in ("redis", "rediss"):
        return "redis", url
    raise ConfigError(f"BFF_SESSION_STORE: unsupported store {scheme!r}")
