"""The in-process session cache: it answers from memory only while its feed follower is fresh,
forgets a session when the feed names its sid, and never keeps a record that an eviction raced."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest

from bff.clock import FrozenClock
from bff.errors import StoreUnavailable
from bff.revocation import MemoryRevocationFeed
from bff.sessions import MemorySessionStore
from bff.sessions.base import Session
from bff.sessions.cache import FRESH_WITHIN, CachedSessionStore
from contract.revocation import RevocationEvent

pytestmark = pytest.mark.anyio


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingStore(MemorySessionStore):
    """The shared store, counting the reads that reach it; `during_get` runs inside one read,
    after the record was read and before it is returned."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.during_get: Callable[[], Awaitable[None]] | None = None

    async def get(self, id_hash: str) -> Session | None:
        self.reads += 1
        found = await super().get(id_hash)
        if self.during_get is not None:
            during, self.during_get = self.during_get, None
            await during()
        return found


class FailingFeed(MemoryRevocationFeed):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def since(self, after: str | None) -> list[RevocationEvent]:
        if self.down:
            raise StoreUnavailable("revocation feed failed: ConnectionError")
        return await super().since(after)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def feed() -> FailingFeed:
    return FailingFeed()


@pytest.fixture
def shared() -> CountingStore:
    return CountingStore()


@pytest.fixture
async def cache(
    shared: CountingStore, feed: FailingFeed, clock: FrozenClock, ticks: Ticks
) -> CachedSessionStore:
    cache = CachedSessionStore(store=shared, feed=feed, clock=clock, monotonic=ticks)
    await cache.open()
    await cache.catch_up()
    return cache


def _session(clock: FrozenClock, name: str = "a") -> Session:
    now = clock.now()
    return Session(
        sid=f"sid-{name}",
        id_hash=f"hash-{name}",
        user_id="u1",
        role="user",
        created_at=now,
        last_seen=now,
        idle_expires_at=now + 1800,
        absolute_expires_at=now + 43200,
    )


def _revoked(sid: str, clock: FrozenClock) -> RevocationEvent:
    return RevocationEvent(kind="sid", value=sid, at=clock.now(), until=clock.now() + 900)


async def test_a_hot_session_is_read_from_memory(
    cache: CachedSessionStore, shared: CountingStore, clock: FrozenClock
) -> None:
    await shared.create(_session(clock))  # made by another instance
    assert (await cache.get("hash-a")) is not None
    assert (await cache.get("hash-a")) is not None
    assert shared.reads == 1


async def test_a_revocation_in_the_feed_evicts_the_session(
    cache: CachedSessionStore, shared: CountingStore, feed: FailingFeed, clock: FrozenClock
) -> None:
    await shared.create(_session(clock))
    await cache.get("hash-a")
    await shared.delete("hash-a")  # another instance ends it, then publishes
    await feed.publish(_revoked("sid-a", clock))
    await cache.catch_up()
    assert (await cache.get("hash-a")) is None
    assert shared.reads == 2


async def test_memory_is_not_used_once_the_follower_is_stale(
    cache: CachedSessionStore, shared: CountingStore, clock: FrozenClock, ticks: Ticks
) -> None:
    await shared.create(_session(clock))
    await cache.get("hash-a")
    await shared.delete("hash-a")  # ended elsewhere, its event not read yet
    assert (await cache.get("hash-a")) is not None  # within the bound: memory answers
    ticks.now += FRESH_WITHIN + 0.001
    assert not cache.fresh()
    assert (await cache.get("hash-a")) is None  # past it: the store, which knows


async def test_the_follower_drops_memory_when_the_feed_fails(
    shared: CountingStore, feed: FailingFeed, clock: FrozenClock, ticks: Ticks
) -> None:
    cache = CachedSessionStore(store=shared, feed=feed, clock=clock, monotonic=ticks)
    await shared.create(_session(clock))
    await cache.catch_up()
    await cache.get("hash-a")
    feed.down = True
    await _follow_until_stale(cache)
    await shared.delete("hash-a")
    assert (await cache.get("hash-a")) is None  # not served from what was cached before
    feed.down = False
    await cache.catch_up()
    assert cache.fresh()
    assert (await cache.get("hash-a")) is None  # what was cached before the failure is gone


async def test_a_read_that_races_an_eviction_is_not_kept(
    cache: CachedSessionStore, shared: CountingStore, feed: FailingFeed, clock: FrozenClock
) -> None:
    await shared.create(_session(clock))

    async def revoked_elsewhere_meanwhile() -> None:
        await shared.delete("hash-a")
        await feed.publish(_revoked("sid-a", clock))
        await cache.catch_up()  # applied while the read is in flight: nothing cached to evict

    shared.during_get = revoked_elsewhere_meanwhile
    assert (await cache.get("hash-a")) is not None  # the store still had it when it read
    assert (await cache.get("hash-a")) is None  # that stale copy was not kept
    assert shared.reads == 2


async def test_a_copy_that_looks_expired_is_read_again(
    cache: CachedSessionStore, shared: CountingStore, clock: FrozenClock
) -> None:
    session = _session(clock)
    await shared.create(session)
    await cache.get("hash-a")
    clock.advance(1700)
    # another instance slides it: the copy here still carries the old idle expiry
    await shared.touch("hash-a", last_seen=clock.now(), idle_expires_at=clock.now() + 1800)
    clock.advance(200)
    found = await cache.get("hash-a")
    assert found is not None and found.is_live(clock.now())
    assert shared.reads == 2


async def test_this_instances_own_delete_evicts_at_once(
    cache: CachedSessionStore, shared: CountingStore, clock: FrozenClock
) -> None:
    await cache.create(_session(clock))
    await cache.create(_session(clock, "b"))
    assert (await cache.get("hash-a")) is not None
    await cache.delete("hash-a")
    assert (await cache.get("hash-a")) is None
    await cache.delete_user("u1")
    assert (await cache.get("hash-b")) is None


async def test_a_touch_updates_the_copy(
    cache: CachedSessionStore, shared: CountingStore, clock: FrozenClock
) -> None:
    await cache.create(_session(clock))
    clock.advance(60)
    await cache.touch("hash-a", last_seen=clock.now(), idle_expires_at=clock.now() + 1800)
    found = await cache.get("hash-a")
    assert found is not None and found.last_seen == clock.now()
    assert shared.reads == 0


async def test_memory_holds_at_most_max_entries(
    shared: CountingStore, feed: FailingFeed, clock: FrozenClock, ticks: Ticks
) -> None:
    cache = CachedSessionStore(store=shared, feed=feed, clock=clock, monotonic=ticks, max_entries=2)
    await cache.catch_up()
    for name in "abc":
        await cache.create(_session(clock, name))
    reads = shared.reads
    await cache.get("hash-c")
    await cache.get("hash-b")
    assert shared.reads == reads
    await cache.get("hash-a")  # the least recently used: gone from memory
    assert shared.reads == reads + 1


async def _follow_until_stale(cache: CachedSessionStore) -> None:
    """Run the follower until it has handled the feed's failure (it then waits to retry)."""
    task = asyncio.create_task(cache.follow())
    try:
        for _ in range(100):
            await asyncio.sleep(0)  # a turn of the loop, not a wait
            if not cache.fresh():
                return
        pytest.fail("the follower kept trusting a failed feed")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
