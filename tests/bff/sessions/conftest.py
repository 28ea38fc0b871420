"""Fixtures for the session-store suites: every backend, opened fresh for each test."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis

from bff.sessions import MemorySessionStore, SessionStore, SqliteSessionStore
from bff.sessions.redis import RedisSessionStore
from tests.bff.conftest import BACKENDS
from tests.redisserver import RedisServer, running_redis_server


@pytest.fixture
def outage_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, free to be stopped without disturbing other tests."""
    yield from running_redis_server()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def session_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SessionStore]:
    store = _new_store(backend, request, tmp_path)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def _new_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> SessionStore:
    if backend == "memory":
        return MemorySessionStore()
    if backend == "sqlite":
        return SqliteSessionStore(path=tmp_path / "sessions.db")
    return RedisSessionStore(url=request.getfixturevalue("redis_url"))


@pytest.fixture
def raw_contents(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[SessionStore], str]:
    """A function returning everything the backend holds, as text: what an attacker with a copy
    of the store would read."""

    def dump(store: SessionStore) -> str:
        if backend == "memory":
            return repr(vars(store))
        if backend == "sqlite":
            return _sqlite_dump(tmp_path / "sessions.db")
        return _redis_dump(request.getfixturevalue("redis_url"))

    return dump


def _sqlite_dump(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def _redis_dump(url: str) -> str:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        lines = []
        for key in map(str, client.scan_iter()):
            kind = str(client.type(key))
            value = {"hash": client.hgetall, "set": client.smembers, "string": client.get}[kind](
                key
            )
            lines.append(f"{key} {kind} {value!r}")
        return "\n".join(lines)
    finally:
        client.close()
