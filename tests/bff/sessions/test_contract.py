"""One contract, every session store: memory, SQLite and a real Redis behave the same."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
import redis

from bff.audit import Audit
from bff.clock import FrozenClock
from bff.oauth.consents import MemoryConsentStore
from bff.oauth.families import FamilyPolicy, RefreshFamilies
from bff.records import MemoryRecordStore
from bff.revocation import MemoryRevocationFeed, Revoker
from bff.sessions import Session, SessionStore, hash_session_id
from bff.sessions.manager import SessionManager, SessionPolicy
from contract.tokens import ACCEPTANCE_BOUND

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0
IDLE = 30 * 60
ABSOLUTE = 12 * 60 * 60


def make_session(user_id: str = "user-1", *, created_at: float = NOW, **changes: object) -> Session:
    session = Session(
        sid=secrets.token_urlsafe(16),
        id_hash=hash_session_id(secrets.token_urlsafe(32)),
        user_id=user_id,
        role="user",
        created_at=created_at,
        last_seen=created_at,
        idle_expires_at=created_at + IDLE,
        absolute_expires_at=created_at + ABSOLUTE,
    )
    return session.replace(**changes)


async def test_create_then_get_returns_every_field(session_store: SessionStore) -> None:
    session = make_session(
        role="admin",
        created_at=NOW + 0.125,
        last_seen=NOW + 1.5,
        idle_expires_at=NOW + IDLE + 0.1,
        absolute_expires_at=NOW + ABSOLUTE + 0.3,
        user_agent='Mozilla/5.0 (X11; Linux) Gécko « quoted: "x" »',
        ip="2001:db8::1",
    )
    await session_store.create(session)
    assert await session_store.get(session.id_hash) == session


async def test_get_of_an_unknown_hash_is_none(session_store: SessionStore) -> None:
    await session_store.create(make_session())
    assert await session_store.get(hash_session_id("never issued")) is None


async def test_touch_moves_last_seen_and_idle_expiry_and_nothing_else(
    session_store: SessionStore,
) -> None:
    session = make_session()
    await session_store.create(session)
    await session_store.touch(
        session.id_hash, last_seen=NOW + 600, idle_expires_at=NOW + 600 + IDLE
    )
    stored = await session_store.get(session.id_hash)
    assert stored == session.replace(last_seen=NOW + 600, idle_expires_at=NOW + 600 + IDLE)


async def test_touch_of_an_unknown_hash_creates_nothing(session_store: SessionStore) -> None:
    ghost = hash_session_id("never issued")
    await session_store.touch(ghost, last_seen=NOW, idle_expires_at=NOW + IDLE)
    assert await session_store.get(ghost) is None


async def test_delete_returns_the_record_and_it_is_gone(session_store: SessionStore) -> None:
    session = make_session()
    await session_store.create(session)
    assert await session_store.delete(session.id_hash) == session
    assert await session_store.get(session.id_hash) is None
    assert await session_store.delete(session.id_hash) is None
    assert await session_store.list_user(session.user_id) == []


async def test_list_user_is_that_users_sessions_ordered_by_creation(
    session_store: SessionStore,
) -> None:
    third, first, second = (make_session(created_at=NOW + offset) for offset in (20, 0, 10))
    for session in (third, first, second):
        await session_store.create(session)
    await session_store.create(make_session("user-2", created_at=NOW + 5))
    assert await session_store.list_user("user-1") == [first, second, third]
    assert await session_store.list_user("nobody") == []


async def test_delete_user_ends_every_session_of_that_user_only(
    session_store: SessionStore,
) -> None:
    mine = [make_session(created_at=NOW + offset) for offset in (0, 1)]
    theirs = make_session("user-2")
    for session in (*mine, theirs):
        await session_store.create(session)
    assert await session_store.delete_user("user-1") == mine
    assert [await session_store.get(s.id_hash) for s in mine] == [None, None]
    assert await session_store.list_user("user-1") == []
    assert await session_store.get(theirs.id_hash) == theirs


async def test_delete_user_keeps_the_named_session(session_store: SessionStore) -> None:
    current, other = make_session(), make_session(created_at=NOW + 1)
    await session_store.create(current)
    await session_store.create(other)
    assert await session_store.delete_user("user-1", keep_sid=current.sid) == [other]
    assert await session_store.list_user("user-1") == [current]


async def test_records_of_different_users_never_mix(session_store: SessionStore) -> None:
    # "1" is a prefix of "11": a key scheme that concatenates badly would mix them
    one, eleven = make_session("1"), make_session("11")
    await session_store.create(one)
    await session_store.create(eleven)
    assert await session_store.list_user("1") == [one]
    assert await session_store.list_user("11") == [eleven]
    assert await session_store.delete_user("1") == [one]
    assert await session_store.list_user("11") == [eleven]


def _manager(store: SessionStore, *, max_per_user: int = 20) -> SessionManager:
    clock = FrozenClock(NOW)
    revoker = Revoker(
        store=store,
        families=RefreshFamilies(
            records=MemoryRecordStore(),
            clock=clock,
            policy=FamilyPolicy(idle_seconds=60, absolute_seconds=60, reuse_leeway=0),
        ),
        consents=MemoryConsentStore(),
        feed=MemoryRevocationFeed(),
        token_cache=None,
        clock=clock,
        audit=Audit(clock=clock),
        token_lifetime=ACCEPTANCE_BOUND,
    )
    policy = SessionPolicy(idle_seconds=IDLE, absolute_seconds=ABSOLUTE, max_per_user=max_per_user)
    return SessionManager(store=store, clock=clock, policy=policy, revoker=revoker)


async def test_the_store_holds_the_cookie_hash_never_the_cookie_value(
    session_store: SessionStore, raw_contents: Callable[[SessionStore], str]
) -> None:
    cookie_value, session = await _manager(session_store).start(
        user_id="user-1", role="user", user_agent="pytest", ip="127.0.0.1"
    )
    held = raw_contents(session_store)
    assert session.id_hash == hash_session_id(cookie_value) and session.id_hash in held
    assert cookie_value not in held


async def test_purge_deletes_expired_sessions_and_keeps_live_ones(
    session_store: SessionStore, backend: str
) -> None:
    idle_out = make_session(created_at=NOW - IDLE - 1)
    too_old = make_session(
        created_at=NOW - ABSOLUTE, last_seen=NOW - 10, idle_expires_at=NOW - 10 + IDLE
    )
    live = make_session(created_at=NOW - 60)
    for session in (idle_out, too_old, live):
        await session_store.create(session)
    swept = await session_store.purge(NOW)
    assert await session_store.get(live.id_hash) == live
    if backend == "redis":
        assert swept == 0  # TTLs collect expired keys by themselves
        return
    assert swept == 2
    assert await session_store.get(idle_out.id_hash) is None
    assert await session_store.get(too_old.id_hash) is None
    assert await session_store.list_user("user-1") == [live]


# Redis only: keys expire by themselves, relative to the record's clock (not Redis's).

redis_only = pytest.mark.parametrize("backend", [pytest.param("redis", marks=pytest.mark.redis)])


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


@redis_only
async def test_redis_keys_expire_when_the_session_would(
    session_store: SessionStore, redis_url: str
) -> None:
    session = make_session()
    await session_store.create(session)
    with _client(redis_url) as client:
        for key in (f"bff:session:{session.id_hash}", "bff:user:user-1"):
            assert IDLE * 1000 - 5000 < client.pttl(key) <= IDLE * 1000, key


@redis_only
async def test_redis_touch_extends_the_ttl_but_never_past_the_absolute_expiry(
    session_store: SessionStore, redis_url: str
) -> None:
    session = make_session(absolute_expires_at=NOW + IDLE + 60)
    await session_store.create(session)
    later = NOW + 600
    await session_store.touch(session.id_hash, last_seen=later, idle_expires_at=later + IDLE)
    remaining_ms = (session.absolute_expires_at - later) * 1000
    with _client(redis_url) as client:
        pttl = client.pttl(f"bff:session:{session.id_hash}")
        assert remaining_ms - 5000 < pttl <= remaining_ms


@redis_only
async def test_redis_drops_members_whose_session_expired(
    session_store: SessionStore, redis_url: str
) -> None:
    gone, live = make_session(), make_session(created_at=NOW + 1)
    await session_store.create(gone)
    await session_store.create(live)
    with _client(redis_url) as client:
        client.delete(f"bff:session:{gone.id_hash}")  # what Redis does when the TTL runs out
        assert await session_store.list_user("user-1") == [live]
        assert client.smembers("bff:user:user-1") == {live.id_hash}
