"""What one session costs in Redis: at most 1 KiB, counted with Redis's own MEMORY USAGE over
every key a session adds (its record, and its share of the user's set of sessions), for the
largest session the BFF stores: a 256-character user agent (SessionManager keeps no more) and a
full-length IPv6 address."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator

import pytest
import redis

from bff.sessions import Session, hash_session_id
from bff.sessions.redis import RedisSessionStore
from tests.conftest import Measurements

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

KIB = 1024
SESSIONS = 100
# what Chromium on Linux sends, cut where SessionManager cuts it
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.126 Safari/537.36 Edg/126.0.2592.87 "
    + "OPR/112.0.0.0 (Edition developer; build 5197.53; channel beta; locale en-GB) "
    * 3
)[:256]
IPV6 = "2001:0db8:85a3:1234:5678:8a2e:0370:7334"  # 39 characters: the longest plain form


@pytest.fixture
async def sessions(redis_url: str) -> AsyncIterator[RedisSessionStore]:
    store = RedisSessionStore(url=redis_url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def largest_session(user_id: str) -> Session:
    """A session as SessionManager.start makes it, every field at its longest."""
    now = time.time()  # a real clock: floats with every digit their repr carries
    return Session(
        sid=secrets.token_urlsafe(16),
        id_hash=hash_session_id(secrets.token_urlsafe(32)),
        user_id=user_id,
        role="admin",
        created_at=now,
        last_seen=now,
        idle_expires_at=now + 30 * 60,
        absolute_expires_at=now + 12 * 60 * 60,
        user_agent=USER_AGENT,
        ip=IPV6,
    )


def usage(client: redis.Redis, key: str) -> int:
    # SAMPLES 0: every member of a set counted, not an estimate from a sample
    value = client.memory_usage(key, samples=0)
    assert value is not None, f"{key} does not exist"
    return int(value)


async def test_one_session_costs_at_most_one_kib_in_redis(
    sessions: RedisSessionStore, redis_url: str, measurements: Measurements
) -> None:
    assert len(USER_AGENT) == 256 and len(IPV6) == 39
    user_id = f"u_{secrets.token_hex(12)}"  # the users table's id format
    user_key = f"bff:user:{user_id}"
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        records, set_sizes = [], []
        for _ in range(SESSIONS):
            session = largest_session(user_id)
            await sessions.create(session)
            records.append(usage(client, f"bff:session:{session.id_hash}"))
            set_sizes.append(usage(client, user_key))
            await sessions.touch(  # a slid session is rewritten: it must not grow
                session.id_hash,
                last_seen=session.last_seen + 10.000001,
                idle_expires_at=session.idle_expires_at + 10.000001,
            )
            assert usage(client, f"bff:session:{session.id_hash}") <= records[-1]
        # nothing else: a session adds its record and a member of the user's set
        assert client.dbsize() == SESSIONS + 1

    record = max(records)
    first = record + set_sizes[0]  # the user's first session creates the set
    growth = (set_sizes[-1] - set_sizes[0]) / (SESSIONS - 1)
    average = record + growth
    measurements.add(
        f"Redis memory per session: record {record} B; a user's first session {first} B "
        f"(with its new set of {set_sizes[0]} B); each further one {average:.0f} B "
        f"(set growth {growth:.0f} B, averaged over {SESSIONS} sessions of one user)"
    )
    assert first <= KIB, f"a user's first session costs {first} bytes"
    assert average <= KIB, f"a session costs {average:.0f} bytes"
