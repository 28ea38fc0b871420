"""The Redis session record: one compact JSON string whose fields survive the scripts exactly, a
record of the earlier hash format still served (an upgrade signs nobody out), and an unreadable
record treated as no session."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from bff.sessions import Session
from bff.sessions.redis import _NAMES, RedisSessionStore
from tests.bff.sessions.test_contract import IDLE, NOW, make_session

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisSessionStore]:
    sessions = RedisSessionStore(url=redis_url)
    await sessions.open()
    try:
        yield sessions
    finally:
        await sessions.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url, decode_responses=True) as connection:
        yield connection


def precise_session() -> Session:
    return make_session(
        created_at=NOW + 0.1234567891,
        last_seen=NOW + 0.1234567891,
        idle_expires_at=NOW + IDLE + 0.9876543211,
        user_agent='Mozilla/5.0 (X11) Gécko/20100101 « \\ "x" / ü » \u2603',
        ip="2001:db8::1",
    )


def test_every_session_field_has_its_own_short_name() -> None:
    fields = {field.name for field in dataclasses.fields(Session)}
    assert set(_NAMES) == fields and len(set(_NAMES.values())) == len(fields)


async def test_every_field_survives_create_touch_list_and_delete_exactly(
    store: RedisSessionStore, client: redis.Redis
) -> None:
    session = precise_session()
    await store.create(session)
    assert client.type(f"bff:session:{session.id_hash}") == "string"
    later = NOW + 600.0000001
    # the touch script decodes and re-encodes the record: every other float and character stays
    await store.touch(session.id_hash, last_seen=later, idle_expires_at=later + IDLE)
    touched = session.replace(last_seen=later, idle_expires_at=later + IDLE)
    assert await store.get(session.id_hash) == touched
    assert await store.list_user(session.user_id) == [touched]
    assert await store.delete(session.id_hash) == touched
    assert client.keys("*") == []


async def test_a_record_of_the_earlier_hash_format_is_still_served(
    store: RedisSessionStore, client: redis.Redis
) -> None:
    session = precise_session()
    old = {field.name: getattr(session, field.name) for field in dataclasses.fields(Session)}
    key = f"bff:session:{session.id_hash}"
    # exactly what the earlier release wrote: a hash of the full field names, floats as repr
    client.hset(key, mapping={k: repr(v) if isinstance(v, float) else v for k, v in old.items()})
    client.sadd(f"bff:user:{session.user_id}", session.id_hash)

    assert await store.get(session.id_hash) == session
    assert await store.list_user(session.user_id) == [session]
    later = NOW + 60.5
    await store.touch(session.id_hash, last_seen=later, idle_expires_at=later + IDLE)
    assert client.type(key) == "string"  # rewritten in the new format
    touched = session.replace(last_seen=later, idle_expires_at=later + IDLE)
    assert await store.get(session.id_hash) == touched
    assert await store.delete_user(session.user_id) == [touched]
    assert client.keys("bff:session:*") == []


async def test_an_unreadable_record_is_no_session_and_is_removed(
    store: RedisSessionStore, client: redis.Redis
) -> None:
    live, garbled = make_session(), make_session(created_at=NOW + 1)
    await store.create(live)
    await store.create(garbled)
    client.set(f"bff:session:{garbled.id_hash}", '{"s": "half a rec')
    assert await store.get(garbled.id_hash) is None
    assert await store.list_user(live.user_id) == [live]
    assert client.smembers(f"bff:user:{live.user_id}") == {live.id_hash}
    assert await store.delete(garbled.id_hash) is None
    assert client.exists(f"bff:session:{garbled.id_hash}") == 0
